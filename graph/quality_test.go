package graph

import (
	"fmt"
	"testing"
)

// holdRun puts the running acme run on hold with a recorded quality result,
// as the extract does when a rule of a hold feed breaks, and returns its id.
func holdRun(t *testing.T, b *bundle) string {
	t.Helper()
	mustExec(t, b, `SELECT axtract.feed_quality_set('acme-roster', '{"min_rows": 20, "required_columns": ["zip"], "on_fail": "hold"}')`)
	id := b.runs["acme-running"]
	mustExec(t, b, `
		INSERT INTO axtract.run_quality (run_id, feed_id, rules, outcome, rows, previous_rows, measures, violations)
		SELECT $1, r.feed_id, q.rules, 'held', 10, 12,
		       '{"row_change_pct": -16.67, "columns": [{"name": "member_id", "nulls": 0, "null_pct": 0},
		         {"name": "zip", "nulls": 2, "null_pct": 20}]}',
		       '[{"check": "min_rows", "message": "10 rows, expected at least 20"},
		         {"check": "required_columns", "column": "zip", "message": "column zip has 2 NULLs (20% of 10 rows)"}]'
		FROM axtract.run r JOIN axtract.feed_quality q ON q.feed_id = r.feed_id
		WHERE r.run_id = $1`, id)
	mustExec(t, b, `SELECT axtract.run_hold($1, 'min_rows: 10 rows, expected at least 20')`, id)
	return fmt.Sprint(id)
}

type qualityRun struct {
	Run struct {
		Status  string
		Error   *string
		Quality *struct {
			Outcome      string
			Rows         int64
			PreviousRows *int64
			RowChangePct *float64
			Violations   []struct {
				Check   string
				Column  *string
				Message string
			}
			Columns []struct {
				Name    string
				Nulls   int64
				NullPct float64
			}
			ReleasedBy  *string
			DiscardedBy *string
		}
	}
}

const qualityRunQuery = `query($id: ID!) { run(id: $id) { status error quality {
	outcome rows previousRows rowChangePct violations { check column message }
	columns { name nulls nullPct } releasedBy discardedBy } } }`

func TestHeldRunShowsViolations(t *testing.T) {
	b := setup(t)
	id := holdRun(t, b)

	var got qualityRun
	b.ok(t, operator, qualityRunQuery, map[string]any{"id": id}).decode(t, &got)
	if got.Run.Status != "HELD" {
		t.Errorf("status = %s, want HELD", got.Run.Status)
	}
	q := got.Run.Quality
	if q == nil {
		t.Fatal("quality is null for a checked run")
	}
	if q.Outcome != "HELD" || q.Rows != 10 {
		t.Errorf("outcome, rows = %s, %d, want HELD, 10", q.Outcome, q.Rows)
	}
	if q.PreviousRows == nil || *q.PreviousRows != 12 {
		t.Errorf("previousRows = %v, want 12", q.PreviousRows)
	}
	if q.RowChangePct == nil || *q.RowChangePct != -16.67 {
		t.Errorf("rowChangePct = %v, want -16.67", q.RowChangePct)
	}
	if len(q.Violations) != 2 {
		t.Fatalf("violations = %+v, want 2", q.Violations)
	}
	if v := q.Violations[0]; v.Check != "min_rows" || v.Column != nil || v.Message != "10 rows, expected at least 20" {
		t.Errorf("violation 0 = %+v, want min_rows without a column", v)
	}
	if v := q.Violations[1]; v.Check != "required_columns" || v.Column == nil || *v.Column != "zip" {
		t.Errorf("violation 1 = %+v, want required_columns on zip", v)
	}
	if len(q.Columns) != 2 || q.Columns[1].Name != "zip" || q.Columns[1].Nulls != 2 || q.Columns[1].NullPct != 20 {
		t.Errorf("columns = %+v, want member_id and zip with 2 NULLs (20%%)", q.Columns)
	}

	// A run of a feed without rules has no result.
	var plain qualityRun
	b.ok(t, operator, qualityRunQuery, map[string]any{"id": fmt.Sprint(b.runs["beta-ok"])}).decode(t, &plain)
	if plain.Run.Quality != nil {
		t.Errorf("quality of an unchecked run = %+v, want null", plain.Run.Quality)
	}
}

func TestReleaseRunQueuesIt(t *testing.T) {
	b := setup(t)
	id := holdRun(t, b)

	var released struct{ ReleaseRun struct{ Status string } }
	b.ok(t, operator, `mutation($id: ID!) { releaseRun(id: $id) { status } }`, map[string]any{"id": id}).decode(t, &released)
	if released.ReleaseRun.Status != "QUEUED" {
		t.Errorf("releaseRun status = %s, want QUEUED", released.ReleaseRun.Status)
	}
	if n := count(t, b, `SELECT FROM river.river_job WHERE args->>'run_id' = $1`, id); n != 1 {
		t.Errorf("River jobs of the released run = %d, want 1", n)
	}
	if n := count(t, b, `SELECT FROM axtract.run_quality WHERE run_id = $1 AND released_at IS NOT NULL`, id); n != 1 {
		t.Errorf("quality results with released_at = %d, want 1", n)
	}

	// The run is queued now, so a second release is rejected.
	r := b.do(t, operator, `mutation($id: ID!) { releaseRun(id: $id) { status } }`, map[string]any{"id": id})
	if !r.hasCode(string(CodeValidation)) {
		t.Errorf("second release: codes %v, want VALIDATION", r.codes())
	}
}

func TestDiscardRunEndsIt(t *testing.T) {
	b := setup(t)
	id := holdRun(t, b)

	var discarded struct{ DiscardRun struct{ Status string } }
	b.ok(t, operator, `mutation($id: ID!) { discardRun(id: $id, reason: "claims load was incomplete") { status } }`,
		map[string]any{"id": id}).decode(t, &discarded)
	if discarded.DiscardRun.Status != "DISCARDED" {
		t.Errorf("discardRun status = %s, want DISCARDED", discarded.DiscardRun.Status)
	}
	if n := count(t, b, `SELECT FROM axtract.audit_event WHERE action = 'run.discarded' AND run_id = $1
		AND detail->>'reason' = 'claims load was incomplete'`, id); n != 1 {
		t.Errorf("run.discarded audit events with the reason = %d, want 1", n)
	}
	if n := count(t, b, `SELECT FROM river.river_job WHERE args->>'run_id' = $1`, id); n != 0 {
		t.Errorf("River jobs of the discarded run = %d, want 0", n)
	}

	r := b.do(t, operator, `mutation($id: ID!) { releaseRun(id: $id) { status } }`, map[string]any{"id": id})
	if !r.hasCode(string(CodeValidation)) {
		t.Errorf("release after discard: codes %v, want VALIDATION", r.codes())
	}
}

func TestDashboardCountsHeldRuns(t *testing.T) {
	b := setup(t)
	holdRun(t, b)

	var got struct {
		Dashboard struct {
			HeldRuns     int
			RunsByStatus []struct {
				Status string
				Count  int64
			}
			Attention []struct {
				Feed  struct{ Name string }
				State string
			}
		}
	}
	b.ok(t, operator, `{ dashboard { heldRuns runsByStatus { status count } attention { feed { name } state } } }`, nil).
		decode(t, &got)
	if got.Dashboard.HeldRuns != 1 {
		t.Errorf("heldRuns = %d, want 1", got.Dashboard.HeldRuns)
	}
	statuses := map[string]int64{}
	for _, c := range got.Dashboard.RunsByStatus {
		statuses[c.Status] = c.Count
	}
	if n, ok := statuses["HELD"]; !ok || n != 1 {
		t.Errorf("runsByStatus HELD = %d (listed %v), want 1", n, ok)
	}
	if _, ok := statuses["DISCARDED"]; !ok {
		t.Errorf("runsByStatus %v does not list DISCARDED", statuses)
	}
	var state string
	for _, a := range got.Dashboard.Attention {
		if a.Feed.Name == "acme-roster" {
			state = a.State
		}
	}
	// acme-roster also has a failed run, but its last run is the held one.
	if state != "HELD" {
		t.Errorf("attention state of acme-roster = %q, want HELD (attention %+v)", state, got.Dashboard.Attention)
	}
}

func TestSetFeedQuality(t *testing.T) {
	b := setup(t)

	var set struct {
		SetFeedQuality struct{ QualityRules map[string]any }
	}
	b.ok(t, analyst, `mutation($r: JSON) { setFeedQuality(feed: "acme-roster", rules: $r) { qualityRules } }`,
		map[string]any{"r": map[string]any{"min_rows": 5, "required_columns": []string{"member_id"}}}).decode(t, &set)
	rules := set.SetFeedQuality.QualityRules
	if rules["min_rows"] != float64(5) || rules["on_fail"] != "fail" {
		t.Errorf("stored rules = %v, want min_rows 5 and on_fail fail filled in", rules)
	}

	cases := []struct {
		name  string
		rules any
		want  string
	}{
		{"unknown rule", map[string]any{"min_row": 5}, "unknown quality rule min_row"},
		{"negative count", map[string]any{"min_rows": -1}, "min_rows must be a whole number"},
		{"missing column", map[string]any{"required_columns": []string{"ssn"}}, "required_columns names ssn"},
		{"bad on_fail", map[string]any{"on_fail": "pause"}, "on_fail must be fail or hold"},
	}
	for _, c := range cases {
		r := b.do(t, analyst, `mutation($r: JSON) { setFeedQuality(feed: "acme-roster", rules: $r) { name } }`,
			map[string]any{"r": c.rules})
		if !r.hasCode(string(CodeValidation)) {
			t.Errorf("%s: codes %v, want VALIDATION", c.name, r.codes())
			continue
		}
		if !contains(r.Errors[0].Message, c.want) {
			t.Errorf("%s: message %q, want it to contain %q", c.name, r.Errors[0].Message, c.want)
		}
	}
	if n := count(t, b, `SELECT FROM axtract.feed_quality q JOIN axtract.feed f USING (feed_id)
		WHERE f.name = 'acme-roster' AND q.rules->>'min_rows' = '5'`); n != 1 {
		t.Errorf("rules after rejected updates: %d rows with min_rows 5, want the earlier rules kept", n)
	}

	r := b.do(t, analyst, `mutation { setFeedQuality(feed: "nope", rules: {min_rows: 1}) { name } }`, nil)
	if !r.hasCode(string(CodeNotFound)) {
		t.Errorf("unknown feed: codes %v, want NOT_FOUND", r.codes())
	}

	var cleared struct{ SetFeedQuality struct{ QualityRules any } }
	b.ok(t, analyst, `mutation { setFeedQuality(feed: "acme-roster", rules: null) { qualityRules } }`, nil).decode(t, &cleared)
	if cleared.SetFeedQuality.QualityRules != nil {
		t.Errorf("rules after clearing = %v, want null", cleared.SetFeedQuality.QualityRules)
	}
}

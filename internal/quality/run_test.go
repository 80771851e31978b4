package quality_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/quality"
)

var slot0 = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

func TestRowChangeAgainstPreviousRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	rules := b.setRules(t, `{"max_row_change_pct": 20}`)

	first := b.newRun(t, slot0)
	prev, err := quality.PreviousRows(ctx, b.q, first)
	if err != nil {
		t.Fatal(err)
	}
	if prev != nil {
		t.Fatalf("previous rows of the first run = %d, expected none", *prev)
	}
	chk, _ := b.copyRoster(t, rules)
	res := chk.Evaluate(prev)
	if !res.Passed() {
		t.Errorf("first run violations = %v, expected none", checks(res))
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Check != quality.CheckRowChange {
		t.Errorf("first run skipped = %+v, expected max_row_change_pct", res.Skipped)
	}
	b.succeedRun(t, first, 100)

	second := b.newRun(t, slot0.Add(24*time.Hour))
	prev, err = quality.PreviousRows(ctx, b.q, second)
	if err != nil {
		t.Fatal(err)
	}
	if prev == nil || *prev != 100 {
		t.Fatalf("previous rows of the second run = %v, expected 100", prev)
	}
	for _, c := range []struct {
		rows   int64
		passed bool
	}{{80, true}, {120, true}, {79, false}, {121, false}} {
		chk, err := quality.CheckRows(rules, c.rows)
		if err != nil {
			t.Fatal(err)
		}
		res := chk.Evaluate(prev)
		if res.Passed() != c.passed {
			t.Errorf("%d rows after 100: passed = %t, expected %t (%s)", c.rows, res.Passed(), c.passed, res.Summary())
		}
		if res.PreviousRows == nil || *res.PreviousRows != 100 {
			t.Errorf("%d rows after 100: previous_rows = %v, expected 100", c.rows, res.PreviousRows)
		}
	}

	// The real rows: 10 after 100 is a drop of 90%.
	chk, _ = b.copyRoster(t, rules)
	res = chk.Evaluate(prev)
	want := "max_row_change_pct: rows changed by 90% (from 100 in the previous run to 10), expected at most 20%"
	if res.Summary() != want {
		t.Errorf("summary = %q, expected %q", res.Summary(), want)
	}
	if res.RowChangePct == nil || *res.RowChangePct != 90 {
		t.Errorf("row change = %v, expected 90", res.RowChangePct)
	}

	// The latest finished delivery counts, and one of no rows skips the check.
	b.succeedRun(t, second, 0)
	third := b.newRun(t, slot0.Add(48*time.Hour))
	prev, err = quality.PreviousRows(ctx, b.q, third)
	if err != nil {
		t.Fatal(err)
	}
	if prev == nil || *prev != 0 {
		t.Fatalf("previous rows of the third run = %v, expected 0", prev)
	}
	res = chk.Evaluate(prev)
	if !res.Passed() || len(res.Skipped) != 1 || res.Skipped[0].Reason != "the previous succeeded run had no rows" {
		t.Errorf("after a run of no rows: violations %v, skipped %+v, expected the check skipped", checks(res), res.Skipped)
	}
}

func TestHoldReleaseDiscard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	rules := b.setRules(t, `{"min_rows": 11, "on_fail": "hold"}`)

	runID := b.newRun(t, slot0)
	b.startRun(t, runID)
	released, err := quality.Released(ctx, b.q, runID)
	if err != nil {
		t.Fatal(err)
	}
	if released {
		t.Fatal("a run never held is released, expected not")
	}
	chk, _ := b.copyRoster(t, rules)
	res := chk.Evaluate(nil)
	if got := res.Decide(released); got != quality.OutcomeHeld {
		t.Fatalf("outcome = %s, expected held", got)
	}
	if err := quality.Hold(ctx, b.db.Pool, runID, res); err != nil {
		t.Fatalf("hold: %v", err)
	}

	var status, runError string
	var finished *time.Time
	err = b.db.Pool.QueryRow(ctx, "SELECT status, error, finished_at FROM axtract.run WHERE run_id = $1", runID).Scan(&status, &runError, &finished)
	if err != nil {
		t.Fatal(err)
	}
	if status != "held" || runError != "min_rows: 10 rows, expected at least 11" || finished == nil {
		t.Errorf("held run: status %s, error %q, finished %v; expected held, the summary and a finish time", status, runError, finished)
	}
	stored, err := b.q.RunQualityGet(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Outcome != "held" {
		t.Errorf("stored outcome = %s, expected held", stored.Outcome)
	}
	var recipients []string
	err = b.db.Pool.QueryRow(ctx, "SELECT recipients FROM axtract.notification WHERE kind = 'run_held' AND run_id = $1", runID).Scan(&recipients)
	if err != nil {
		t.Fatalf("read run_held notice: %v", err)
	}
	if !slices.Equal(recipients, []string{"ops@acme.example"}) {
		t.Errorf("run_held recipients = %v, expected the partner's contact", recipients)
	}

	// Only the running attempt can hold a run; a failed hold changes nothing.
	err = quality.Hold(ctx, b.db.Pool, runID, res)
	if err == nil || !strings.Contains(err.Error(), "is not running, so it cannot be held") {
		t.Errorf("second hold = %v, expected an error", err)
	}

	var jobID int64
	if err := b.db.Pool.QueryRow(ctx, "SELECT axtract.run_release($1)", runID).Scan(&jobID); err != nil {
		t.Fatalf("release: %v", err)
	}
	if got := b.runStatus(t, runID); got != "queued" {
		t.Errorf("released run status = %s, expected queued", got)
	}
	var jobRun int64
	err = b.db.Pool.QueryRow(ctx, "SELECT (args->>'run_id')::bigint FROM river.river_job WHERE id = $1 AND kind = 'axtract.extract'", jobID).Scan(&jobRun)
	if err != nil || jobRun != runID {
		t.Errorf("River job %d of the release: run %d, %v; expected an extract job of run %d", jobID, jobRun, err, runID)
	}
	var recordedJob int64
	if err := b.db.Pool.QueryRow(ctx, "SELECT job_id FROM axtract.run WHERE run_id = $1", runID).Scan(&recordedJob); err != nil || recordedJob != jobID {
		t.Errorf("run job_id = %d, %v; expected %d", recordedJob, err, jobID)
	}

	// The next attempt measures again and delivers despite the violation.
	b.startRun(t, runID)
	released, err = quality.Released(ctx, b.q, runID)
	if err != nil {
		t.Fatal(err)
	}
	if !released {
		t.Fatal("released run is not released, expected it is")
	}
	chk, _ = b.copyRoster(t, rules)
	res = chk.Evaluate(nil)
	if got := res.Decide(released); got != quality.OutcomeReleased || !got.Delivers() {
		t.Fatalf("outcome after release = %s, expected released, which delivers", got)
	}
	if err := quality.Record(ctx, b.db.Pool, runID, res); err != nil {
		t.Fatal(err)
	}
	stored, err = b.q.RunQualityGet(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Outcome != "released" || stored.ReleasedAt == nil || stored.ReleasedBy == nil {
		t.Errorf("stored after release: outcome %s, released at %v by %v; expected released with both kept", stored.Outcome, stored.ReleasedAt, stored.ReleasedBy)
	}

	_, err = b.db.Pool.Exec(ctx, "SELECT axtract.run_release($1)", runID)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Message != "run "+itoa(runID)+" of feed acme-roster is running, not held, so it cannot be released" {
		t.Errorf("release of a running run = %v, expected it rejected", err)
	}
	if got := b.auditActions(t, runID); !slices.Equal(got, []string{"run.held", "run.released"}) {
		t.Errorf("audit actions = %v, expected run.held and run.released", got)
	}

	// A second held run is discarded.
	discarded := b.newRun(t, slot0.Add(time.Hour))
	b.startRun(t, discarded)
	res = chk.Evaluate(nil)
	res.Decide(false)
	if err := quality.Hold(ctx, b.db.Pool, discarded, res); err != nil {
		t.Fatal(err)
	}
	exec(t, b.db, "SELECT axtract.run_discard($1, 'source load was incomplete')", discarded)
	if got := b.runStatus(t, discarded); got != "discarded" {
		t.Errorf("discarded run status = %s, expected discarded", got)
	}
	stored, err = b.q.RunQualityGet(ctx, discarded)
	if err != nil {
		t.Fatal(err)
	}
	if stored.DiscardedAt == nil || stored.DiscardedBy == nil || stored.ReleasedAt != nil {
		t.Errorf("stored after discard: discarded at %v by %v, released at %v; expected discarded only", stored.DiscardedAt, stored.DiscardedBy, stored.ReleasedAt)
	}
	var reason string
	err = b.db.Pool.QueryRow(ctx, "SELECT detail->>'reason' FROM axtract.audit_event WHERE action = 'run.discarded' AND run_id = $1", discarded).Scan(&reason)
	if err != nil || reason != "source load was incomplete" {
		t.Errorf("run.discarded reason = %q, %v; expected the operator's reason", reason, err)
	}
	for _, fn := range []string{"run_release", "run_discard"} {
		_, err = b.db.Pool.Exec(ctx, "SELECT axtract."+fn+"($1)", discarded)
		if !errors.As(err, &pgErr) || !strings.Contains(pgErr.Message, "is discarded, not held") {
			t.Errorf("%s of a discarded run = %v, expected it rejected", fn, err)
		}
	}
	passing, err := quality.CheckRows(&quality.Rules{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	passed := passing.Evaluate(nil)
	passed.Decide(false)
	if err := quality.Hold(ctx, b.db.Pool, discarded, passed); err == nil || !strings.Contains(err.Error(), `its quality outcome is "passed", not held`) {
		t.Errorf("hold of a passed result = %v, expected it rejected", err)
	}
	_, err = b.db.Pool.Exec(ctx, "SELECT axtract.run_release(-1)")
	if !errors.As(err, &pgErr) || pgErr.Code != "P0002" {
		t.Errorf("release of a missing run = %v, expected P0002", err)
	}
}

func TestReleaseAfterLaterIncrementalDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	rules := b.setRules(t, `{"min_rows": 11, "on_fail": "hold"}`)
	exec(t, b.db, "UPDATE axtract.feed SET watermark_column = 'birth_date' WHERE feed_id = $1", b.feedID)

	held := b.newRun(t, slot0)
	b.startRun(t, held)
	chk, _ := b.copyRoster(t, rules)
	res := chk.Evaluate(nil)
	res.Decide(false)
	if err := quality.Hold(ctx, b.db.Pool, held, res); err != nil {
		t.Fatal(err)
	}
	later := b.newRun(t, slot0.Add(time.Hour))
	b.succeedRun(t, later, 10)

	_, err := b.db.Pool.Exec(ctx, "SELECT axtract.run_release($1)", held)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || !strings.Contains(pgErr.Message, "a later run has delivered its rows") ||
		!strings.Contains(pgErr.Hint, "axtract.run_discard") {
		t.Fatalf("release behind a later delivery = %v, expected it rejected with a hint to discard", err)
	}
	if got := b.runStatus(t, held); got != "held" {
		t.Errorf("status after the rejected release = %s, expected held", got)
	}
}

func TestRecordStoresResult(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	rules := b.setRules(t, `{"max_null_pct": {"first_name": 10}, "unique_columns": ["city"], "max_row_change_pct": 50}`)
	runID := b.newRun(t, slot0)

	chk, _ := b.copyRoster(t, rules)
	prev := int64(8)
	res := chk.Evaluate(&prev)
	if err := quality.Record(ctx, b.db.Pool, runID, res); err != nil {
		t.Fatal(err)
	}
	stored, err := b.q.RunQualityGet(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.FeedID != b.feedID || stored.Rows != memberCount || stored.PreviousRows == nil || *stored.PreviousRows != 8 {
		t.Errorf("stored feed %d, rows %d, previous %v; expected feed %d, %d rows after 8", stored.FeedID, stored.Rows, stored.PreviousRows, b.feedID, memberCount)
	}
	if stored.Outcome != "failed" {
		t.Errorf("stored outcome = %s, expected failed, as on_fail defaults to fail", stored.Outcome)
	}
	var violations []quality.Violation
	if err := json.Unmarshal(stored.Violations, &violations); err != nil {
		t.Fatal(err)
	}
	if got := checks(&quality.Result{Violations: violations}); !slices.Equal(got, []string{"max_null_pct/first_name", "unique_columns/city"}) {
		t.Errorf("stored violations = %v, expected max_null_pct/first_name and unique_columns/city", got)
	}
	var measures struct {
		RowChangePct float64                `json:"row_change_pct"`
		Columns      []quality.ColumnResult `json:"columns"`
	}
	if err := json.Unmarshal(stored.Measures, &measures); err != nil {
		t.Fatal(err)
	}
	if measures.RowChangePct != 25 {
		t.Errorf("stored row change = %g, expected 25", measures.RowChangePct)
	}
	if len(measures.Columns) != 5 || *measures.Columns[2].Distinct != cityDistinct || measures.Columns[1].Nulls != firstNameNulls {
		t.Errorf("stored columns = %s, expected 5 with the city and first_name counts", stored.Measures)
	}
	var storedRules quality.Rules
	if err := json.Unmarshal(stored.Rules, &storedRules); err != nil || storedRules.MaxNullPct["first_name"] != 10 {
		t.Errorf("stored rules = %s, %v; expected the rules applied", stored.Rules, err)
	}

	// A later attempt's result replaces it.
	b.setRules(t, `{"min_rows": 1}`)
	rules, err = quality.Load(ctx, b.q, b.feedID)
	if err != nil {
		t.Fatal(err)
	}
	chk, _ = b.copyRoster(t, rules)
	res = chk.Evaluate(nil)
	if err := quality.Record(ctx, b.db.Pool, runID, res); err != nil {
		t.Fatal(err)
	}
	stored, err = b.q.RunQualityGet(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Outcome != "passed" || string(stored.Violations) != "[]" || stored.PreviousRows != nil {
		t.Errorf("replaced result: outcome %s, violations %s, previous %v; expected passed, [] and none", stored.Outcome, stored.Violations, stored.PreviousRows)
	}

	if _, err := b.q.RunQualityGet(ctx, runID+1000); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("result of a run without one = %v, expected no rows", err)
	}
}

func TestCheckError(t *testing.T) {
	t.Parallel()
	minRows := int64(3)
	for _, c := range []struct {
		action quality.Action
		held   bool
		want   string
	}{
		{quality.ActionFail, false, "run 7 broke its feed's quality rules: min_rows: 2 rows, expected at least 3"},
		{quality.ActionHold, true, "run 7 is held by its feed's quality rules: min_rows: 2 rows, expected at least 3"},
	} {
		chk, err := quality.CheckRows(&quality.Rules{MinRows: &minRows, OnFail: c.action}, 2)
		if err != nil {
			t.Fatal(err)
		}
		res := chk.Evaluate(nil)
		res.Decide(false)
		err = error(&quality.CheckError{RunID: 7, Result: res})
		if err.Error() != c.want {
			t.Errorf("on_fail %s: error = %q, expected %q", c.action, err, c.want)
		}
		if quality.IsHeld(err) != c.held {
			t.Errorf("on_fail %s: IsHeld = %t, expected %t", c.action, quality.IsHeld(err), c.held)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

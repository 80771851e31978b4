package quality_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/quality"
)

func TestFeedQualitySetRejectsInvalidRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	cases := []struct {
		name  string
		rules string
		code  string
		// message and hint must contain these.
		message, hint string
	}{
		{"not an object", `[1]`, "22023", `quality rules must be a JSON object, not [1]`, "docs/quality.md"},
		{"unknown key", `{"min_row": 1}`, "22023", "unknown quality rule min_row", "Rules: min_rows, max_rows"},
		{"negative min_rows", `{"min_rows": -1}`, "22023", "min_rows must be a whole number, 0 or more, not -1", `{"min_rows": 1000}`},
		{"fractional max_rows", `{"max_rows": 2.5}`, "22023", "max_rows must be a whole number, 0 or more, not 2.5", `{"max_rows": 1000}`},
		{"string min_rows", `{"min_rows": "10"}`, "22023", `min_rows must be a whole number, 0 or more, not "10"`, ""},
		{"huge max_rows", `{"max_rows": 1e30}`, "22023", "max_rows 1000000000000000000000000000000 is too large", "9223372036854775807"},
		{"min above max", `{"min_rows": 10, "max_rows": 5}`, "22023", "min_rows 10 is more than max_rows 5", "Lower min_rows or raise max_rows"},
		{"negative change", `{"max_row_change_pct": -5}`, "22023", "max_row_change_pct must be a percent, 0 or more, not -5", "80 to 120 rows"},
		{"null pct not object", `{"max_null_pct": 5}`, "22023", "max_null_pct must be an object of column name to percent, not 5", `{"member_zip": 5}`},
		{"null pct above 100", `{"max_null_pct": {"zip": 101}}`, "22023", "max_null_pct must give each column a percent from 0 to 100, not zip: 101", ""},
		{"null pct text", `{"max_null_pct": {"zip": "5"}}`, "22023", `not zip: "5"`, ""},
		{"null pct unknown column", `{"max_null_pct": {"ssn": 5}}`, "42703", "max_null_pct names ssn, which view partner_acme.roster does not have", "Columns of the view: member_id, first_name, city, zip, birth_date."},
		{"required not array", `{"required_columns": "member_id"}`, "22023", `required_columns must be an array of column names, not "member_id"`, `{"required_columns": ["member_id"]}`},
		{"required number", `{"required_columns": [1]}`, "22023", "required_columns must list column names as strings, not 1", ""},
		{"required empty name", `{"required_columns": [""]}`, "22023", `required_columns must list column names as strings, not ""`, ""},
		{"required unknown column", `{"required_columns": ["member_id", "last_name"]}`, "42703", "required_columns names last_name, which view", "Columns of the view"},
		{"unique repeated", `{"unique_columns": ["member_id", "member_id"]}`, "22023", "unique_columns lists column member_id more than once", "List each column once."},
		{"unique limit zero", `{"unique_columns": ["member_id"], "unique_max_values": 0}`, "22023", "unique_max_values 0 is out of range", "Use 1 to 10000000"},
		{"unique limit high", `{"unique_max_values": 10000001}`, "22023", "unique_max_values 10000001 is out of range", "16 bytes"},
		{"on_fail unknown", `{"on_fail": "warn"}`, "22023", `on_fail must be fail or hold, not "warn"`, "axtract.run_release"},
		{"on_fail not string", `{"on_fail": true}`, "22023", "on_fail must be fail or hold, not true", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.db.Pool.Exec(ctx, "SELECT axtract.feed_quality_set('acme-roster', $1::jsonb)", c.rules)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("feed_quality_set(%s) = %v, expected a PostgreSQL error", c.rules, err)
			}
			if pgErr.Code != c.code {
				t.Errorf("feed_quality_set(%s) SQLSTATE = %s, expected %s (%s)", c.rules, pgErr.Code, c.code, pgErr.Message)
			}
			if !strings.Contains(pgErr.Message, c.message) {
				t.Errorf("feed_quality_set(%s) message = %q, expected it to contain %q", c.rules, pgErr.Message, c.message)
			}
			if !strings.Contains(pgErr.Hint, c.hint) {
				t.Errorf("feed_quality_set(%s) hint = %q, expected it to contain %q", c.rules, pgErr.Hint, c.hint)
			}
		})
	}

	var count int
	if err := b.db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.feed_quality").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 0 {
		t.Errorf("rejected rules left %d rows in axtract.feed_quality, expected 0", count)
	}
}

func TestFeedQualitySetUnknownFeed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.db.Pool.Exec(context.Background(), `SELECT axtract.feed_quality_set('nope', '{"min_rows": 1}')`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "P0002" || pgErr.Message != "feed 'nope' not found" {
		t.Fatalf("feed_quality_set of an unknown feed = %v, expected P0002 feed 'nope' not found", err)
	}
}

func TestFeedQualitySetStoresAndAudits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	var stored string
	err := b.db.Pool.QueryRow(ctx, `SELECT axtract.feed_quality_set('acme-roster',
		'{"min_rows": 1, "max_null_pct": {"zip": 5}, "unique_columns": ["member_id"]}')::text`).Scan(&stored)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"on_fail": "fail", "min_rows": 1, "max_null_pct": {"zip": 5}, "unique_columns": ["member_id"]}`
	if stored != want {
		t.Errorf("stored rules = %s, expected %s", stored, want)
	}

	rules, err := quality.Load(ctx, b.q, b.feedID)
	if err != nil {
		t.Fatal(err)
	}
	if rules.MinRows == nil || *rules.MinRows != 1 {
		t.Errorf("loaded min_rows = %v, expected 1", rules.MinRows)
	}
	if rules.MaxNullPct["zip"] != 5 {
		t.Errorf("loaded max_null_pct = %v, expected zip 5", rules.MaxNullPct)
	}
	if rules.Action() != quality.ActionFail {
		t.Errorf("loaded action = %s, expected fail", rules.Action())
	}
	if !rules.NeedsColumns() {
		t.Error("rules with max_null_pct do not need columns, expected they do")
	}

	var detail string
	err = b.db.Pool.QueryRow(ctx, `SELECT detail->'rules'->>'on_fail' FROM axtract.audit_event
		WHERE action = 'feed.quality_set' AND feed_id = $1`, b.feedID).Scan(&detail)
	if err != nil {
		t.Fatalf("read feed.quality_set audit event: %v", err)
	}
	if detail != "fail" {
		t.Errorf("audited on_fail = %q, expected fail", detail)
	}

	// Rules that name only row counts do not need the column values.
	rules = b.setRules(t, `{"min_rows": 1, "max_row_change_pct": 10, "on_fail": "hold"}`)
	if rules.NeedsColumns() {
		t.Error("row-count rules need columns, expected they do not")
	}
	if rules.Action() != quality.ActionHold {
		t.Errorf("action = %s, expected hold", rules.Action())
	}

	exec(t, b.db, "SELECT axtract.feed_quality_set('acme-roster', '{}')")
	rules, err = quality.Load(ctx, b.q, b.feedID)
	if err != nil {
		t.Fatal(err)
	}
	if rules != nil {
		t.Errorf("rules after clearing = %+v, expected none", rules)
	}
	var clears int
	err = b.db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.audit_event WHERE action = 'feed.quality_clear' AND feed_id = $1", b.feedID).Scan(&clears)
	if err != nil {
		t.Fatal(err)
	}
	if clears != 1 {
		t.Errorf("feed.quality_clear events = %d, expected 1", clears)
	}
}

func TestLoadRejectsRulesWrittenDirectly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db, `INSERT INTO axtract.feed_quality (feed_id, rules) VALUES ($1, '{"min_rows": 1, "on_fail": "warn"}')`, b.feedID)
	_, err := quality.Load(context.Background(), b.q, b.feedID)
	if err == nil || !strings.Contains(err.Error(), `on_fail must be fail or hold, not "warn"`) {
		t.Fatalf("Load of an invalid on_fail = %v, expected an error naming it", err)
	}
	if !errors.Is(err, quality.ErrInvalidRules) {
		t.Errorf("Load of an invalid on_fail = %v, expected it to wrap ErrInvalidRules", err)
	}
	exec(t, b.db, `UPDATE axtract.feed_quality SET rules = '{"min_rowz": 1}' WHERE feed_id = $1`, b.feedID)
	_, err = quality.Load(context.Background(), b.q, b.feedID)
	if err == nil || !strings.Contains(err.Error(), `unknown field "min_rowz"`) {
		t.Fatalf("Load of an unknown rule = %v, expected an error naming it", err)
	}
}

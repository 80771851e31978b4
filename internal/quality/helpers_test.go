package quality_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/quality"
	"github.com/axtract/axtract/internal/store"
)

// The view of the test feed, as the partner's role reads it.
const rosterView = `"partner_acme"."roster"`

// memberRows is the mart the tests read: ten members whose first names,
// cities and ZIP codes have NULLs and repeats that the counts below follow.
// A city with a tab comes out of COPY escaped and must still compare equal.
var memberRows = []struct {
	id, first, city, zip *string
}{
	{s("00000000-0000-4000-8000-000000000001"), s("Ann"), s("Salem\tOR"), s("01970")},
	{s("00000000-0000-4000-8000-000000000002"), s("Bob"), s("Salem\tOR"), s("01971")},
	{s("00000000-0000-4000-8000-000000000003"), nil, s("Boston"), s("")},
	{s("00000000-0000-4000-8000-000000000004"), s("Cy"), s("Boston"), s("02108")},
	{s("00000000-0000-4000-8000-000000000005"), nil, s("Boston"), s("02109")},
	{s("00000000-0000-4000-8000-000000000006"), s("Dee"), nil, s("02110")},
	{s("00000000-0000-4000-8000-000000000007"), s("Eve"), s("Lynn"), s("01901")},
	{s("00000000-0000-4000-8000-000000000008"), nil, s("Troy"), s("12180")},
	{s("00000000-0000-4000-8000-000000000009"), s("Fay"), s("Ames"), s("50010")},
	{s("00000000-0000-4000-8000-000000000010"), s("Gus"), s("Waco"), s("76701")},
}

// Counts over memberRows.
const (
	memberCount     = 10
	firstNameNulls  = 3
	cityNulls       = 1
	cityDistinct    = 6
	cityDuplicates  = 3
	memberIDColumn  = "member_id"
	firstNameColumn = "first_name"
	cityColumn      = "city"
	zipColumn       = "zip"
)

func s(v string) *string { return &v }

type bundle struct {
	db     *pgtest.DB
	q      *store.Queries
	feedID int64
}

// setup creates the members, a partner acme with contact email, consents for
// every member, a view roster of member_id, first_name, city, zip and
// birth_date, a local destination and a feed acme-roster.
func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	for _, m := range memberRows {
		_, err := db.Pool.Exec(ctx, `INSERT INTO mart.member (member_id, first_name, city, zip, birth_date)
			VALUES ($1, $2, $3, $4, DATE '1980-01-01')`, m.id, m.first, m.city, m.zip)
		if err != nil {
			t.Fatalf("insert member: %v", err)
		}
	}
	_, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme Care", Purpose: "treatment", ContactEmail: "ops@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	spec := `{"dataset": "members", "columns": ["member_id", "first_name", "city", "zip", "birth_date"]}`
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "roster", []byte(spec)); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `SELECT axtract.consent_grant_all('acme', 'SELECT member_id FROM mart.member', DATE '2020-01-01')`)
	exec(t, db, `SELECT axtract.destination_define('acme', 'drop', 'local', jsonb_build_object('dir', $1::text))`, t.TempDir())
	var feedID int64
	err = db.Pool.QueryRow(ctx, `SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop', '{"encrypt": false}')`).Scan(&feedID)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{db: db, q: store.New(db.Pool), feedID: feedID}
}

func exec(t *testing.T, db *pgtest.DB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// setRules sets the rules of the test feed with axtract.feed_quality_set and
// loads them back with quality.Load.
func (b *bundle) setRules(t *testing.T, rules string) *quality.Rules {
	t.Helper()
	exec(t, b.db, "SELECT axtract.feed_quality_set('acme-roster', $1::jsonb)", rules)
	loaded, err := quality.Load(context.Background(), b.q, b.feedID)
	if err != nil {
		t.Fatalf("load rules %s: %v", rules, err)
	}
	if loaded == nil {
		t.Fatalf("load rules %s: no rules", rules)
	}
	return loaded
}

// countingWriter is a format.Writer that keeps only the number of rows and
// fields it was given.
type countingWriter struct {
	rows, fields int64
	closed       bool
}

func (w *countingWriter) WriteRow(fields [][]byte) error {
	w.rows++
	w.fields += int64(len(fields))
	return nil
}

func (w *countingWriter) Close() error {
	w.closed = true
	return nil
}

// copyRoster streams the roster view as the partner's role, with COPY in
// text format, through a Decoder into a Checker for rules that writes to a
// countingWriter, as the extract does. It returns the closed Checker.
func (b *bundle) copyRoster(t *testing.T, rules *quality.Rules) (*quality.Checker, *countingWriter) {
	t.Helper()
	ctx := context.Background()
	tx, err := b.db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var role string
	if err := tx.QueryRow(ctx, "SELECT axtract.partner_role('acme')").Scan(&role); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	cols, err := format.ColumnsOf(ctx, tx, rosterView)
	if err != nil {
		t.Fatal(err)
	}

	inner := &countingWriter{}
	chk, err := quality.NewChecker(inner, cols, rules)
	if err != nil {
		t.Fatalf("new checker: %v", err)
	}
	dec := format.NewDecoder(chk, len(cols))
	tag, err := tx.Conn().PgConn().CopyTo(ctx, dec, "COPY (SELECT * FROM "+rosterView+") TO STDOUT")
	if err != nil {
		t.Fatalf("copy roster: %v", err)
	}
	if err := dec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := chk.Close(); err != nil {
		t.Fatal(err)
	}

	if tag.RowsAffected() != memberCount {
		t.Fatalf("COPY read %d rows, expected %d: the test mart or its consents are wrong", tag.RowsAffected(), memberCount)
	}
	return chk, inner
}

// newRun creates a manual run of the test feed at slot and returns its id.
func (b *bundle) newRun(t *testing.T, slot time.Time) int64 {
	t.Helper()
	runID, err := b.q.RunCreate(context.Background(), store.RunCreateParams{FeedID: b.feedID, Slot: slot, Trigger: "manual"})
	if err != nil {
		t.Fatalf("create run: %v", err)
	}
	return runID
}

// startRun marks a run running, as an attempt does.
func (b *bundle) startRun(t *testing.T, runID int64) {
	t.Helper()
	if _, err := b.q.RunStart(context.Background(), runID); err != nil {
		t.Fatalf("start run %d: %v", runID, err)
	}
}

// succeedRun records a delivered run of rows rows.
func (b *bundle) succeedRun(t *testing.T, runID, rows int64) {
	t.Helper()
	exec(t, b.db, `UPDATE axtract.run SET status = 'succeeded', rows = $2, finished_at = clock_timestamp() WHERE run_id = $1`, runID, rows)
}

func (b *bundle) runStatus(t *testing.T, runID int64) string {
	t.Helper()
	var status string
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT status FROM axtract.run WHERE run_id = $1", runID).Scan(&status); err != nil {
		t.Fatal(err)
	}
	return status
}

// auditActions returns the audit actions recorded for a run, oldest first.
func (b *bundle) auditActions(t *testing.T, runID int64) []string {
	t.Helper()
	rows, err := b.db.Pool.Query(context.Background(), "SELECT action FROM axtract.audit_event WHERE run_id = $1 ORDER BY event_id", runID)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return actions
}

func checks(res *quality.Result) []string {
	var names []string
	for _, v := range res.Violations {
		name := v.Check
		if v.Column != "" {
			name += "/" + v.Column
		}
		names = append(names, name)
	}
	return names
}

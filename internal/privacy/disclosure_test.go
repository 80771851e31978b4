package privacy_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/privacy"
)

// newDisclosureFeed defines a local destination and a feed slug-view for
// view of partner slug.
func newDisclosureFeed(tb testing.TB, db *pgtest.DB, slug, view string) {
	tb.Helper()
	mustExec(tb, db, `SELECT axtract.destination_define($1, 'drop', 'local', '{"dir": "/nonexistent"}')`, slug)
	mustExec(tb, db, `SELECT axtract.feed_define($1, $2, $3, 'drop', '{"encrypt": false, "compression": "none"}')`,
		slug+"-"+view, slug, view)
}

// newRun inserts a queued run of feed and returns its id, as the scheduler
// would.
func newRun(tb testing.TB, db *pgtest.DB, feed string) int64 {
	tb.Helper()
	var id int64
	err := db.Pool.QueryRow(context.Background(), `INSERT INTO axtract.run (feed_id, slot, trigger)
		SELECT feed_id, clock_timestamp(), 'manual' FROM axtract.feed WHERE name = $1 RETURNING run_id`, feed).Scan(&id)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// extractRun does what the extract worker does for run: in one REPEATABLE
// READ transaction as the partner's identity role it copies the view, then
// records the disclosures. It returns the first column of the copied rows.
func extractRun(t *testing.T, db *pgtest.DB, run int64, slug, view string) []string {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	role := db.Name + "_p_" + slug
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	copySQL := fmt.Sprintf("COPY (SELECT * FROM %s) TO STDOUT WITH (FORMAT csv, HEADER true)", pgx.Identifier{"partner_" + slug, view}.Sanitize())
	if _, err := tx.Conn().PgConn().CopyTo(ctx, &out, copySQL); err != nil {
		t.Fatal(err)
	}
	n, err := privacy.RecordDisclosures(ctx, tx, run, slug, view)
	if err != nil {
		t.Fatal(err)
	}

	var current string
	if err := tx.QueryRow(ctx, "SELECT current_user").Scan(&current); err != nil {
		t.Fatal(err)
	}
	if current != role {
		t.Errorf("role after RecordDisclosures = %s, want %s", current, role)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	records, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var firsts []string
	for _, r := range records[1:] {
		firsts = append(firsts, r[0])
	}
	if int(n) != len(firsts) {
		t.Errorf("run %d recorded %d members, its file has %d rows of one member each", run, n, len(firsts))
	}
	return firsts
}

func TestDisclosuresListExactRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	a, b, c := memberID(1), memberID(2), memberID(3)
	insertMembers(t, db, member{id: a, birth: "1970-01-01"}, member{id: b, birth: "1980-01-01"}, member{id: c, birth: "1990-01-01"})
	createPartner(t, db, "acme", "operations")
	defineView(t, db, "acme", "roster", `{"dataset": "members", "columns": ["member_id", "birth_date"]}`)
	newDisclosureFeed(t, db, "acme", "roster")
	grant(t, db, partner.ConsentParams{Partner: "acme", MemberID: a, From: today()})
	grant(t, db, partner.ConsentParams{Partner: "acme", MemberID: b, From: today()})

	// Three runs; consents change between them.
	want := map[string][]int64{}
	runs := make([]int64, 3)
	for i := range runs {
		switch i {
		case 1:
			if _, err := partner.RevokeConsent(ctx, db.Pool, "acme", b); err != nil {
				t.Fatal(err)
			}
			grant(t, db, partner.ConsentParams{Partner: "acme", MemberID: c, From: today()})
		case 2:
			if _, err := partner.RevokeConsent(ctx, db.Pool, "acme", a); err != nil {
				t.Fatal(err)
			}
		}
		runs[i] = newRun(t, db, "acme-roster")
		for _, m := range extractRun(t, db, runs[i], "acme", "roster") {
			want[m] = append(want[m], runs[i])
		}
	}
	if !slices.Equal(want[a], runs[:2]) || !slices.Equal(want[b], runs[:1]) || !slices.Equal(want[c], runs[1:]) {
		t.Fatalf("the files disclosed %v; the consents should have made a in runs 1-2, b in run 1, c in runs 2-3", want)
	}

	for _, m := range []string{a, b, c} {
		list, err := privacy.MemberDisclosures(ctx, db.Pool, m)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, d := range list {
			got = append(got, d.RunID)
			if d.Partner != "acme" || d.PartnerName != "acme" || d.Purpose != "operations" || d.Feed != "acme-roster" ||
				d.View != "roster" || d.ViewVersion != 1 {
				t.Errorf("disclosure of run %d = %+v, want partner acme, purpose operations, feed acme-roster, view roster version 1", d.RunID, d)
			}
			if !bytes.Contains(d.ViewSpec, []byte(`"dataset": "members"`)) {
				t.Errorf("disclosure of run %d has view spec %s, want the roster spec", d.RunID, d.ViewSpec)
			}
		}
		if !slices.Equal(got, want[m]) {
			t.Errorf("disclosures of member %s = runs %v, want %v", m, got, want[m])
		}
	}

	// An id no member has had is an error, so a typo is not mistaken for
	// a member whose data no run disclosed.
	if _, err := privacy.MemberDisclosures(ctx, db.Pool, memberID(99)); !errors.Is(err, privacy.ErrNotFound) {
		t.Errorf("disclosures of an unknown member: error %v, want ErrNotFound", err)
	}

	byPartner, err := privacy.PartnerDisclosures(ctx, db.Pool, "acme", today(), today())
	if err != nil {
		t.Fatal(err)
	}
	var members []int64
	for _, d := range byPartner {
		members = append(members, d.Members)
	}
	if !slices.Equal(members, []int64{2, 2, 1}) {
		t.Errorf("members of acme's disclosures today = %v, want [2 2 1]", members)
	}
	yesterday := today().AddDate(0, 0, -1)
	byPartner, err = privacy.PartnerDisclosures(ctx, db.Pool, "acme", yesterday, yesterday)
	if err != nil {
		t.Fatal(err)
	}
	if len(byPartner) != 0 {
		t.Errorf("acme's disclosures yesterday = %v, want none", byPartner)
	}
}

func TestRecordDisclosuresWindowAndRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	for i := 1; i <= 3; i++ {
		insertMembers(t, db, member{id: memberID(i), birth: "1970-01-01"})
	}
	mustExec(t, db, `UPDATE mart.member SET loaded_at = TIMESTAMPTZ '2025-01-01 00:00:00Z' + (right(member_id::text, 1)::integer * interval '1 day')`)
	createPartner(t, db, "acme", "operations")
	mustExec(t, db, "SELECT axtract.partner_consent_default_set('acme', 'opt_out')")
	defineView(t, db, "acme", "recent", `{"dataset": "members", "columns": ["member_id", "loaded_at"]}`)
	newDisclosureFeed(t, db, "acme", "recent")

	record := func(run int64, w *privacy.Window, commit bool) int64 {
		t.Helper()
		tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "SET LOCAL TimeZone = 'UTC'"); err != nil {
			t.Fatal(err)
		}
		var n int64
		if w == nil {
			n, err = privacy.RecordDisclosures(ctx, tx, run, "acme", "recent")
		} else {
			n, err = privacy.RecordWindowDisclosures(ctx, tx, run, "acme", "recent", *w)
		}
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}

	from, to := "2025-01-02 00:00:00+00", "2025-01-03 00:00:00+00"
	run := newRun(t, db, "acme-recent")
	if n := record(run, &privacy.Window{Column: "loaded_at", From: &from, To: &to}, true); n != 1 {
		t.Errorf("members in window (%s, %s] = %d, want 1", from, to, n)
	}
	list, err := privacy.MemberDisclosures(ctx, db.Pool, memberID(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].RunID != run {
		t.Errorf("disclosures of the member in the window = %+v, want run %d", list, run)
	}
	if n := record(newRun(t, db, "acme-recent"), &privacy.Window{Column: "loaded_at", From: &to, To: &to}, true); n != 0 {
		t.Errorf("members in an empty window = %d, want 0", n)
	}

	// A run whose transaction rolls back, as a failed delivery's does,
	// leaves no record.
	failed := newRun(t, db, "acme-recent")
	if n := record(failed, nil, false); n != 3 {
		t.Errorf("members of the whole view = %d, want 3", n)
	}
	var stored int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.disclosure WHERE run_id = $1", failed).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Errorf("records of a rolled-back run = %d, want 0", stored)
	}

	// A watermark column the view does not have fails.
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	_, err = privacy.RecordWindowDisclosures(ctx, tx, failed, "acme", "recent", privacy.Window{Column: "updated_at", To: &to})
	requireSQLState(t, err, "42703", "window on a missing column")
}

func TestRecordDisclosuresNeedsReadWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	createPartner(t, db, "acme", "operations")
	defineView(t, db, "acme", "roster", `{"dataset": "members", "columns": ["member_id"]}`)
	newDisclosureFeed(t, db, "acme", "roster")
	run := newRun(t, db, "acme-roster")

	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	_, err = privacy.RecordDisclosures(ctx, tx, run, "acme", "roster")
	if !errors.Is(err, privacy.ErrReadOnly) {
		t.Errorf("err = %v, want ErrReadOnly", err)
	}
}

func TestMemberKeysOfViews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	insertMembers(t, db, member{id: memberID(1), first: "A", last: "B", birth: "1980-01-01", zip: "02155"})
	createPartner(t, db, "acme", "operations")
	for name, spec := range map[string]string{
		"plain":  `{"dataset": "members", "columns": ["first_name", {"column": "member_id", "as": "who"}]}`,
		"both":   `{"dataset": "members", "columns": [{"column": "member_id", "as": "key", "transform": "pseudonym"}, "member_id"]}`,
		"pseudo": `{"dataset": "members", "columns": [{"column": "member_id", "as": "key", "transform": "pseudonym"}, "gender"]}`,
		"none":   `{"dataset": "members", "columns": ["gender"]}`,
	} {
		defineView(t, db, "acme", name, spec)
	}
	for view, want := range map[string]string{"plain": "who member_id", "both": "member_id member_id", "pseudo": "key pseudonym", "none": ""} {
		got, err := collectText(ctx, db.Pool, "SELECT column_name || ' ' || kind FROM axtract.view_member_key('acme', $1)", view)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "") != want {
			t.Errorf("member key of view %s = %q, want %q", view, got, want)
		}
	}

	// A key that names no member, or a kind the function does not know,
	// records nothing.
	newDisclosureFeed(t, db, "acme", "plain")
	run := newRun(t, db, "acme-plain")
	for _, c := range []struct{ kind, key, state string }{
		{"member_id", memberID(99), "23503"},
		{"pseudonym", memberID(1), "23503"},
		{"name", memberID(1), "22023"},
	} {
		_, err := db.Pool.Exec(ctx, "SELECT axtract.disclosure_record_keys($1, 'acme', 'plain', $2, ARRAY[$3::uuid])", run, c.kind, c.key)
		requireSQLState(t, err, c.state, c.kind+" key "+c.key)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.disclosure"); n != 0 {
		t.Errorf("%d disclosures recorded by failed calls, want 0", n)
	}
	n, err := func() (int64, error) {
		var n int64
		err := db.Pool.QueryRow(ctx, "SELECT axtract.disclosure_record_keys($1, 'acme', 'plain', 'member_id', ARRAY[$2::uuid])",
			run, memberID(1)).Scan(&n)
		return n, err
	}()
	if err != nil || n != 1 {
		t.Errorf("record of a member key = %d, %v; want 1 member", n, err)
	}
}

func TestPartnerCannotReadDisclosures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	createPartner(t, db, "acme", "operations")
	defineView(t, db, "acme", "roster", `{"dataset": "members", "columns": ["member_id"]}`)
	var view string
	if err := db.Pool.QueryRow(ctx, "SELECT 'axtract_disclosure.v' || view_id FROM axtract.partner_view").Scan(&view); err != nil {
		t.Fatal(err)
	}
	conn := connectLogin(t, db, "acme")
	for _, sql := range []string{
		"SELECT * FROM " + view,
		"SELECT * FROM axtract.disclosure",
		"SELECT * FROM axtract.disclosure_member",
		"SELECT * FROM axtract.member_number",
		"SELECT * FROM axtract.disclosures_of_member('" + memberID(1) + "')",
		"SELECT axtract.disclosure_record(1, 'acme', 'roster')",
		"SELECT axtract.disclosure_record_keys(1, 'acme', 'roster', 'member_id', ARRAY['" + memberID(1) + "'::uuid])",
		"SELECT * FROM axtract.view_member_key('acme', 'roster')",
	} {
		_, err := conn.Exec(ctx, sql)
		requireSQLState(t, err, "42501", sql)
	}
}

func TestMemberNumbersAreAssigned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	insertMembers(t, db, member{id: memberID(1), birth: "1970-01-01"}, member{id: memberID(2), birth: "1970-01-01"})
	var numbered int
	if err := db.Pool.QueryRow(ctx, "SELECT count(DISTINCT member_no) FROM axtract.member_number").Scan(&numbered); err != nil {
		t.Fatal(err)
	}
	if numbered != 2 {
		t.Errorf("numbered members = %d, want 2", numbered)
	}
}

package partner_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

const (
	memberConsented = "00000000-0000-4000-8000-000000000001"
	memberEnded     = "00000000-0000-4000-8000-000000000002"
	memberOther     = "00000000-0000-4000-8000-000000000003"
)

type bundle struct {
	db    *pgtest.DB
	login *partner.Login
}

// setup creates partners acme and other, a members view for each, three
// members and their consents, and a reader login for acme.
func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	mustExec(t, db, `INSERT INTO mart.member (member_id, first_name, last_name, birth_date, zip) VALUES
		($1, 'Ann', 'Lee', '1970-01-02', '02155'),
		($2, 'Bob', 'Ray', '1980-03-04', '60601'),
		($3, 'Cy', 'Hidden', '1990-05-06', '94110')`, memberConsented, memberEnded, memberOther)

	for _, p := range []partner.CreateParams{
		{Slug: "acme", Name: "Acme Care", Purpose: "operations"},
		{Slug: "other", Name: "Other Co", Purpose: "treatment"},
	} {
		if _, err := partner.Create(ctx, db.Pool, p); err != nil {
			t.Fatal(err)
		}
		spec := `{"dataset": "members", "columns": ["member_id", "first_name", {"column": "zip", "transform": "zip3"}]}`
		if _, err := partner.DefineView(ctx, db.Pool, p.Slug, "roster", []byte(spec)); err != nil {
			t.Fatal(err)
		}
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	yesterday := today.AddDate(0, 0, -1)
	grant(t, db, "acme", memberConsented, today.AddDate(-1, 0, 0), nil)
	grant(t, db, "acme", memberEnded, today.AddDate(-1, 0, 0), &yesterday)
	grant(t, db, "other", memberOther, today, nil)

	login, err := partner.CreateLogin(ctx, db.Pool, "acme", "analyst")
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{db: db, login: login}
}

func grant(t *testing.T, db *pgtest.DB, slug, member string, from time.Time, to *time.Time) {
	t.Helper()
	if _, err := partner.GrantConsent(context.Background(), db.Pool, slug, member, from, to, "test"); err != nil {
		t.Fatal(err)
	}
}

func mustExec(t *testing.T, db *pgtest.DB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// connectAs opens a connection as the partner's reader login over TCP.
func (b *bundle) connectAs(t *testing.T) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(b.db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = b.login.Role
	cfg.Password = b.login.Password
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect as %s: %v", b.login.Role, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func memberIDs(t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	slices.Sort(ids)
	return ids
}

func requireSQLState(t *testing.T, err error, code, what string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("%s: err = %v, want SQLSTATE %s", what, err, code)
	}
	if pgErr.Code != code {
		t.Fatalf("%s: SQLSTATE %s (%s), want %s", what, pgErr.Code, pgErr.Message, code)
	}
}

func TestLoginSeesOnlyConsentedMembers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := b.connectAs(t)

	got := memberIDs(t, conn, "SELECT member_id::text FROM roster")
	if !slices.Equal(got, []string{memberConsented}) {
		t.Errorf("roster members = %v, want only %s", got, memberConsented)
	}

	var zip string
	if err := conn.QueryRow(context.Background(), "SELECT zip FROM roster").Scan(&zip); err != nil {
		t.Fatal(err)
	}
	if zip != "021" {
		t.Errorf("zip = %q, want the three-digit prefix 021", zip)
	}
}

func TestRevocationAppliesToNextQuery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := b.connectAs(t)
	if got := memberIDs(t, conn, "SELECT member_id::text FROM roster"); len(got) != 1 {
		t.Fatalf("before revoke: members = %v, want 1", got)
	}

	n, err := partner.RevokeConsent(context.Background(), b.db.Pool, "acme", memberConsented)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("revoked consents = %d, want 1", n)
	}
	if got := memberIDs(t, conn, "SELECT member_id::text FROM roster"); len(got) != 0 {
		t.Errorf("after revoke: members = %v, want none", got)
	}
}

func TestLoginCannotReadBeyondItsViews(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := b.connectAs(t)
	ctx := context.Background()

	cases := []struct {
		name, sql, code string
	}{
		{"mart table", "SELECT count(*) FROM mart.member", "42501"},
		{"control schema", "SELECT count(*) FROM axtract.consent", "42501"},
		{"other partner's view", "SELECT count(*) FROM partner_other.roster", "42501"},
		{"river jobs", "SELECT count(*) FROM river.river_job", "42501"},
		// Not updatable behind the consent fence, which PostgreSQL reports
		// before privileges (internal/access tests the privileges).
		{"write to own view", "DELETE FROM roster", "55000"},
		{"create table", "CREATE TABLE roster_copy (id int)", "42501"},
		{"call control function", "SELECT axtract.pseudonyms_refresh(1)", "42501"},
	}
	for _, c := range cases {
		_, err := conn.Exec(ctx, c.sql)
		requireSQLState(t, err, c.code, c.name)
	}

	_, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{b.db.Name + "_p_other"}.Sanitize())
	requireSQLState(t, err, "42501", "SET ROLE to another partner")
}

func TestErroringPredicateRevealsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := b.connectAs(t)

	// The member without consent is named Cy; a predicate that divides by
	// zero on that name would fail if the partner's predicate ran before the
	// view's security quals.
	got := memberIDs(t, conn, "SELECT member_id::text FROM roster WHERE 1 / (CASE WHEN first_name = 'Cy' THEN 0 ELSE 1 END) = 1")
	if !slices.Equal(got, []string{memberConsented}) {
		t.Errorf("members = %v, want only %s", got, memberConsented)
	}
	got = memberIDs(t, conn, "SELECT member_id::text FROM roster WHERE (CASE WHEN first_name = 'Bob' THEN 'x' ELSE '1' END)::int = 1")
	if !slices.Equal(got, []string{memberConsented}) {
		t.Errorf("members = %v, want only %s", got, memberConsented)
	}
}

func TestDefineViewRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	cases := []struct {
		name, spec, code string
	}{
		{"unknown column", `{"dataset": "members", "columns": ["password"]}`, "42703"},
		{"unknown dataset", `{"dataset": "pg_authid", "columns": ["rolname"]}`, "22023"},
		{"injection in alias", `{"dataset": "members", "columns": [{"column": "zip", "as": "z\"; DROP TABLE mart.member; --"}]}`, "22023"},
		{"bad transform type", `{"dataset": "members", "columns": [{"column": "birth_date", "transform": "zip3"}]}`, "22023"},
		{"bad operator", `{"dataset": "members", "columns": ["zip"], "filters": [{"column": "zip", "op": "; DROP", "value": "1"}]}`, "22023"},
		{"duplicate output", `{"dataset": "members", "columns": ["zip", "zip"]}`, "42701"},
		// A misspelt key must fail, not send the column untransformed.
		{"misspelt transform key", `{"dataset": "members", "columns": [{"column": "zip", "transfrom": "zip3"}]}`, "22023"},
		{"misspelt filters key", `{"dataset": "members", "columns": ["zip"], "filter": [{"column": "zip", "op": "is_null"}]}`, "22023"},
		{"unknown filter key", `{"dataset": "members", "columns": ["zip"], "filters": [{"column": "zip", "op": "=", "value": "1", "negate": true}]}`, "22023"},
		{"parameter of another transform", `{"dataset": "members", "columns": [{"column": "last_name", "transform": "mask", "length": 2}]}`, "22023"},
		{"column entry not an object", `{"dataset": "members", "columns": [["zip"]]}`, "22023"},
		{"filter value of the wrong type", `{"dataset": "members", "columns": ["zip"], "filters": [{"column": "birth_date", "op": ">=", "value": "last spring"}]}`, "22023"},
		{"list value of the wrong type", `{"dataset": "members", "columns": ["zip"], "filters": [{"column": "birth_date", "op": "in", "value": ["2020-01-01", "soon"]}]}`, "22023"},
		{"is_null with a value", `{"dataset": "members", "columns": ["zip"], "filters": [{"column": "zip", "op": "is_null", "value": "02139"}]}`, "22023"},
		// PostgreSQL would fix these at the day the view is defined.
		{"relative date", `{"dataset": "members", "columns": ["zip"], "filters": [{"column": "birth_date", "op": "<", "value": " Today"}]}`, "22023"},
		{"relative date in a list", `{"dataset": "members", "columns": ["zip"], "filters": [{"column": "birth_date", "op": "in", "value": ["2020-01-01", "\tyesterday"]}]}`, "22023"},
		{"relative date with a time", `{"dataset": "members", "columns": ["zip"], "filters": [{"column": "birth_date", "op": ">", "value": "tomorrow 00:00"}]}`, "22023"},
		{"now with parentheses", `{"dataset": "members", "columns": ["zip"], "filters": [{"column": "birth_date", "op": ">", "value": "now()"}]}`, "22023"},
		{"relative date run into a time", `{"dataset": "members", "columns": ["zip"], "filters": [{"column": "birth_date", "op": ">", "value": "tomorrow0900"}]}`, "22023"},
	}
	for _, c := range cases {
		_, err := partner.DefineView(ctx, b.db.Pool, "acme", "bad", []byte(c.spec))
		requireSQLState(t, err, c.code, c.name)
	}

	// A filter value is a literal, whatever it contains.
	spec := `{"dataset": "members", "columns": ["member_id"], "filters": [{"column": "first_name", "op": "=", "value": "x' OR '1'='1"}]}`
	if _, err := partner.DefineView(ctx, b.db.Pool, "acme", "quoted", []byte(spec)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.db.Pool.QueryRow(ctx, "SELECT count(*) FROM partner_acme.quoted").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("rows = %d, want 0: the filter value must compare as one literal", n)
	}
}

func TestViewOwnerHasOnlyColumnGrants(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var ssn, first bool
	err := b.db.Pool.QueryRow(context.Background(), `SELECT
		has_column_privilege($1, 'mart.member', 'ssn', 'SELECT'),
		has_column_privilege($1, 'mart.member', 'first_name', 'SELECT')`, b.db.Name+"_o_acme").Scan(&ssn, &first)
	if err != nil {
		t.Fatal(err)
	}
	if ssn {
		t.Error("view owner can read mart.member.ssn, which no view selects")
	}
	if !first {
		t.Error("view owner cannot read mart.member.first_name, which the roster view selects")
	}
}

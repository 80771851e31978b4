package access_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/access"
	"github.com/axtract/axtract/internal/pgtest"
)

func TestLoginRoleSettings(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	cred := createLogin(t, db, "analyst", func(p *access.LoginParams) {
		p.ConnectionLimit = 3
		p.ValidUntil = expires
		p.StatementTimeout = 90 * time.Second
		p.IdleInTransactionTimeout = 20 * time.Second
		p.IdleSessionTimeout = 10 * time.Minute
	})
	if want := db.Name + "_l_acme_analyst"; cred.Role != want {
		t.Errorf("role = %q, want %q", cred.Role, want)
	}
	if len(cred.Password) < 32 {
		t.Errorf("password has %d characters, want at least 32", len(cred.Password))
	}
	requireVerifierMatches(t, db, cred.Role, cred.Password)

	var canLogin bool
	var connLimit int
	var validUntil time.Time
	err := db.Pool.QueryRow(ctx, "SELECT rolcanlogin, rolconnlimit, rolvaliduntil FROM pg_roles WHERE rolname = $1", cred.Role).
		Scan(&canLogin, &connLimit, &validUntil)
	if err != nil {
		t.Fatal(err)
	}
	if !canLogin {
		t.Error("role cannot log in")
	}
	if connLimit != 3 {
		t.Errorf("connection limit = %d, want 3", connLimit)
	}
	if !validUntil.Equal(expires) {
		t.Errorf("VALID UNTIL = %s, want %s", validUntil, expires)
	}

	conn := connectAs(t, db, cred)
	for setting, want := range map[string]string{
		"search_path":                         "partner_acme",
		"statement_timeout":                   "90s",
		"idle_in_transaction_session_timeout": "20s",
		"idle_session_timeout":                "10min",
	} {
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}

	list, err := access.ListLogins(ctx, db.Pool, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("logins = %+v, want one", list)
	}
	got := list[0]
	if got.Role != cred.Role || got.Status != "active" || got.ConnectionLimit != 3 || got.StatementTimeout != 90*time.Second ||
		got.Sessions != 1 || got.ValidUntil == nil || !got.ValidUntil.Equal(expires) {
		t.Errorf("listed login = %+v, want role %s, active, limit 3, 90s, 1 session, valid until %s", got, cred.Role, expires)
	}
}

func TestCreateLoginRejectsBadInput(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	createLogin(t, db, "analyst", nil)

	cases := []struct {
		name string
		edit func(*access.LoginParams)
		code string
	}{
		{"duplicate login", func(p *access.LoginParams) { p.Login = "analyst" }, "23505"},
		{"generation suffix", func(p *access.LoginParams) { p.Login = "tool_g2" }, "22023"},
		{"uppercase", func(p *access.LoginParams) { p.Login = "Tool" }, "22023"},
		{"quote", func(p *access.LoginParams) { p.Login = `x"; DROP ROLE postgres; --` }, "22023"},
		{"zero connections", func(p *access.LoginParams) { p.ConnectionLimit = 0 }, "22023"},
		{"expiry in the past", func(p *access.LoginParams) { p.ValidUntil = time.Now().Add(-time.Hour) }, "22023"},
		{"negative timeout", func(p *access.LoginParams) { p.StatementTimeout = -time.Second }, "22023"},
		{"unknown partner", func(p *access.LoginParams) { p.Slug = "nobody" }, "P0002"},
	}
	for _, c := range cases {
		p := access.NewLoginParams("acme", "tool")
		c.edit(&p)
		_, err := access.CreateLogin(ctx, db.Pool, p)
		requireSQLState(t, err, c.code, c.name)
	}
}

// TestLoginCannotWriteOrEscape runs every way out of a partner's views that
// privileges must close, as the partner's login over TCP, and then checks
// that none of them changed anything.
func TestLoginCannotWriteOrEscape(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	dblink, fileFDW := contribExtensions(t, db)
	cred := createLogin(t, db, "analyst", nil)
	conn := connectAs(t, db, cred)
	before := databaseState(t, db)

	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM roster").Scan(&n); err != nil {
		t.Fatalf("read own view: %v", err)
	}
	if n != 1 {
		t.Errorf("own view rows = %d, want 1", n)
	}
	// Read-only comes from privileges: the login holds no write privilege
	// on its view, whether or not the view could be updated.
	var writable bool
	err := conn.QueryRow(ctx, `SELECT has_table_privilege('roster', 'INSERT') OR has_table_privilege('roster', 'UPDATE')
		OR has_table_privilege('roster', 'DELETE') OR has_table_privilege('roster', 'TRUNCATE')`).Scan(&writable)
	if err != nil {
		t.Fatal(err)
	}
	if writable {
		t.Error("the login holds a write privilege on its view")
	}

	otherIdentity := pgx.Identifier{db.Name + "_p_other"}.Sanitize()
	dsn := fmt.Sprintf("host=127.0.0.1 dbname=%s user=postgres", db.Name)
	cases := []struct {
		name, sql, code string
	}{
		// The fenced views are not updatable, which PostgreSQL reports
		// before it checks privileges; the privileges are checked below.
		{"insert into own view", "INSERT INTO roster (member_id, first_name) VALUES (gen_random_uuid(), 'X')", "55000"},
		{"update own view", "UPDATE roster SET first_name = 'X'", "55000"},
		{"delete from own view", "DELETE FROM roster", "55000"},
		{"create table", "CREATE TABLE roster_copy (id int)", "42501"},
		{"create table in public", "CREATE TABLE public.roster_copy (id int)", "42501"},
		{"create temp table", "CREATE TEMP TABLE scratch (id int)", "42501"},
		{"create function", "CREATE FUNCTION leak(text) RETURNS boolean LANGUAGE sql AS 'SELECT true'", "42501"},
		{"create temp function", "CREATE FUNCTION pg_temp.leak(text) RETURNS boolean LANGUAGE sql AS 'SELECT true'", "42501"},
		{"create schema", "CREATE SCHEMA mine", "42501"},
		{"select mart table", "SELECT count(*) FROM mart.member", "42501"},
		{"select control schema", "SELECT count(*) FROM axtract.consent", "42501"},
		{"select pseudonyms", "SELECT count(*) FROM axtract.member_pseudonym", "42501"},
		{"select river jobs", "SELECT count(*) FROM river.river_job", "42501"},
		{"select other partner's view", "SELECT count(*) FROM partner_other.roster", "42501"},
		{"select pg_authid", "SELECT count(*) FROM pg_authid", "42501"},
		{"call control function", "SELECT axtract.pseudonyms_refresh(1)", "42501"},
		{"call pgcrypto", "SELECT axtract_crypto.digest('x', 'sha256')", "42501"},
		{"lock mart table", "BEGIN; LOCK TABLE mart.member; COMMIT", "42501"},
		{"alter own view", "ALTER VIEW roster RENAME TO mine", "42501"},
		{"write in DO block", "DO $$ BEGIN DELETE FROM roster; END $$", "55000"},
		{"set role to another partner", "SET ROLE " + otherIdentity, "42501"},
		{"set session authorization", "SET SESSION AUTHORIZATION postgres", "42501"},
		{"copy from program", "COPY roster (first_name) FROM PROGRAM 'id'", "42501"},
		{"copy from server file", "COPY roster (first_name) FROM '/etc/hostname'", "42501"},
		{"server-side lo_import", "SELECT lo_import('/etc/hostname')", "42501"},
		{"create large object", "SELECT lo_from_bytea(0, 'x')", "42501"},
		{"lo_create", "SELECT lo_create(0)", "42501"},
		{"pg_read_file", "SELECT pg_read_file('/etc/hostname')", "42501"},
		{"pg_ls_dir", "SELECT pg_ls_dir('.')", "42501"},
		{"advisory lock", "SELECT pg_advisory_lock(1)", "42501"},
		{"dblink_connect unqualified", "SELECT dblink_connect('" + dsn + "')", "42883"},
	}
	if fileFDW {
		cases = append(cases, struct{ name, sql, code string }{"create extension", "CREATE EXTENSION file_fdw", "42501"})
	}
	if dblink {
		cases = append(cases,
			struct{ name, sql, code string }{"dblink_connect", "SELECT public.dblink_connect('" + dsn + "')", "42501"},
			struct{ name, sql, code string }{"dblink", "SELECT * FROM public.dblink('" + dsn + "', 'SELECT 1') AS t(x int)", "42501"},
		)
	}
	for _, c := range cases {
		_, err := conn.Exec(ctx, c.sql)
		requireSQLState(t, err, c.code, c.name)
		// End the transaction a failed multi-statement case left open.
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
	}

	// Read-only comes from privileges, so turning the setting off changes nothing.
	if _, err := conn.Exec(ctx, "SET default_transaction_read_only = off"); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "INSERT INTO roster (member_id, first_name) VALUES (gen_random_uuid(), 'X')")
	requireSQLState(t, err, "55000", "insert after default_transaction_read_only = off")
	_, err = conn.Exec(ctx, "BEGIN READ WRITE; UPDATE roster SET first_name = 'X'; COMMIT")
	requireSQLState(t, err, "55000", "update in a read-write transaction")
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}

	_, err = conn.PgConn().CopyFrom(ctx, strings.NewReader("00000000-0000-4000-8000-0000000000aa,X\n"),
		"COPY roster (member_id, first_name) FROM STDIN WITH (FORMAT csv)")
	requireSQLState(t, err, "42501", "copy from stdin into own view")

	// A client-side large-object import creates the object first, through
	// lo_create, which the partner cannot call.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	los := tx.LargeObjects()
	_, err = los.Create(ctx, 0)
	requireSQLState(t, err, "42501", "client-side large object import")
	_ = tx.Rollback(ctx)

	if after := databaseState(t, db); after != before {
		t.Errorf("database changed:\nbefore %s\nafter  %s", before, after)
	}
}

// contribExtensions creates the dblink extension in schema public when the
// server has it, so that the partner's calls are denied by privileges and
// not by a missing function. It reports whether dblink and file_fdw are
// available.
func contribExtensions(t *testing.T, db *pgtest.DB) (dblink, fileFDW bool) {
	t.Helper()
	err := db.Pool.QueryRow(context.Background(), `SELECT
		EXISTS (SELECT FROM pg_available_extensions WHERE name = 'dblink'),
		EXISTS (SELECT FROM pg_available_extensions WHERE name = 'file_fdw')`).Scan(&dblink, &fileFDW)
	if err != nil {
		t.Fatal(err)
	}
	if dblink {
		mustExec(t, db, "CREATE EXTENSION IF NOT EXISTS dblink WITH SCHEMA public")
	}
	return dblink, fileFDW
}

// databaseState summarises what a partner could have changed: the mart's
// members, the objects in partner and temporary schemas, large objects,
// this database's roles and their memberships, and the extensions.
func databaseState(t *testing.T, db *pgtest.DB) string {
	t.Helper()
	var state string
	err := db.Pool.QueryRow(context.Background(), `SELECT concat_ws(' ',
		(SELECT md5(string_agg(m::text, ',' ORDER BY member_id)) FROM mart.member m),
		(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname LIKE 'partner\_%' OR n.nspname LIKE 'pg\_temp\_%'),
		(SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		 WHERE n.nspname LIKE 'partner\_%' OR n.nspname LIKE 'pg\_temp\_%'),
		(SELECT count(*) FROM pg_namespace),
		(SELECT count(*) FROM pg_largeobject_metadata),
		(SELECT count(*) FROM pg_roles WHERE starts_with(rolname, current_database() || '_')),
		(SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE starts_with(r.rolname, current_database() || '_')),
		(SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension))`).Scan(&state)
	if err != nil {
		t.Fatal(err)
	}
	return state
}

func TestErroringPredicatesRevealNothing(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	conn := connectAs(t, db, createLogin(t, db, "analyst", nil))

	// Bob's consent ended and Cy consented to another partner. Each
	// predicate fails on one of their rows, so it would raise an error if it
	// ran before the view's filters and the consent policy.
	predicates := []string{
		"1 / (CASE WHEN first_name = 'Cy' THEN 0 ELSE 1 END) = 1",
		"(CASE WHEN first_name = 'Bob' THEN 'x' ELSE '1' END)::int = 1",
		"1 / (CASE WHEN zip = '941' THEN 0 ELSE 1 END) = 1",
		"(CASE WHEN birth_date = DATE '1980-03-04' THEN 'not a date' ELSE '2000-01-01' END)::date IS NOT NULL",
		"member_id <> (CASE WHEN first_name = 'Cy' THEN 'not a uuid' ELSE '" + memberOther + "' END)::uuid",
	}
	for _, p := range predicates {
		rows, err := conn.Query(ctx, "SELECT member_id::text FROM roster WHERE "+p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !slices.Equal(ids, []string{memberConsented}) {
			t.Errorf("WHERE %s: members = %v, want only %s", p, ids, memberConsented)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM (SELECT * FROM roster ORDER BY member_id) r WHERE "+p).Scan(&n); err != nil {
			t.Fatalf("count in subquery WHERE %s: %v", p, err)
		}
		if n != 1 {
			t.Errorf("count in subquery WHERE %s = %d, want 1", p, n)
		}
	}
}

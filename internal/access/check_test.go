package access_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/access"
	"github.com/axtract/axtract/internal/migrate"
	"github.com/axtract/axtract/internal/pgtest"
)

func checkFindings(t *testing.T, db *pgtest.DB) []access.Finding {
	t.Helper()
	findings, err := access.Check(context.Background(), db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	return findings
}

func requireNoDrift(t *testing.T, db *pgtest.DB, when string) {
	t.Helper()
	for _, f := range checkFindings(t, db) {
		if f.Severity == access.SeverityDrift {
			t.Errorf("%s: %s", when, f)
		}
	}
}

// migrateAgain runs axtract migrate on the test database. A database
// cloned from a template does not inherit the template's database-level
// privileges, so this is what a fresh install looks like.
func migrateAgain(t *testing.T, db *pgtest.DB) {
	t.Helper()
	if err := migrate.Up(context.Background(), db.Pool, migrate.Config{}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckCleanOnFreshInstall(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	migrateAgain(t, db)
	if findings := checkFindings(t, db); len(findings) != 0 {
		t.Errorf("findings on a fresh install = %v, want none", findings)
	}
}

func TestCheckReportsHandAddedGrants(t *testing.T) {
	t.Parallel()
	db := setup(t)
	cred := createLogin(t, db, "analyst", nil)
	migrateAgain(t, db)
	requireNoDrift(t, db, "partners, views and a login")

	identity := pgx.Identifier{db.Name + "_p_acme"}.Sanitize()
	login := pgx.Identifier{cred.Role}.Sanitize()
	database := pgx.Identifier{db.Name}.Sanitize()
	var admin string
	if err := db.Pool.QueryRow(context.Background(), "SELECT current_user").Scan(&admin); err != nil {
		t.Fatal(err)
	}
	var rosterSQL string
	err := db.Pool.QueryRow(context.Background(), `SELECT v.compiled_sql FROM axtract.partner_view v
		JOIN axtract.partner p USING (partner_id) WHERE p.slug = 'acme' AND v.name = 'roster'`).Scan(&rosterSQL)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, change, undo string
		want               access.Finding
	}{
		{"view without the consent fence",
			"CREATE OR REPLACE VIEW partner_acme.roster WITH (security_barrier = true) AS " + rosterSQL,
			"SELECT axtract.partner_views_fence()",
			access.Finding{Role: db.Name + "_o_acme", Object: "view partner_acme.roster",
				Problem: "reads its rows without the OFFSET 0 fence, so a partner's conditions can run before the consent policies"}},
		{"select on a mart table",
			"GRANT SELECT ON mart.member TO " + identity, "REVOKE SELECT ON mart.member FROM " + identity,
			access.Finding{Role: db.Name + "_p_acme", Object: "table mart.member", Problem: "holds SELECT"}},
		{"column select on a mart table",
			"GRANT SELECT (ssn) ON mart.member TO " + login, "REVOKE SELECT (ssn) ON mart.member FROM " + login,
			access.Finding{Role: cred.Role, Object: "column ssn of table mart.member", Problem: "holds SELECT"}},
		{"create on the partner schema",
			"GRANT CREATE ON SCHEMA partner_acme TO " + login, "REVOKE CREATE ON SCHEMA partner_acme FROM " + login,
			access.Finding{Role: cred.Role, Object: "schema partner_acme", Problem: "holds CREATE"}},
		{"usage on the control schema",
			"GRANT USAGE ON SCHEMA axtract TO " + identity, "REVOKE USAGE ON SCHEMA axtract FROM " + identity,
			access.Finding{Role: db.Name + "_p_acme", Object: "schema axtract", Problem: "holds USAGE"}},
		{"usage on the control schema to PUBLIC",
			"GRANT USAGE ON SCHEMA axtract TO PUBLIC", "REVOKE USAGE ON SCHEMA axtract FROM PUBLIC",
			access.Finding{Role: "PUBLIC", Object: "schema axtract", Problem: "holds USAGE"}},
		{"usage on schema public to PUBLIC",
			"GRANT USAGE ON SCHEMA public TO PUBLIC", "REVOKE USAGE ON SCHEMA public FROM PUBLIC",
			access.Finding{Role: "PUBLIC", Object: "schema public", Problem: "holds USAGE"}},
		{"select on River's jobs to PUBLIC",
			"GRANT SELECT ON river.river_job TO PUBLIC", "REVOKE SELECT ON river.river_job FROM PUBLIC",
			access.Finding{Role: "PUBLIC", Object: "table river.river_job", Problem: "holds SELECT"}},
		{"temporary tables to PUBLIC",
			"GRANT TEMPORARY ON DATABASE " + database + " TO PUBLIC", "REVOKE TEMPORARY ON DATABASE " + database + " FROM PUBLIC",
			access.Finding{Role: "PUBLIC", Object: "database " + db.Name, Problem: "holds TEMPORARY"}},
		{"select on another partner's view",
			"GRANT SELECT ON partner_other.roster TO " + identity, "REVOKE SELECT ON partner_other.roster FROM " + identity,
			access.Finding{Role: db.Name + "_p_acme", Object: "view partner_other.roster", Problem: "holds SELECT"}},
		{"insert on its own view",
			"GRANT INSERT ON partner_acme.roster TO " + identity, "REVOKE INSERT ON partner_acme.roster FROM " + identity,
			access.Finding{Role: db.Name + "_p_acme", Object: "view partner_acme.roster", Problem: "holds INSERT"}},
		{"execute on a superuser function",
			"GRANT EXECUTE ON FUNCTION pg_read_file(text) TO " + identity, "REVOKE EXECUTE ON FUNCTION pg_read_file(text) FROM " + identity,
			access.Finding{Role: db.Name + "_p_acme", Object: "function pg_read_file(text)", Problem: "holds EXECUTE"}},
		{"execute on a superuser function to PUBLIC",
			"GRANT EXECUTE ON FUNCTION pg_read_file(text) TO PUBLIC", "REVOKE EXECUTE ON FUNCTION pg_read_file(text) FROM PUBLIC",
			access.Finding{Role: "PUBLIC", Object: "function pg_read_file(text)", Problem: "holds EXECUTE, which initdb did not grant"}},
		{"advisory locks to PUBLIC",
			"GRANT EXECUTE ON FUNCTION pg_advisory_lock(bigint) TO PUBLIC", "REVOKE EXECUTE ON FUNCTION pg_advisory_lock(bigint) FROM PUBLIC",
			access.Finding{Role: "PUBLIC", Object: "functions pg_advisory_lock(bigint)", Problem: "hold EXECUTE"}},
		{"default privileges",
			"ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO " + identity,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA mart REVOKE SELECT ON TABLES FROM " + identity,
			access.Finding{Role: db.Name + "_p_acme", Object: "default privileges on new relations belonging to role " + admin + " in schema mart", Problem: "holds SELECT"}},
		{"predefined role",
			"GRANT pg_read_server_files TO " + login, "REVOKE pg_read_server_files FROM " + login,
			access.Finding{Role: cred.Role, Object: "role pg_read_server_files", Problem: "is a member"}},
		{"membership in another partner",
			"GRANT " + pgx.Identifier{db.Name + "_p_other"}.Sanitize() + " TO " + login,
			"REVOKE " + pgx.Identifier{db.Name + "_p_other"}.Sanitize() + " FROM " + login,
			access.Finding{Role: cred.Role, Object: "role " + db.Name + "_p_other", Problem: "is a member"}},
		{"CREATEDB",
			"ALTER ROLE " + login + " CREATEDB", "ALTER ROLE " + login + " NOCREATEDB",
			access.Finding{Role: cred.Role, Object: "role " + cred.Role, Problem: "has CREATEDB"}},
		{"connection limit",
			"ALTER ROLE " + login + " CONNECTION LIMIT 100", "ALTER ROLE " + login + " CONNECTION LIMIT 5",
			access.Finding{Role: cred.Role, Object: "role " + cred.Role, Problem: "has connection limit 100, not 5"}},
		{"statement timeout lifted",
			"ALTER ROLE " + login + " SET statement_timeout = 0", "ALTER ROLE " + login + " SET statement_timeout = 900000",
			access.Finding{Role: cred.Role, Object: "role " + cred.Role, Problem: "has setting statement_timeout=0, which AxTract did not set"}},
		{"setting for this database",
			"ALTER ROLE " + login + " IN DATABASE " + database + " SET statement_timeout = 0",
			"ALTER ROLE " + login + " IN DATABASE " + database + " RESET statement_timeout",
			access.Finding{Role: cred.Role, Object: "role " + cred.Role, Problem: "has settings for database " + db.Name + ": statement_timeout=0"}},
		{"table in the partner schema",
			"CREATE TABLE partner_acme.extra (id int)", "DROP TABLE partner_acme.extra",
			access.Finding{Role: db.Name + "_o_acme", Object: "table partner_acme.extra", Problem: "is not a view AxTract defined"}},
		{"login role made by hand",
			"CREATE ROLE " + pgx.Identifier{db.Name + "_l_acme_intruder"}.Sanitize() + " LOGIN",
			"DROP ROLE " + pgx.Identifier{db.Name + "_l_acme_intruder"}.Sanitize(),
			access.Finding{Role: db.Name + "_l_acme_intruder", Object: "role " + db.Name + "_l_acme_intruder",
				Problem: "is named like a partner login but is not one AxTract manages"}},
	}
	for _, c := range cases {
		mustExec(t, db, c.change)
		c.want.Severity = access.SeverityDrift
		findings := checkFindings(t, db)
		found := false
		for _, f := range findings {
			found = found || f == c.want
		}
		if !found {
			t.Errorf("%s: findings = %v, want %s", c.name, findings, c.want)
		}
		mustExec(t, db, c.undo)
		requireNoDrift(t, db, "after undoing "+c.name)
	}
}

func TestCheckWarnsAboutOtherDatabases(t *testing.T) {
	t.Parallel()
	db := setup(t)
	createLogin(t, db, "analyst", nil)
	for _, f := range checkFindings(t, db) {
		if f.Severity == access.SeverityWarning && strings.Contains(f.Object, "postgres") {
			if f.Role != db.Name+"_partners" {
				t.Errorf("warning names role %q, want the group role", f.Role)
			}
			return
		}
	}
	t.Error("no warning that partner logins may connect to database postgres")
}

// TestCheckWarnsAboutTrustInHBA compares the check's pg_hba.conf warnings
// with the server's own rules, whatever they are: one warning per rule that
// lets every user into every database without a password.
func TestCheckWarnsAboutTrustInHBA(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()

	// Before any login exists there is nothing to warn about.
	for _, f := range checkFindings(t, db) {
		if strings.HasPrefix(f.Object, "pg_hba.conf") {
			t.Errorf("warning without partner logins: %s", f)
		}
	}

	createLogin(t, db, "analyst", nil)
	var lines []string
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT 'pg_hba.conf line ' || line_number FROM pg_hba_file_rules
			WHERE error IS NULL AND auth_method = 'trust' AND database = '{all}' AND user_name = '{all}' ORDER BY line_number`)
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Skipf("the test role cannot read pg_hba_file_rules: %v", err)
	}
	var warned []string
	for _, f := range checkFindings(t, db) {
		if strings.HasPrefix(f.Object, "pg_hba.conf") && strings.Contains(f.Problem, "trust, which checks no password") {
			warned = append(warned, f.Object)
		}
	}
	for _, line := range lines {
		if !slices.Contains(warned, line) {
			t.Errorf("no warning about %s, a trust rule for all users, in %v", line, warned)
		}
	}
}

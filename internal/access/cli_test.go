package access_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/access"
	"github.com/axtract/axtract/internal/cli"
	"github.com/axtract/axtract/internal/pgtest"
)

// runCLI runs the axtract command in-process against db and returns its
// exit code and standard output.
func runCLI(t *testing.T, db *pgtest.DB, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{
		Stdin:  strings.NewReader(""),
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(string) string { return "" },
	}
	code := cli.Run(context.Background(), append(args, "--database-url", db.DSN), env)
	if code != 0 {
		t.Logf("axtract %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return code, stdout.String()
}

var passwordLine = regexp.MustCompile(`(?m)^password \(shown once[^)]*\): (\S+)$`)

func TestCLILoginLifecycle(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()

	code, out := runCLI(t, db, "partner", "login", "create", "acme", "tool",
		"--expires", "2099-01-31", "--connection-limit", "2", "--statement-timeout", "30s", "--host", "db.example.org")
	if code != 0 {
		t.Fatalf("login create: exit %d", code)
	}
	m := passwordLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("login create printed no password line:\n%s", out)
	}
	role := db.Name + "_l_acme_tool"
	for _, want := range []string{
		"host=db.example.org", "user=" + role, "sslmode=verify-full",
		"jdbc:postgresql://db.example.org:", "Limits: 2 sessions; statements 30s;", "expires 2099-01-31T00:00:00Z",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("login create output lacks %q:\n%s", want, out)
		}
	}
	cred := &access.Credential{Role: role, Password: m[1]}
	requireVerifierMatches(t, db, role, cred.Password)
	connectAs(t, db, cred)

	code, out = runCLI(t, db, "partner", "login", "list", "acme")
	if code != 0 || !strings.Contains(out, role) || !strings.Contains(out, "2099-01-31T00:00:00Z") {
		t.Errorf("login list: exit %d, output:\n%s", code, out)
	}

	code, out = runCLI(t, db, "partner", "login", "rotate", "acme", "tool", "--grace", "1h")
	if code != 0 {
		t.Fatalf("login rotate: exit %d", code)
	}
	m = passwordLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, role+"_g2") {
		t.Fatalf("login rotate output lacks the new role and password:\n%s", out)
	}
	requireVerifierMatches(t, db, role+"_g2", m[1])

	code, out = runCLI(t, db, "partner", "access", "check")
	if code != 0 || !strings.Contains(out, "partner access: 0 drift") {
		t.Errorf("access check on a clean database: exit %d, output:\n%s", code, out)
	}
	mustExec(t, db, "GRANT SELECT ON mart.member TO "+pgx.Identifier{db.Name + "_p_acme"}.Sanitize())
	code, out = runCLI(t, db, "partner", "access", "check")
	if code != 1 || !strings.Contains(out, "table mart.member") {
		t.Errorf("access check after a hand-added grant: exit %d, want 1; output:\n%s", code, out)
	}

	code, out = runCLI(t, db, "partner", "login", "revoke", "acme", "tool")
	if code != 0 || !strings.Contains(out, "revoked login tool") {
		t.Errorf("login revoke: exit %d, output:\n%s", code, out)
	}
	var left int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $1)", role).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d roles of the revoked login remain", left)
	}

	if code, _ := runCLI(t, db, "partner", "login", "create", "acme", "tool", "--expires", "next week"); code != 2 {
		t.Errorf("login create --expires 'next week': exit %d, want 2", code)
	}
}

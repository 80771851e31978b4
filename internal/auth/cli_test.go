package auth_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/auth"
	"github.com/axtract/axtract/internal/cli"
	"github.com/axtract/axtract/internal/partner"
)

// runCLI runs the axtract command in-process with stdin and returns its
// exit code, standard output and standard error.
func (b *testBundle) runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), append(args, "--database-url", b.db.DSN), env)
	return code, stdout.String(), stderr.String()
}

func TestCLIUserCommands(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	if _, err := partner.Create(context.Background(), b.db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := b.runCLI(t, testPassword+"\n", "user", "add", "Ann", "--role", "analyst")
	if code != 0 {
		t.Fatalf("user add: exit %d: %s", code, stderr)
	}
	if strings.Contains(out+stderr, testPassword) {
		t.Errorf("user add printed the password: %q %q", out, stderr)
	}
	if !strings.Contains(out, "created account ann") {
		t.Errorf("user add output %q", out)
	}
	if resp := b.login(t, "ann", testPassword); resp.status != http.StatusOK {
		t.Errorf("sign in with the password from stdin: status %d", resp.status)
	}
	hash, _ := b.scalar(t, "SELECT password_hash FROM axtract.account WHERE login = 'ann'").(string)
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("CLI hash %q does not use the default parameters", hash)
	}

	// Passwords are never taken from the command line.
	if code, _, stderr := b.runCLI(t, "", "user", "add", "bob", "--role", "analyst", "--password", testPassword); code == 0 ||
		!strings.Contains(stderr, "flag provided but not defined: -password") {
		t.Errorf("user add --password: exit %d, %q; want the flag rejected", code, stderr)
	}
	if code, _, stderr := b.runCLI(t, "", "user", "add", "bob", "--role", "analyst"); code != 2 || !strings.Contains(stderr, "no password") {
		t.Errorf("user add without a password: exit %d, %q", code, stderr)
	}
	if code, _, stderr := b.runCLI(t, "short\n", "user", "add", "bob", "--role", "analyst"); code != 1 || !strings.Contains(stderr, "too short") {
		t.Errorf("user add with a short password: exit %d, %q", code, stderr)
	}
	if code, _, stderr := b.runCLI(t, testPassword+"\n", "user", "add", "bob", "--role", "root"); code != 2 || !strings.Contains(stderr, "unknown role") {
		t.Errorf("user add --role root: exit %d, %q", code, stderr)
	}
	if code, _, stderr := b.runCLI(t, testPassword+"\n", "user", "add", "bob", "--role", "partner"); code != 1 || !strings.Contains(stderr, "needs the partner") {
		t.Errorf("user add --role partner without --partner: exit %d, %q", code, stderr)
	}
	if code, _, stderr := b.runCLI(t, testPassword+"\n", "user", "add", "acme-bob", "--role", "partner", "--partner", "acme"); code != 0 {
		t.Errorf("user add partner account: exit %d, %q", code, stderr)
	}

	newPassword := "another long passphrase"
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte(newPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := b.runCLI(t, "", "user", "passwd", "ann", "--password-file", file); code != 0 {
		t.Fatalf("user passwd: exit %d: %s", code, stderr)
	}
	if resp := b.login(t, "ann", testPassword); resp.status != http.StatusUnauthorized {
		t.Errorf("sign in with the old password: status %d, want 401", resp.status)
	}
	if resp := b.login(t, "ann", newPassword); resp.status != http.StatusOK {
		t.Errorf("sign in with the new password: status %d, want 200", resp.status)
	}

	if code, _, stderr := b.runCLI(t, "", "user", "role", "ann", "privacy_officer"); code != 0 {
		t.Fatalf("user role: exit %d: %s", code, stderr)
	}
	if code, _, stderr := b.runCLI(t, "", "user", "disable", "acme-bob"); code != 0 {
		t.Fatalf("user disable: exit %d: %s", code, stderr)
	}
	code, out, _ = b.runCLI(t, "", "user", "list")
	if code != 0 {
		t.Fatalf("user list: exit %d", code)
	}
	for _, want := range []string{"acme-bob  partner          acme     disabled", "ann       privacy_officer  -        enabled"} {
		if !strings.Contains(out, want) {
			t.Errorf("user list output lacks %q:\n%s", want, out)
		}
	}
	if code, _, stderr := b.runCLI(t, "", "user", "disable", "nobody"); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("user disable nobody: exit %d, %q", code, stderr)
	}
	actions := b.scalar(t, `SELECT string_agg(action, ',' ORDER BY event_id) FROM axtract.audit_event
		WHERE action LIKE 'account.%' AND detail->>'login' = 'ann'`)
	if actions != "account.create,account.password,account.role" {
		t.Errorf("audit events of ann = %v", actions)
	}
}

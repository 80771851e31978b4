package pullapi_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/cli"
	"github.com/axtract/axtract/internal/pullapi"
)

// axtract runs the axtract command against the test database and returns
// its exit code and output.
func axtract(t *testing.T, dsn string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), append(args, "--database-url", dsn), env)
	return code, stdout.String(), stderr.String()
}

func TestTokenCommandsCreateListRevoke(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{})

	code, stdout, stderr := axtract(t, b.db.DSN, "token", "create", "acme", "--scope", "list", "--expires", "720h", "--note", "nightly pull")
	if code != 0 {
		t.Fatalf("token create exited %d: %s", code, stderr)
	}
	token := strings.TrimSpace(stdout)
	if !strings.HasPrefix(token, "axt_") || len(token) != 47 {
		t.Fatalf("token create printed %q, want one axt_ token of 47 characters", stdout)
	}
	if !strings.Contains(stderr, "shown once") {
		t.Errorf("token create stderr %q does not warn that the token is shown once", stderr)
	}
	if resp, body := b.get(t, "/api/v1/deliveries", token); resp.StatusCode != http.StatusOK {
		t.Fatalf("API with the new token: status %d, body %s", resp.StatusCode, body)
	}

	code, stdout, stderr = axtract(t, b.db.DSN, "token", "list", "acme")
	if code != 0 {
		t.Fatalf("token list exited %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, token[:12]+"...") || !strings.Contains(stdout, "nightly pull") || !strings.Contains(stdout, "active") {
		t.Errorf("token list output lacks the prefix, note or state:\n%s", stdout)
	}
	if strings.Contains(stdout, token[12:]) {
		t.Errorf("token list shows the secret part of the token:\n%s", stdout)
	}
	tokens, err := pullapi.ListTokens(context.Background(), b.db.Pool, "acme")
	if err != nil || len(tokens) != 1 {
		t.Fatalf("ListTokens = %v, %v", tokens, err)
	}

	code, _, stderr = axtract(t, b.db.DSN, "token", "revoke", strconv.FormatInt(tokens[0].ID, 10))
	if code != 0 {
		t.Fatalf("token revoke exited %d: %s", code, stderr)
	}
	if resp, _ := b.get(t, "/api/v1/deliveries", token); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with the revoked token: status %d, want 401", resp.StatusCode)
	}
	if code, _, stderr = axtract(t, b.db.DSN, "token", "create", "acme", "--scope", "upload"); code != 1 || !strings.Contains(stderr, `invalid scope "upload"`) {
		t.Errorf("token create with an unknown scope: exit %d, stderr %q", code, stderr)
	}
}

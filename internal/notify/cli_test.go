package notify_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/cli"
)

func TestWebhookCommandsDefineList(t *testing.T) {
	t.Parallel()
	db := setup(t)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, append(webhookSecret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
		code := cli.Run(context.Background(), append(args, "--database-url", db.DSN), env)
		return code, stdout.String(), stderr.String()
	}

	code, stdout, stderr := run("webhook", "define", "acme", "https://user:pw@hooks.acme.example/in?key=k1",
		"--secret-file", secretFile, "--events", "run.delivered", "--feed", "acme-roster", "--timeout", "3s")
	if code != 0 {
		t.Fatalf("webhook define exited %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "pw@") || strings.Contains(stdout, "k1") {
		t.Errorf("webhook define output shows URL credentials: %s", stdout)
	}
	var secret []byte
	if err := db.Pool.QueryRow(context.Background(), "SELECT secret FROM axtract.webhook").Scan(&secret); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(secret, webhookSecret) {
		t.Errorf("stored secret %q, want the file's content without the newline", secret)
	}

	code, stdout, stderr = run("webhook", "list")
	if code != 0 {
		t.Fatalf("webhook list exited %d: %s", code, stderr)
	}
	for _, want := range []string{"acme", "acme-roster", "https://hooks.acme.example/in?...", "run.delivered", "3s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("webhook list output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, string(webhookSecret)) {
		t.Errorf("webhook list shows the secret:\n%s", stdout)
	}

	if code, _, stderr = run("webhook", "define", "acme", "ftp://hooks.acme.example/", "--secret-file", secretFile); code != 1 || !strings.Contains(stderr, "invalid webhook URL") {
		t.Errorf("webhook define with an ftp URL: exit %d, stderr %q", code, stderr)
	}
}

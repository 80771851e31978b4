package worker_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/cli"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/synthea"
)

// axtract runs the axtract command in this process against db and returns
// its exit code and standard output, followed by its standard error when it
// failed.
func axtract(t *testing.T, db *pgtest.DB, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), append(append([]string{}, args...), "--database-url", db.DSN, "--log-level", "warn"), env)
	if code != 0 {
		return code, stdout.String() + stderr.String()
	}
	return code, stdout.String()
}

func TestFeedCommands(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)

	code, out := axtract(t, db, "feed", "define", "acme-daily", "--partner", "acme", "--view", "roster", "--destination", "drop",
		"--encrypt=false", "--schedule", "weekly fri 06:00", "--time-zone", "America/New_York",
		"--calendar", "us_federal", "--holiday-rule", "previous", "--catch-up", "all", "--deadline", "07:30",
		"--retry-base", "2m", "--contacts", "ops@plan.example", "--events", "claims_loaded")
	if code != 0 {
		t.Fatalf("feed define exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "next runs:") {
		t.Errorf("feed define printed no next runs:\n%s", out)
	}
	var rule, catchUp, deadline string
	var retrySeconds float64
	if err := db.Pool.QueryRow(context.Background(), `SELECT holiday_rule, catch_up, deadline::text, extract(epoch FROM retry_base)
		FROM axtract.feed WHERE name = 'acme-daily'`).Scan(&rule, &catchUp, &deadline, &retrySeconds); err != nil {
		t.Fatal(err)
	}
	if rule != "previous" || catchUp != "all" || deadline != "07:30:00" || retrySeconds != 120 {
		t.Errorf("feed settings = %s, %s, %s, %gs; want previous, all, 07:30:00, 120s", rule, catchUp, deadline, retrySeconds)
	}

	code, out = axtract(t, db, "feed", "next", "acme-daily", "-n", "3")
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, "Fri ") {
		t.Errorf("feed next exited %d:\n%s\nwant a header and 3 slots", code, out)
	}

	code, out = axtract(t, db, "feed", "define", "acme-bad", "--partner", "acme", "--view", "roster", "--destination", "drop",
		"--schedule", "0 25 * * *")
	if code != 1 || !strings.Contains(out, "hour field") {
		t.Errorf("feed define with a bad schedule exited %d:\n%s", code, out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"feed", "pause", "acme-daily"}, "paused feed acme-daily"},
		{[]string{"feed", "pause", "acme-daily"}, "already paused"},
		{[]string{"feed", "resume", "acme-daily", "--skip-missed"}, "resumed feed acme-daily"},
		{[]string{"feed", "signal", "claims_loaded"}, "enqueued 1 runs"},
		{[]string{"feed", "backfill", "acme-daily", "--from", "2026-06-01", "--to", "2026-06-30"}, "enqueued 4 runs"},
	} {
		code, out := axtract(t, db, c.args...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("axtract %s exited %d:\n%s\nwant output containing %q", strings.Join(c.args, " "), code, out, c.want)
		}
	}

	code, out = axtract(t, db, "feed", "retry", "1")
	if code != 1 || !strings.Contains(out, "not failed") {
		t.Errorf("feed retry of a queued run exited %d:\n%s", code, out)
	}
	code, out = axtract(t, db, "feed", "backfill", "acme-daily", "--from", "June 1")
	if code != 2 {
		t.Errorf("feed backfill with a bad date exited %d, want 2:\n%s", code, out)
	}
}

func TestImportSignalsWaitingFeeds(t *testing.T) {
	t.Parallel()
	sample := synthea.SampleDir(t)
	db, _ := setup(t)
	execAll(t, db, `SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop',
		'{"encrypt": false, "compression": "none", "events": ["mart_loaded"]}')`)
	eventRuns := func() int {
		return queryInt(t, db, "SELECT count(*) FROM axtract.run WHERE trigger = 'event' AND job_id IS NOT NULL")
	}

	// An import that fails rolls back, and its signal with it.
	broken := t.TempDir()
	entries, err := os.ReadDir(sample)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		body, err := os.ReadFile(filepath.Join(sample, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "patients.csv" {
			body = append(body, []byte("not,a,patient\n")...)
		}
		if err := os.WriteFile(filepath.Join(broken, e.Name()), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if code, out := axtract(t, db, "import", "synthea", broken); code == 0 || !strings.Contains(out, "patients.csv") {
		t.Fatalf("import of an export with a broken patients.csv exited %d:\n%s", code, out)
	}
	if n := eventRuns(); n != 0 {
		t.Errorf("event runs after a failed import = %d, want 0", n)
	}

	code, out := axtract(t, db, "import", "synthea", sample)
	if code != 0 {
		t.Fatalf("import exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "signalled mart_loaded: enqueued 1 runs") {
		t.Errorf("import output lacks the signal:\n%s", out)
	}
	if n := eventRuns(); n != 1 {
		t.Errorf("event runs after the import = %d, want 1", n)
	}
}

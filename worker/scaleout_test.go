package worker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/pgtest"
)

// buildAxtract builds cmd/axtract into a temporary folder.
func buildAxtract(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "axtract")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/axtract/axtract/cmd/axtract").CombinedOutput()
	if err != nil {
		t.Fatalf("build axtract: %v\n%s", err, out)
	}
	return bin
}

// startServe starts axtract serve with two workers and a one-second tick
// on db. Its log goes to a file that the test prints when it fails. The
// process gets SIGTERM at the end of the test unless it was killed before.
func startServe(t *testing.T, bin string, db *pgtest.DB, name string) *exec.Cmd {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--database-url", db.DSN, "--workers", "2", "--tick", "1s",
		"--retry-base", "1s", "--http-addr", "127.0.0.1:0", "--log-format", "json")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start serve %s: %v", name, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(40 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}
		logFile.Close()
		if t.Failed() {
			logged, _ := os.ReadFile(logPath)
			t.Logf("log of serve %s:\n%s", name, logged)
		}
	})
	return cmd
}

// waitFor polls cond every 200 milliseconds until it holds or timeout
// passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within %s", what, timeout)
}

func TestServeKilledMidRunDeliversOnce(t *testing.T) {
	t.Parallel()
	bin := buildAxtract(t)
	db, dir := setup(t)
	ctx := context.Background()
	// A feed every minute that missed the last six or so slots, each of
	// which it catches up.
	execAll(t, db,
		`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop',
			'{"encrypt": false, "compression": "none", "schedule": "* * * * *", "catch_up": "all", "max_attempts": 5}')`,
		"UPDATE axtract.feed SET created_at = now() - interval '6 minutes 30 seconds', schedule_cursor = NULL",
	)

	// Every extract refreshes pseudonyms first. Holding this lock stops the
	// runs there, after they started, so a process can die mid-run.
	lock, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, "LOCK TABLE axtract.member_pseudonym IN SHARE MODE"); err != nil {
		t.Fatal(err)
	}

	var procs []*exec.Cmd
	for i := range 3 {
		procs = append(procs, startServe(t, bin, db, fmt.Sprint(i)))
	}
	// Two workers each: six running runs means every process holds two.
	waitFor(t, 90*time.Second, "six runs started", func() bool {
		return queryInt(t, db, "SELECT count(*) FROM axtract.run WHERE status = 'running'") == 6
	})

	killed := procs[0]
	if err := killed.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed.Wait()
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// The live processes finish their runs. The scheduler of a live one
	// finds the dead one's runs without a process and sends them back to
	// retrying, while River still counts their jobs as running.
	// The sweep needs a River leader to enqueue ticks, and the killed
	// process may have been the leader, whose lease lasts 15 seconds.
	var stuck int
	deadline := time.Now().Add(120 * time.Second)
	for ; stuck != 2 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		stuck = queryInt(t, db, `SELECT count(*) FROM river.river_job j JOIN axtract.run r ON r.job_id = j.id
			WHERE j.state = 'running' AND r.status = 'retrying' AND r.error LIKE 'attempt % stopped: %'`)
	}
	if stuck != 2 {
		rows, err := db.Pool.Query(ctx, `SELECT r.run_id || ' ' || r.status || ' ' || coalesce(j.state::text, '-') || ' ' || coalesce(r.error, '')
			FROM axtract.run r LEFT JOIN river.river_job j ON j.id = r.job_id ORDER BY r.run_id`)
		if err == nil {
			lines, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			t.Logf("runs (id, status, job state, error):\n%s", strings.Join(lines, "\n"))
		}
		t.Fatalf("%d of the killed process's runs back to retrying within 2m, want 2", stuck)
	}
	// River rescues a job RescueStuckJobsAfter (one hour in axtract serve)
	// after its attempt started. Move those starts back an hour and a half.
	execAll(t, db, `UPDATE river.river_job j SET attempted_at = now() - interval '90 minutes'
		FROM axtract.run r WHERE r.job_id = j.id AND j.state = 'running' AND r.status = 'retrying'`)

	waitFor(t, 150*time.Second, "every run delivered", func() bool {
		return queryInt(t, db, "SELECT count(*) FROM axtract.run WHERE status <> 'succeeded'") == 0
	})
	// Stop the scheduler before counting, so no new slot appears meanwhile.
	for _, p := range procs[1:] {
		p.Process.Signal(syscall.SIGTERM)
		p.Wait()
	}

	slots := runSlots(t, db, "acme-roster")
	if len(slots) < 6 {
		t.Fatalf("runs = %d, want at least 6", len(slots))
	}
	for i := 1; i < len(slots); i++ {
		if gap := slots[i].Sub(slots[i-1]); gap != time.Minute {
			t.Errorf("slots %s and %s are %s apart, want one minute: a slot was skipped or repeated", slots[i-1], slots[i], gap)
		}
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.audit_event WHERE action = 'run.delivered'"); n != len(slots) {
		t.Errorf("deliveries = %d, want one per slot (%d)", n, len(slots))
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.run WHERE attempts > 1"); n < 2 {
		t.Errorf("runs with a second attempt = %d, want at least the killed process's 2", n)
	}
	if files := finalFiles(t, dir); len(files) != len(slots) {
		t.Errorf("files = %d, want one per slot (%d): %v", len(files), len(slots), files)
	}
}

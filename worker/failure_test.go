package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/worker"
)

func TestFinalFailureNotifiesAndRetryDelivers(t *testing.T) {
	t.Parallel()
	db, dir := setup(t)
	ctx := context.Background()
	execAll(t, db, `SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop',
		'{"encrypt": false, "compression": "none", "max_attempts": 2, "contacts": ["ops@plan.example", "dba@plan.example"]}')`)
	var broken atomic.Bool
	broken.Store(true)
	startWorkers(t, db, func(ctx context.Context, kind string, config []byte) (deliver.Destination, error) {
		if broken.Load() {
			return nil, errors.New("connection reset by peer")
		}
		return extract.OpenDestination(ctx, kind, config)
	})

	runID := enqueue(t, db)
	if status, attempts := waitStatus(t, db, runID); status != "failed" || attempts != 2 {
		t.Fatalf("status %s after %d attempts, want failed after 2", status, attempts)
	}
	var recipients []string
	var subject string
	err := db.Pool.QueryRow(ctx, "SELECT recipients, subject FROM axtract.notification WHERE kind = 'run_failed' AND run_id = $1", runID).
		Scan(&recipients, &subject)
	if err != nil {
		t.Fatalf("no run_failed notification: %v", err)
	}
	if len(recipients) != 2 || recipients[0] != "ops@plan.example" {
		t.Errorf("recipients = %v, want the feed's contacts", recipients)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.audit_event WHERE action = 'run.failed' AND run_id = $1", runID); n != 1 {
		t.Errorf("run.failed audit events = %d, want 1", n)
	}

	broken.Store(false)
	if _, err := worker.RetryRun(ctx, db.Pool, runID); err != nil {
		t.Fatal(err)
	}
	if status, attempts := waitStatus(t, db, runID); status != "succeeded" || attempts != 3 {
		t.Errorf("after retry: status %s after %d attempts, want succeeded after 3", status, attempts)
	}
	if files := finalFiles(t, dir); len(files) != 1 {
		t.Errorf("files = %v, want one", files)
	}
	if _, err := worker.RetryRunTx(ctx, mustBegin(t, db), runID); err == nil {
		t.Error("retry of a succeeded run accepted")
	}
}

func TestRetryWaitsFeedRetryBase(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	ctx := context.Background()
	execAll(t, db, `SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop',
		'{"encrypt": false, "compression": "none", "retry_base": "1 hour"}')`)
	startWorkers(t, db, func(ctx context.Context, kind string, config []byte) (deliver.Destination, error) {
		return nil, errors.New("connection reset by peer")
	})
	runID := enqueue(t, db)

	var wait time.Duration
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var seconds float64
		err := db.Pool.QueryRow(ctx, `SELECT extract(epoch FROM j.scheduled_at - now()) FROM river.river_job j
			JOIN axtract.run r ON r.job_id = j.id WHERE r.run_id = $1 AND j.state = 'retryable'`, runID).Scan(&seconds)
		if err == nil {
			wait = time.Duration(seconds * float64(time.Second))
			break
		}
	}
	// The workers' own RetryBase is 50 milliseconds; the feed's wins.
	if wait < 55*time.Minute || wait > 67*time.Minute {
		t.Errorf("second attempt in %s, want about an hour (the feed's retry_base)", wait)
	}
}

func TestDeadlineRaisesLateEvent(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	ctx := context.Background()
	execAll(t, db,
		`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop',
			'{"encrypt": false, "compression": "none", "schedule": "daily 06:00", "time_zone": "America/Chicago", "deadline": "07:00"}')`,
		"UPDATE axtract.feed SET created_at = '2026-12-03T00:00:00Z', schedule_cursor = NULL",
	)
	// 06:00 Chicago is 12:00 UTC in December.
	if res := tick(t, db, time.Date(2026, 12, 3, 12, 5, 0, 0, time.UTC)); res.Enqueued != 1 || res.Late != 0 {
		t.Fatalf("tick after the slot: %+v, want 1 run, none late", res)
	}
	var deadline time.Time
	if err := db.Pool.QueryRow(ctx, "SELECT deadline_at FROM axtract.run").Scan(&deadline); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC); !deadline.Equal(want) {
		t.Errorf("deadline = %s, want %s", deadline.UTC(), want)
	}
	if res := tick(t, db, time.Date(2026, 12, 3, 12, 59, 0, 0, time.UTC)); res.Late != 0 {
		t.Errorf("late before the deadline: %d", res.Late)
	}
	if res := tick(t, db, time.Date(2026, 12, 3, 13, 1, 0, 0, time.UTC)); res.Late != 1 {
		t.Errorf("late after the deadline = %d, want 1", res.Late)
	}
	if res := tick(t, db, time.Date(2026, 12, 3, 13, 2, 0, 0, time.UTC)); res.Late != 0 {
		t.Errorf("late again on the next tick = %d, want 0", res.Late)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.notification WHERE kind = 'run_late'"); n != 1 {
		t.Errorf("run_late notifications = %d, want 1", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.audit_event WHERE action = 'run.late'"); n != 1 {
		t.Errorf("run.late audit events = %d, want 1", n)
	}
}

func TestTickFailsRunWithEndedJob(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	runID := enqueue(t, db)
	// As when a worker dies on the last attempt and River discards the job.
	execAll(t, db, "UPDATE axtract.run SET status = 'running', attempts = 3",
		"UPDATE river.river_job SET state = 'discarded', finalized_at = now() WHERE kind = 'axtract.extract'")
	if res := tick(t, db, time.Now()); res.Failed != 1 {
		t.Errorf("tick failed %d runs, want 1", res.Failed)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.run WHERE status = 'failed' AND run_id = $1", runID); n != 1 {
		t.Error("run with a discarded job is not failed")
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.notification WHERE kind = 'run_failed'"); n != 1 {
		t.Errorf("run_failed notifications = %d, want 1", n)
	}
}

func TestTickFailsRunsOfKilledProcess(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	ctx := context.Background()
	withJob := enqueue(t, db)
	withoutJob := manualRun(t, db, "acme-roster")
	live := manualRun(t, db, "acme-roster")
	// As when the process running them is killed: the runs stay running,
	// and PostgreSQL has released their lease slots with its session. A
	// live process holds the slot of the third.
	execAll(t, db, "UPDATE axtract.run SET status = 'running', attempts = 1")
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(axtract.run_lease_key('run', $1, 0))", live); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(axtract.run_lease_key('run', $1, 0))", live)

	if res := tick(t, db, time.Now()); res.Failed != 2 {
		t.Errorf("tick failed %d runs, want 2", res.Failed)
	}
	for run, want := range map[int64]string{withJob: "retrying", withoutJob: "failed", live: "running"} {
		var status, msg string
		if err := db.Pool.QueryRow(ctx, "SELECT status, coalesce(error, '') FROM axtract.run WHERE run_id = $1", run).Scan(&status, &msg); err != nil {
			t.Fatal(err)
		}
		if status != want {
			t.Errorf("run %d: status %s, want %s", run, status, want)
		}
		if stopped := strings.HasPrefix(msg, "attempt 1 stopped: "); stopped != (want != "running") {
			t.Errorf("run %d (%s): error %q; want \"attempt 1 stopped: ...\" only on runs without a process", run, want, msg)
		}
	}
	// Only the run that nothing retries is reported.
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.notification WHERE kind = 'run_failed'"); n != 1 {
		t.Errorf("run_failed notifications = %d, want 1", n)
	}
	if res := tick(t, db, time.Now()); res.Failed != 0 {
		t.Errorf("second tick failed %d runs, want 0", res.Failed)
	}
}

func TestConcurrencyLimitMakesRunWait(t *testing.T) {
	t.Parallel()
	db, dir := setup(t)
	ctx := context.Background()
	execAll(t, db, "UPDATE axtract.partner SET max_concurrent_runs = 1")
	held := manualRun(t, db, "acme-roster")
	waiting := manualRun(t, db, "acme-roster")

	// Another session holds the partner's only slot, as a running extract does.
	other, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	var keys []int64
	if err := other.QueryRow(ctx, "SELECT keys FROM axtract.run_lease($1)", held).Scan(&keys); err != nil || len(keys) != 2 {
		t.Fatalf("lease = %v, %v; want two keys, the run's and the partner's", keys, err)
	}

	_, err = (&extract.Runner{Pool: db.Pool}).Run(ctx, waiting, true)
	var wait *extract.WaitError
	if !errors.As(err, &wait) || wait.Paused {
		t.Fatalf("run over the partner limit: %v, want a WaitError", err)
	}
	if n := queryInt(t, db, "SELECT attempts FROM axtract.run WHERE run_id = $1", waiting); n != 0 {
		t.Errorf("waiting run counted %d attempts, want 0", n)
	}

	// Through River, the job snoozes and runs once the slot is free.
	startWorkers(t, db, nil)
	client, err := worker.NewClient(worker.Config{Pool: db.Pool})
	if err != nil {
		t.Fatal(err)
	}
	tx := mustBegin(t, db)
	if err := worker.EnqueueRunTx(ctx, client, tx, waiting, 3); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var snoozes int
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && snoozes == 0; time.Sleep(100 * time.Millisecond) {
		snoozes = queryInt(t, db, `SELECT coalesce((j.metadata->>'snoozes')::int, 0) FROM river.river_job j
			JOIN axtract.run r ON r.job_id = j.id WHERE r.run_id = $1`, waiting)
	}
	if snoozes == 0 {
		t.Fatal("job over the limit was not snoozed")
	}
	if _, err := other.Exec(ctx, "SELECT pg_advisory_unlock_all()"); err != nil {
		t.Fatal(err)
	}
	if status, attempts := waitStatus(t, db, waiting); status != "succeeded" || attempts != 1 {
		t.Errorf("after the slot was freed: status %s after %d attempts, want succeeded after 1", status, attempts)
	}
	if files := finalFiles(t, dir); len(files) != 1 {
		t.Errorf("files = %v, want one", files)
	}
}

func TestPausedFeedRunWaits(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	ctx := context.Background()
	runID := manualRun(t, db, "acme-roster")
	if _, err := worker.Pause(ctx, db.Pool, "acme-roster"); err != nil {
		t.Fatal(err)
	}
	_, err := (&extract.Runner{Pool: db.Pool}).Run(ctx, runID, true)
	var wait *extract.WaitError
	if !errors.As(err, &wait) || !wait.Paused {
		t.Fatalf("run of a paused feed: %v, want a WaitError for the pause", err)
	}
	if _, err := worker.Resume(ctx, db.Pool, "acme-roster", false); err != nil {
		t.Fatal(err)
	}
	runNow(t, db, runID)
}

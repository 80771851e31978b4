package worker_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/worker"
)

// subscribe defines two more feeds of the roster view and subscribes them
// and acme-roster to events.
func subscribe(t *testing.T, db *pgtest.DB) {
	t.Helper()
	execAll(t, db,
		`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop',
			'{"encrypt": false, "compression": "none", "max_attempts": 3, "events": ["claims_loaded"]}')`,
		`SELECT axtract.feed_define('acme-both', 'acme', 'roster', 'drop',
			'{"encrypt": false, "compression": "none", "events": ["claims_loaded", "members_loaded"]}')`,
		`SELECT axtract.feed_define('acme-other', 'acme', 'roster', 'drop',
			'{"encrypt": false, "compression": "none", "events": ["members_loaded"]}')`,
	)
}

func signal(t *testing.T, db *pgtest.DB, event string, commit bool) int {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	n, err := worker.SignalTx(ctx, tx, event)
	if err != nil {
		t.Fatal(err)
	}
	if commit {
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func TestSignalRolledBackEnqueuesNothing(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	subscribe(t, db)

	if n := signal(t, db, "claims_loaded", false); n != 1 {
		t.Errorf("signal inside the transaction enqueued %d runs, want 1", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.run"); n != 0 {
		t.Errorf("runs after rollback = %d, want 0", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM river.river_job WHERE kind = 'axtract.extract'"); n != 0 {
		t.Errorf("extract jobs after rollback = %d, want 0", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.feed_event WHERE signalled_at IS NOT NULL"); n != 0 {
		t.Errorf("%d subscriptions marked signalled after rollback, want 0", n)
	}
}

func TestSignalCommittedEnqueuesEachFeedOnce(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	subscribe(t, db)

	if n := signal(t, db, "claims_loaded", true); n != 1 {
		t.Errorf("claims_loaded enqueued %d runs, want 1 (acme-both also waits for members_loaded)", n)
	}
	if n := signal(t, db, "members_loaded", true); n != 2 {
		t.Errorf("members_loaded enqueued %d runs, want 2 (acme-both and acme-other)", n)
	}
	rows, err := db.Pool.Query(context.Background(), `SELECT f.name, count(*), count(j.id)
		FROM axtract.run r JOIN axtract.feed f ON f.feed_id = r.feed_id
		LEFT JOIN river.river_job j ON j.id = r.job_id AND j.kind = 'axtract.extract' AND (j.args->>'run_id')::bigint = r.run_id
		WHERE r.trigger = 'event' GROUP BY f.name ORDER BY f.name`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int{}
	for rows.Next() {
		var name string
		var runs, jobs int
		if err := rows.Scan(&name, &runs, &jobs); err != nil {
			t.Fatal(err)
		}
		got[name] = [2]int{runs, jobs}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, feed := range []string{"acme-both", "acme-other", "acme-roster"} {
		if got[feed] != [2]int{1, 1} {
			t.Errorf("feed %s has %d event runs with %d jobs, want one each", feed, got[feed][0], got[feed][1])
		}
	}
	if n := queryInt(t, db, "SELECT count(*) FROM river.river_job WHERE kind = 'axtract.extract'"); n != 3 {
		t.Errorf("extract jobs = %d, want 3", n)
	}
}

func TestFeedWaitsForAllEvents(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	subscribe(t, db)
	bothRuns := func() int {
		return queryInt(t, db, `SELECT count(*) FROM axtract.run r JOIN axtract.feed f USING (feed_id) WHERE f.name = 'acme-both'`)
	}
	signal(t, db, "claims_loaded", true)
	signal(t, db, "claims_loaded", true)
	if n := bothRuns(); n != 0 {
		t.Fatalf("acme-both has %d runs after only claims_loaded, want 0", n)
	}
	signal(t, db, "members_loaded", true)
	if n := bothRuns(); n != 1 {
		t.Fatalf("acme-both has %d runs after both events, want 1", n)
	}
	// The run consumed both signals: one more event alone is not enough.
	signal(t, db, "members_loaded", true)
	if n := bothRuns(); n != 1 {
		t.Errorf("acme-both has %d runs after members_loaded again, want still 1", n)
	}
	// A paused feed ignores signals.
	execAll(t, db, "SELECT axtract.feed_pause('acme-roster')")
	if n := signal(t, db, "claims_loaded", true); n != 1 {
		t.Errorf("claims_loaded with acme-roster paused enqueued %d runs, want 1 (acme-both)", n)
	}
}

func TestConcurrentSignalsOfTwoEvents(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	subscribe(t, db)
	ctx := context.Background()

	first, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	if _, err := worker.SignalTx(ctx, first, "claims_loaded"); err != nil {
		t.Fatal(err)
	}
	// The second signal waits for the first transaction's lock on the feed,
	// then reads its committed signal.
	done := make(chan error, 1)
	go func() {
		second, err := db.Pool.Begin(ctx)
		if err != nil {
			done <- err
			return
		}
		defer second.Rollback(ctx)
		if _, err := worker.SignalTx(ctx, second, "members_loaded"); err != nil {
			done <- err
			return
		}
		done <- second.Commit(ctx)
	}()
	time.Sleep(300 * time.Millisecond)
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("second signal did not finish within 30 seconds")
	}
	n := queryInt(t, db, `SELECT count(*) FROM axtract.run r JOIN axtract.feed f USING (feed_id) WHERE f.name = 'acme-both'`)
	if n != 1 {
		t.Errorf("acme-both has %d runs after concurrent signals of its two events, want 1", n)
	}
}

// jobRow is what River reads of an extract job.
type jobRow struct {
	Kind, Queue, State, Args, Metadata string
	Priority, MaxAttempts, Attempt     int
	Tags                               []string
	UniqueKey                          []byte
	UniqueStates                       string
}

func readJob(t *testing.T, tx pgx.Tx, runID int64) jobRow {
	t.Helper()
	var j jobRow
	err := tx.QueryRow(context.Background(), `SELECT kind, queue, state::text, args::text, metadata::text, priority, max_attempts,
			attempt, tags::text[], unique_key, unique_states::text
		FROM river.river_job WHERE kind = 'axtract.extract' AND args @> jsonb_build_object('run_id', $1::bigint)`, runID).
		Scan(&j.Kind, &j.Queue, &j.State, &j.Args, &j.Metadata, &j.Priority, &j.MaxAttempts, &j.Attempt, &j.Tags, &j.UniqueKey, &j.UniqueStates)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestSQLJobMatchesRiverInsert(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	ctx := context.Background()
	runID := manualRun(t, db, "acme-roster")
	client, err := worker.NewClient(worker.Config{Pool: db.Pool})
	if err != nil {
		t.Fatal(err)
	}

	// The job River's client inserts, rolled back after reading it.
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.EnqueueRunTx(ctx, client, tx, runID, 3); err != nil {
		t.Fatal(err)
	}
	want := readJob(t, tx, runID)
	tx.Rollback(ctx)

	tx, err = db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var jobID *int64
	if err := tx.QueryRow(ctx, "SELECT axtract.run_enqueue($1, 3)", runID).Scan(&jobID); err != nil {
		t.Fatal(err)
	}
	if jobID == nil {
		t.Fatal("axtract.run_enqueue inserted no job")
	}
	got := readJob(t, tx, runID)
	if got.Kind != want.Kind || got.Queue != want.Queue || got.State != want.State || got.Args != want.Args ||
		got.Metadata != want.Metadata || got.Priority != want.Priority || got.MaxAttempts != want.MaxAttempts ||
		got.Attempt != want.Attempt || len(got.Tags) != len(want.Tags) || got.UniqueStates != want.UniqueStates {
		t.Errorf("SQL job = %+v\nRiver job = %+v", got, want)
	}
	if !bytes.Equal(got.UniqueKey, want.UniqueKey) {
		t.Errorf("SQL unique key %x, River's %x", got.UniqueKey, want.UniqueKey)
	}

	// With the SQL job in place, River's client sees a duplicate.
	if err := worker.EnqueueRunTx(ctx, client, tx, runID, 3); err != nil {
		t.Fatal(err)
	}
	var jobs int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM river.river_job WHERE kind = 'axtract.extract'").Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 1 {
		t.Errorf("extract jobs = %d after River's insert of a run the SQL function enqueued, want 1", jobs)
	}
	var again *int64
	if err := tx.QueryRow(ctx, "SELECT axtract.run_enqueue($1, 3)", runID).Scan(&again); err != nil {
		t.Fatal(err)
	}
	if again != nil {
		t.Errorf("axtract.run_enqueue inserted job %d beside a live one", *again)
	}
}

func TestSQLInsertedJobIsDelivered(t *testing.T) {
	t.Parallel()
	db, dir := setup(t)
	subscribe(t, db)
	ctx := context.Background()

	listener, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Release()
	if _, err := listener.Exec(ctx, `LISTEN "river.river_insert"`); err != nil {
		t.Fatal(err)
	}
	startWorkers(t, db, nil)

	signal(t, db, "claims_loaded", true)
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	note, err := listener.Conn().WaitForNotification(waitCtx)
	if err != nil {
		t.Fatalf("no insert notification after the signal committed: %v", err)
	}
	if note.Payload != `{"queue": "default"}` {
		t.Errorf("notification payload = %s, want River's {\"queue\": \"default\"}", note.Payload)
	}

	var runID int64
	if err := db.Pool.QueryRow(ctx, "SELECT run_id FROM axtract.run WHERE trigger = 'event'").Scan(&runID); err != nil {
		t.Fatal(err)
	}
	if status, attempts := waitStatus(t, db, runID); status != "succeeded" || attempts != 1 {
		t.Fatalf("run %d: status %s after %d attempts, want succeeded after 1", runID, status, attempts)
	}
	if files := finalFiles(t, dir); len(files) != 1 {
		t.Errorf("files = %v, want one", files)
	}
	// River marks the job completed shortly after the work returns.
	var state string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		err := db.Pool.QueryRow(ctx, "SELECT j.state::text FROM river.river_job j JOIN axtract.run r ON r.job_id = j.id WHERE r.run_id = $1",
			runID).Scan(&state)
		if err != nil {
			t.Fatal(err)
		}
		if state == "completed" {
			break
		}
	}
	if state != "completed" {
		t.Errorf("job state = %s, want completed", state)
	}
}

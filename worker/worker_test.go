package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/worker"
)

// setup creates a partner with a members view, consents for all members
// and an unencrypted feed to a local folder, which it returns.
func setup(t *testing.T) (*pgtest.DB, string) {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	dir := t.TempDir()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO mart.member (member_id, first_name, birth_date)
		SELECT gen_random_uuid(), 'M' || i, DATE '1980-01-01' + i FROM generate_series(1, 20) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "roster", []byte(`{"dataset": "members", "columns": ["member_id"]}`)); err != nil {
		t.Fatal(err)
	}
	config, _ := json.Marshal(map[string]string{"dir": dir})
	for _, sql := range []string{
		"SELECT axtract.consent_grant_all('acme', 'SELECT member_id FROM mart.member', DATE '2020-01-01')",
		"SELECT axtract.destination_define('acme', 'drop', 'local', '" + string(config) + "')",
		`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop', '{"encrypt": false, "compression": "none", "max_attempts": 3}')`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	return db, dir
}

// enqueue creates a manual run and its job, as axtract feed run --enqueue does.
func enqueue(t *testing.T, db *pgtest.DB) int64 {
	t.Helper()
	ctx := context.Background()
	client, err := worker.NewClient(worker.Config{Pool: db.Pool})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	runID, attempts, err := worker.CreateManualRunTx(ctx, tx, "acme-roster", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.EnqueueRunTx(ctx, client, tx, runID, attempts); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return runID
}

// waitStatus polls the run until it reaches a final status.
func waitStatus(t *testing.T, db *pgtest.DB, runID int64) (string, int32) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var status string
		var attempts int32
		err := db.Pool.QueryRow(context.Background(), "SELECT status, attempts FROM axtract.run WHERE run_id = $1", runID).Scan(&status, &attempts)
		if err != nil {
			t.Fatal(err)
		}
		if status == "succeeded" || status == "failed" {
			return status, attempts
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("run %d did not finish within 60 seconds", runID)
	return "", 0
}

func startWorkers(t *testing.T, db *pgtest.DB, open func(ctx context.Context, kind string, config []byte) (deliver.Destination, error)) {
	t.Helper()
	client, err := worker.NewClient(worker.Config{
		Pool: db.Pool, Workers: 2, TickInterval: time.Hour, RetryBase: 50 * time.Millisecond,
		Runner: &extract.Runner{Pool: db.Pool, OpenDestination: open},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client.Stop(ctx)
	})
}

func TestWorkerRetriesTransientFailure(t *testing.T) {
	t.Parallel()
	db, dir := setup(t)
	var calls atomic.Int32
	startWorkers(t, db, func(ctx context.Context, kind string, config []byte) (deliver.Destination, error) {
		if calls.Add(1) == 1 {
			return nil, errors.New("connection reset by peer")
		}
		return extract.OpenDestination(ctx, kind, config)
	})

	runID := enqueue(t, db)
	status, attempts := waitStatus(t, db, runID)
	if status != "succeeded" {
		t.Fatalf("status = %s, want succeeded", status)
	}
	if attempts != 2 {
		t.Errorf("attempts = %d, want 2: one failure, one delivery", attempts)
	}
	files := finalFiles(t, dir)
	if len(files) != 1 {
		t.Errorf("files = %v, want one", files)
	}
}

func TestWorkerStopsOnPermanentFailure(t *testing.T) {
	t.Parallel()
	db, dir := setup(t)
	var calls atomic.Int32
	startWorkers(t, db, func(ctx context.Context, kind string, config []byte) (deliver.Destination, error) {
		calls.Add(1)
		return nil, deliver.Permanent(errors.New("host key mismatch"))
	})

	runID := enqueue(t, db)
	status, attempts := waitStatus(t, db, runID)
	if status != "failed" {
		t.Fatalf("status = %s, want failed", status)
	}
	if attempts != 1 || calls.Load() != 1 {
		t.Errorf("attempts = %d, destination opened %d times; want one each", attempts, calls.Load())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("folder holds %d entries, want none", len(entries))
	}
}

func TestTickEnqueuesEachSlotOnce(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	ctx := context.Background()
	_, err := db.Pool.Exec(ctx, `UPDATE axtract.feed SET schedule = '0 * * * *', created_at = '2026-12-04T00:30:00Z'`)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 5, 10, 0, 0, time.UTC)

	// Two schedulers ticking at the same moment, as after a failover.
	for i := range 2 {
		res, err := worker.Tick(ctx, db.Pool, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 - i; res.Enqueued != want {
			t.Errorf("tick %d enqueued %d runs, want %d", i+1, res.Enqueued, want)
		}
	}
	var slot time.Time
	var runs, jobs int
	err = db.Pool.QueryRow(ctx, `SELECT max(slot), count(*), (SELECT count(*) FROM river.river_job WHERE kind = 'axtract.extract')
		FROM axtract.run`).Scan(&slot, &runs, &jobs)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC); !slot.Equal(want) {
		t.Errorf("slot = %s, want the newest due slot %s", slot, want)
	}
	if runs != 1 || jobs != 1 {
		t.Errorf("runs = %d, jobs = %d; want 1 each: missed slots collapse into the newest", runs, jobs)
	}

	// An hour later the next slot is due, and only that one.
	if res, err := worker.Tick(ctx, db.Pool, now.Add(time.Hour), nil); err != nil || res.Enqueued != 1 {
		t.Errorf("next hour: enqueued %d, err %v; want 1", res.Enqueued, err)
	}
}

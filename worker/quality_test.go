package worker_test

import (
	"context"
	"testing"
	"time"
)

func TestQualityHoldCancelsJobAndReleaseDelivers(t *testing.T) {
	t.Parallel()
	db, dir := setup(t)
	ctx := context.Background()
	execAll(t, db,
		`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop', '{"encrypt": false, "compression": "none"}')`,
		`SELECT axtract.feed_quality_set('acme-roster', '{"min_rows": 1000, "on_fail": "hold"}')`)
	startWorkers(t, db, nil)
	runID := enqueue(t, db)

	deadline := time.Now().Add(60 * time.Second)
	var status, jobState string
	for time.Now().Before(deadline) {
		err := db.Pool.QueryRow(ctx, `SELECT r.status, coalesce(j.state::text, '')
			FROM axtract.run r LEFT JOIN river.river_job j ON j.id = r.job_id WHERE r.run_id = $1`, runID).Scan(&status, &jobState)
		if err != nil {
			t.Fatal(err)
		}
		if status == "held" && jobState == "cancelled" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status != "held" || jobState != "cancelled" {
		t.Fatalf("run %d: status %s, job %s; expected held with a cancelled job", runID, status, jobState)
	}
	if files := finalFiles(t, dir); len(files) != 0 {
		t.Errorf("held run delivered %v, expected nothing", files)
	}

	var jobID int64
	if err := db.Pool.QueryRow(ctx, "SELECT axtract.run_release($1)", runID).Scan(&jobID); err != nil {
		t.Fatalf("release: %v", err)
	}
	if status, _ := waitStatus(t, db, runID); status != "succeeded" {
		t.Fatalf("released run: status %s, expected succeeded", status)
	}
	if files := finalFiles(t, dir); len(files) != 1 {
		t.Errorf("released run delivered %v, expected one file", files)
	}
	var outcome string
	if err := db.Pool.QueryRow(ctx, "SELECT outcome FROM axtract.run_quality WHERE run_id = $1", runID).Scan(&outcome); err != nil || outcome != "released" {
		t.Errorf("quality outcome = %q, %v; expected released", outcome, err)
	}
}

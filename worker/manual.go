package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/schedule"
	"github.com/axtract/axtract/internal/store"
)

// CreateManualRunTx creates an on-demand run of feed name in tx, with the
// current time as its slot, and returns its id and the feed's attempt limit.
// A paused feed gets no run.
func CreateManualRunTx(ctx context.Context, tx pgx.Tx, name string, now time.Time) (int64, int, error) {
	q := store.New(tx)
	feed, err := q.FeedByName(ctx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, fmt.Errorf("feed %q not found; axtract feed list shows the feeds", name)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("load feed %s: %w", name, err)
	}
	if feed.Paused {
		return 0, 0, fmt.Errorf("feed %s is paused; resume it first with axtract feed resume %s", name, name)
	}
	runID, err := q.RunCreate(ctx, store.RunCreateParams{FeedID: feed.FeedID, Slot: now.UTC().Truncate(time.Microsecond), Trigger: "manual"})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, fmt.Errorf("feed %s already has a run for %s; try again", name, now.UTC().Format(time.RFC3339Nano))
	}
	if err != nil {
		return 0, 0, fmt.Errorf("create run of feed %s: %w", name, err)
	}
	return runID, int(feed.MaxAttempts), nil
}

// RetryRunTx enqueues failed run runID again in tx, with the feed's full
// number of attempts, and returns the new River job's id. An incremental
// run keeps its watermark window.
func RetryRunTx(ctx context.Context, tx pgx.Tx, runID int64) (int64, error) {
	var jobID int64
	if err := tx.QueryRow(ctx, "SELECT axtract.run_retry($1)", runID).Scan(&jobID); err != nil {
		return 0, fmt.Errorf("retry run %d: %w", runID, schedule.Explain(err))
	}
	return jobID, nil
}

// RetryRun retries failed run runID as RetryRunTx does, in its own
// transaction. A run that has just failed can still have its River job
// finishing for a moment (SQLSTATE 55006); RetryRun tries again for up to
// ten seconds.
func RetryRun(ctx context.Context, pool *pgxpool.Pool, runID int64) (int64, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		jobID, err := retryRunOnce(ctx, pool, runID)
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || time.Now().After(deadline) {
			return jobID, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func retryRunOnce(ctx context.Context, pool *pgxpool.Pool, runID int64) (int64, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	jobID, err := RetryRunTx(ctx, tx, runID)
	if err != nil {
		return 0, err
	}
	return jobID, tx.Commit(ctx)
}

// RerunTx creates and enqueues in tx a new run for the slot of run runID
// and, for an incremental feed, its watermark window. The new run reads
// the rows and consents as they are when it runs. Returns the new run's id.
func RerunTx(ctx context.Context, tx pgx.Tx, runID int64) (int64, error) {
	var newID int64
	if err := tx.QueryRow(ctx, "SELECT axtract.run_rerun($1)", runID).Scan(&newID); err != nil {
		return 0, fmt.Errorf("re-run run %d: %w", runID, schedule.Explain(err))
	}
	return newID, nil
}

// BackfillTx enqueues in tx each slot of feed name on the local dates from
// through to (only their year, month and day count) that is already due and
// has no run. Returns the number of runs created.
func BackfillTx(ctx context.Context, tx pgx.Tx, name string, from, to time.Time) (int, error) {
	var n int
	err := tx.QueryRow(ctx, "SELECT axtract.feed_backfill($1, $2::date, $3::date)",
		name, from.Format(time.DateOnly), to.Format(time.DateOnly)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("backfill feed %s: %w", name, schedule.Explain(err))
	}
	return n, nil
}

// Pause pauses feed name: no new scheduled or event runs, and its queued
// runs wait. Reports false when it was paused already.
func Pause(ctx context.Context, db store.DBTX, name string) (bool, error) {
	var changed bool
	if err := db.QueryRow(ctx, "SELECT axtract.feed_pause($1)", name).Scan(&changed); err != nil {
		return false, fmt.Errorf("pause feed %s: %w", name, schedule.Explain(err))
	}
	return changed, nil
}

// Resume resumes feed name. Slots missed while it was paused follow its
// catch-up policy, unless skipMissed drops them. Reports false when it was
// not paused.
func Resume(ctx context.Context, db store.DBTX, name string, skipMissed bool) (bool, error) {
	var changed bool
	if err := db.QueryRow(ctx, "SELECT axtract.feed_resume($1, $2)", name, skipMissed).Scan(&changed); err != nil {
		return false, fmt.Errorf("resume feed %s: %w", name, schedule.Explain(err))
	}
	return changed, nil
}

// SignalTx signals event in tx and returns the number of runs it enqueued.
// The runs exist only if tx commits.
func SignalTx(ctx context.Context, tx pgx.Tx, event string) (int, error) {
	var n int
	if err := tx.QueryRow(ctx, "SELECT axtract.signal($1)", event).Scan(&n); err != nil {
		return 0, fmt.Errorf("signal %s: %w", event, schedule.Explain(err))
	}
	return n, nil
}

package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/axtract/axtract/internal/schedule"
	"github.com/axtract/axtract/internal/store"
)

// ScheduleTickArgs asks for one pass of the scheduler.
type ScheduleTickArgs struct{}

// Kind is the River job kind.
func (ScheduleTickArgs) Kind() string { return "axtract.schedule_tick" }

// InsertOpts keeps at most one tick waiting or running, whichever process
// enqueued it.
func (ScheduleTickArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 1,
		UniqueOpts:  river.UniqueOpts{ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}},
	}
}

// ScheduleTickWorker enqueues the due slot of every scheduled feed.
type ScheduleTickWorker struct {
	river.WorkerDefaults[ScheduleTickArgs]
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Work runs one scheduling pass.
func (w *ScheduleTickWorker) Work(ctx context.Context, job *river.Job[ScheduleTickArgs]) error {
	client := river.ClientFromContext[pgx.Tx](ctx)
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	_, err := Tick(ctx, w.Pool, client, now, w.Logger)
	return err
}

// Tick enqueues, for every scheduled feed that is not paused, the newest
// slot that is due and has no run yet. Slots missed while no scheduler ran
// are collapsed into that newest one. Each feed is handled in its own
// transaction: its run row, its job and its cursor commit together, and the
// run's UNIQUE (feed_id, slot) makes a second scheduler's insert a no-op.
// Returns the number of runs enqueued.
func Tick(ctx context.Context, pool *pgxpool.Pool, client *river.Client[pgx.Tx], now time.Time, logger *slog.Logger) (int, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	feeds, err := store.New(pool).FeedListScheduled(ctx)
	if err != nil {
		return 0, fmt.Errorf("list scheduled feeds: %w", err)
	}
	enqueued := 0
	for _, f := range feeds {
		sched, err := schedule.Parse(*f.Schedule, f.TimeZone)
		if err != nil {
			logger.Error("skip feed with invalid schedule", "feed", f.Name, "error", err)
			continue
		}
		cursor := f.CreatedAt
		if f.ScheduleCursor != nil {
			cursor = *f.ScheduleCursor
		}
		slot, missed, ok := sched.Latest(cursor, now)
		if !ok {
			continue
		}
		created, err := enqueueSlot(ctx, pool, client, f.FeedID, slot, int(f.MaxAttempts))
		if err != nil {
			return enqueued, fmt.Errorf("enqueue feed %s slot %s: %w", f.Name, slot.Format(time.RFC3339), err)
		}
		if created {
			enqueued++
			logger.Info("enqueued scheduled run", "feed", f.Name, "slot", slot, "missed_slots", missed-1)
		}
	}
	return enqueued, nil
}

func enqueueSlot(ctx context.Context, pool *pgxpool.Pool, client *river.Client[pgx.Tx], feedID int64, slot time.Time, maxAttempts int) (bool, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx)
	q := store.New(tx)
	created := true
	runID, err := q.RunCreate(ctx, store.RunCreateParams{FeedID: feedID, Slot: slot, Trigger: "schedule"})
	if err == pgx.ErrNoRows {
		created = false
	} else if err != nil {
		return false, err
	}
	if created {
		if err := EnqueueRunTx(ctx, client, tx, runID, maxAttempts); err != nil {
			return false, err
		}
	}
	if err := q.FeedAdvanceCursor(ctx, store.FeedAdvanceCursorParams{FeedID: feedID, Slot: &slot}); err != nil {
		return false, err
	}
	return created, tx.Commit(ctx)
}

package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// ScheduleTickArgs is the job of one scheduler pass.
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

// ScheduleTickWorker runs the scheduler's pass.
type ScheduleTickWorker struct {
	river.WorkerDefaults[ScheduleTickArgs]
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Work runs one scheduling pass.
func (w *ScheduleTickWorker) Work(ctx context.Context, job *river.Job[ScheduleTickArgs]) error {
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	_, err := Tick(ctx, w.Pool, now, w.Logger)
	return err
}

// TickResult counts what one scheduling pass did.
type TickResult struct {
	// Enqueued is the number of runs created, each with its River job.
	Enqueued int
	// Collapsed is the number of feeds with catch-up policy latest whose
	// missed slots were collapsed into the newest one.
	Collapsed int
	// Late is the number of runs found past their deadline.
	Late int
	// Failed is the number of runs failed because their River job ended
	// without finishing them, or because the process running them stopped.
	Failed int
}

// MaxSlotsPerFeed bounds how many missed slots of one feed with catch-up
// policy all a pass enqueues, so an outage never floods the queue: later
// passes take the rest, in slot order.
const MaxSlotsPerFeed = 10

// Tick runs one scheduling pass at now: axtract.schedule_tick in SQL, which
// computes the due slots of every scheduled, unpaused feed and creates their
// runs and River jobs in one transaction, records late runs and fails runs
// whose jobs ended unfinished or whose process stopped. Slots are unique per feed, so a second pass
// at the same time, from this process or another, enqueues nothing again.
func Tick(ctx context.Context, pool *pgxpool.Pool, now time.Time, logger *slog.Logger) (TickResult, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var res TickResult
	err := pool.QueryRow(ctx, "SELECT enqueued, skipped, late, failed FROM axtract.schedule_tick($1, $2)", now, MaxSlotsPerFeed).
		Scan(&res.Enqueued, &res.Collapsed, &res.Late, &res.Failed)
	if err != nil {
		return res, fmt.Errorf("run scheduling pass at %s: %w", now.UTC().Format(time.RFC3339), err)
	}
	if res != (TickResult{}) {
		logger.Info("scheduling pass", "enqueued", res.Enqueued, "collapsed_feeds", res.Collapsed,
			"late_runs", res.Late, "failed_runs", res.Failed)
	}
	return res, nil
}

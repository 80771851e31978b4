// Package worker holds AxTract's River job kinds and their workers: the
// extract that delivers one feed run, and the schedule tick that enqueues
// due runs.
package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/quality"
	"github.com/axtract/axtract/internal/store"
)

// ExtractArgs is the job that delivers one run.
type ExtractArgs struct {
	RunID int64 `json:"run_id" river:"unique"`
}

// Kind is the River job kind.
func (ExtractArgs) Kind() string { return "axtract.extract" }

// ExtractWorker delivers runs with an extract.Runner.
type ExtractWorker struct {
	river.WorkerDefaults[ExtractArgs]
	Runner *extract.Runner
	// RetryBase is the wait before the second attempt of a run whose feed
	// sets no retry_base. Each further attempt waits twice as long, up to
	// RetryMax, with up to 10% jitter. Default: 10 seconds, RetryMax 15
	// minutes.
	RetryBase time.Duration
	RetryMax  time.Duration
	// LimitWait is how long a run that may not start yet waits before it
	// tries again: its partner or destination is at its concurrent-run limit,
	// or an earlier run of its incremental feed is unfinished. A run of a
	// paused feed waits six times as long. Up to 20% jitter is added.
	// Waiting counts no attempt. Default: 10 seconds.
	LimitWait time.Duration
	// OnDelivered, when set, is called after each successful delivery.
	OnDelivered func(*extract.Result)
}

// Work runs one attempt. Failures that a retry cannot fix cancel the job so
// River does not try again; a run that may not start yet snoozes the job.
func (w *ExtractWorker) Work(ctx context.Context, job *river.Job[ExtractArgs]) error {
	final := job.Attempt >= job.MaxAttempts
	res, err := w.Runner.Run(ctx, job.Args.RunID, final)
	if errors.Is(err, extract.ErrAlreadyDelivered) {
		return nil
	}
	var wait *extract.WaitError
	if errors.As(err, &wait) {
		return river.JobSnooze(w.waitFor(wait))
	}
	// A held run waits for axtract.run_release, which enqueues a new job.
	// Cancelling this one takes it out of River's unique states, so that
	// insert is not rejected as a duplicate.
	if quality.IsHeld(err) {
		return river.JobCancel(err)
	}
	if err != nil {
		if extract.IsPermanent(err) {
			return river.JobCancel(err)
		}
		return err
	}
	if w.OnDelivered != nil {
		w.OnDelivered(res)
	}
	return nil
}

func (w *ExtractWorker) waitFor(wait *extract.WaitError) time.Duration {
	d := w.LimitWait
	if d <= 0 {
		d = 10 * time.Second
	}
	if wait.Paused {
		d *= 6
	}
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// NextRetry schedules the next attempt with exponential backoff from the
// feed's retry_base, or RetryBase when the feed has none.
func (w *ExtractWorker) NextRetry(job *river.Job[ExtractArgs]) time.Time {
	base, ceiling := w.feedRetryBase(job.Args.RunID), w.RetryMax
	if base <= 0 {
		base = w.RetryBase
	}
	if base <= 0 {
		base = 10 * time.Second
	}
	if ceiling <= 0 {
		ceiling = 15 * time.Minute
	}
	// A feed's retry_base above RetryMax raises the cap to it.
	ceiling = max(ceiling, base)
	wait := base
	for i := 1; i < job.Attempt && wait < ceiling; i++ {
		wait *= 2
	}
	wait = min(wait, ceiling)
	wait += time.Duration(rand.Int64N(int64(wait)/10 + 1))
	return time.Now().Add(wait)
}

// feedRetryBase returns the retry_base of the run's feed, or 0 when it has
// none or cannot be read. NextRetry has no context, so the lookup gets its
// own short deadline.
func (w *ExtractWorker) feedRetryBase(runID int64) time.Duration {
	if w.Runner == nil || w.Runner.Pool == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seconds, err := store.New(w.Runner.Pool).RunRetryBase(ctx, runID)
	if err != nil {
		return 0
	}
	return time.Duration(seconds * float64(time.Second))
}

// EnqueueRunTx inserts the extract job of run runID in tx, so the job
// exists exactly when the run's row commits, and records the job on the
// run. SQL functions such as axtract.signal insert the same job with
// axtract.river_jobs_insert.
func EnqueueRunTx(ctx context.Context, client *river.Client[pgx.Tx], tx pgx.Tx, runID int64, maxAttempts int) error {
	res, err := client.InsertTx(ctx, tx, ExtractArgs{RunID: runID}, &river.InsertOpts{
		MaxAttempts: maxAttempts,
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	})
	if err != nil {
		return fmt.Errorf("insert extract job of run %d: %w", runID, err)
	}
	if err := store.New(tx).RunSetJob(ctx, store.RunSetJobParams{RunID: runID, JobID: &res.Job.ID}); err != nil {
		return fmt.Errorf("record job of run %d: %w", runID, err)
	}
	return nil
}

// Package worker holds AxTract's River job kinds and their workers: the
// extract that delivers one feed run, and the schedule tick that enqueues
// due runs.
package worker

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/axtract/axtract/internal/extract"
)

// ExtractArgs asks for one run to be delivered.
type ExtractArgs struct {
	RunID int64 `json:"run_id" river:"unique"`
}

// Kind is the River job kind.
func (ExtractArgs) Kind() string { return "axtract.extract" }

// ExtractWorker delivers runs with an extract.Runner.
type ExtractWorker struct {
	river.WorkerDefaults[ExtractArgs]
	Runner *extract.Runner
	// RetryBase is the wait before the second attempt; each further attempt
	// waits twice as long, up to RetryMax, with up to 10% jitter.
	// Default: 10 seconds, RetryMax 15 minutes.
	RetryBase time.Duration
	RetryMax  time.Duration
	// OnDelivered, when set, is called after each successful delivery.
	OnDelivered func(*extract.Result)
}

// Work runs one attempt. Failures that a retry cannot fix cancel the job so
// River does not try again.
func (w *ExtractWorker) Work(ctx context.Context, job *river.Job[ExtractArgs]) error {
	final := job.Attempt >= job.MaxAttempts
	res, err := w.Runner.Run(ctx, job.Args.RunID, final)
	if errors.Is(err, extract.ErrAlreadyDelivered) {
		return nil
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

// NextRetry schedules the next attempt with exponential backoff.
func (w *ExtractWorker) NextRetry(job *river.Job[ExtractArgs]) time.Time {
	base, max := w.RetryBase, w.RetryMax
	if base <= 0 {
		base = 10 * time.Second
	}
	if max <= 0 {
		max = 15 * time.Minute
	}
	wait := base
	for i := 1; i < job.Attempt && wait < max; i++ {
		wait *= 2
	}
	wait = min(wait, max)
	wait += time.Duration(rand.Int64N(int64(wait)/10 + 1))
	return time.Now().Add(wait)
}

// EnqueueRunTx inserts the extract job of run runID in tx, so the job
// exists exactly when the run's row commits.
func EnqueueRunTx(ctx context.Context, client *river.Client[pgx.Tx], tx pgx.Tx, runID int64, maxAttempts int) error {
	_, err := client.InsertTx(ctx, tx, ExtractArgs{RunID: runID}, &river.InsertOpts{
		MaxAttempts: maxAttempts,
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	})
	return err
}

package worker

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/axtract/axtract/internal/notify"
)

// ChannelConfig sets up the workers of email notices and webhooks.
type ChannelConfig struct {
	// Email drains the notification outbox; nil sends no email, and
	// notices wait in the outbox.
	Email *notify.EmailSender
	// EmailInterval is how often the outbox is drained. Default: 15
	// seconds.
	EmailInterval time.Duration
	// Webhooks sends webhook deliveries. Nil uses a sender on Config.Pool.
	Webhooks *notify.WebhookSender
	// WebhookRetryBase is the wait after a webhook's first failed attempt;
	// it doubles with each attempt up to WebhookRetryMax. Defaults: 10
	// seconds and 1 hour. Up to 10% jitter is added.
	WebhookRetryBase, WebhookRetryMax time.Duration
}

// addChannelWorkers registers the webhook worker and, when email is set
// up, the outbox worker and its periodic job. The webhook worker is always
// registered, because SQL inserts its jobs whenever a webhook exists.
func addChannelWorkers(workers *river.Workers, rc *river.Config, cfg Config) {
	ch := cfg.Channels
	sender := ch.Webhooks
	if sender == nil {
		sender = &notify.WebhookSender{Pool: cfg.Pool, Logger: cfg.Logger}
	}
	river.AddWorker(workers, &WebhookWorker{Sender: sender, RetryBase: ch.WebhookRetryBase, RetryMax: ch.WebhookRetryMax})
	if ch.Email == nil {
		return
	}
	river.AddWorker(workers, &NotifyEmailWorker{Sender: ch.Email, Logger: cfg.Logger})
	interval := ch.EmailInterval
	if interval <= 0 {
		interval = 15 * time.Second
	}
	rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return NotifyEmailArgs{}, nil },
		&river.PeriodicJobOpts{ID: "axtract.notify_email", RunOnStart: true}))
}

// NotifyEmailArgs is a request for one pass over the notification outbox.
type NotifyEmailArgs struct{}

// Kind is the River job kind.
func (NotifyEmailArgs) Kind() string { return "axtract.notify_email" }

// InsertOpts keeps at most one pass waiting or running. A failed pass is
// not retried; each notice keeps its own retry schedule, and the next
// interval brings a new pass.
func (NotifyEmailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 1,
		UniqueOpts:  river.UniqueOpts{ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}},
	}
}

// NotifyEmailWorker sends the notices that are due.
type NotifyEmailWorker struct {
	river.WorkerDefaults[NotifyEmailArgs]
	Sender *notify.EmailSender
	Logger *slog.Logger
}

// notifyBatch bounds one pass, so a long outbox does not hold a worker
// slot for long; the next pass goes on where this one stopped.
const notifyBatch = 100

// Work sends up to notifyBatch due notices.
func (w *NotifyEmailWorker) Work(ctx context.Context, job *river.Job[NotifyEmailArgs]) error {
	res, err := w.Sender.SendDue(ctx, notifyBatch)
	if err != nil {
		return err
	}
	if res.Sent+res.Failed+res.Abandoned > 0 && w.Logger != nil {
		w.Logger.Info("drained notification outbox", "sent", res.Sent, "failed", res.Failed, "abandoned", res.Abandoned)
	}
	return nil
}

// WebhookArgs is the job that sends one webhook delivery. SQL inserts it
// (axtract.webhook_jobs_insert) with the same kind and args.
type WebhookArgs struct {
	DeliveryID int64 `json:"delivery_id"`
}

// Kind is the River job kind.
func (WebhookArgs) Kind() string { return "axtract.webhook" }

// WebhookWorker sends webhook deliveries, one attempt per job attempt.
type WebhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	Sender              *notify.WebhookSender
	RetryBase, RetryMax time.Duration
}

// Work makes one attempt. A receiver that responds other than 2xx, or not
// at all, makes River retry the job later.
func (w *WebhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	err := w.Sender.Deliver(ctx, job.Args.DeliveryID, job.Attempt)
	if errors.Is(err, notify.ErrDeliveryNotFound) {
		return river.JobCancel(err)
	}
	return err
}

// Timeout lets the per-attempt limit of the webhook, at most 5 minutes,
// govern instead of River's default of one minute.
func (w *WebhookWorker) Timeout(*river.Job[WebhookArgs]) time.Duration { return 6 * time.Minute }

// NextRetry waits RetryBase after the first failure and twice as long after
// each further one, up to RetryMax.
func (w *WebhookWorker) NextRetry(job *river.Job[WebhookArgs]) time.Time {
	base, ceiling := w.RetryBase, w.RetryMax
	if base <= 0 {
		base = 10 * time.Second
	}
	if ceiling <= 0 {
		ceiling = time.Hour
	}
	wait := base
	for i := 1; i < job.Attempt && wait < ceiling; i++ {
		wait *= 2
	}
	wait = min(wait, ceiling)
	wait += time.Duration(rand.Int64N(int64(wait)/10 + 1))
	return time.Now().Add(wait)
}

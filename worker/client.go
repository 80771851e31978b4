package worker

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/logging"
	"github.com/axtract/axtract/internal/migrate"
)

// Config sets up a River client for AxTract.
type Config struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	Runner *extract.Runner
	// Workers is how many jobs run at once in this process. Zero makes an
	// insert-only client, for commands that enqueue work without doing it.
	Workers int
	// TickInterval is how often the scheduler looks for due slots.
	// Default: 30 seconds.
	TickInterval time.Duration
	// GuardInterval is how often the session guard enforces partner
	// logins' limits. Default: 10 seconds.
	GuardInterval time.Duration
	// RetryBase and RetryMax tune the extract's backoff; see ExtractWorker.
	RetryBase, RetryMax time.Duration
	// RescueAfter is how long a job may run before River assumes its worker
	// died and makes it available again. Default: one hour.
	RescueAfter time.Duration
	// OnDelivered, when set, is called after each successful delivery.
	OnDelivered func(*extract.Result)
	// Channels sets up email notices and webhooks; see ChannelConfig.
	Channels ChannelConfig
}

// NewClient returns a River client with AxTract's workers and the periodic
// schedule tick, session guard, daily privacy refresh and hourly session
// purge registered. Every process registers them; River runs periodic jobs
// only on the elected leader.
func NewClient(cfg Config) (*river.Client[pgx.Tx], error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rc := &river.Config{
		// River logs routine producer and leader work at info every few seconds.
		Logger: logging.WarnOnly(logger),
		Schema: migrate.RiverSchema,
	}
	if cfg.Workers > 0 {
		interval := cfg.TickInterval
		if interval <= 0 {
			interval = 30 * time.Second
		}
		workers := river.NewWorkers()
		river.AddWorker(workers, &ExtractWorker{
			Runner: cfg.Runner, RetryBase: cfg.RetryBase, RetryMax: cfg.RetryMax, OnDelivered: cfg.OnDelivered,
		})
		river.AddWorker(workers, &ScheduleTickWorker{Pool: cfg.Pool, Logger: cfg.Logger})
		river.AddWorker(workers, &AccessGuardWorker{Pool: cfg.Pool, Logger: cfg.Logger})
		river.AddWorker(workers, &PrivacyRefreshWorker{Pool: cfg.Pool})
		river.AddWorker(workers, &SessionPurgeWorker{Pool: cfg.Pool})
		guardInterval := cfg.GuardInterval
		if guardInterval <= 0 {
			guardInterval = 10 * time.Second
		}
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
		rc.RescueStuckJobsAfter = cfg.RescueAfter
		rc.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(interval),
				func() (river.JobArgs, *river.InsertOpts) { return ScheduleTickArgs{}, nil },
				&river.PeriodicJobOpts{ID: "axtract.schedule_tick", RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(guardInterval),
				func() (river.JobArgs, *river.InsertOpts) { return AccessGuardArgs{}, nil },
				&river.PeriodicJobOpts{ID: "axtract.access_guard", RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(PrivacyRefreshInterval),
				func() (river.JobArgs, *river.InsertOpts) { return PrivacyRefreshArgs{}, nil },
				&river.PeriodicJobOpts{ID: "axtract.privacy_refresh"}),
			river.NewPeriodicJob(river.PeriodicInterval(SessionPurgeInterval),
				func() (river.JobArgs, *river.InsertOpts) { return SessionPurgeArgs{}, nil },
				&river.PeriodicJobOpts{ID: "axtract.session_purge"}),
		}
		addChannelWorkers(workers, rc, cfg)
	}
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), rc)
	if err != nil {
		return nil, fmt.Errorf("create River client: %w", err)
	}
	return client, nil
}

package worker

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/axtract/axtract/internal/access"
)

// AccessGuardArgs is a request for one pass of the session guard, which
// enforces partner logins' limits from outside their sessions.
type AccessGuardArgs struct{}

// Kind is the River job kind.
func (AccessGuardArgs) Kind() string { return "axtract.access_guard" }

// InsertOpts keeps at most one pass waiting or running, whichever process
// enqueued it. A failed pass is not retried; the next interval brings a
// new one.
func (AccessGuardArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 1,
		UniqueOpts:  river.UniqueOpts{ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}},
	}
}

// AccessGuardWorker runs the session guard: see access.RunGuard.
type AccessGuardWorker struct {
	river.WorkerDefaults[AccessGuardArgs]
	Pool   *pgxpool.Pool
	Logger *slog.Logger
}

// Work runs one pass and logs each action it took.
func (w *AccessGuardWorker) Work(ctx context.Context, job *river.Job[AccessGuardArgs]) error {
	logger := w.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	actions, err := access.RunGuard(ctx, w.Pool)
	if err != nil {
		return err
	}
	for _, a := range actions {
		attrs := []any{"action", a.Action, "login", a.Login, "role", a.Role, "pid", a.PID, "reason", a.Reason}
		switch a.Action {
		case "blind", "signal failed":
			logger.Warn("session guard cannot see or signal a partner session; grant the service role pg_read_all_stats and pg_signal_backend", attrs...)
		case "login", "logout":
			logger.Debug("partner session", attrs...)
		default:
			logger.Info("session guard acted", attrs...)
		}
	}
	return nil
}

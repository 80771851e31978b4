package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// PrivacyRefreshInterval is how often the leader re-applies every partner's
// policies and column grants.
const PrivacyRefreshInterval = 24 * time.Hour

// PrivacyRefreshArgs is a request to run axtract.privacy_refresh(), which
// re-creates every partner's consent policies and column grants. Exceptions
// and data use agreements end on a date with no event to mark it, so a view
// that relied on one keeps its grants until the next refresh.
type PrivacyRefreshArgs struct{}

// Kind is the River job kind.
func (PrivacyRefreshArgs) Kind() string { return "axtract.privacy_refresh" }

// InsertOpts keeps at most one refresh waiting or running. A failed refresh
// is tried again a few times, because until it succeeds an expired
// exception still grants its column.
func (PrivacyRefreshArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 5,
		UniqueOpts:  river.UniqueOpts{ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}},
	}
}

// PrivacyRefreshWorker runs axtract.privacy_refresh().
type PrivacyRefreshWorker struct {
	river.WorkerDefaults[PrivacyRefreshArgs]
	Pool *pgxpool.Pool
}

// Work runs one refresh in one transaction.
func (w *PrivacyRefreshWorker) Work(ctx context.Context, job *river.Job[PrivacyRefreshArgs]) error {
	if _, err := w.Pool.Exec(ctx, "SELECT axtract.privacy_refresh()"); err != nil {
		return fmt.Errorf("refresh partner policies and grants: %w", err)
	}
	return nil
}

// SessionPurgeInterval is how often ended portal sessions are deleted.
const SessionPurgeInterval = time.Hour

// SessionPurgeArgs is a request to delete portal sessions that have ended
// and login attempts older than the lockout needs. A session is checked at
// every request whether or not it was purged; the purge only keeps the
// tables small.
type SessionPurgeArgs struct{}

// Kind is the River job kind.
func (SessionPurgeArgs) Kind() string { return "axtract.session_purge" }

// InsertOpts keeps at most one purge waiting or running; a failed one waits
// for the next interval.
func (SessionPurgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 1,
		UniqueOpts:  river.UniqueOpts{ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}},
	}
}

// SessionPurgeWorker runs axtract.account_session_purge.
type SessionPurgeWorker struct {
	river.WorkerDefaults[SessionPurgeArgs]
	Pool *pgxpool.Pool
}

// Work deletes the sessions that ended before now.
func (w *SessionPurgeWorker) Work(ctx context.Context, job *river.Job[SessionPurgeArgs]) error {
	if _, err := w.Pool.Exec(ctx, "SELECT axtract.account_session_purge(now())"); err != nil {
		return fmt.Errorf("purge ended portal sessions: %w", err)
	}
	return nil
}

package access

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// GuardAction is one thing a session guard pass did.
type GuardAction struct {
	// Action is one of login or logout (a session appeared or ended),
	// cancel or terminate (a signal sent to a session), expire (a login
	// locked after its expiry), drop role (a rotated-out role removed) and
	// reset settings (settings removed from a partner identity role or the
	// group role, where AxTract sets none).
	// It is signal failed when a cancel or terminate could not be sent, or
	// a terminated session did not end within the wait, and blind for a
	// session whose details pg_stat_activity hides from the guard's role.
	Action string
	Login  string
	Role   string
	// PID is the server process of the session, or zero.
	PID int32
	// Reason is the cause of a signal, such as statement timeout, idle
	// session timeout, revoked, rotated out or transaction began on an
	// earlier UTC day.
	Reason string
}

// RunGuard runs one pass of the session guard (axtract.access_guard) and
// returns what it did. Every action is also recorded in axtract.audit_event
// in the same transaction. A pass that finds another pass running in this
// database returns no actions.
func RunGuard(ctx context.Context, q Querier) ([]GuardAction, error) {
	rows, err := q.Query(ctx, `SELECT action, coalesce(login, ''), coalesce(role_name, ''), coalesce(pid, 0), coalesce(reason, '')
		FROM axtract.access_guard()`)
	if err != nil {
		return nil, fmt.Errorf("run session guard: %w", err)
	}
	actions, err := pgx.CollectRows(rows, pgx.RowToStructByPos[GuardAction])
	if err != nil {
		return nil, fmt.Errorf("run session guard: %w", err)
	}
	return actions, nil
}

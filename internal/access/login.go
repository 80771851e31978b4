// Package access manages partners' direct read-only database logins, checks
// the privileges of partner roles against the live catalog, and runs the
// session guard. Each operation is one call of a function in schema axtract
// (sql/60_access.sql), so the CLI and a DBA in psql share the checks.
//
// A login is one person's or one tool's credential for a partner. Its
// password lives only as a SCRAM-SHA-256 verifier on its role. PostgreSQL
// keeps one password per role, so a rotation creates the next generation of
// the login's role with the new password. The previous role keeps working
// until its grace period ends and the session guard drops it.
package access

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/partner"
)

// Querier is the part of a pool, connection or transaction this package uses.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Defaults of a new login, the same as those of axtract.partner_login_create.
const (
	DefaultConnectionLimit          = 5
	DefaultStatementTimeout         = 15 * time.Minute
	DefaultIdleInTransactionTimeout = 5 * time.Minute
	DefaultIdleSessionTimeout       = time.Hour
	// DefaultGrace is how long the previous password keeps working after a
	// rotation.
	DefaultGrace = 24 * time.Hour
)

// LoginParams describes a new login. Every field is used as given; use
// NewLoginParams for the defaults.
type LoginParams struct {
	Slug  string
	Login string
	// ConnectionLimit is the most sessions each role of the login may open,
	// from 1 to 1000.
	ConnectionLimit int
	// ValidUntil is when the login expires. Zero means never.
	ValidUntil time.Time
	// StatementTimeout, IdleInTransactionTimeout and IdleSessionTimeout are
	// set on the role and enforced by the session guard. They are rounded up
	// to whole milliseconds; zero disables a limit.
	StatementTimeout         time.Duration
	IdleInTransactionTimeout time.Duration
	IdleSessionTimeout       time.Duration
}

// NewLoginParams returns the parameters of a login with the default limits
// and no expiry.
func NewLoginParams(slug, login string) LoginParams {
	return LoginParams{
		Slug:                     slug,
		Login:                    login,
		ConnectionLimit:          DefaultConnectionLimit,
		StatementTimeout:         DefaultStatementTimeout,
		IdleInTransactionTimeout: DefaultIdleInTransactionTimeout,
		IdleSessionTimeout:       DefaultIdleSessionTimeout,
	}
}

// Credential is a role and its password as created. The password is not
// stored anywhere, so this is the only time it can be shown.
type Credential struct {
	Role     string
	Password string
}

// CreateLogin creates a login with a new random password and returns the
// role name and the password.
func CreateLogin(ctx context.Context, q Querier, p LoginParams) (*Credential, error) {
	password, verifier, err := newPassword()
	if err != nil {
		return nil, err
	}
	var validUntil *time.Time
	if !p.ValidUntil.IsZero() {
		validUntil = &p.ValidUntil
	}
	var role string
	err = q.QueryRow(ctx, `SELECT axtract.partner_login_create($1, $2, $3, $4, $5,
		$6::bigint * interval '1 millisecond', $7::bigint * interval '1 millisecond', $8::bigint * interval '1 millisecond')`,
		p.Slug, p.Login, verifier, p.ConnectionLimit, validUntil,
		milliseconds(p.StatementTimeout), milliseconds(p.IdleInTransactionTimeout), milliseconds(p.IdleSessionTimeout),
	).Scan(&role)
	if err != nil {
		return nil, fmt.Errorf("create login %s for partner %s: %w", p.Login, p.Slug, err)
	}
	return &Credential{Role: role, Password: password}, nil
}

// RotateLogin gives a login a new random password under a new role and
// lets the previous roles log in for grace longer. Returns the new role
// and password.
func RotateLogin(ctx context.Context, q Querier, slug, login string, grace time.Duration) (*Credential, error) {
	password, verifier, err := newPassword()
	if err != nil {
		return nil, err
	}
	var role string
	err = q.QueryRow(ctx, "SELECT axtract.partner_login_rotate($1, $2, $3, $4::bigint * interval '1 millisecond')",
		slug, login, verifier, milliseconds(grace)).Scan(&role)
	if err != nil {
		return nil, fmt.Errorf("rotate login %s of partner %s: %w", login, slug, err)
	}
	return &Credential{Role: role, Password: password}, nil
}

// RevokeLogin ends the open sessions of a login, drops its roles and
// returns the number of sessions it ended.
func RevokeLogin(ctx context.Context, q Querier, slug, login string) (int, error) {
	var ended int
	if err := q.QueryRow(ctx, "SELECT axtract.partner_login_revoke($1, $2)", slug, login).Scan(&ended); err != nil {
		return 0, fmt.Errorf("revoke login %s of partner %s: %w", login, slug, err)
	}
	return ended, nil
}

// LoginRole is one role of a login that is not revoked.
type LoginRole struct {
	Slug       string
	Login      string
	Role       string
	Generation int
	// Status is active, rotated out (usable until ValidUntil) or expired.
	Status string
	// ValidUntil is nil when the role does not expire.
	ValidUntil               *time.Time
	ConnectionLimit          int
	StatementTimeout         time.Duration
	IdleInTransactionTimeout time.Duration
	IdleSessionTimeout       time.Duration
	// Sessions is the number of sessions open now.
	Sessions int64
}

// ListLogins returns the roles of the logins of partner slug, or of every
// partner when slug is empty.
func ListLogins(ctx context.Context, q Querier, slug string) ([]LoginRole, error) {
	var filter *string
	if slug != "" {
		filter = &slug
	}
	rows, err := q.Query(ctx, `SELECT slug, login, role_name, generation, status, valid_until, connection_limit,
		(extract(epoch FROM statement_timeout) * 1000)::bigint,
		(extract(epoch FROM idle_in_transaction_timeout) * 1000)::bigint,
		(extract(epoch FROM idle_session_timeout) * 1000)::bigint,
		sessions
		FROM axtract.partner_login_list($1)`, filter)
	if err != nil {
		return nil, fmt.Errorf("list logins: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (LoginRole, error) {
		var r LoginRole
		var statementMS, idleTxMS, idleMS int64
		err := row.Scan(&r.Slug, &r.Login, &r.Role, &r.Generation, &r.Status, &r.ValidUntil, &r.ConnectionLimit,
			&statementMS, &idleTxMS, &idleMS, &r.Sessions)
		r.StatementTimeout = time.Duration(statementMS) * time.Millisecond
		r.IdleInTransactionTimeout = time.Duration(idleTxMS) * time.Millisecond
		r.IdleSessionTimeout = time.Duration(idleMS) * time.Millisecond
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("list logins: %w", err)
	}
	return list, nil
}

func newPassword() (password, verifier string, err error) {
	password, err = partner.GeneratePassword()
	if err != nil {
		return "", "", err
	}
	verifier, err = partner.SCRAMVerifier(password)
	if err != nil {
		return "", "", err
	}
	return password, verifier, nil
}

// milliseconds rounds d up to whole milliseconds, so that a small positive
// limit never becomes zero, which would disable it.
func milliseconds(d time.Duration) int64 {
	if d <= 0 {
		return int64(d / time.Millisecond)
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// Package partner manages partners, their views, consents and logins
// through the control-schema functions, so the CLI, the API and a DBA in
// psql go through the same checks.
package partner

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is what this package needs of a pool, connection or transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Purposes of use a partner can declare.
var Purposes = []string{"treatment", "payment", "operations", "research", "public_health"}

// CreateParams describes a new partner.
type CreateParams struct {
	Slug         string
	Name         string
	Purpose      string
	ContactEmail string
}

// Create creates a partner with its schema, roles and consent policies and
// returns its id.
func Create(ctx context.Context, q Querier, p CreateParams) (int64, error) {
	var email *string
	if p.ContactEmail != "" {
		email = &p.ContactEmail
	}
	var id int64
	err := q.QueryRow(ctx, "SELECT axtract.partner_create($1, $2, $3, $4)", p.Slug, p.Name, p.Purpose, email).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create partner %q: %w", p.Slug, err)
	}
	return id, nil
}

// DefineView compiles spec into view name of partner slug, replacing an
// existing view of that name, and returns the compiled SELECT.
func DefineView(ctx context.Context, q Querier, slug, name string, spec json.RawMessage) (string, error) {
	if !json.Valid(spec) {
		return "", fmt.Errorf("define view %s.%s: spec is not valid JSON", slug, name)
	}
	var compiled string
	err := q.QueryRow(ctx, "SELECT axtract.view_define($1, $2, $3::jsonb)", slug, name, string(spec)).Scan(&compiled)
	if err != nil {
		return "", fmt.Errorf("define view %s.%s: %w", slug, name, err)
	}
	return compiled, nil
}

// GrantConsent records a consent of member to partner slug from from
// through to (nil: open-ended) and returns its id.
func GrantConsent(ctx context.Context, q Querier, slug, memberID string, from time.Time, to *time.Time, source string) (int64, error) {
	if source == "" {
		source = "manual"
	}
	var id int64
	err := q.QueryRow(ctx, "SELECT axtract.consent_grant($1, $2::uuid, $3::date, $4::date, $5)",
		slug, memberID, from.Format(time.DateOnly), dateOrNil(to), source).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("grant consent to %s: %w", slug, err)
	}
	return id, nil
}

// RevokeConsent revokes every consent of member to partner slug and
// returns how many were in force.
func RevokeConsent(ctx context.Context, q Querier, slug, memberID string) (int, error) {
	var n int
	if err := q.QueryRow(ctx, "SELECT axtract.consent_revoke($1, $2::uuid)", slug, memberID).Scan(&n); err != nil {
		return 0, fmt.Errorf("revoke consent to %s: %w", slug, err)
	}
	return n, nil
}

// Login is a partner reader login as created: the password is shown once
// and stored nowhere.
type Login struct {
	Role     string
	Password string
}

// CreateLogin creates a reader login for partner slug with a new random
// password and the default limits of axtract.partner_login_create.
// access.CreateLogin sets the limits and an expiry.
func CreateLogin(ctx context.Context, q Querier, slug, login string) (*Login, error) {
	password, err := GeneratePassword()
	if err != nil {
		return nil, err
	}
	verifier, err := SCRAMVerifier(password)
	if err != nil {
		return nil, err
	}
	var role string
	if err := q.QueryRow(ctx, "SELECT axtract.partner_login_create($1, $2, $3)", slug, login, verifier).Scan(&role); err != nil {
		return nil, fmt.Errorf("create login %s for %s: %w", login, slug, err)
	}
	return &Login{Role: role, Password: password}, nil
}

func dateOrNil(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.Format(time.DateOnly)
	return &s
}

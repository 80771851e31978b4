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

	"github.com/axtract/axtract/internal/privacy"
)

// Querier is the subset of a pool, connection or transaction this package uses.
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
	if err := CheckJSON("spec", spec); err != nil {
		return "", fmt.Errorf("define view %s.%s: %w", slug, name, err)
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
	return RecordConsent(ctx, q, ConsentParams{Partner: slug, MemberID: memberID, From: from, To: to, Source: source})
}

// Consent defaults of a partner.
const (
	// ConsentOptIn shares a member's records only with a grant in force.
	ConsentOptIn = "opt_in"
	// ConsentOptOut shares a member's records unless a denial is in force.
	ConsentOptOut = "opt_out"
)

// ConsentParams describes one consent decision of a member.
type ConsentParams struct {
	// Partner is the slug of the partner the decision is about. Purpose is
	// set instead for a decision about every partner with that purpose of
	// use.
	Partner string
	Purpose string
	// MemberID is the member's mart.member id.
	MemberID string
	// Deny records a denial instead of a grant.
	Deny bool
	// Category limits the decision to the member's records of one sensitive
	// category (axtract.sensitive_category); empty means the records in
	// general.
	Category string
	// From is the first UTC date in force; To the last, nil for open-ended.
	From time.Time
	To   *time.Time
	// Source names where the decision was made, such as a form. Default
	// "manual".
	Source string
}

// RecordConsent records a consent decision and returns its id. It revokes
// the member's earlier decisions of the opposite kind for the same scope
// and category, so the newest decision counts.
func RecordConsent(ctx context.Context, q Querier, p ConsentParams) (int64, error) {
	if p.Source == "" {
		p.Source = "manual"
	}
	kind, scope := "grant", p.Partner
	if p.Deny {
		kind = "deny"
	}
	if scope == "" {
		scope = "purpose " + p.Purpose
	}
	var id int64
	err := q.QueryRow(ctx, "SELECT axtract.consent_record($1::uuid, $2, $3::date, $4::date, $5, $6, $7, $8)",
		p.MemberID, kind, p.From.Format(time.DateOnly), dateOrNil(p.To),
		textOrNil(p.Partner), textOrNil(p.Purpose), textOrNil(p.Category), p.Source).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record %s consent to %s: %w", kind, scope, privacy.MemberIDError(err, p.MemberID))
	}
	return id, nil
}

// RevokeConsent revokes every grant of member to partner slug, records a
// denial from today so that no purpose-scoped grant or opt-out default
// shares the member's records after it, and returns how many grants were
// revoked.
func RevokeConsent(ctx context.Context, q Querier, slug, memberID string) (int, error) {
	return RevokeCategoryConsent(ctx, q, slug, memberID, "")
}

// RevokeCategoryConsent is RevokeConsent for the grants and denial of one
// sensitive category; an empty category means all of them.
func RevokeCategoryConsent(ctx context.Context, q Querier, slug, memberID, category string) (int, error) {
	var n int
	err := q.QueryRow(ctx, "SELECT axtract.consent_revoke($1, $2::uuid, $3)", slug, memberID, textOrNil(category)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("revoke consent to %s: %w", slug, privacy.MemberIDError(err, memberID))
	}
	return n, nil
}

// SetConsentDefault sets partner slug's consent default, ConsentOptIn or
// ConsentOptOut. The partner's policies change in the same transaction.
func SetConsentDefault(ctx context.Context, q Querier, slug, consentDefault string) error {
	if _, err := q.Exec(ctx, "SELECT axtract.partner_consent_default_set($1, $2)", slug, consentDefault); err != nil {
		return fmt.Errorf("set consent default of %s: %w", slug, err)
	}
	return nil
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

func textOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func dateOrNil(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.Format(time.DateOnly)
	return &s
}

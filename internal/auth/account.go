package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is the subset of a pool, connection or transaction that the
// account functions use.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Roles lists every role, in the order of docs/accounts.md.
var Roles = []Role{RoleAdmin, RoleAnalyst, RolePrivacyOfficer, RoleOperator, RolePartner}

// ParseRole returns the role named s, or an error listing the roles.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: use admin, analyst, privacy_officer, operator or partner", s)
}

// NewAccount describes an account to create.
type NewAccount struct {
	Login string
	Role  Role
	// Partner is the slug of the partner of a RolePartner account.
	Partner string
	// Password is hashed with Argon2id before it leaves the process. Empty
	// creates an account that signs in through OpenID Connect only.
	Password string
	// Actor is recorded in the audit event; empty records the database user.
	Actor string
}

// CreateAccount hashes the password with params (zero: the defaults) and
// creates the account. It returns the account's id.
func CreateAccount(ctx context.Context, q Querier, a NewAccount, params Argon2Params) (int64, error) {
	var hash *string
	if a.Password != "" {
		if err := CheckPassword(a.Password); err != nil {
			return 0, fmt.Errorf("create account %q: %w", a.Login, err)
		}
		h, err := HashPassword(a.Password, params)
		if err != nil {
			return 0, err
		}
		hash = &h
	}
	var id int64
	err := q.QueryRow(ctx, "SELECT axtract.account_create($1, $2, $3, $4, $5)",
		a.Login, string(a.Role), nullIfEmpty(a.Partner), hash, nullIfEmpty(a.Actor)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create account %q: %w", a.Login, err)
	}
	return id, nil
}

// SetPassword replaces the password of login, lifts a lockout and ends the
// account's sessions.
func SetPassword(ctx context.Context, q Querier, login, password, actor string, params Argon2Params) error {
	if err := CheckPassword(password); err != nil {
		return fmt.Errorf("set password of %q: %w", login, err)
	}
	hash, err := HashPassword(password, params)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, "SELECT axtract.account_password_set($1, $2, $3)", login, hash, nullIfEmpty(actor)); err != nil {
		return fmt.Errorf("set password of %q: %w", login, err)
	}
	return nil
}

// SetRole changes the role of login; partner is the slug for RolePartner.
func SetRole(ctx context.Context, q Querier, login string, role Role, partner, actor string) error {
	if _, err := q.Exec(ctx, "SELECT axtract.account_role_set($1, $2, $3, $4)", login, string(role), nullIfEmpty(partner), nullIfEmpty(actor)); err != nil {
		return fmt.Errorf("set role of %q: %w", login, err)
	}
	return nil
}

// SetDisabled disables login, ending its sessions, or enables it again.
func SetDisabled(ctx context.Context, q Querier, login string, disabled bool, actor string) error {
	if _, err := q.Exec(ctx, "SELECT axtract.account_disabled_set($1, $2, $3)", login, disabled, nullIfEmpty(actor)); err != nil {
		return fmt.Errorf("disable account %q: %w", login, err)
	}
	return nil
}

// Unlock lifts a lockout of login before it ends.
func Unlock(ctx context.Context, q Querier, login, actor string) error {
	if _, err := q.Exec(ctx, "SELECT axtract.account_unlock($1, $2)", login, nullIfEmpty(actor)); err != nil {
		return fmt.Errorf("unlock account %q: %w", login, err)
	}
	return nil
}

// Account is an account as ListAccounts returns it. It carries no hash.
type Account struct {
	ID          int64
	Login       string
	Role        Role
	Partner     string
	Disabled    bool
	HasPassword bool
	OIDCSubject string
	LockedUntil *time.Time
	CreatedAt   time.Time
}

// ListAccounts returns every account ordered by login.
func ListAccounts(ctx context.Context, q Querier) ([]Account, error) {
	rows, err := q.Query(ctx, `
		SELECT a.account_id, a.login, a.role, coalesce(p.slug, ''), a.disabled, a.password_hash IS NOT NULL,
		       coalesce(a.oidc_subject, ''), a.locked_until, a.created_at
		FROM axtract.account a
		LEFT JOIN axtract.partner p ON p.partner_id = a.partner_id
		ORDER BY a.login`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	accounts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Account, error) {
		var a Account
		err := row.Scan(&a.ID, &a.Login, &a.Role, &a.Partner, &a.Disabled, &a.HasPassword, &a.OIDCSubject, &a.LockedUntil, &a.CreatedAt)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return accounts, nil
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

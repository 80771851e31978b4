// Package auth holds portal accounts, their sessions and roles, and the
// principal that every HTTP request carries once its session is checked.
package auth

import "context"

// Role is the set of actions an account may take. The roles table in
// docs/accounts.md lists the actions of each role.
type Role string

// Roles of portal accounts.
const (
	RoleAdmin          Role = "admin"
	RoleAnalyst        Role = "analyst"
	RolePrivacyOfficer Role = "privacy_officer"
	RoleOperator       Role = "operator"
	// RolePartner is a partner user, which may read only its own partner's
	// deliveries and downloads.
	RolePartner Role = "partner"
)

// Principal is the signed-in account a request acts for.
type Principal struct {
	AccountID int64
	Login     string
	Role      Role
	// PartnerID and PartnerSlug are set for RolePartner only.
	PartnerID   int64
	PartnerSlug string
}

// Is reports whether p holds one of roles.
func (p *Principal) Is(roles ...Role) bool {
	if p == nil {
		return false
	}
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of ctx, or nil when the request is not
// signed in.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

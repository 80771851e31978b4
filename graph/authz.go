package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/axtract/axtract/graph/model"
	"github.com/axtract/axtract/internal/auth"
)

// Authorization has two layers, both read from the schema:
//
//   - @hasRole on a field is enforced by the directive implementation,
//     hasRole, which gqlgen calls before the field's resolver.
//   - @hasRole on a type is enforced by typeRoleMiddleware for every field
//     of the type, on whatever path the type is reached, because gqlgen runs
//     only field directives.
//
// Partner users also get partner scoping in the data access: every query
// that reads partners, feeds, runs or files adds the partner's id (see
// scopeOf), so no path leads to another partner's rows.

// knownRoles are the roles the schema's Role enum names.
var knownRoles = map[auth.Role]bool{
	auth.RoleAdmin:          true,
	auth.RoleAnalyst:        true,
	auth.RolePrivacyOfficer: true,
	auth.RoleOperator:       true,
	auth.RolePartner:        true,
}

// isStaff reports whether p is a signed-in account of the operating
// organization (any role but partner).
func isStaff(p *auth.Principal) bool {
	return p != nil && knownRoles[p.Role] && p.Role != auth.RolePartner
}

// hasRole implements the @hasRole directive on fields.
func hasRole(ctx context.Context, _ any, next graphql.Resolver, roles []model.Role) (any, error) {
	if err := checkRoles(ctx, roles); err != nil {
		return nil, err
	}
	return next(ctx)
}

func checkRoles(ctx context.Context, roles []model.Role) error {
	p := auth.FromContext(ctx)
	if p == nil {
		return newError(CodeUnauthenticated, "sign in first")
	}
	for _, r := range roles {
		if string(r) == string(p.Role) {
			return nil
		}
	}
	return forbidden("role %s may not read or change %s", p.Role, fieldName(ctx))
}

func fieldName(ctx context.Context) string {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return "this field"
	}
	return fc.Object + "." + fc.Field.Name
}

// typeRoles maps each object type that carries @hasRole to its roles.
type typeRoles map[string][]model.Role

// readTypeRoles collects the @hasRole directives on the schema's types.
func readTypeRoles(schema *ast.Schema) (typeRoles, error) {
	out := typeRoles{}
	for name, def := range schema.Types {
		d := def.Directives.ForName("hasRole")
		if d == nil {
			continue
		}
		arg := d.Arguments.ForName("roles")
		if arg == nil || arg.Value == nil {
			return nil, fmt.Errorf("@hasRole on type %s has no roles", name)
		}
		var roles []model.Role
		for _, child := range arg.Value.Children {
			roles = append(roles, model.Role(strings.ToLower(child.Value.Raw)))
		}
		out[name] = roles
	}
	return out, nil
}

// typeRoleMiddleware enforces @hasRole on types. It runs for every field
// resolved, so it looks the type up before it reads the principal.
func typeRoleMiddleware(types typeRoles) graphql.FieldMiddleware {
	return func(ctx context.Context, next graphql.Resolver) (any, error) {
		if fc := graphql.GetFieldContext(ctx); fc != nil {
			if roles, ok := types[fc.Object]; ok {
				if err := checkRoles(ctx, roles); err != nil {
					return nil, err
				}
			}
		}
		return next(ctx)
	}
}

// scopeOf returns the partner id that limits what the request may read: 0
// for staff, who see every partner, and the partner's id for a partner
// user.
func scopeOf(ctx context.Context) (int64, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return 0, newError(CodeUnauthenticated, "sign in first")
	}
	if isStaff(p) {
		return 0, nil
	}
	if p.Role == auth.RolePartner && p.PartnerID > 0 {
		return p.PartnerID, nil
	}
	return 0, forbidden("account %s has no partner", p.Login)
}

// actor returns the portal login that SQL functions record as the actor.
func actor(ctx context.Context) string {
	if p := auth.FromContext(ctx); p != nil {
		return p.Login
	}
	return ""
}

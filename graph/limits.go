package graph

import (
	"context"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/axtract/axtract/internal/auth"
)

// Limits bound what one request may ask for. Every limit is checked after
// the operation is parsed and validated and before any resolver runs.
type Limits struct {
	// MaxDepth is the deepest nesting of fields an operation may have;
	// { a { b } } has depth 2. Default 12.
	MaxDepth int
	// MaxComplexity bounds the operation's cost: 1 per field, with the
	// fields under a list multiplied by its first, limit or count argument
	// (see complexity.go). Default 5000.
	MaxComplexity int
	// MaxAliases is the most fields with an alias an operation may have.
	// Default 30.
	MaxAliases int
	// MaxBatch is the most operations in one batched request (a JSON array
	// of operations). Default 10.
	MaxBatch int
	// MaxBodyBytes is the largest request body read. Default 1 MiB.
	MaxBodyBytes int64
	// MaxTokens is the most lexical tokens the parser reads, so a huge
	// query is rejected before it is parsed whole. Default 10000.
	MaxTokens int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = 12
	}
	if l.MaxComplexity <= 0 {
		l.MaxComplexity = 5000
	}
	if l.MaxAliases <= 0 {
		l.MaxAliases = 30
	}
	if l.MaxBatch <= 0 {
		l.MaxBatch = 10
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 1 << 20
	}
	if l.MaxTokens <= 0 {
		l.MaxTokens = 10000
	}
	return l
}

// limitExtension rejects principals whose role the schema does not know,
// checks depth, aliases and complexity, and allows introspection to
// signed-in staff only.
type limitExtension struct {
	limits Limits
	schema graphql.ExecutableSchema
}

var (
	_ graphql.HandlerExtension        = limitExtension{}
	_ graphql.OperationContextMutator = limitExtension{}
)

func (limitExtension) ExtensionName() string { return "AxtractLimits" }

func (limitExtension) Validate(graphql.ExecutableSchema) error { return nil }

func (e limitExtension) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	p := auth.FromContext(ctx)
	if p == nil {
		err := gqlerror.Errorf("sign in first")
		setCode(err, CodeUnauthenticated)
		return err
	}
	if !knownRoles[p.Role] {
		err := gqlerror.Errorf("role %q is not a portal role", p.Role)
		setCode(err, CodeForbidden)
		return err
	}
	oc.DisableIntrospection = !isStaff(p)
	if oc.DisableIntrospection && introspects(oc.Operation.SelectionSet) {
		err := gqlerror.Errorf("introspection is for signed-in staff; partner users get the schema from docs/graphql.md")
		setCode(err, CodeForbidden)
		return err
	}

	depth, aliases := measure(oc.Operation.SelectionSet, 1)
	if depth > e.limits.MaxDepth {
		return limitError("query depth %d exceeds the limit of %d; split the query", depth, e.limits.MaxDepth)
	}
	if aliases > e.limits.MaxAliases {
		return limitError("query has %d aliased fields, more than the limit of %d", aliases, e.limits.MaxAliases)
	}
	cost := complexity.Calculate(ctx, e.schema, oc.Operation, oc.Variables)
	if cost > e.limits.MaxComplexity {
		return limitError("query complexity %d exceeds the limit of %d; ask for fewer items with first or limit",
			cost, e.limits.MaxComplexity)
	}
	return nil
}

func limitError(format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	setCode(err, CodeLimitExceeded)
	return err
}

// measure returns the depth of the deepest field in set, counting set's
// own fields as level, and the number of aliased fields. Fragments count
// where they are spread; validation has already ruled out fragment cycles.
// introspects reports whether set selects __schema or __type at its top
// level, directly or through fragments.
func introspects(set ast.SelectionSet) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				return true
			}
		case *ast.InlineFragment:
			if introspects(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && introspects(s.Definition.SelectionSet) {
				return true
			}
		}
	}
	return false
}

func measure(set ast.SelectionSet, level int) (depth, aliases int) {
	for _, sel := range set {
		var d, a int
		switch s := sel.(type) {
		case *ast.Field:
			if s.Alias != "" && s.Alias != s.Name {
				a++
			}
			d = level
			if len(s.SelectionSet) > 0 {
				cd, ca := measure(s.SelectionSet, level+1)
				d, a = max(d, cd), a+ca
			}
		case *ast.InlineFragment:
			d, a = measure(s.SelectionSet, level)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d, a = measure(s.Definition.SelectionSet, level)
			}
		}
		depth = max(depth, d)
		aliases += a
	}
	return depth, aliases
}

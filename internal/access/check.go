package access

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Severities of a Finding.
const (
	// SeverityDrift marks a difference between this database and what
	// axtract migrate and the login functions set, such as a grant added by
	// hand.
	SeverityDrift = "drift"
	// SeverityWarning marks something outside this database, which AxTract
	// does not manage, that lets partners do more than read their views.
	SeverityWarning = "warning"
)

// Finding is one difference the access check found.
type Finding struct {
	Severity string
	// Role is the role the finding is about: a partner role, PUBLIC, or
	// empty for an object in a partner schema that names no role.
	Role    string
	Object  string
	Problem string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s %s", f.Severity, f.Role, f.Object, f.Problem)
}

// Check compares the privileges, memberships, attributes and settings of
// partner roles and of PUBLIC with what AxTract grants, in the live catalog
// (axtract.access_check), and returns the differences, drift first.
func Check(ctx context.Context, q Querier) ([]Finding, error) {
	rows, err := q.Query(ctx, `SELECT severity, coalesce(role_name, ''), object, problem
		FROM axtract.access_check()
		ORDER BY severity = 'drift' DESC, role_name, object, problem`)
	if err != nil {
		return nil, fmt.Errorf("check partner access: %w", err)
	}
	findings, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Finding])
	if err != nil {
		return nil, fmt.Errorf("check partner access: %w", err)
	}
	return findings, nil
}

// CountDrift returns how many findings have SeverityDrift.
func CountDrift(findings []Finding) int {
	n := 0
	for _, f := range findings {
		if f.Severity == SeverityDrift {
			n++
		}
	}
	return n
}

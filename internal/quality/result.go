package quality

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/axtract/axtract/internal/format"
)

// Names of the checks, as violations and docs/quality.md name them: the
// keys of the rules.
const (
	CheckMinRows       = "min_rows"
	CheckMaxRows       = "max_rows"
	CheckRowChange     = "max_row_change_pct"
	CheckMaxNullPct    = "max_null_pct"
	CheckRequired      = "required_columns"
	CheckUniqueColumns = "unique_columns"
)

// Outcome is the decision on the file of a checked run.
type Outcome string

const (
	// OutcomePassed: no rule was broken and the file is delivered.
	OutcomePassed Outcome = "passed"
	// OutcomeFailed: a rule was broken, on_fail is fail, and the run fails
	// without delivering.
	OutcomeFailed Outcome = "failed"
	// OutcomeHeld: a rule was broken, on_fail is hold, and the run waits
	// for an operator without delivering.
	OutcomeHeld Outcome = "held"
	// OutcomeReleased: a rule was broken, but an operator had released the
	// run, so the file is delivered.
	OutcomeReleased Outcome = "released"
)

// Delivers reports whether a run with this outcome delivers its file.
func (o Outcome) Delivers() bool {
	return o == OutcomePassed || o == OutcomeReleased
}

// Result is the set of measures a Checker took and the rules the rows
// broke. It holds counts, percentages and column names, never a value of
// the data.
type Result struct {
	Rows int64 `json:"rows"`
	// PreviousRows are the rows of the feed's previous succeeded run, and
	// RowChangePct is the change against them in percent, rounded to two
	// decimals. Both are nil on the first run or when the rules have no
	// max_row_change_pct.
	PreviousRows *int64   `json:"previous_rows,omitempty"`
	RowChangePct *float64 `json:"row_change_pct,omitempty"`
	// Columns lists the measures of every column in view order; it is
	// empty when the rows did not pass through a Checker.
	Columns    []ColumnResult `json:"columns,omitempty"`
	Violations []Violation    `json:"violations"`
	// Skipped lists checks that were not run, with the reason.
	Skipped []Skip `json:"skipped,omitempty"`
	// Outcome is set by Decide.
	Outcome Outcome `json:"outcome,omitempty"`

	rules *Rules
}

// ColumnResult holds the measures of one column.
type ColumnResult struct {
	Name  string `json:"name"`
	Nulls int64  `json:"nulls"`
	// NullPct is Nulls in percent of the rows, rounded to two decimals.
	NullPct float64 `json:"null_pct"`
	// Distinct and Duplicates are set for unique columns: the distinct
	// non-NULL values and the non-NULL values seen before in an earlier
	// row. When UniqueLimitReached, they count the values up to the limit.
	Distinct   *int64 `json:"distinct,omitempty"`
	Duplicates *int64 `json:"duplicates,omitempty"`
	// UniqueLimitReached is true when the column had more non-NULL values
	// than unique_max_values, so its uniqueness was not checked in full.
	UniqueLimitReached bool `json:"unique_limit_reached,omitempty"`
}

// Violation is one broken rule.
type Violation struct {
	// Check is the rule's key, such as min_rows.
	Check string `json:"check"`
	// Column is the column the rule is about; empty for row-count rules.
	Column string `json:"column,omitempty"`
	// Message states the measured value and the limit, such as "3 rows,
	// expected at least 10".
	Message string `json:"message"`
}

// Skip is a check that was not run.
type Skip struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
}

// Passed reports whether the rows broke no rule.
func (r *Result) Passed() bool { return len(r.Violations) == 0 }

// Rules returns the rules the result was checked against.
func (r *Result) Rules() *Rules { return r.rules }

// Summary joins the violations into one line for run.error and logs, such
// as "min_rows: 3 rows, expected at least 10; required_columns: column
// member_id has 2 NULLs, expected none". It is empty when the rows passed.
func (r *Result) Summary() string {
	parts := make([]string, len(r.Violations))
	for i, v := range r.Violations {
		parts[i] = v.Check + ": " + v.Message
	}
	return strings.Join(parts, "; ")
}

// Decide sets and returns the outcome of the result. released is true when
// an operator released the run after an earlier attempt was held.
func (r *Result) Decide(released bool) Outcome {
	switch {
	case r.Passed():
		r.Outcome = OutcomePassed
	case released:
		r.Outcome = OutcomeReleased
	case r.rules != nil && r.rules.Action() == ActionHold:
		r.Outcome = OutcomeHeld
	default:
		r.Outcome = OutcomeFailed
	}
	return r.Outcome
}

// Result returns the measures so far and the violations of every rule but
// max_row_change_pct, which needs the previous run's rows: Evaluate adds it.
func (c *Checker) Result() *Result {
	res := &Result{Rows: c.rows, Violations: []Violation{}, rules: c.rules}
	c.checkRows(res)
	if c.measured {
		c.checkColumns(res)
	}
	return res
}

// Evaluate returns the result of every rule, once the last row has been
// written. prev is the row count of the feed's previous succeeded run, nil
// when it has none.
func (c *Checker) Evaluate(prev *int64) *Result {
	res := c.Result()
	limit := c.rules.MaxRowChangePct
	if limit == nil {
		return res
	}
	switch {
	case prev == nil:
		res.Skipped = append(res.Skipped, Skip{Check: CheckRowChange, Reason: "the feed has no previous succeeded run"})
	case *prev == 0:
		res.PreviousRows = prev
		res.Skipped = append(res.Skipped, Skip{Check: CheckRowChange, Reason: "the previous succeeded run had no rows"})
	default:
		res.PreviousRows = prev
		change := math.Abs(float64(c.rows-*prev)) / float64(*prev) * 100
		rounded := round2(change)
		res.RowChangePct = &rounded
		if change > *limit {
			res.Violations = append(res.Violations, Violation{
				Check: CheckRowChange,
				Message: fmt.Sprintf("rows changed by %s%% (from %d in the previous run to %d), expected at most %s%%",
					percent(change), *prev, c.rows, percent(*limit)),
			})
		}
	}
	return res
}

func (c *Checker) checkRows(res *Result) {
	r := c.rules
	if r.MinRows != nil && c.rows < *r.MinRows {
		res.Violations = append(res.Violations, Violation{
			Check:   CheckMinRows,
			Message: fmt.Sprintf("%d rows, expected at least %d", c.rows, *r.MinRows),
		})
	}
	if r.MaxRows != nil && c.rows > *r.MaxRows {
		res.Violations = append(res.Violations, Violation{
			Check:   CheckMaxRows,
			Message: fmt.Sprintf("%d rows, expected at most %d", c.rows, *r.MaxRows),
		})
	}
}

func (c *Checker) checkColumns(res *Result) {
	r := c.rules
	res.Columns = make([]ColumnResult, len(c.cols))
	for i, col := range c.cols {
		res.Columns[i] = ColumnResult{Name: col.Name, Nulls: c.nulls[i], NullPct: round2(c.nullPct(i))}
	}
	index := func(name string) int {
		return slices.IndexFunc(c.cols, func(col format.Column) bool { return col.Name == name })
	}

	for _, name := range sortedKeys(r.MaxNullPct) {
		i, limit := index(name), r.MaxNullPct[name]
		if pct := c.nullPct(i); pct > limit {
			res.Violations = append(res.Violations, Violation{
				Check:  CheckMaxNullPct,
				Column: name,
				Message: fmt.Sprintf("column %s is %s%% NULL (%d of %d rows), expected at most %s%%",
					name, percent(pct), c.nulls[i], c.rows, percent(limit)),
			})
		}
	}
	for _, name := range r.RequiredColumns {
		if n := c.nulls[index(name)]; n > 0 {
			res.Violations = append(res.Violations, Violation{
				Check:   CheckRequired,
				Column:  name,
				Message: fmt.Sprintf("column %s has %d NULLs, expected none", name, n),
			})
		}
	}
	for k := range c.unique {
		u := &c.unique[k]
		name := c.cols[u.index].Name
		col := &res.Columns[u.index]
		distinct, duplicates := u.hashes.count()
		col.Distinct, col.Duplicates, col.UniqueLimitReached = &distinct, &duplicates, u.overflow
		switch {
		case duplicates > 0:
			res.Violations = append(res.Violations, Violation{
				Check:   CheckUniqueColumns,
				Column:  name,
				Message: fmt.Sprintf("column %s has %d duplicate values, expected none", name, duplicates),
			})
		case u.overflow:
			res.Violations = append(res.Violations, Violation{
				Check:  CheckUniqueColumns,
				Column: name,
				Message: fmt.Sprintf("column %s has more than %d non-NULL values, too many to check its uniqueness in full, so raise unique_max_values or remove the column from unique_columns",
					name, u.limit),
			})
		}
	}
}

// nullPct returns the share of NULLs of column i in percent, 0 when there
// are no rows.
func (c *Checker) nullPct(i int) float64 {
	if c.rows == 0 {
		return 0
	}
	return float64(c.nulls[i]) / float64(c.rows) * 100
}

// percent prints p with at most two decimals.
func percent(p float64) string {
	return strconv.FormatFloat(round2(p), 'f', -1, 64)
}

// round2 rounds p to two decimals for display. The checks compare the
// unrounded values.
func round2(p float64) float64 {
	return math.Round(p*100) / 100
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

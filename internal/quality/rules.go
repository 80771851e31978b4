// Package quality checks the data of a feed run before it is delivered.
//
// A feed's rules live in axtract.feed_quality, set with the SQL function
// axtract.feed_quality_set, which validates them. Load reads them. A
// Checker wraps the format.Writer of a run: it counts the rows, the NULLs of
// every column and the distinct values of the unique columns as the rows
// stream through, and passes each row on unchanged. Once the last row is
// written, Evaluate compares the counts with the rules and with the rows of
// the feed's previous delivery, and the Result decides what the run does:
// deliver, fail, or hold the run for an operator. Record stores the Result
// in axtract.run_quality, and Hold records it and puts the run on hold.
//
// # Member data
//
// A Result holds counts, percentages and column names. Violation messages
// are built from them alone, so no value read from the view ever reaches a
// message, a log line or the database. Unique columns keep 64-bit hashes of
// their values in memory, never the values.
//
// docs/quality.md describes the rules and what fail and hold do.
package quality

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/store"
)

// Action is the step a run takes when its data breaks a rule.
type Action string

const (
	// ActionFail fails the run: nothing is delivered and the run ends as
	// failed, without another attempt.
	ActionFail Action = "fail"
	// ActionHold holds the run: nothing is delivered, and the run waits as
	// held until an operator releases or discards it.
	ActionHold Action = "hold"
)

// ErrInvalidRules is wrapped by the errors of rules that cannot be applied:
// a stored value that is invalid, or a column the view does not have. The
// same rules fail the same way on every attempt, so a run should not retry.
var ErrInvalidRules = errors.New("invalid quality rules")

// Limits of unique_max_values, as axtract.feed_quality_set enforces them.
const (
	DefaultUniqueMaxValues = 1_000_000
	MaxUniqueMaxValues     = 10_000_000
)

// Rules are the quality rules of one feed. A nil pointer or map means the
// rule is not set.
type Rules struct {
	// MinRows and MaxRows bound the rows a run may deliver.
	MinRows *int64 `json:"min_rows,omitempty"`
	MaxRows *int64 `json:"max_rows,omitempty"`
	// MaxRowChangePct is the largest change in rows against the previous
	// succeeded run, in percent of that run's rows.
	MaxRowChangePct *float64 `json:"max_row_change_pct,omitempty"`
	// MaxNullPct maps a column to the largest share of NULLs it may hold,
	// in percent of the rows.
	MaxNullPct map[string]float64 `json:"max_null_pct,omitempty"`
	// RequiredColumns may hold no NULL.
	RequiredColumns []string `json:"required_columns,omitempty"`
	// UniqueColumns may hold no value twice. NULLs are not compared, as in
	// a SQL UNIQUE constraint.
	UniqueColumns []string `json:"unique_columns,omitempty"`
	// UniqueMaxValues is the most non-NULL values tracked per unique column.
	// Zero means DefaultUniqueMaxValues.
	UniqueMaxValues int64 `json:"unique_max_values,omitempty"`
	// OnFail is the action of a run that breaks a rule. Empty means
	// ActionFail.
	OnFail Action `json:"on_fail,omitempty"`
}

// Load returns the quality rules of feed feedID, or nil when the feed has
// none.
func Load(ctx context.Context, q *store.Queries, feedID int64) (*Rules, error) {
	body, err := q.FeedQualityRules(ctx, feedID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load quality rules of feed %d: %w", feedID, err)
	}
	rules, err := Parse(body)
	if err != nil {
		return nil, fmt.Errorf("load quality rules of feed %d: %w; set them again with axtract.feed_quality_set", feedID, err)
	}
	return rules, nil
}

// Parse decodes rules as axtract.feed_quality stores them and checks them
// again, because a DBA can also write the table directly.
func Parse(body []byte) (*Rules, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var r Rules
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRules, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRules, err)
	}
	return &r, nil
}

// Validate checks the values of the rules. Column names are checked against
// the view by NewChecker.
func (r *Rules) Validate() error {
	for _, bound := range []struct {
		name  string
		value *int64
	}{{"min_rows", r.MinRows}, {"max_rows", r.MaxRows}} {
		if bound.value != nil && *bound.value < 0 {
			return fmt.Errorf("%s must be 0 or more, not %d", bound.name, *bound.value)
		}
	}
	if r.MinRows != nil && r.MaxRows != nil && *r.MinRows > *r.MaxRows {
		return fmt.Errorf("min_rows %d is more than max_rows %d; lower min_rows or raise max_rows", *r.MinRows, *r.MaxRows)
	}
	if r.MaxRowChangePct != nil && *r.MaxRowChangePct < 0 {
		return fmt.Errorf("max_row_change_pct must be 0 or more, not %g", *r.MaxRowChangePct)
	}
	for column, pct := range r.MaxNullPct {
		if pct < 0 || pct > 100 {
			return fmt.Errorf("max_null_pct of column %s must be a percent from 0 to 100, not %g", column, pct)
		}
	}
	if r.UniqueMaxValues < 0 || r.UniqueMaxValues > MaxUniqueMaxValues {
		return fmt.Errorf("unique_max_values must be 1 to %d, not %d", MaxUniqueMaxValues, r.UniqueMaxValues)
	}
	for _, list := range []struct {
		name    string
		columns []string
	}{{"required_columns", r.RequiredColumns}, {"unique_columns", r.UniqueColumns}} {
		for i, c := range list.columns {
			if c == "" {
				return fmt.Errorf("%s must not list an empty column name", list.name)
			}
			if slices.Contains(list.columns[:i], c) {
				return fmt.Errorf("%s lists column %s more than once", list.name, c)
			}
		}
	}
	switch r.OnFail {
	case "", ActionFail, ActionHold:
	default:
		return fmt.Errorf("on_fail must be fail or hold, not %q", r.OnFail)
	}
	return nil
}

// Action returns the action of a run that breaks a rule.
func (r *Rules) Action() Action {
	if r.OnFail == "" {
		return ActionFail
	}
	return r.OnFail
}

// NeedsColumns reports whether a rule reads column values, so the rows must
// pass through a Checker. Rules on row counts alone can be checked with
// CheckRows from the row count of the COPY.
func (r *Rules) NeedsColumns() bool {
	return len(r.MaxNullPct) > 0 || len(r.RequiredColumns) > 0 || len(r.UniqueColumns) > 0
}

func (r *Rules) uniqueMaxValues() int64 {
	if r.UniqueMaxValues == 0 {
		return DefaultUniqueMaxValues
	}
	return r.UniqueMaxValues
}

package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/graph/model"
	"github.com/axtract/axtract/internal/quality"
	"github.com/axtract/axtract/internal/store"
)

// Quality rules and held runs (docs/quality.md). Each mutation is one call
// of the control-schema function, which validates its input and writes the
// audit event.

// feedQualityRules returns the stored rules of feed feedID, or nil when the
// feed has none.
func (r *Resolver) feedQualityRules(ctx context.Context, feedID int64) (json.RawMessage, error) {
	rules, err := store.New(r.pool).FeedQualityRules(ctx, feedID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, sqlError(err, "read quality rules of feed")
	}
	return json.RawMessage(rules), nil
}

// setFeedQuality replaces the rules of feed name. JSON null and {} remove
// them, as axtract.feed_quality_set does.
func (r *Resolver) setFeedQuality(ctx context.Context, name string, rules json.RawMessage) (*model.Feed, error) {
	var arg any
	if len(rules) > 0 && string(rules) != "null" {
		arg = []byte(rules)
	}
	if _, err := r.pool.Exec(ctx, `SELECT axtract.feed_quality_set($1, $2::jsonb)`, name, arg); err != nil {
		return nil, qualityError(err, name)
	}
	return r.feedByName(ctx, name)
}

// qualityError turns a rejection of axtract.feed_quality_set into an
// Error. The function raises 42703 for a column the view lacks and 42P01
// for a view that is gone. sqlError would hide both as INTERNAL, yet their
// messages name the value and the fix, so they are VALIDATION here.
func qualityError(err error, name string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42703" || pgErr.Code == "42P01") {
		return &Error{Code: CodeValidation, Message: redact(pgErr.Message), Hint: redact(pgErr.Hint),
			err: fmt.Errorf("set quality rules of feed %s: %w", name, err)}
	}
	return sqlError(err, "set quality rules of feed "+name)
}

func (r *Resolver) releaseRun(ctx context.Context, id int64) (*model.Run, error) {
	if _, err := r.pool.Exec(ctx, `SELECT axtract.run_release($1)`, id); err != nil {
		return nil, sqlError(err, "release run")
	}
	return r.runByID(ctx, id)
}

func (r *Resolver) discardRun(ctx context.Context, id int64, reason *string) (*model.Run, error) {
	if _, err := r.pool.Exec(ctx, `SELECT axtract.run_discard($1, $2)`, id, reason); err != nil {
		return nil, sqlError(err, "discard run")
	}
	return r.runByID(ctx, id)
}

// runQuality reads the quality result of run, or nil when the run was not
// checked.
func (r *Resolver) runQuality(ctx context.Context, run *model.Run) (*model.RunQuality, error) {
	row, err := store.New(r.pool).RunQualityGet(ctx, run.RunID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, sqlError(err, "read quality result of run")
	}
	return qualityResult(row)
}

// qualityResult converts a row of axtract.run_quality. The measures and
// violations columns hold the JSON that internal/quality writes, so they
// are read with its types.
func qualityResult(row store.AxtractRunQuality) (*model.RunQuality, error) {
	var measures struct {
		RowChangePct *float64               `json:"row_change_pct"`
		Columns      []quality.ColumnResult `json:"columns"`
		Skipped      []quality.Skip         `json:"skipped"`
	}
	if err := json.Unmarshal(row.Measures, &measures); err != nil {
		return nil, &Error{Code: CodeInternal, Message: "internal error",
			err: fmt.Errorf("decode quality measures of run %d: %w", row.RunID, err)}
	}
	var violations []quality.Violation
	if err := json.Unmarshal(row.Violations, &violations); err != nil {
		return nil, &Error{Code: CodeInternal, Message: "internal error",
			err: fmt.Errorf("decode quality violations of run %d: %w", row.RunID, err)}
	}

	out := &model.RunQuality{
		Outcome:      model.QualityOutcome(row.Outcome),
		Rules:        json.RawMessage(row.Rules),
		Rows:         row.Rows,
		PreviousRows: row.PreviousRows,
		RowChangePct: measures.RowChangePct,
		Violations:   make([]*model.QualityViolation, len(violations)),
		Columns:      make([]*model.QualityColumn, len(measures.Columns)),
		Skipped:      make([]*model.QualitySkip, len(measures.Skipped)),
		CheckedAt:    row.CheckedAt,
		ReleasedAt:   row.ReleasedAt,
		ReleasedBy:   row.ReleasedBy,
		DiscardedAt:  row.DiscardedAt,
		DiscardedBy:  row.DiscardedBy,
	}
	for i, v := range violations {
		qv := &model.QualityViolation{Check: v.Check, Message: v.Message}
		if v.Column != "" {
			qv.Column = &v.Column
		}
		out.Violations[i] = qv
	}
	for i, c := range measures.Columns {
		out.Columns[i] = &model.QualityColumn{Name: c.Name, Nulls: c.Nulls, NullPct: c.NullPct,
			Distinct: c.Distinct, Duplicates: c.Duplicates, UniqueLimitReached: c.UniqueLimitReached}
	}
	for i, s := range measures.Skipped {
		out.Skipped[i] = &model.QualitySkip{Check: s.Check, Reason: s.Reason}
	}
	return out, nil
}

// heldRuns returns the count of held runs in counts.
func heldRuns(counts []*model.RunStatusCount) int {
	for _, c := range counts {
		if c.Status == model.RunStatusHeld {
			return int(c.Count)
		}
	}
	return 0
}

package quality

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/store"
)

// CheckError reports that a run's rows broke its feed's quality rules, so
// the run delivered nothing. Result.Outcome is OutcomeFailed when the run
// fails and OutcomeHeld when it waits for an operator. The message names the
// rules and columns and gives counts, never member data.
type CheckError struct {
	RunID  int64
	Result *Result
}

func (e *CheckError) Error() string {
	if e.Held() {
		return fmt.Sprintf("run %d is held by its feed's quality rules: %s", e.RunID, e.Result.Summary())
	}
	return fmt.Sprintf("run %d broke its feed's quality rules: %s", e.RunID, e.Result.Summary())
}

// Held reports whether the run waits for an operator rather than failing.
func (e *CheckError) Held() bool { return e.Result.Outcome == OutcomeHeld }

// IsHeld reports whether err is, or wraps, a CheckError of a held run.
func IsHeld(err error) bool {
	var ce *CheckError
	return errors.As(err, &ce) && ce.Held()
}

// PreviousRows returns the rows of the latest finished succeeded run of
// run runID's feed, or nil before the feed's first delivery. Evaluate takes
// it for max_row_change_pct.
func PreviousRows(ctx context.Context, q *store.Queries, runID int64) (*int64, error) {
	rows, err := q.RunPreviousRows(ctx, runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read rows of the previous run before run %d: %w", runID, err)
	}
	return rows, nil
}

// Released reports whether an operator released run runID with
// axtract.run_release after an earlier attempt was held, so this attempt
// delivers even if the rows break the rules again.
func Released(ctx context.Context, q *store.Queries, runID int64) (bool, error) {
	released, err := q.RunQualityReleased(ctx, runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read quality result of run %d: %w", runID, err)
	}
	return released, nil
}

// measures is the measures column of axtract.run_quality.
type measures struct {
	RowChangePct *float64       `json:"row_change_pct,omitempty"`
	Columns      []ColumnResult `json:"columns,omitempty"`
	Skipped      []Skip         `json:"skipped,omitempty"`
}

// Record stores res as the quality result of run runID in
// axtract.run_quality, replacing that of an earlier attempt. Call it in the
// transaction that records the run's outcome. A result without an outcome
// is decided as not released first.
func Record(ctx context.Context, db store.DBTX, runID int64, res *Result) error {
	if res.Outcome == "" {
		res.Decide(false)
	}

	rules := res.rules
	if rules == nil {
		rules = &Rules{}
	}
	rulesJSON, err := json.Marshal(rules)
	if err != nil {
		return fmt.Errorf("encode quality rules of run %d: %w", runID, err)
	}
	measuresJSON, err := json.Marshal(measures{RowChangePct: res.RowChangePct, Columns: res.Columns, Skipped: res.Skipped})
	if err != nil {
		return fmt.Errorf("encode quality measures of run %d: %w", runID, err)
	}
	violations := res.Violations
	if violations == nil {
		violations = []Violation{}
	}
	violationsJSON, err := json.Marshal(violations)
	if err != nil {
		return fmt.Errorf("encode quality violations of run %d: %w", runID, err)
	}

	err = store.New(db).RunQualityRecord(ctx, store.RunQualityRecordParams{
		RunID:        runID,
		Rules:        rulesJSON,
		Outcome:      string(res.Outcome),
		Rows:         res.Rows,
		PreviousRows: res.PreviousRows,
		Measures:     measuresJSON,
		Violations:   violationsJSON,
	})
	if err != nil {
		return fmt.Errorf("record quality result of run %d: %w", runID, err)
	}
	return nil
}

// TxBeginner starts a transaction: a pool, a connection or, for a
// savepoint, a transaction.
type TxBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Hold records res, whose outcome must be OutcomeHeld, and puts running run
// runID on hold with axtract.run_hold, in one transaction. The run then
// waits for axtract.run_release or axtract.run_discard.
func Hold(ctx context.Context, db TxBeginner, runID int64, res *Result) error {
	if res.Outcome != OutcomeHeld {
		return fmt.Errorf("hold run %d: its quality outcome is %q, not held", runID, res.Outcome)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("hold run %d: %w", runID, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := Record(ctx, tx, runID, res); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "SELECT axtract.run_hold($1, $2)", runID, res.Summary()); err != nil {
		return fmt.Errorf("hold run %d: %w", runID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("hold run %d: %w", runID, err)
	}
	return nil
}

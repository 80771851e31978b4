package extract

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/quality"
	"github.com/axtract/axtract/internal/store"
)

// qualityGate is the set of rules a run checks the rows of one part
// against before it delivers the part's file. docs/quality.md describes
// the rules.
type qualityGate struct {
	rules *quality.Rules
	// prev is the row count of the feed's previous succeeded run, nil
	// before its first delivery.
	prev *int64
	// released is set when an operator released the run after an earlier
	// attempt was held, so this attempt delivers whatever the checks find.
	released bool
	checker  *quality.Checker
	result   *quality.Result
}

// loadQualityGate reads the feed's rules and what they compare against,
// before the snapshot: the partner's role cannot read the control schema.
// It returns nil when the feed has no rules.
func loadQualityGate(ctx context.Context, q *store.Queries, feed store.FeedByIDRow, runID int64) (*qualityGate, error) {
	rules, err := quality.Load(ctx, q, feed.FeedID)
	if errors.Is(err, quality.ErrInvalidRules) {
		return nil, permanent(err)
	}
	if err != nil || rules == nil {
		return nil, err
	}
	g := &qualityGate{rules: rules}
	if g.prev, err = quality.PreviousRows(ctx, q, runID); err != nil {
		return nil, err
	}
	if g.released, err = quality.Released(ctx, q, runID); err != nil {
		return nil, err
	}
	return g, nil
}

// needsRows reports whether the part's rows must pass through the format
// Decoder and a Checker, rather than COPY's own CSV output.
func (g *qualityGate) needsRows() bool {
	return g != nil && g.rules.NeedsColumns()
}

// wrap puts a Checker around the part's writer.
func (g *qualityGate) wrap(w format.Writer, cols []format.Column) (format.Writer, error) {
	chk, err := quality.NewChecker(w, cols, g.rules)
	if err != nil {
		return nil, permanent(err)
	}
	g.checker = chk
	return chk, nil
}

// countRows checks a part whose rows did not pass through a Checker by the
// row count of its COPY.
func (g *qualityGate) countRows(rows int64) error {
	chk, err := quality.CheckRows(g.rules, rows)
	if err != nil {
		return permanent(err)
	}
	g.checker = chk
	return nil
}

// decide evaluates the rules once the part's last row is written. It
// returns a *quality.CheckError when the file must not be delivered: marked
// permanent when the run fails, as the same rows break the same rules
// again, and unmarked when the run is held.
func (g *qualityGate) decide(runID int64) error {
	g.result = g.checker.Evaluate(g.prev)
	outcome := g.result.Decide(g.released)
	if outcome.Delivers() {
		return nil
	}
	err := &quality.CheckError{RunID: runID, Result: g.result}
	if outcome == quality.OutcomeHeld {
		return err
	}
	return permanent(err)
}

// recordCheckFailure stores the quality result of an attempt whose rows
// broke the rules. A held run is put on hold; the caller records a failed
// one with run_fail. It returns an error only when a held run could not be
// put on hold, and the caller then records the attempt as failed.
func (r *Runner) recordCheckFailure(ctx context.Context, conn *pgxpool.Conn, check *quality.CheckError, logger *slog.Logger) error {
	ctx = context.WithoutCancel(ctx)
	var db quality.TxBeginner = conn
	if conn.Conn().IsClosed() {
		db = r.Pool
	}
	if check.Held() {
		if err := quality.Hold(ctx, db, check.RunID, check.Result); err != nil {
			return fmt.Errorf("hold run %d after its quality checks: %w", check.RunID, err)
		}
		return nil
	}
	if err := quality.Record(ctx, r.recorder(conn), check.RunID, check.Result); err != nil {
		logger.Error("record quality result", "error", err)
	}
	return nil
}

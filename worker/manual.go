package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/store"
)

// CreateManualRunTx creates an on-demand run of feed name in tx, with the
// current time as its slot, and returns its id and the feed's attempt limit.
func CreateManualRunTx(ctx context.Context, tx pgx.Tx, name string, now time.Time) (int64, int, error) {
	q := store.New(tx)
	feed, err := q.FeedByName(ctx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, fmt.Errorf("feed %q not found; axtract feed list shows the feeds", name)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("load feed %s: %w", name, err)
	}
	runID, err := q.RunCreate(ctx, store.RunCreateParams{FeedID: feed.FeedID, Slot: now.UTC().Truncate(time.Microsecond), Trigger: "manual"})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, fmt.Errorf("feed %s already has a run for %s; try again", name, now.UTC().Format(time.RFC3339Nano))
	}
	if err != nil {
		return 0, 0, fmt.Errorf("create run of feed %s: %w", name, err)
	}
	return runID, int(feed.MaxAttempts), nil
}

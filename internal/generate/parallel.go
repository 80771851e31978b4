package generate

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// runWorkers copies the member ranges concurrently, one transaction per
// range, and commits them only if every range was copied. The first error
// cancels the other workers. It reports whether any range was committed.
func (g *generator) runWorkers(ctx context.Context, pool *pgxpool.Pool, runs [][2]int, counts *tableCounts) (bool, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	type outcome struct {
		tx     pgx.Tx
		counts tableCounts
		err    error
	}
	outcomes := make([]outcome, len(runs))
	var wg sync.WaitGroup
	for i, run := range runs {
		wg.Go(func() {
			out := &outcomes[i]
			out.tx, out.err = pool.Begin(ctx)
			if out.err == nil {
				out.err = g.newWorker(run[0]).run(ctx, out.tx, run[0], run[1], &out.counts)
			}
			if out.err != nil {
				out.err = fmt.Errorf("generate members %d to %d: %w", run[0]*chunkMembers, min(g.cfg.Members, run[1]*chunkMembers)-1, out.err)
				cancel(out.err)
			}
		})
	}
	wg.Wait()

	// Report the error that stopped the others rather than their
	// cancellations.
	if cause := context.Cause(ctx); cause != nil {
		for _, out := range outcomes {
			if out.tx != nil {
				out.tx.Rollback(context.Background()) //nolint:errcheck // the connection is released either way
			}
		}
		return false, cause
	}

	var committed int
	var commitErr error
	for i, out := range outcomes {
		if err := out.tx.Commit(ctx); err != nil {
			commitErr = errors.Join(commitErr, fmt.Errorf("commit range %d: %w", i, err))
			continue
		}
		committed++
		for _, t := range out.counts.tables {
			counts.add(t.Table, t.Rows)
		}
	}
	if commitErr != nil && committed > 0 {
		return true, fmt.Errorf("generate: %w; %d of %d member ranges were committed, so recreate the database before generating again", commitErr, committed, len(runs))
	}
	return committed > 0, commitErr
}

// deleteReference removes the payers, organizations and providers that
// Generate committed before a worker failed.
func (g *generator) deleteReference(pool *pgxpool.Pool) error {
	ctx := context.Background()
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		providers := make([]pgtype.UUID, len(g.net.providers))
		for i, p := range g.net.providers {
			providers[i] = p.id
		}
		orgs := make([]pgtype.UUID, len(g.net.orgs))
		for i, o := range g.net.orgs {
			orgs[i] = o.id
		}
		for _, del := range []struct {
			table, key string
			ids        []pgtype.UUID
		}{
			{"provider", "provider_id", providers},
			{"organization", "organization_id", orgs},
			{"payer", "payer_id", g.net.payerIDs},
		} {
			if _, err := tx.Exec(ctx, fmt.Sprintf("DELETE FROM mart.%s WHERE %s = ANY($1)", del.table, del.key), del.ids); err != nil {
				return fmt.Errorf("delete generated rows of mart.%s: %w", del.table, err)
			}
		}
		return nil
	})
}

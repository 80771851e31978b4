package synthea

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Result counts the rows of one import per mart table.
type Result struct {
	// Tables lists the mart tables in the order they were merged.
	Tables []TableResult
}

// TableResult counts the rows of one mart table. Read equals Inserted plus
// Updated plus Unchanged.
type TableResult struct {
	Table string // mart table, such as claim_line
	File  string // source file, such as claims_transactions.csv

	// Read is the number of source rows: the file's records, or for
	// claim_line the CHARGE transactions.
	Read int64

	Inserted  int64 // rows that were new
	Updated   int64 // stored rows that differed from the export and were rewritten
	Unchanged int64 // stored rows that equal the export and were left alone
}

// Table returns the counts of one mart table, and false if the import did
// not reach it.
func (r *Result) Table(name string) (TableResult, bool) {
	for _, t := range r.Tables {
		if t.Table == name {
			return t, true
		}
	}
	return TableResult{}, false
}

// Import loads the Synthea CSV export in dir into the mart in one
// transaction, as ImportTx describes, and commits it. On error nothing is
// changed.
func Import(ctx context.Context, pool *pgxpool.Pool, dir string, logger *slog.Logger) (*Result, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin import: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	result, err := ImportTx(ctx, tx, dir, logger)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit import: %w", err)
	}
	return result, nil
}

// ImportTx loads the Synthea CSV export in dir into the mart within tx, so
// the caller can commit other work with it. Every file of the export streams
// through a temporary staging table and is then upserted, so importing the
// same export again rewrites no row. The import never deletes a row.
//
// An invalid export fails with an *InputError that names the file, line and
// column. On any error the transaction is unusable and must be rolled back.
// A nil logger discards the log.
func ImportTx(ctx context.Context, tx pgx.Tx, dir string, logger *slog.Logger) (*Result, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if info, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("read Synthea export folder %s: %w", dir, err)
	} else if !info.IsDir() {
		return nil, fmt.Errorf("export %s is not a folder; give the folder that holds patients.csv and the other CSV files", dir)
	}

	read := make(map[*fileSpec]int64, len(exportFiles))
	for _, spec := range exportFiles {
		rows, err := stageFile(ctx, tx, dir, spec)
		if err != nil {
			return nil, err
		}
		read[spec] = rows
		logger.DebugContext(ctx, "staged synthea file", "file", spec.file, "rows", rows)
	}

	result := &Result{Tables: make([]TableResult, 0, len(targets))}
	var inserted, updated int64
	for i := range targets {
		t := &targets[i]
		counts, err := merge(ctx, tx, t, read[t.file])
		if err != nil {
			return nil, err
		}
		result.Tables = append(result.Tables, counts)
		inserted += counts.Inserted
		updated += counts.Updated
		logger.DebugContext(ctx, "merged synthea table", "table", t.table,
			"read", counts.Read, "inserted", counts.Inserted, "updated", counts.Updated)
	}

	for _, spec := range exportFiles {
		if _, err := tx.Exec(ctx, "DROP TABLE "+spec.stage); err != nil {
			return nil, fmt.Errorf("drop staging table for %s: %w", spec.file, err)
		}
	}

	logger.InfoContext(ctx, "imported synthea export", "dir", dir, "inserted", inserted, "updated", updated)
	return result, nil
}

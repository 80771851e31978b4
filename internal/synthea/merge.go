package synthea

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// stageFile streams one CSV file into its temporary staging table and
// returns the number of records read.
func stageFile(ctx context.Context, tx pgx.Tx, dir string, spec *fileSpec) (int64, error) {
	if _, err := tx.Exec(ctx, spec.createStageSQL()); err != nil {
		return 0, fmt.Errorf("create staging table for %s: %w", spec.file, err)
	}

	source, err := openRowSource(dir, spec)
	if err != nil {
		return 0, err
	}
	defer source.Close()

	_, err = tx.CopyFrom(ctx, pgx.Identifier{spec.stage}, spec.stagedColumns(), source)
	// A row error aborts the COPY, and the server then reports its own
	// "COPY from stdin failed", so the source's error is the one to return.
	if source.Err() != nil {
		return 0, source.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("copy %s into staging: %w", spec.file, err)
	}

	if err := resolveDuplicateKeys(ctx, tx, spec); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, "ANALYZE "+spec.stage); err != nil {
		return 0, fmt.Errorf("analyze staging table for %s: %w", spec.file, err)
	}
	return source.rows, nil
}

// resolveDuplicateKeys re-keys or rejects rows that share a key, because one
// INSERT ... ON CONFLICT DO UPDATE cannot touch a row twice. Re-keyed rows get
// md5(key || '/' || n) as their key, where n is the row's rank among the rows
// sharing the key. Derived keys repeat only for identical records, and
// imaging rows rank by series and instance UID, so the order of the records
// changes no key unless two imaging rows share study, series and instance.
func resolveDuplicateKeys(ctx context.Context, tx pgx.Tx, spec *fileSpec) error {
	order := spec.rekeyOrder
	if spec.keyDerived {
		order = "line"
	}
	if order != "" {
		_, err := tx.Exec(ctx, fmt.Sprintf(`
			UPDATE %[1]s AS s
			SET %[2]s = md5(d.%[2]s::text || '/' || d.n)::uuid
			FROM (
			    SELECT line, %[2]s, row_number() OVER (PARTITION BY %[2]s ORDER BY %[3]s) AS n
			    FROM %[1]s
			    WHERE %[2]s IN (SELECT %[2]s FROM %[1]s GROUP BY %[2]s HAVING count(*) > 1)
			) AS d
			WHERE s.line = d.line AND d.n > 1`, spec.stage, spec.key, order))
		if err != nil {
			return fmt.Errorf("re-key repeated rows of %s: %w", spec.file, err)
		}
		return nil
	}

	var first, second int
	err := tx.QueryRow(ctx, fmt.Sprintf(`
		SELECT lines[1], lines[2]
		FROM (SELECT array_agg(line ORDER BY line) AS lines FROM %s GROUP BY %s HAVING count(*) > 1) AS d
		ORDER BY lines[2]
		LIMIT 1`, spec.stage, spec.key)).Scan(&first, &second)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look for repeated ids in %s: %w", spec.file, err)
	}
	return &InputError{
		File:    spec.file,
		Line:    second,
		Column:  spec.keyHeader(),
		Problem: fmt.Sprintf("duplicate id, already used on line %d", first),
	}
}

// keyHeader returns the CSV header of the key column.
func (f *fileSpec) keyHeader() string {
	for _, col := range f.columns {
		if col.name == f.key {
			return col.header
		}
	}
	return ""
}

// checkReferences fails with the first line whose reference names no row of
// the mart, which already holds this export's rows of the referenced table.
func checkReferences(ctx context.Context, tx pgx.Tx, t *target) error {
	for _, ref := range t.refs {
		var line int
		err := tx.QueryRow(ctx, fmt.Sprintf(`
			SELECT s.line
			FROM %[1]s AS s
			WHERE s.%[2]s IS NOT NULL
			    AND NOT EXISTS (SELECT FROM mart.%[3]s AS m WHERE m.%[4]s = s.%[2]s)
			ORDER BY s.line
			LIMIT 1`, t.file.stage, ref.column, ref.table, ref.key)).Scan(&line)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check %s references in %s: %w", ref.header, t.file.file, err)
		}
		return &InputError{
			File:    t.file.file,
			Line:    line,
			Column:  ref.header,
			Problem: fmt.Sprintf("refers to a %s that is neither in %s nor in the mart", strings.ReplaceAll(ref.table, "_", " "), ref.source),
		}
	}
	return nil
}

// mergeSQL returns the statement that upserts the target table from staging
// and returns how many rows it inserted and how many it updated. A stored row
// that equals the staged one is not rewritten, so its xmin and loaded_at stay.
//
// Rows this statement inserts have xmax 0. A row it updates carries the
// transaction's id in xmax, because ON CONFLICT locks the stored row before
// updating it and the lock passes to the new row version.
func (t *target) mergeSQL() string {
	exprs := t.exprs
	if exprs == nil {
		exprs = t.columns
	}
	from := t.from
	if from == "" {
		from = t.file.stage
	}

	var updates, stored, excluded []string
	for _, col := range t.columns {
		if isKey(t.key, col) {
			continue
		}
		updates = append(updates, fmt.Sprintf("%s = EXCLUDED.%s", col, col))
		stored = append(stored, "stored."+col)
		excluded = append(excluded, "EXCLUDED."+col)
	}
	updates = append(updates, "loaded_at = now()")

	return fmt.Sprintf(`WITH merged AS (
    INSERT INTO mart.%s AS stored (%s)
    SELECT
        %s
    FROM %s
    ON CONFLICT (%s) DO UPDATE SET
        %s
    WHERE (%s) IS DISTINCT FROM (%s)
    RETURNING xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged`,
		t.table, strings.Join(t.columns, ", "),
		strings.Join(exprs, ",\n        "),
		from,
		strings.Join(t.key, ", "),
		strings.Join(updates, ",\n        "),
		strings.Join(stored, ", "), strings.Join(excluded, ", "),
	)
}

func isKey(key []string, column string) bool {
	for _, k := range key {
		if k == column {
			return true
		}
	}
	return false
}

// merge checks the target's references, upserts it and returns its counts.
func merge(ctx context.Context, tx pgx.Tx, t *target, read int64) (TableResult, error) {
	result := TableResult{Table: t.table, File: t.file.file, Read: read}
	if err := checkReferences(ctx, tx, t); err != nil {
		return result, err
	}
	if t.readSQL != "" {
		if err := tx.QueryRow(ctx, t.readSQL).Scan(&result.Read); err != nil {
			return result, fmt.Errorf("count source rows of mart.%s: %w", t.table, err)
		}
	}
	if err := tx.QueryRow(ctx, t.mergeSQL()).Scan(&result.Inserted, &result.Updated); err != nil {
		return result, fmt.Errorf("merge %s into mart.%s: %w", t.file.file, t.table, err)
	}
	result.Unchanged = result.Read - result.Inserted - result.Updated
	return result, nil
}

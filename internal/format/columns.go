package format

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Querier runs queries; pgx.Tx, *pgx.Conn and *pgxpool.Pool implement it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// columnsQuery lists the columns of a relation in order. Domains are
// resolved to their base type, through domains over domains, and the
// modifier a domain declares (as in numeric(12,2)) is kept.
const columnsQuery = `
WITH RECURSIVE resolved (attnum, type_oid, type_mod, depth) AS (
    SELECT a.attnum,
           a.atttypid,
           a.atttypmod,
           0
    FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = $1::text::regclass
      AND a.attnum > 0
      AND NOT a.attisdropped
    UNION ALL
    SELECT r.attnum,
           t.typbasetype,
           CASE WHEN r.type_mod >= 0 THEN r.type_mod ELSE t.typtypmod END,
           r.depth + 1
    FROM resolved AS r
    JOIN pg_catalog.pg_type AS t ON t.oid = r.type_oid
    WHERE t.typtype = 'd'
)
SELECT a.attname,
       pg_catalog.format_type(r.type_oid, r.type_mod),
       r.type_oid
FROM resolved AS r
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = $1::text::regclass AND a.attnum = r.attnum
JOIN pg_catalog.pg_type AS t ON t.oid = r.type_oid
WHERE t.typtype <> 'd'
ORDER BY r.attnum`

// ColumnsOf returns the columns of relation, a table or view name as
// ::regclass reads it (schema-qualified and quoted where needed, as
// pgx.Identifier.Sanitize prints it), with domains resolved to their base
// types.
//
// NOTE: a domain inside an array (a column of type mydomain[]) keeps the
// array type; only the column's own type is resolved.
func ColumnsOf(ctx context.Context, q Querier, relation string) ([]Column, error) {
	rows, err := q.Query(ctx, columnsQuery, relation)
	if err != nil {
		return nil, fmt.Errorf("list columns of %s: %w", relation, err)
	}
	cols, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Column, error) {
		var c Column
		err := row.Scan(&c.Name, &c.Type, &c.OID)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list columns of %s: %w", relation, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("list columns of %s: the relation has no columns", relation)
	}
	return cols, nil
}

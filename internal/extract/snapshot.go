package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/store"
)

// Window is the watermark window of an incremental run: the rows whose
// Column value is after From (from the first row when From is nil) and at
// most To. To equals From, or both are nil, when there was nothing new.
// Values are text in the column type's output format, read in a session
// with TimeZone UTC and DateStyle ISO.
type Window struct {
	Column string  `json:"column"`
	From   *string `json:"from"`
	To     *string `json:"to"`
}

// Empty reports whether the window holds no rows.
func (w *Window) Empty() bool {
	return w.To == nil || (w.From != nil && *w.From == *w.To)
}

func storeWindow(ctx context.Context, q *store.Queries, runID int64, w *Window) error {
	body, err := json.Marshal(w)
	if err != nil {
		return err
	}
	_, err = q.RunSetWindow(context.WithoutCancel(ctx), store.RunSetWindowParams{RunID: runID, WatermarkWindow: body})
	return err
}

// snapshot is an open extract transaction, as the partner, with what
// selects the run's rows in it.
type snapshot struct {
	tx      pgx.Tx
	view    string
	viewSQL string
	// where is the WHERE clause of the run's window, "" for a full refresh.
	// Every view the run reads gets the same clause.
	where string
	// window is the run's watermark window: the stored one, or the one read
	// in this transaction at the first attempt.
	window *Window
	// startedAt is when the transaction, and so its snapshot, began.
	startedAt time.Time
	// memberKeys are the member key columns of the views the run reads,
	// for those that have one (memberkeys.go).
	memberKeys map[string]memberKey
}

// copySQL returns the COPY statement that reads the run's rows of view, a
// quoted, schema-qualified name: in CSV with a header row for the csv
// format, in text format for the format writers.
func (s *snapshot) copySQL(view string, csv bool) string {
	return s.sortedCopySQL(view, csv, "")
}

// sortedCopySQL is copySQL with the rows sorted by column orderBy, or
// unsorted when it is empty.
func (s *snapshot) sortedCopySQL(view string, csv bool, orderBy string) string {
	order := ""
	if orderBy != "" {
		order = " ORDER BY " + pgx.Identifier{orderBy}.Sanitize()
	}
	if csv {
		return fmt.Sprintf("COPY (SELECT * FROM %s%s%s) TO STDOUT WITH (FORMAT csv, HEADER true)", view, s.where, order)
	}
	return fmt.Sprintf("COPY (SELECT * FROM %s%s%s) TO STDOUT", view, s.where, order)
}

// openSnapshot begins the REPEATABLE READ transaction of a run on conn,
// becomes the partner's role, and works out what to COPY. The caller ends
// the transaction.
//
// The transaction is READ WRITE because the record of the members the run
// disclosed is written in it, from the same snapshot as the files. The
// COPY still cannot write: it runs as the partner's role, which has no
// write, CREATE or TEMP privilege anywhere.
func openSnapshot(ctx context.Context, conn *pgxpool.Conn, feed store.FeedByIDRow, run store.AxtractRun, views []string) (*snapshot, error) {
	// Rows of transactions still open now may commit later with watermark
	// values below the newest in this snapshot, so the window stops short of
	// them.
	// The bound is read before the snapshot exists, so it also covers
	// transactions that commit between the two.
	var openSince *time.Time
	if feed.WatermarkColumn != nil && run.WatermarkWindow == nil {
		err := conn.QueryRow(ctx, `SELECT min(xact_start) FROM pg_stat_activity
			WHERE datname = current_database() AND backend_type = 'client backend'
			  AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL`).Scan(&openSince)
		if err != nil {
			return nil, fmt.Errorf("read open transactions: %w", err)
		}
	}

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadWrite})
	if err != nil {
		return nil, fmt.Errorf("begin extract transaction: %w", err)
	}
	snap, err := prepareSnapshot(ctx, tx, feed, run, openSince, views)
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return snap, nil
}

func prepareSnapshot(ctx context.Context, tx pgx.Tx, feed store.FeedByIDRow, run store.AxtractRun, openSince *time.Time,
	views []string) (*snapshot, error) {
	var roleName string
	if err := tx.QueryRow(ctx, "SELECT axtract.partner_role($1)", feed.PartnerSlug).Scan(&roleName); err != nil {
		return nil, fmt.Errorf("look up role of partner %s: %w", feed.PartnerSlug, err)
	}
	role := pgx.Identifier{roleName}
	snap := &snapshot{tx: tx, view: pgx.Identifier{"partner_" + feed.PartnerSlug, feed.ViewName}.Sanitize()}
	// In the snapshot, so the key columns are those of the views the COPY
	// reads.
	keys, err := readMemberKeys(ctx, tx, feed.PartnerSlug, views)
	if err != nil {
		return nil, err
	}
	snap.memberKeys = keys

	// Same settings for every worker, so values print the same whatever the
	// server's defaults are. The planner hashes the consent subplans of the
	// row-level security policies only when they fit in work_mem, and
	// compiling the expressions of one long COPY with JIT costs more than it
	// saves. The application name "axtract run <id>" lets the dashboard
	// (graph/dashboard.go) find the run's COPY in pg_stat_progress_copy.
	// Then become the partner: from here on the session reads exactly what
	// a partner login would.
	for _, stmt := range []string{
		fmt.Sprintf("SET LOCAL application_name = 'axtract run %d'", run.RunID),
		"SET LOCAL TimeZone = 'UTC'",
		"SET LOCAL DateStyle = 'ISO, YMD'",
		"SET LOCAL IntervalStyle = 'iso_8601'",
		"SET LOCAL extra_float_digits = 1",
		"SET LOCAL work_mem = '256MB'",
		"SET LOCAL jit = off",
		"SET LOCAL ROLE " + role.Sanitize(),
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("prepare extract session (%s): %w", stmt, err)
		}
	}
	err = tx.QueryRow(ctx, "SELECT pg_get_viewdef($1::regclass, true), now()", snap.view).Scan(&snap.viewSQL, &snap.startedAt)
	if err != nil {
		return nil, classifySQL(fmt.Errorf("read definition of view %s: %w", snap.view, err))
	}

	switch {
	case run.WatermarkWindow != nil:
		snap.window = &Window{}
		if err := json.Unmarshal(run.WatermarkWindow, snap.window); err != nil {
			return nil, permanent(fmt.Errorf("read watermark window of run %d: %w", run.RunID, err))
		}
	case feed.WatermarkColumn != nil:
		snap.window, err = readWindow(ctx, tx, snap.view, *feed.WatermarkColumn, feed.Watermark, openSince)
		if err != nil {
			return nil, err
		}
	}
	if snap.window != nil {
		snap.where, err = windowPredicate(ctx, tx, snap.window)
		if err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// readWindow reads the window of a run's first attempt: from the feed's
// watermark up to the newest value of column in the snapshot, short of
// openSince for a timestamptz column.
func readWindow(ctx context.Context, tx pgx.Tx, view, column string, watermark *string, openSince *time.Time) (*Window, error) {
	var isTimestamptz bool
	err := tx.QueryRow(ctx, `SELECT atttypid = 'timestamptz'::regtype FROM pg_attribute
		WHERE attrelid = $1::regclass AND attname = $2 AND attnum > 0 AND NOT attisdropped`, view, column).Scan(&isTimestamptz)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, permanent(fmt.Errorf("watermark column %s is not a column of view %s; define the feed again with one the view selects", column, view))
	}
	if err != nil {
		return nil, fmt.Errorf("look up watermark column %s of view %s: %w", column, view, err)
	}

	var conditions []string
	if watermark != nil {
		c, err := literalCondition(ctx, tx, column, ">", *watermark)
		if err != nil {
			return nil, err
		}
		conditions = append(conditions, c)
	}
	if isTimestamptz && openSince != nil {
		c, err := literalCondition(ctx, tx, column, "<", openSince.UTC().Format(time.RFC3339Nano))
		if err != nil {
			return nil, err
		}
		conditions = append(conditions, c)
	}
	query := fmt.Sprintf("SELECT max(%s)::text FROM %s", pgx.Identifier{column}.Sanitize(), view)
	if len(conditions) > 0 {
		query += " WHERE " + strings.Join(conditions, " AND ")
	}
	w := &Window{Column: column, From: watermark}
	if err := tx.QueryRow(ctx, query).Scan(&w.To); err != nil {
		return nil, classifySQL(fmt.Errorf("read watermark of view %s: %w", view, err))
	}
	if w.To == nil {
		w.To = watermark
	}
	return w, nil
}

// windowPredicate returns the WHERE clause that selects the window's rows.
func windowPredicate(ctx context.Context, tx pgx.Tx, w *Window) (string, error) {
	if w.Empty() {
		return " WHERE false", nil
	}
	upper, err := literalCondition(ctx, tx, w.Column, "<=", *w.To)
	if err != nil {
		return "", err
	}
	if w.From == nil {
		return " WHERE " + upper, nil
	}
	lower, err := literalCondition(ctx, tx, w.Column, ">", *w.From)
	if err != nil {
		return "", err
	}
	return " WHERE " + lower + " AND " + upper, nil
}

// literalCondition returns "column op 'value'" with the identifier and the
// literal quoted by PostgreSQL's format(), because COPY takes no bind
// parameters. The literal has no type, so it takes the column's type. op is
// one of this file's constant comparison operators.
func literalCondition(ctx context.Context, tx pgx.Tx, column, op, value string) (string, error) {
	var c string
	if err := tx.QueryRow(ctx, "SELECT format('%I "+op+" %L', $1::text, $2::text)", column, value).Scan(&c); err != nil {
		return "", fmt.Errorf("quote watermark condition on %s: %w", column, err)
	}
	return c, nil
}

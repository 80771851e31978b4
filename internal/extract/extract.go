// Package extract runs one attempt of a feed run: it reads the partner's
// view as the partner's role inside one REPEATABLE READ transaction, streams
// COPY output through compression and OpenPGP encryption into a destination
// under a temporary name, renames it once its size is verified, and records
// the run.
package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/pipeline"
	"github.com/axtract/axtract/internal/store"
)

// ErrAlreadyDelivered is returned by Run for a run that has succeeded
// before; callers treat it as success and deliver nothing.
var ErrAlreadyDelivered = errors.New("run already delivered")

// Runner executes feed runs. It is safe for concurrent use.
type Runner struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// OpenDestination opens a destination from its kind and config. Default:
	// OpenDestination in this package.
	OpenDestination func(ctx context.Context, kind string, config []byte) (deliver.Destination, error)
	// Progress, when set, is called from time to time during the extract
	// with the rows and bytes read so far.
	Progress func(p Progress)
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Progress is a snapshot of a running extract.
type Progress struct {
	RunID       int64
	InputBytes  int64
	OutputBytes int64
	Elapsed     time.Duration
}

// Result describes a delivered run. FileName is empty when the run had no
// new rows and its feed delivers nothing in that case.
type Result struct {
	RunID       int64
	Feed        string
	Partner     string
	FileName    string
	Destination string
	Rows        int64
	Bytes       int64
	SHA256      string
	ViewVersion int32
	Duration    time.Duration
	Warnings    []string
	// Window is the watermark window of an incremental run, nil for a
	// full-refresh feed.
	Window *Window
}

// permanentError marks failures that another attempt cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err is a failure that retrying cannot fix: an
// invalid or expired key, a missing view, a rejected host key.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p) || deliver.IsPermanent(err)
}

func permanent(err error) error { return &permanentError{err: err} }

// WaitError is returned by Run when a run may not start yet: its feed is
// paused, its partner or destination is at its max_concurrent_runs, or an
// earlier run of the same incremental feed has not finished. Run records
// nothing and counts no attempt; the caller tries again later.
type WaitError struct {
	RunID  int64
	Reason string
	// Paused is true when the wait lasts until someone resumes the feed.
	Paused bool
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("run %d must wait: %s", e.RunID, e.Reason)
}

// Run executes one attempt of run runID. final says whether no attempt
// follows a failure of this one, which decides the status a failure records.
//
// The run holds one connection throughout. Its concurrency slots are
// session-level advisory locks on that connection, so they are released
// when the run ends, or when the process dies and PostgreSQL closes the
// session.
func (r *Runner) Run(ctx context.Context, runID int64, final bool) (*Result, error) {
	logger := r.logger().With("run_id", runID)

	conn, err := r.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire connection for run %d: %w", runID, err)
	}
	defer conn.Release()
	release, err := lease(ctx, conn, runID)
	if err != nil {
		return nil, err
	}
	defer release()

	q := store.New(conn)
	attempt, err := q.RunStart(ctx, runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrAlreadyDelivered
	}
	if err != nil {
		return nil, fmt.Errorf("start run %d: %w", runID, err)
	}

	res, err := r.attempt(ctx, q, conn, runID, logger)
	if err != nil {
		final = final || IsPermanent(err)
		db := r.recorder(conn)
		_, failErr := db.Exec(context.WithoutCancel(ctx), "SELECT axtract.run_fail($1, $2, $3)", runID, err.Error(), final)
		if failErr != nil {
			logger.Error("record failed run", "error", failErr)
		}
		detail, _ := json.Marshal(map[string]any{"attempt": attempt, "error": err.Error(), "final": final})
		_ = store.New(db).AuditAppend(context.WithoutCancel(ctx), store.AuditAppendParams{Action: "run.attempt_failed", RunID: &runID, Detail: detail})
		return nil, err
	}
	if res.FileName == "" {
		logger.Info("run had no new rows; delivered nothing", "feed", res.Feed, "partner", res.Partner, "attempt", attempt)
		return res, nil
	}
	logger.Info("run delivered", "feed", res.Feed, "partner", res.Partner, "file", res.FileName,
		"rows", res.Rows, "bytes", res.Bytes, "duration", res.Duration, "attempt", attempt)
	return res, nil
}

// recorder returns where to record the outcome of a run: its own
// connection, or the pool when a failed COPY has closed that connection.
func (r *Runner) recorder(conn *pgxpool.Conn) store.DBTX {
	if conn.Conn().IsClosed() {
		return r.Pool
	}
	return conn
}

// lease takes the run's concurrency slots on conn and returns the function
// that gives them back, or a *WaitError.
func lease(ctx context.Context, conn *pgxpool.Conn, runID int64) (func(), error) {
	var keys []int64
	var reason *string
	var paused bool
	err := conn.QueryRow(ctx, "SELECT keys, wait_reason, paused FROM axtract.run_lease($1)", runID).Scan(&keys, &reason, &paused)
	if err != nil {
		return nil, fmt.Errorf("check the concurrency limits of run %d: %w", runID, err)
	}
	if reason != nil {
		return nil, &WaitError{RunID: runID, Reason: *reason, Paused: paused}
	}
	return func() {
		if len(keys) == 0 {
			return
		}
		_, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(k) FROM unnest($1::bigint[]) AS k", keys)
		if err != nil {
			// Closing the session releases its locks; the pool then drops
			// the connection.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}, nil
}

func (r *Runner) attempt(ctx context.Context, q *store.Queries, conn *pgxpool.Conn, runID int64, logger *slog.Logger) (*Result, error) {
	start := r.now()
	run, err := q.RunGet(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("load run %d: %w", runID, err)
	}
	feed, err := q.FeedByID(ctx, run.FeedID)
	if err != nil {
		return nil, fmt.Errorf("load feed %d of run %d: %w", run.FeedID, runID, err)
	}
	res := &Result{RunID: runID, Feed: feed.Name, Partner: feed.PartnerSlug, Destination: feed.DestinationName}

	cfg := pipeline.Config{Compression: feed.Compression}
	if feed.Encrypt {
		recipient, warning, err := r.recipient(ctx, q, feed.PartnerID, feed.PartnerSlug)
		if err != nil {
			return nil, err
		}
		if warning != "" {
			logger.Warn("partner key expires soon", "partner", feed.PartnerSlug, "warning", warning)
			res.Warnings = append(res.Warnings, warning)
		}
		cfg.Recipient = recipient
	}
	fileName := FileName(feed.FileName, feed.Name, feed.PartnerSlug, run.Slot, runID) + pipeline.Extension(cfg)

	// New members need a pseudonym before the snapshot that reads them.
	if _, err := conn.Exec(ctx, "SELECT axtract.pseudonyms_refresh($1)", feed.PartnerID); err != nil {
		return nil, fmt.Errorf("refresh pseudonyms of %s: %w", feed.PartnerSlug, err)
	}

	snap, err := openSnapshot(ctx, conn, feed, run)
	if err != nil {
		return nil, err
	}
	out, err := r.deliver(ctx, snap, feed, fileName, cfg, runID, start)
	// The window is kept whether or not the delivery worked, so a retry
	// reads the same window.
	if snap.window != nil && run.WatermarkWindow == nil {
		if err := storeWindow(ctx, store.New(r.recorder(conn)), runID, snap.window); err != nil {
			logger.Error("record watermark window", "error", err)
		}
	}
	if err != nil {
		return nil, err
	}
	res.Window = snap.window
	res.FileName, res.Rows, res.Bytes, res.SHA256, res.ViewVersion = out.fileName, out.rows, out.bytes, out.sha256, feed.ViewVersion
	res.Duration = r.now().Sub(start)
	if err := r.record(ctx, q, feed, res, snap.viewSQL); err != nil {
		return nil, err
	}
	return res, nil
}

// record marks the run succeeded, moves the feed's watermark and appends the
// audit event.
func (r *Runner) record(ctx context.Context, q *store.Queries, feed store.FeedByIDRow, res *Result, viewSQL string) error {
	ctx = context.WithoutCancel(ctx)
	params := store.RunSucceedParams{
		RunID:       res.RunID,
		ViewVersion: &feed.ViewVersion,
		ViewSql:     &viewSQL,
		Rows:        &res.Rows,
		Bytes:       &res.Bytes,
	}
	action := "run.empty"
	if res.FileName != "" {
		params.FileName, params.Sha256 = &res.FileName, &res.SHA256
		action = "run.delivered"
	}
	if err := q.RunSucceed(ctx, params); err != nil {
		return fmt.Errorf("record delivered run %d: %w", res.RunID, err)
	}
	fields := map[string]any{
		"file": params.FileName, "destination": feed.DestinationName, "rows": res.Rows, "bytes": res.Bytes,
		"sha256": params.Sha256, "view": feed.ViewName, "view_version": feed.ViewVersion,
	}
	if res.Window != nil {
		fields["window"] = res.Window
	}
	detail, _ := json.Marshal(fields)
	err := q.AuditAppend(ctx, store.AuditAppendParams{
		Action: action, PartnerID: &feed.PartnerID, FeedID: &feed.FeedID, RunID: &res.RunID, Detail: detail,
	})
	if err != nil {
		return fmt.Errorf("audit delivered run %d: %w", res.RunID, err)
	}
	return nil
}

type delivery struct {
	fileName    string
	rows, bytes int64
	sha256      string
}

// deliver streams the snapshot's COPY into the destination as name and ends
// the snapshot's transaction. An incremental run with nothing new and the
// feed's empty_window skip opens no destination and returns no file name.
func (r *Runner) deliver(ctx context.Context, snap *snapshot, feed store.FeedByIDRow, name string,
	cfg pipeline.Config, runID int64, start time.Time) (delivery, error) {
	defer snap.tx.Rollback(context.WithoutCancel(ctx))

	if snap.window != nil && snap.window.Empty() && feed.EmptyWindow == "skip" {
		if err := snap.tx.Commit(ctx); err != nil {
			return delivery{}, fmt.Errorf("end extract transaction: %w", err)
		}
		return delivery{}, nil
	}

	dest, err := r.openDestination(ctx, feed.DestinationKind, feed.DestinationConfig)
	if err != nil {
		return delivery{}, fmt.Errorf("open destination %s of feed %s: %w", feed.DestinationName, feed.Name, err)
	}
	defer dest.Close()

	upload, err := dest.Create(ctx, name)
	if err != nil {
		return delivery{}, fmt.Errorf("create %s: %w", name, err)
	}
	pipe, err := pipeline.New(upload, cfg)
	if err != nil {
		_ = upload.Abort()
		return delivery{}, permanent(fmt.Errorf("build pipeline: %w", err))
	}

	stop := r.reportProgress(runID, pipe, start)
	tag, err := snap.tx.Conn().PgConn().CopyTo(ctx, pipe, snap.copySQL)
	stop()
	if err != nil {
		pipe.Abort(err)
		_ = upload.Abort()
		return delivery{}, classifySQL(fmt.Errorf("copy view %s: %w", snap.view, err))
	}
	if err := pipe.Close(); err != nil {
		_ = upload.Abort()
		return delivery{}, fmt.Errorf("finish %s: %w", name, err)
	}
	if err := upload.Commit(ctx, pipe.OutputBytes()); err != nil {
		_ = upload.Abort()
		return delivery{}, fmt.Errorf("commit %s: %w", name, err)
	}
	if err := snap.tx.Commit(ctx); err != nil {
		return delivery{}, fmt.Errorf("end extract transaction: %w", err)
	}
	return delivery{fileName: name, rows: tag.RowsAffected(), bytes: pipe.OutputBytes(), sha256: pipe.SHA256()}, nil
}

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

// snapshot is an open extract transaction, as the partner, with the COPY
// statement that reads the run's rows in it.
type snapshot struct {
	tx      pgx.Tx
	view    string
	viewSQL string
	copySQL string
	// window is the run's watermark window: the stored one, or the one read
	// in this transaction at the first attempt.
	window *Window
}

// openSnapshot begins the REPEATABLE READ read-only transaction of a run on
// conn, becomes the partner's role, and works out what to COPY. The caller
// ends the transaction.
func openSnapshot(ctx context.Context, conn *pgxpool.Conn, feed store.FeedByIDRow, run store.AxtractRun) (*snapshot, error) {
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

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin extract transaction: %w", err)
	}
	snap, err := prepareSnapshot(ctx, tx, feed, run, openSince)
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return snap, nil
}

func prepareSnapshot(ctx context.Context, tx pgx.Tx, feed store.FeedByIDRow, run store.AxtractRun, openSince *time.Time) (*snapshot, error) {
	var roleName string
	if err := tx.QueryRow(ctx, "SELECT axtract.partner_role($1)", feed.PartnerSlug).Scan(&roleName); err != nil {
		return nil, fmt.Errorf("look up role of partner %s: %w", feed.PartnerSlug, err)
	}
	role := pgx.Identifier{roleName}
	snap := &snapshot{tx: tx, view: pgx.Identifier{"partner_" + feed.PartnerSlug, feed.ViewName}.Sanitize()}

	// Same settings for every worker, so values print the same whatever the
	// server's defaults are. Then become the partner: from here on the
	// session reads exactly what a partner login would.
	for _, stmt := range []string{
		"SET LOCAL TimeZone = 'UTC'",
		"SET LOCAL DateStyle = 'ISO, YMD'",
		"SET LOCAL IntervalStyle = 'iso_8601'",
		"SET LOCAL extra_float_digits = 1",
		"SET LOCAL ROLE " + role.Sanitize(),
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("prepare extract session (%s): %w", stmt, err)
		}
	}
	err := tx.QueryRow(ctx, "SELECT pg_get_viewdef($1::regclass, true)", snap.view).Scan(&snap.viewSQL)
	if err != nil {
		return nil, classifySQL(fmt.Errorf("read definition of view %s: %w", snap.view, err))
	}

	where := ""
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
		where, err = windowPredicate(ctx, tx, snap.window)
		if err != nil {
			return nil, err
		}
	}
	snap.copySQL = fmt.Sprintf("COPY (SELECT * FROM %s%s) TO STDOUT WITH (FORMAT csv, HEADER true)", snap.view, where)
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

func (r *Runner) reportProgress(runID int64, pipe *pipeline.Pipeline, start time.Time) func() {
	if r.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				r.Progress(Progress{RunID: runID, InputBytes: pipe.InputBytes(), OutputBytes: pipe.OutputBytes(), Elapsed: time.Since(start)})
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		r.Progress(Progress{RunID: runID, InputBytes: pipe.InputBytes(), OutputBytes: pipe.OutputBytes(), Elapsed: time.Since(start)})
	}
}

func (r *Runner) recipient(ctx context.Context, q *store.Queries, partnerID int64, slug string) (*pipeline.Recipient, string, error) {
	key, err := q.PartnerKeyNewest(ctx, partnerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", permanent(fmt.Errorf("partner %s has no OpenPGP key; add one with axtract partner key add %s FILE, or set the feed's encrypt option to false", slug, slug))
	}
	if err != nil {
		return nil, "", fmt.Errorf("load key of partner %s: %w", slug, err)
	}
	now := r.now()
	recipient, err := pipeline.ParseRecipient(key.Armored, now)
	if err != nil {
		return nil, "", permanent(fmt.Errorf("key %s of partner %s: %w", key.Fingerprint, slug, err))
	}
	warning := ""
	if soon, at := recipient.ExpiresSoon(now); soon {
		warning = fmt.Sprintf("key %s of partner %s expires on %s", key.Fingerprint, slug, at.Format(time.DateOnly))
	}
	return recipient, warning, nil
}

func (r *Runner) openDestination(ctx context.Context, kind string, config []byte) (deliver.Destination, error) {
	if r.OpenDestination != nil {
		return r.OpenDestination(ctx, kind, config)
	}
	return OpenDestination(ctx, kind, config)
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// FileName expands a feed's file name template: {feed}, {partner}, {run}
// and {slot}. A slot prints in UTC as 20060102T150405Z, with microseconds
// (20060102T150405.000123Z) when it has a fraction, as on-demand runs do, so
// two runs of one feed never share a name unless the template drops {slot}.
func FileName(template, feed, partner string, slot time.Time, runID int64) string {
	slotText := slot.UTC().Format("20060102T150405Z")
	if slot.Nanosecond() != 0 {
		slotText = slot.UTC().Format("20060102T150405.000000Z")
	}
	return strings.NewReplacer(
		"{feed}", feed,
		"{partner}", partner,
		"{run}", strconv.FormatInt(runID, 10),
		"{slot}", slotText,
	).Replace(template)
}

// classifySQL marks errors a retry cannot fix, such as a missing view or a
// privilege the partner role lacks.
func classifySQL(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "42", "22", "23":
			return permanent(err)
		}
	}
	return err
}

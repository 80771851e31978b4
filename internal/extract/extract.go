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

// Result describes a delivered run.
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

// Run executes one attempt of run runID. final says whether no attempt
// follows a failure of this one, which decides the status a failure records.
func (r *Runner) Run(ctx context.Context, runID int64, final bool) (*Result, error) {
	q := store.New(r.Pool)
	logger := r.logger().With("run_id", runID)

	attempt, err := q.RunStart(ctx, runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrAlreadyDelivered
	}
	if err != nil {
		return nil, fmt.Errorf("start run %d: %w", runID, err)
	}

	res, err := r.attempt(ctx, q, runID, logger)
	if err != nil {
		final = final || IsPermanent(err)
		failErr := q.RunFail(context.WithoutCancel(ctx), store.RunFailParams{RunID: runID, Final: final, Error: ptr(err.Error())})
		if failErr != nil {
			logger.Error("record failed run", "error", failErr)
		}
		detail, _ := json.Marshal(map[string]any{"attempt": attempt, "error": err.Error(), "final": final})
		_ = q.AuditAppend(context.WithoutCancel(ctx), store.AuditAppendParams{Action: "run.attempt_failed", RunID: &runID, Detail: detail})
		return nil, err
	}
	logger.Info("run delivered", "feed", res.Feed, "partner", res.Partner, "file", res.FileName,
		"rows", res.Rows, "bytes", res.Bytes, "duration", res.Duration, "attempt", attempt)
	return res, nil
}

func (r *Runner) attempt(ctx context.Context, q *store.Queries, runID int64, logger *slog.Logger) (*Result, error) {
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
	res.FileName = FileName(feed.FileName, feed.Name, feed.PartnerSlug, run.Slot, runID) + pipeline.Extension(cfg)

	// New members need a pseudonym before the snapshot that reads them.
	if _, err := r.Pool.Exec(ctx, "SELECT axtract.pseudonyms_refresh($1)", feed.PartnerID); err != nil {
		return nil, fmt.Errorf("refresh pseudonyms of %s: %w", feed.PartnerSlug, err)
	}

	dest, err := r.openDestination(ctx, feed.DestinationKind, feed.DestinationConfig)
	if err != nil {
		return nil, fmt.Errorf("open destination %s of feed %s: %w", feed.DestinationName, feed.Name, err)
	}
	defer dest.Close()

	rows, bytes, sha, viewSQL, err := r.stream(ctx, feed, dest, res.FileName, cfg, runID, start)
	if err != nil {
		return nil, err
	}
	res.Rows, res.Bytes, res.SHA256, res.ViewVersion = rows, bytes, sha, feed.ViewVersion
	res.Duration = r.now().Sub(start)

	err = q.RunSucceed(context.WithoutCancel(ctx), store.RunSucceedParams{
		RunID:       runID,
		ViewVersion: &feed.ViewVersion,
		ViewSql:     &viewSQL,
		FileName:    &res.FileName,
		Rows:        &rows,
		Bytes:       &bytes,
		Sha256:      &sha,
	})
	if err != nil {
		return nil, fmt.Errorf("record delivered run %d: %w", runID, err)
	}
	detail, _ := json.Marshal(map[string]any{
		"file": res.FileName, "destination": feed.DestinationName, "rows": rows, "bytes": bytes,
		"sha256": sha, "view": feed.ViewName, "view_version": feed.ViewVersion,
	})
	err = q.AuditAppend(context.WithoutCancel(ctx), store.AuditAppendParams{
		Action: "run.delivered", PartnerID: &feed.PartnerID, FeedID: &feed.FeedID, RunID: &runID, Detail: detail,
	})
	if err != nil {
		return nil, fmt.Errorf("audit delivered run %d: %w", runID, err)
	}
	return res, nil
}

// stream copies the view into dest as name and returns rows, bytes
// delivered, their sha256 and the view definition read.
func (r *Runner) stream(ctx context.Context, feed store.FeedByIDRow, dest deliver.Destination, name string,
	cfg pipeline.Config, runID int64, start time.Time) (int64, int64, string, string, error) {
	conn, err := r.Pool.Acquire(ctx)
	if err != nil {
		return 0, 0, "", "", fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, 0, "", "", fmt.Errorf("begin extract transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	var roleName string
	if err := tx.QueryRow(ctx, "SELECT axtract.partner_role($1)", feed.PartnerSlug).Scan(&roleName); err != nil {
		return 0, 0, "", "", fmt.Errorf("look up role of partner %s: %w", feed.PartnerSlug, err)
	}
	role := pgx.Identifier{roleName}
	view := pgx.Identifier{"partner_" + feed.PartnerSlug, feed.ViewName}.Sanitize()

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
			return 0, 0, "", "", fmt.Errorf("prepare extract session (%s): %w", stmt, err)
		}
	}
	var viewSQL string
	err = tx.QueryRow(ctx, "SELECT pg_get_viewdef($1::regclass, true)", view).Scan(&viewSQL)
	if err != nil {
		return 0, 0, "", "", classifySQL(fmt.Errorf("read definition of view %s: %w", view, err))
	}

	upload, err := dest.Create(ctx, name)
	if err != nil {
		return 0, 0, "", "", fmt.Errorf("create %s: %w", name, err)
	}
	pipe, err := pipeline.New(upload, cfg)
	if err != nil {
		_ = upload.Abort()
		return 0, 0, "", "", permanent(fmt.Errorf("build pipeline: %w", err))
	}

	stop := r.reportProgress(runID, pipe, start)
	copySQL := fmt.Sprintf("COPY (SELECT * FROM %s) TO STDOUT WITH (FORMAT csv, HEADER true)", view)
	tag, err := tx.Conn().PgConn().CopyTo(ctx, pipe, copySQL)
	stop()
	if err != nil {
		pipe.Abort(err)
		_ = upload.Abort()
		return 0, 0, "", "", classifySQL(fmt.Errorf("copy view %s: %w", view, err))
	}
	if err := pipe.Close(); err != nil {
		_ = upload.Abort()
		return 0, 0, "", "", fmt.Errorf("finish %s: %w", name, err)
	}
	if err := upload.Commit(ctx, pipe.OutputBytes()); err != nil {
		_ = upload.Abort()
		return 0, 0, "", "", fmt.Errorf("commit %s: %w", name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, "", "", fmt.Errorf("end extract transaction: %w", err)
	}
	return tag.RowsAffected(), pipe.OutputBytes(), pipe.SHA256(), viewSQL, nil
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
// and {slot} (UTC, as 20060102T150405Z).
func FileName(template, feed, partner string, slot time.Time, runID int64) string {
	return strings.NewReplacer(
		"{feed}", feed,
		"{partner}", partner,
		"{run}", strconv.FormatInt(runID, 10),
		"{slot}", slot.UTC().Format("20060102T150405Z"),
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

func ptr[T any](v T) *T { return &v }

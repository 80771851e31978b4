// Package extract runs one attempt of a feed run. It reads the partner's
// view as the partner's role inside one REPEATABLE READ transaction and
// streams COPY output through the feed's file format, compression and
// OpenPGP encryption into a destination under a temporary name, which it
// renames once the size is verified. In the same snapshot it records the
// members the file disclosed. Then it delivers a manifest and a trigger
// file, and records the run.
//
// docs/packaging.md describes file names, packaging, manifests and trigger
// files.
package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/pipeline"
	"github.com/axtract/axtract/internal/quality"
	"github.com/axtract/axtract/internal/store"
)

// ErrAlreadyDelivered is returned by Run for a run that has succeeded
// before, or is held or discarded; callers treat it as done and deliver
// nothing.
var ErrAlreadyDelivered = errors.New("run already delivered")

// Runner executes feed runs. It is safe for concurrent use.
type Runner struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// OpenDestination opens a destination from its kind and config. Default:
	// OpenPartnerDestination in this package, with the run's partner.
	OpenDestination func(ctx context.Context, kind string, config []byte) (deliver.Destination, error)
	// Progress, when set, is called from time to time during the extract
	// with the rows and bytes read so far.
	Progress func(p Progress)
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
	// NewFormat builds the format of a feed from feed.format and
	// feed.format_options. Default: formats.New.
	NewFormat func(kind string, options json.RawMessage) (format.Format, error)
	// SigningKeyFile is the armored OpenPGP private key, without a
	// passphrase, that signs the files of feeds with sign true. Default:
	// the file that AXTRACT_SIGNING_KEY_FILE names. The file is read at the
	// start of each such run, so a replaced key takes effect without a
	// restart.
	SigningKeyFile string
}

// Progress is a snapshot of a running extract.
type Progress struct {
	RunID       int64
	InputBytes  int64
	OutputBytes int64
	Elapsed     time.Duration
}

// Result describes a delivered run. FileName and SHA256 are those of the
// main data file (the first part of a multi-file format), Rows and Bytes
// the sums over the data files. FileName is empty when the run had no new
// rows and its feed delivers nothing in that case.
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
	// ControlNumber is the control number of a run of an x12-834 or fixed
	// feed, 0 for other formats.
	ControlNumber int64
	// Files lists every delivered file in delivery order: the data files,
	// then the manifests, then the trigger file.
	Files []File
	// Quality is the result of the feed's quality rules, nil when the feed
	// has none or the run read no rows.
	Quality *quality.Result
	// Disclosures are the records of the accounting of disclosures, one per
	// view the run read.
	Disclosures []Disclosure
}

// Disclosure is the record of the members one run disclosed through one
// view.
type Disclosure struct {
	View    string
	Members int64
	// FromKeys is true when the members came from the member key column
	// of the rows the run wrote, false when they were read again from the
	// view's member-id view (memberkeys.go).
	FromKeys bool
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
	var check *quality.CheckError
	if errors.As(err, &check) {
		if holdErr := r.recordCheckFailure(ctx, conn, check, logger); holdErr != nil {
			err = holdErr
		} else if check.Held() {
			logger.Warn("run held by quality checks", "violations", check.Result.Summary(), "attempt", attempt)
			return nil, err
		}
	}
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

	// Everything that can be checked without the data is checked before
	// the snapshot, so a bad key or format fails the run before a row is
	// read.
	form, err := r.format(feed)
	if err != nil {
		return nil, err
	}
	cfg, err := r.packaging(ctx, q, feed, res, logger)
	if err != nil {
		return nil, err
	}
	pl, err := newPlan(feed, run, form, cfg)
	if err != nil {
		return nil, err
	}
	gate, err := loadQualityGate(ctx, q, feed, runID)
	if err != nil {
		return nil, err
	}
	pl.setGate(gate, feed.ViewName)
	// The control number is taken last, so a run that fails the checks
	// above uses none.
	info := format.Info{RunID: runID, Feed: feed.Name, Partner: feed.PartnerSlug, Slot: run.Slot, Now: start}
	if numberedFormats[feed.Format] {
		if info.ControlNumber, err = controlNumber(ctx, q, run, feed.PartnerSlug); err != nil {
			return nil, err
		}
		res.ControlNumber = info.ControlNumber
	}

	// New members need a pseudonym before the snapshot that reads them.
	if _, err := conn.Exec(ctx, "SELECT axtract.pseudonyms_refresh($1)", feed.PartnerID); err != nil {
		return nil, fmt.Errorf("refresh pseudonyms of %s: %w", feed.PartnerSlug, err)
	}

	snap, err := openSnapshot(ctx, conn, feed, run, pl.disclosureViews)
	if err != nil {
		return nil, err
	}
	files, err := r.deliver(ctx, snap, feed, pl, info, runID, start, res)
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
	res.ViewVersion = feed.ViewVersion
	res.Files = files
	if gate != nil {
		res.Quality = gate.result
	}
	for _, f := range files {
		if f.Kind != FileData {
			continue
		}
		if res.FileName == "" {
			res.FileName, res.SHA256 = f.Name, f.SHA256
		}
		res.Rows += f.Rows
		res.Bytes += f.Bytes
	}
	res.Duration = r.now().Sub(start)
	if err := r.record(ctx, conn, feed, res, snap.viewSQL); err != nil {
		return nil, err
	}
	return res, nil
}

// record marks the run succeeded, moves the feed's watermark, lists the
// run's files and appends the audit event, in one transaction.
func (r *Runner) record(ctx context.Context, conn *pgxpool.Conn, feed store.FeedByIDRow, res *Result, viewSQL string) error {
	ctx = context.WithoutCancel(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("record delivered run %d: %w", res.RunID, err)
	}
	defer tx.Rollback(ctx)
	q := store.New(tx)

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
	if res.Quality != nil {
		if err := quality.Record(ctx, tx, res.RunID, res.Quality); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(res.Files))
	for _, f := range res.Files {
		err := q.RunFileAdd(ctx, store.RunFileAddParams{
			RunID: res.RunID, Name: f.Name, Kind: f.Kind, Part: optional(f.Part), Rows: f.rowCount(),
			Bytes: f.Bytes, Sha256: f.SHA256,
		})
		if err != nil {
			return fmt.Errorf("record file %s of run %d: %w", f.Name, res.RunID, err)
		}
		names = append(names, f.Name)
	}

	fields := map[string]any{
		"file": params.FileName, "destination": feed.DestinationName, "rows": res.Rows, "bytes": res.Bytes,
		"sha256": params.Sha256, "view": feed.ViewName, "view_version": feed.ViewVersion, "format": feed.Format,
	}
	if len(names) > 1 {
		fields["files"] = names
	}
	if res.Window != nil {
		fields["window"] = res.Window
	}
	if res.ControlNumber != 0 {
		fields["control_number"] = res.ControlNumber
	}
	if res.Quality != nil {
		fields["quality"] = res.Quality.Outcome
	}
	detail, _ := json.Marshal(fields)
	err = q.AuditAppend(ctx, store.AuditAppendParams{
		Action: action, PartnerID: &feed.PartnerID, FeedID: &feed.FeedID, RunID: &res.RunID, Detail: detail,
	})
	if err != nil {
		return fmt.Errorf("audit delivered run %d: %w", res.RunID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("record delivered run %d: %w", res.RunID, err)
	}
	return nil
}

// deliver writes the run's data files from the snapshot, records the
// members they disclosed in the snapshot's transaction, delivers the
// manifests and the trigger file, and commits the transaction. It returns
// the delivered files in delivery order. An incremental run with nothing
// new and the feed's empty_window skip opens no destination and returns no
// file.
func (r *Runner) deliver(ctx context.Context, snap *snapshot, feed store.FeedByIDRow, pl *plan,
	info format.Info, runID int64, start time.Time, res *Result) ([]File, error) {
	defer snap.tx.Rollback(context.WithoutCancel(ctx))

	if snap.window != nil && snap.window.Empty() && feed.EmptyWindow == "skip" {
		if err := snap.tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("end extract transaction: %w", err)
		}
		return nil, nil
	}

	// Every part's view must be readable before the first file is written:
	// a missing second view found after the first file was delivered would
	// leave that file out of the run's record.
	for _, part := range pl.parts {
		view := pgx.Identifier{"partner_" + feed.PartnerSlug, part.view}.Sanitize()
		var found bool
		if err := snap.tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", view).Scan(&found); err != nil {
			return nil, classifySQL(fmt.Errorf("look up view %s: %w", view, err))
		}
		if !found {
			return nil, permanent(fmt.Errorf("view %s of part %s does not exist; define it or change the feed's format_options", view, part.part))
		}
	}

	dest, err := r.openDestination(ctx, feed)
	if err != nil {
		return nil, fmt.Errorf("open destination %s of feed %s: %w", feed.DestinationName, feed.Name, err)
	}
	defer dest.Close()

	// Every file keeps its temporary name until all of them, the manifests
	// and the trigger file included, are written and the disclosures
	// recorded, so a run that fails in a later part delivers none of them.
	// Then only the renames remain, in delivery order. Abort does nothing
	// to a committed upload.
	var written []writtenPart
	defer func() {
		for _, w := range written {
			_ = w.upload.Abort()
		}
	}()
	for _, part := range pl.parts {
		w, err := r.writePart(ctx, snap, dest, feed.PartnerSlug, part, info, runID, start, res)
		if err != nil {
			return nil, err
		}
		written = append(written, w)
	}

	// Right after the COPYs, in their snapshot, so the record lists exactly
	// the members whose rows the files hold, and commits with them.
	for _, view := range pl.disclosureViews {
		d, err := recordDisclosures(ctx, snap, runID, feed.PartnerSlug, view, written)
		if err != nil {
			return nil, err
		}
		res.Disclosures = append(res.Disclosures, d)
	}

	data := make([]File, 0, len(written))
	for _, w := range written {
		data = append(data, w.file)
	}
	if err := r.writeSidecars(ctx, dest, feed, pl, snap, info, data, &written); err != nil {
		return nil, err
	}

	// NOTE: the renames are not atomic together. When one fails, the
	// files renamed before it stay delivered, while the run fails and its
	// disclosures roll back. Everything else that could fail happened
	// before the first rename, so only a failing rename (a directory or an
	// unwritable file in the way) leads there.
	var files []File
	for _, w := range written {
		if err := w.upload.Commit(ctx, w.file.Bytes); err != nil {
			return nil, fmt.Errorf("commit %s: %w", w.file.Name, err)
		}
		files = append(files, w.file)
	}

	if err := snap.tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("end extract transaction: %w", err)
	}
	return files, nil
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

func (r *Runner) openDestination(ctx context.Context, feed store.FeedByIDRow) (deliver.Destination, error) {
	if r.OpenDestination != nil {
		return r.OpenDestination(ctx, feed.DestinationKind, feed.DestinationConfig)
	}
	return OpenPartnerDestination(ctx, feed.DestinationKind, feed.DestinationConfig, feed.PartnerSlug)
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

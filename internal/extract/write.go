package extract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/pipeline"
	"github.com/axtract/axtract/internal/privacy"
)

// writtenPart is a data file written under its temporary name, and the
// record of it once its upload is committed.
type writtenPart struct {
	upload deliver.Upload
	file   File
	// view is the view the part read, and keys its member keys when the
	// view has a member key column.
	view string
	keys *keyCollector
}

// writePart streams one part's view through its format and pipeline into
// the destination. The file keeps its temporary name until the caller
// commits the upload.
func (r *Runner) writePart(ctx context.Context, snap *snapshot, dest deliver.Destination, slug string, part plannedPart,
	info format.Info, runID int64, start time.Time, res *Result) (writtenPart, error) {
	upload, err := dest.Create(ctx, part.name)
	if err != nil {
		return writtenPart{}, fmt.Errorf("create %s: %w", part.name, err)
	}
	pipe, err := pipeline.New(upload, part.cfg)
	if err != nil {
		_ = upload.Abort()
		return writtenPart{}, permanent(fmt.Errorf("build pipeline: %w", err))
	}

	view := pgx.Identifier{"partner_" + slug, part.view}.Sanitize()
	stop := r.reportProgress(runID, pipe, start)
	rows, counts, keys, err := copyPart(ctx, snap, view, part, pipe, info)
	stop()
	if err == nil && part.gate != nil {
		// The file still has its temporary name, so a run that fails or is
		// held leaves nothing that looks delivered.
		err = part.gate.decide(runID)
	}
	if err != nil {
		pipe.Abort(err)
		_ = upload.Abort()
		return writtenPart{}, err
	}
	if err := pipe.Close(); err != nil {
		_ = upload.Abort()
		return writtenPart{}, fmt.Errorf("finish %s: %w", part.name, err)
	}
	if err := finish(ctx, upload, pipe.OutputBytes()); err != nil {
		_ = upload.Abort()
		return writtenPart{}, fmt.Errorf("finish %s: %w", part.name, err)
	}
	if warnings := countWarnings(part, counts); len(warnings) > 0 {
		r.logger().Warn("format writer reported counts", "run_id", runID, "file", part.name, "counts", counts)
		res.Warnings = append(res.Warnings, warnings...)
	}
	return writtenPart{upload: upload, view: part.view, keys: keys, file: File{Name: part.name, Kind: FileData, Part: part.part,
		Rows: rows, Bytes: pipe.OutputBytes(), SHA256: pipe.SHA256(), counts: counts}}, nil
}

// copyPart runs the COPY of one part into pipe and returns the rows it
// read, the writer's counts and, when the view has a member key column,
// the collected member keys. The csv format takes PostgreSQL's own CSV
// output, which needs no decoding, unless quality rules read its columns
// or the member keys are collected. Every other format reads COPY's text
// format through a Decoder into its Writer, under a quality Checker when
// the part is checked.
func copyPart(ctx context.Context, snap *snapshot, view string, part plannedPart, pipe io.Writer,
	info format.Info) (int64, map[string]int64, *keyCollector, error) {
	conn := snap.tx.Conn().PgConn()
	key, collect := snap.memberKeys[part.view]
	if part.format.Kind() == "csv" && !part.gate.needsRows() && !collect {
		tag, err := conn.CopyTo(ctx, pipe, snap.copySQL(view, true))
		if err != nil {
			return 0, nil, nil, classifySQL(fmt.Errorf("copy view %s: %w", view, err))
		}
		if part.gate != nil {
			if err := part.gate.countRows(tag.RowsAffected()); err != nil {
				return 0, nil, nil, err
			}
		}
		return tag.RowsAffected(), nil, nil, nil
	}

	cols, err := format.ColumnsOf(ctx, snap.tx, view)
	if err != nil {
		return 0, nil, nil, classifySQL(fmt.Errorf("read columns of view %s: %w", view, err))
	}
	out := &sink{w: pipe}
	w, err := part.format.NewWriter(out, cols, info)
	if err != nil {
		return 0, nil, nil, permanent(fmt.Errorf("start %s file %s: %w", part.format.Kind(), part.name, err))
	}
	if part.gate != nil {
		if w, err = part.gate.wrap(w, cols); err != nil {
			return 0, nil, nil, fmt.Errorf("check view %s: %w", view, err)
		}
	}
	var keys *keyCollector
	if collect {
		if i := slices.IndexFunc(cols, func(c format.Column) bool { return c.Name == key.column }); i >= 0 {
			keys = newKeyCollector(w, i, key.kind, maxMemberKeys)
			w = keys
		}
	}
	dec := format.NewDecoder(w, len(cols))
	tag, err := conn.CopyTo(ctx, dec, snap.sortedCopySQL(view, false, sortColumn(part.orderBy, cols)))
	if err == nil {
		err = dec.Close()
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return 0, nil, nil, classifyWrite(ctx, fmt.Errorf("write view %s as %s: %w", view, part.format.Kind(), err), out)
	}
	var counts map[string]int64
	if c, ok := w.(format.Counter); ok {
		counts = c.Counts()
	}
	return tag.RowsAffected(), counts, keys, nil
}

// sink records whether the pipeline failed, so that an error of the
// pipeline can be distinguished from one of the format writer.
type sink struct {
	w      io.Writer
	failed bool
}

func (s *sink) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		s.failed = true
	}
	return n, err
}

// classifyWrite marks an error of a format writer as permanent: the same
// rows give the same error again. Errors of the server, of the pipeline or
// its destination, and cancellation stay retryable unless classifySQL
// marks them permanent.
func classifyWrite(ctx context.Context, err error, out *sink) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr):
		return classifySQL(err)
	case out.failed, ctx.Err() != nil:
		return err
	}
	return permanent(err)
}

// countWarnings turns a writer's nonzero counts, such as values a
// fixed-width layout truncated, into run warnings.
func countWarnings(part plannedPart, counts map[string]int64) []string {
	keys := make([]string, 0, len(counts))
	for k, n := range counts {
		// The FHIR writers' resource count is what the Bulk Data manifest
		// reports, not a problem.
		if n != 0 && k != "resources" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var warnings []string
	for _, k := range keys {
		warnings = append(warnings, fmt.Sprintf("%s: %s %d", part.name, strings.ReplaceAll(k, "_", " "), counts[k]))
	}
	return warnings
}

// recordDisclosures records the members whose rows the run read from view,
// in the extract's transaction: from the member keys a part of that view
// collected when one has them all, else from the view's member-id view.
func recordDisclosures(ctx context.Context, snap *snapshot, runID int64, slug, view string, written []writtenPart) (Disclosure, error) {
	d := Disclosure{View: view}
	var err error
	for _, w := range written {
		if w.view == view && w.keys.complete() {
			d.FromKeys = true
			d.Members, err = privacy.RecordDisclosureKeys(ctx, snap.tx, runID, slug, view, w.keys.kind, w.keys.list())
			return d, classifySQL(err)
		}
	}
	if snap.window != nil {
		win := privacy.Window{Column: snap.window.Column, From: snap.window.From, To: snap.window.To}
		d.Members, err = privacy.RecordWindowDisclosures(ctx, snap.tx, runID, slug, view, win)
	} else {
		d.Members, err = privacy.RecordDisclosures(ctx, snap.tx, runID, slug, view)
	}
	return d, classifySQL(err)
}

// stageFile writes a small file held in memory, as it is, under its
// temporary name and appends it to written: manifests and trigger files
// are neither compressed nor encrypted.
func stageFile(ctx context.Context, dest deliver.Destination, name, kind string, body []byte, written *[]writtenPart) error {
	upload, err := dest.Create(ctx, name)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	if _, err := upload.Write(body); err != nil {
		_ = upload.Abort()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := finish(ctx, upload, int64(len(body))); err != nil {
		_ = upload.Abort()
		return fmt.Errorf("finish %s: %w", name, err)
	}
	sum := sha256.Sum256(body)
	*written = append(*written, writtenPart{upload: upload,
		file: File{Name: name, Kind: kind, Bytes: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}})
	return nil
}

// finish completes an upload that waits for its rename when the
// destination can, so it keeps no upload slot that later files need.
func finish(ctx context.Context, upload deliver.Upload, size int64) error {
	if f, ok := upload.(deliver.Finisher); ok {
		return f.Finish(ctx, size)
	}
	return nil
}

// sortColumn returns the first of candidates that is a column of cols, or
// "" when none is.
func sortColumn(candidates []string, cols []format.Column) string {
	for _, c := range candidates {
		for _, col := range cols {
			if col.Name == c {
				return c
			}
		}
	}
	return ""
}

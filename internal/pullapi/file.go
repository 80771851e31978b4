package pullapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/deliver"
)

// downloadFile serves GET /api/v1/files/{file_id}.
func (h *handler) downloadFile(w http.ResponseWriter, r *http.Request, token *Token) {
	id, err := strconv.ParseInt(r.PathValue("file_id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("file %q not found", r.PathValue("file_id")))
		return
	}
	h.serveFile(w, r, download{fileID: id, partnerID: token.PartnerID, via: "api", tokenID: token.ID})
}

// download is one request for a file, and who makes it.
type download struct {
	fileID    int64
	partnerID int64
	// via is api or link.
	via     string
	tokenID int64
}

// storedFile is a run_file row of a portal destination and where it lives.
type storedFile struct {
	name      string
	bytes     int64
	sha256    string
	createdAt time.Time
	runID     int64
	feedID    int64
	path      string
}

// serveFile serves a file of d.partnerID with http.ServeContent semantics
// (Range, If-Range, If-None-Match, If-Modified-Since) and audits the
// response, whatever its status.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, d download) {
	file, err := h.lookupFile(r.Context(), d)
	if errors.Is(err, pgx.ErrNoRows) {
		// The same response for a file of another partner as for no file at
		// all, so ids reveal nothing.
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("file %d not found", d.fileID))
		return
	}
	if err != nil {
		h.logger.Error("look up file", "file_id", d.fileID, "partner_id", d.partnerID, "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "the server could not look up the file; try again later")
		return
	}

	f, err := os.Open(file.path)
	if errors.Is(err, fs.ErrNotExist) {
		h.logger.Warn("portal file missing on disk", "file_id", d.fileID, "path", file.path)
		writeError(w, http.StatusGone, "gone", fmt.Sprintf("file %d is no longer kept; ask for a new delivery", d.fileID))
		return
	}
	if err != nil {
		h.logger.Error("open portal file", "file_id", d.fileID, "path", file.path, "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "the server could not read the file; try again later")
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.Size() != file.bytes {
		// A file whose size differs from the recorded one is not the file
		// that was delivered. Serving it would hand out the wrong bytes
		// under the recorded checksum.
		h.logger.Error("portal file does not match its record", "file_id", d.fileID, "path", file.path,
			"recorded_bytes", file.bytes, "error", err)
		writeError(w, http.StatusInternalServerError, "internal", fmt.Sprintf("file %d on the server does not match its record; ask the operator", d.fileID))
		return
	}

	header := w.Header()
	header.Set("ETag", `"`+file.sha256+`"`)
	header.Set("Content-Type", "application/octet-stream")
	header.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": file.name}))
	header.Set("X-Checksum-SHA256", file.sha256)
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	http.ServeContent(cw, r, file.name, file.createdAt, f)

	h.audit(r, d, file, cw)
}

func (h *handler) lookupFile(ctx context.Context, d download) (*storedFile, error) {
	var file storedFile
	var slug string
	var config []byte
	err := h.pool.QueryRow(ctx, `
		SELECT rf.name, rf.bytes, rf.sha256, rf.created_at, rf.run_id, f.feed_id, p.slug, d.config
		FROM axtract.run_file rf
		JOIN axtract.run r ON r.run_id = rf.run_id
		JOIN axtract.feed f ON f.feed_id = r.feed_id
		JOIN axtract.partner p ON p.partner_id = f.partner_id
		JOIN axtract.destination d ON d.destination_id = f.destination_id
		WHERE rf.file_id = $1
		  AND f.partner_id = $2
		  AND d.kind = 'portal'
		  AND r.status = 'succeeded'`, d.fileID, d.partnerID).
		Scan(&file.name, &file.bytes, &file.sha256, &file.createdAt, &file.runID, &file.feedID, &slug, &config)
	if err != nil {
		return nil, err
	}
	if err := deliver.ValidateName(file.name); err != nil {
		return nil, fmt.Errorf("file %d: %w", d.fileID, err)
	}
	dir, err := deliver.PortalDir(config, slug)
	if err != nil {
		return nil, fmt.Errorf("file %d: %w", d.fileID, err)
	}
	file.path = filepath.Join(dir, file.name)
	return &file, nil
}

// audit appends the file.download event of one response. The request may
// be cancelled by then (a client that stops reading), and the event must
// be written all the same.
func (h *handler) audit(r *http.Request, d download, file *storedFile, cw *countingWriter) {
	detail := map[string]any{
		"file_id": d.fileID,
		"name":    file.name,
		"via":     d.via,
		"method":  r.Method,
		"status":  cw.status,
		"bytes":   cw.bytes,
	}
	if d.tokenID != 0 {
		detail["token_id"] = d.tokenID
	}
	if rng := r.Header.Get("Range"); rng != "" {
		detail["range"] = rng
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	_, err := h.pool.Exec(ctx, `INSERT INTO axtract.audit_event (action, partner_id, feed_id, run_id, detail)
		VALUES ('file.download', $1, $2, $3, $4)`, d.partnerID, file.feedID, file.runID, detail)
	if err != nil {
		h.logger.Error("audit file download", "file_id", d.fileID, "partner_id", d.partnerID, "error", err)
	}
	h.logger.Info("served file", "file_id", d.fileID, "partner_id", d.partnerID, "via", d.via,
		"status", cw.status, "bytes", cw.bytes)
}

// countingWriter records the status and the body bytes of a response.
type countingWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	bytes       int64
}

func (c *countingWriter) WriteHeader(status int) {
	if !c.wroteHeader {
		c.status, c.wroteHeader = status, true
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.wroteHeader = true
	n, err := c.ResponseWriter.Write(p)
	c.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

package pullapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery is one succeeded run of a partner's portal feed.
type Delivery struct {
	RunID       int64     `json:"run_id"`
	Feed        string    `json:"feed"`
	Slot        time.Time `json:"slot"`
	DeliveredAt time.Time `json:"delivered_at"`
	Files       []File    `json:"files"`
}

// File is one file of a delivery.
type File struct {
	FileID int64   `json:"file_id"`
	Name   string  `json:"name"`
	Kind   string  `json:"kind"`
	Part   *string `json:"part,omitempty"`
	Rows   *int64  `json:"rows"`
	Bytes  int64   `json:"bytes"`
	SHA256 string  `json:"sha256"`
	// URL is the path of the download, relative to the server.
	URL string `json:"url"`
}

// DeliveryPage is the response of GET /api/v1/deliveries.
type DeliveryPage struct {
	Deliveries []Delivery `json:"deliveries"`
	// NextCursor, when set, is the cursor parameter of the next page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// listDeliveries returns the token's partner's deliveries, newest first.
// Query parameters: limit (1 to MaxPageSize, default 50), cursor (from the
// previous page) and feed (a feed name).
func (h *handler) listDeliveries(w http.ResponseWriter, r *http.Request, token *Token) {
	q := r.URL.Query()
	limit := 50
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > h.maxPage {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("invalid limit %q: use a number from 1 to %d", s, h.maxPage))
			return
		}
		limit = n
	}
	before := int64(-1)
	if s := q.Get("cursor"); s != "" {
		id, err := decodeCursor(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("invalid cursor %q: pass next_cursor from the previous page unchanged", s))
			return
		}
		before = id
	}

	page, err := h.deliveries(r, token.PartnerID, q.Get("feed"), before, limit)
	if err != nil {
		h.logger.Error("list deliveries", "partner", token.Partner, "token_id", token.ID, "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "the server could not list deliveries; try again later")
		return
	}
	writeJSON(w, page)
}

// deliveries reads one page of runs with run_id below before (any when
// before is negative) and their files.
func (h *handler) deliveries(r *http.Request, partnerID int64, feed string, before int64, limit int) (*DeliveryPage, error) {
	ctx := r.Context()
	rows, err := h.pool.Query(ctx, `
		SELECT r.run_id, f.name, r.slot, coalesce(r.finished_at, r.created_at)
		FROM axtract.run r
		JOIN axtract.feed f ON f.feed_id = r.feed_id
		JOIN axtract.destination d ON d.destination_id = f.destination_id
		WHERE f.partner_id = $1
		  AND d.kind = 'portal'
		  AND r.status = 'succeeded'
		  AND ($2 < 0 OR r.run_id < $2)
		  AND ($3 = '' OR f.name = $3)
		  AND EXISTS (SELECT FROM axtract.run_file rf WHERE rf.run_id = r.run_id)
		ORDER BY r.run_id DESC
		LIMIT $4`, partnerID, before, feed, limit+1)
	if err != nil {
		return nil, err
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		err := row.Scan(&d.RunID, &d.Feed, &d.Slot, &d.DeliveredAt)
		return d, err
	})
	if err != nil {
		return nil, err
	}
	page := &DeliveryPage{Deliveries: []Delivery{}}
	if len(runs) > limit {
		runs = runs[:limit]
		page.NextCursor = encodeCursor(runs[limit-1].RunID)
	}
	if len(runs) == 0 {
		return page, nil
	}

	ids := make([]int64, len(runs))
	index := make(map[int64]int, len(runs))
	for i, d := range runs {
		ids[i] = d.RunID
		index[d.RunID] = i
		runs[i].Files = []File{}
	}
	rows, err = h.pool.Query(ctx, `
		SELECT run_id, file_id, name, kind, part, rows, bytes, sha256
		FROM axtract.run_file
		WHERE run_id = ANY ($1)
		ORDER BY file_id`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var runID int64
		var f File
		if err := rows.Scan(&runID, &f.FileID, &f.Name, &f.Kind, &f.Part, &f.Rows, &f.Bytes, &f.SHA256); err != nil {
			return nil, err
		}
		f.URL = "/api/v1/files/" + strconv.FormatInt(f.FileID, 10)
		runs[index[runID]].Files = append(runs[index[runID]].Files, f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	page.Deliveries = runs
	return page, nil
}

// Cursors are opaque to clients; inside they are the last run id of the
// page, so a page stays correct while new runs arrive.
func encodeCursor(runID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("run:" + strconv.FormatInt(runID, 10)))
}

func decodeCursor(s string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, err
	}
	id, ok := strings.CutPrefix(string(raw), "run:")
	if !ok {
		return 0, fmt.Errorf("cursor without run: prefix")
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("cursor run id %q", id)
	}
	return n, nil
}

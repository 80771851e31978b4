// Package pullapi serves a partner's delivered files over HTTPS: the pull
// API under /api/v1/ for programs with bearer tokens, and signed download
// links under /download/ for the portal.
//
// Both serve only files of portal destinations, as recorded in
// axtract.run_file, and only to the partner they were delivered to. A file
// of another partner gets 404, like a file that does not exist, so file
// ids tell a caller nothing. Every download, full or ranged, appends a
// file.download event to axtract.audit_event.
package pullapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configures the handler. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// RequestsPerSecond is the rate at which each token's bucket refills.
	// Default: 10.
	RequestsPerSecond float64
	// Burst is the size of each token's bucket: how many requests a token may
	// make at once after a quiet spell. Default: 20.
	Burst int
	// LinkKeyFile names a file whose bytes (at least 32) are the key that
	// signs portal download links. Empty uses the instance key in
	// axtract.channel_key, which migrate creates.
	LinkKeyFile string
	// MaxPageSize caps the limit parameter of GET /api/v1/deliveries.
	// Default: 200.
	MaxPageSize int
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

type handler struct {
	pool     *pgxpool.Pool
	logger   *slog.Logger
	limiter  *limiter
	maxPage  int
	now      func() time.Time
	linkKey  func() ([]byte, error)
	mux      *http.ServeMux
	keyMu    sync.Mutex
	keyBytes []byte
}

// NewHandler returns the handler of GET /api/v1/deliveries,
// GET /api/v1/files/{file_id} and GET /download/{token}. Mount it at the
// root of the HTTPS server, or under those two prefixes. It is safe for
// concurrent use.
func NewHandler(pool *pgxpool.Pool, opts Options) http.Handler {
	h := &handler{
		pool:    pool,
		logger:  opts.Logger,
		maxPage: opts.MaxPageSize,
		now:     opts.Now,
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.maxPage <= 0 {
		h.maxPage = 200
	}
	if h.now == nil {
		h.now = time.Now
	}
	rate, burst := opts.RequestsPerSecond, opts.Burst
	if rate <= 0 {
		rate = 10
	}
	if burst <= 0 {
		burst = 20
	}
	h.limiter = newLimiter(rate, burst, h.now)
	// The key is read on first use and kept; a failed read is tried again
	// on the next request.
	h.linkKey = func() ([]byte, error) {
		h.keyMu.Lock()
		defer h.keyMu.Unlock()
		if h.keyBytes != nil {
			return h.keyBytes, nil
		}
		key, err := loadLinkKey(pool, opts.LinkKeyFile)
		if err != nil {
			return nil, err
		}
		h.keyBytes = key
		return key, nil
	}

	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /api/v1/deliveries", h.withToken(ScopeList, h.listDeliveries))
	h.mux.HandleFunc("GET /api/v1/files/{file_id}", h.withToken(ScopeDownload, h.downloadFile))
	h.mux.HandleFunc("GET /download/{token}", h.downloadLink)
	h.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: use GET /api/v1/deliveries or GET /api/v1/files/ID")
	})
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(errorBody{Error: code, Message: message})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// withToken authenticates the bearer token, checks its scope and its rate
// limit, and calls next with the token.
func (h *handler) withToken(scope string, next func(http.ResponseWriter, *http.Request, *Token)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, err := h.authenticate(r.Context(), r.Header.Get("Authorization"))
		switch err {
		case nil:
		case errNoToken:
			w.Header().Set("WWW-Authenticate", `Bearer realm="axtract"`)
			writeError(w, http.StatusUnauthorized, "invalid_request", err.Error())
			return
		case errTokenUnknown, errTokenRevoked, errTokenExpired:
			w.Header().Set("WWW-Authenticate", `Bearer realm="axtract", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid_token", err.Error())
			return
		default:
			h.logger.Error("authenticate API request", "error", err)
			writeError(w, http.StatusInternalServerError, "internal", "the server could not check the token; try again later")
			return
		}
		if wait, ok := h.limiter.allow(token.ID); !ok {
			seconds := int(wait/time.Second) + 1
			w.Header().Set("Retry-After", strconv.Itoa(seconds))
			writeError(w, http.StatusTooManyRequests, "rate_limited",
				"too many requests with this token; retry after "+strconv.Itoa(seconds)+" seconds")
			return
		}
		if !token.Has(scope) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="axtract", error="insufficient_scope", scope="`+scope+`"`)
			writeError(w, http.StatusForbidden, "insufficient_scope", "this token lacks the "+scope+" scope; create a token with --scope "+scope)
			return
		}
		next(w, r, token)
	}
}

package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/axtract/axtract/graph/generated"
	"github.com/axtract/axtract/internal/auth"
)

// Options configure NewHandler.
type Options struct {
	// Limits bound each request; zero fields take their defaults.
	Limits Limits
	// Logger receives errors that clients see only as INTERNAL. Default:
	// slog.Default().
	Logger *slog.Logger
	// DownloadURL returns a signed, short-lived link through which a
	// partner's signed-in users download file fileID of partner partnerID
	// (for example pullapi.SignLink under the instance's link key, behind the
	// portal's download route). Nil leaves RunFile.downloadUrl null.
	DownloadURL func(ctx context.Context, fileID, partnerID int64) (string, error)
	// PreviewTimeout bounds one view preview, its wait for a turn included.
	// Default 10s.
	PreviewTimeout time.Duration
	// MaxConcurrentPreviews is the most view previews that run in the
	// database at once; others wait their turn, within PreviewTimeout.
	// Default 8.
	MaxConcurrentPreviews int
	// DashboardMaxAge is the age after which the shared dashboard snapshot
	// is reloaded in the background (see snapshot.go). Default 2s. A
	// negative value reads the database on every request.
	DashboardMaxAge time.Duration
}

// handler serves GraphQL over HTTP POST: one operation as a JSON object,
// or a batch of operations as a JSON array.
type handler struct {
	exec   *executor.Executor
	schema graphql.ExecutableSchema
	limits Limits
	logger *slog.Logger
	// responses keeps the encoded responses of dashboard-only queries.
	responses *responseCache
	// rootCalls counts root fields that started to resolve, so tests can
	// prove that a rejected operation ran no resolver.
	rootCalls atomic.Int64
}

// NewHandler returns the GraphQL endpoint. Each request must carry its
// principal (auth.WithPrincipal) in its context; requests without one get
// an UNAUTHENTICATED error and HTTP status 401. The handler reads and
// writes the control schema through pool and needs nothing else.
func NewHandler(pool *pgxpool.Pool, opts Options) http.Handler {
	h, err := newHandler(pool, opts)
	if err != nil {
		// The schema is compiled in; a bad directive is a programming error.
		panic(err)
	}
	return h
}

func newHandler(pool *pgxpool.Pool, opts Options) (*handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PreviewTimeout <= 0 {
		opts.PreviewTimeout = 10 * time.Second
	}
	if opts.MaxConcurrentPreviews <= 0 {
		opts.MaxConcurrentPreviews = 8
	}
	if opts.DashboardMaxAge == 0 {
		opts.DashboardMaxAge = 2 * time.Second
	}
	opts.Limits = opts.Limits.withDefaults()

	es := generated.NewExecutableSchema(generated.Config{
		Resolvers:  &Resolver{pool: pool, opts: opts, logger: opts.Logger, previews: make(chan struct{}, opts.MaxConcurrentPreviews)},
		Directives: generated.DirectiveRoot{HasRole: hasRole},
		Complexity: newComplexity(),
	})
	types, err := readTypeRoles(es.Schema())
	if err != nil {
		return nil, err
	}

	h := &handler{schema: es, limits: opts.Limits, logger: opts.Logger,
		responses: newResponseCache(opts.DashboardMaxAge)}
	exec := executor.New(es)
	exec.SetQueryCache(newQueryCache(1000))
	exec.SetParserTokenLimit(opts.Limits.MaxTokens)
	exec.SetErrorPresenter(presentError(opts.Logger))
	exec.SetRecoverFunc(recoverPanic(opts.Logger))
	exec.Use(limitExtension{limits: opts.Limits, schema: es})
	exec.AroundRootFields(func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		h.rootCalls.Add(1)
		return next(ctx)
	})
	exec.AroundFields(typeRoleMiddleware(types))
	h.exec = exec
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeErrors(w, http.StatusMethodNotAllowed, CodeValidation, "use POST with a JSON body")
		return
	}
	if auth.FromContext(r.Context()) == nil {
		writeErrors(w, http.StatusUnauthorized, CodeUnauthenticated, "sign in first")
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.limits.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeErrors(w, http.StatusRequestEntityTooLarge, CodeLimitExceeded,
			"request body exceeds the limit of %d bytes", h.limits.MaxBodyBytes)
		return
	}
	if err != nil {
		writeErrors(w, http.StatusBadRequest, CodeValidation, "read request body: %v", err)
		return
	}

	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		h.serveBatch(w, r, trimmed)
		return
	}
	var params graphql.RawParams
	if err := decodeParams(trimmed, &params); err != nil {
		writeErrors(w, http.StatusBadRequest, CodeValidation, "%s", err.Error())
		return
	}
	resp := h.execute(r, &params)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
}

func (h *handler) serveBatch(w http.ResponseWriter, r *http.Request, body []byte) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		writeErrors(w, http.StatusBadRequest, CodeValidation, "request body is not a JSON array of operations: %v", err)
		return
	}
	if len(raw) == 0 {
		writeErrors(w, http.StatusBadRequest, CodeValidation, "batch contains no operation")
		return
	}
	if len(raw) > h.limits.MaxBatch {
		writeErrors(w, http.StatusBadRequest, CodeLimitExceeded,
			"batch holds %d operations, more than the limit of %d", len(raw), h.limits.MaxBatch)
		return
	}
	// Decode every operation before running any, so a malformed entry
	// rejects the batch before a mutation in it runs.
	params := make([]graphql.RawParams, len(raw))
	for i, op := range raw {
		if err := decodeParams(op, &params[i]); err != nil {
			writeErrors(w, http.StatusBadRequest, CodeValidation, "operation %d of the batch: %s", i, err.Error())
			return
		}
	}
	out := make([]json.RawMessage, len(params))
	for i := range params {
		out[i] = h.execute(r, &params[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func decodeParams(body []byte, params *graphql.RawParams) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		return errors.New("request body is not a JSON object with query, operationName and variables")
	}
	if params.Query == "" {
		return errors.New("request has no query")
	}
	return nil
}

// execute runs one operation: parse, validate, check the limits, then
// resolve. It returns the encoded response.
func (h *handler) execute(r *http.Request, params *graphql.RawParams) json.RawMessage {
	ctx := withMemos(graphql.StartOperationTrace(r.Context()))
	now := graphql.Now()
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: now, End: now}

	oc, errs := h.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		normalizeCodes(errs)
		return encode(h.exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs))
	}

	key, cacheable := h.responses.key(auth.FromContext(ctx), oc, params)
	if cacheable {
		if body, ok := h.responses.get(key); ok {
			return body
		}
	}
	responses, ctx := h.exec.DispatchOperation(ctx, oc)
	resp := responses(ctx)
	body := encode(resp)
	if cacheable && !hasCode(resp.Errors, CodeInternal) {
		h.responses.add(key, body)
	}
	return body
}

func hasCode(list gqlerror.List, code Code) bool {
	for _, e := range list {
		if e.Extensions["code"] == string(code) {
			return true
		}
	}
	return false
}

func encode(resp *graphql.Response) json.RawMessage {
	body, err := json.Marshal(resp)
	if err != nil {
		// A response holds only values gqlgen marshalled already.
		return json.RawMessage(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	return body
}

func writeErrors(w http.ResponseWriter, status int, code Code, format string, args ...any) {
	err := gqlerror.Errorf(format, args...)
	setCode(err, code)
	writeJSON(w, status, &graphql.Response{Errors: gqlerror.List{err}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// queryCache keeps parsed and validated documents by query text, so a
// portal's repeated queries skip the parser. When it holds max documents it
// starts over, which is simpler than LRU. A portal sends a few dozen
// distinct queries, so it rarely fills.
type queryCache struct {
	mu   sync.Mutex
	max  int
	docs map[string]*ast.QueryDocument
}

func newQueryCache(max int) *queryCache {
	return &queryCache{max: max, docs: make(map[string]*ast.QueryDocument)}
}

func (c *queryCache) Get(_ context.Context, key string) (*ast.QueryDocument, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	doc, ok := c.docs[key]
	return doc, ok
}

func (c *queryCache) Add(_ context.Context, key string, doc *ast.QueryDocument) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.docs) >= c.max {
		clear(c.docs)
	}
	c.docs[key] = doc
}

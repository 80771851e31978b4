package graph

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/axtract/axtract/graph/model"
	"github.com/axtract/axtract/internal/auth"
)

// The dashboard is the page every operator keeps open, so its queries would
// run once per viewer per refresh. Its data is the same for every staff
// viewer (the dashboard is staff only and has no partner scope), so one
// snapshot serves every request for Options.DashboardMaxAge, and the
// feeds and partners it names are handed to the request's memo, so the
// nested feed { partner { ... } } fields read no database either.

type dashboardSnapshot struct {
	loadedAt  time.Time
	counts    []*model.RunStatusCount
	late      int
	attention []*model.FeedHealth
	recent    []*model.Run
	running   []*model.RunProgress
	feeds     map[int64]*model.Feed
	partners  map[int64]*model.Partner
}

type dashboardCache struct {
	mu         sync.Mutex
	snap       *dashboardSnapshot
	refreshing bool
	// loading is closed when the first load ends. Requests that find a
	// snapshot do not wait for loads.
	loading chan struct{}
}

// dashboard returns the current snapshot. The first request loads it and
// concurrent requests wait for that load. A snapshot older than
// DashboardMaxAge is still returned while one background load replaces it.
// So no request waits behind a reload, and the data is at most
// DashboardMaxAge plus one load old.
func (r *Resolver) dashboard(ctx context.Context) (*dashboardSnapshot, error) {
	if r.opts.DashboardMaxAge < 0 {
		snap, err := r.loadDashboard(ctx)
		if err != nil {
			return nil, err
		}
		r.primeMemo(ctx, snap)
		return snap, nil
	}

	c := &r.dashboardCache
	c.mu.Lock()
	snap := c.snap
	switch {
	case snap == nil && c.loading == nil:
		c.loading = make(chan struct{})
		c.mu.Unlock()
		return r.firstDashboard(ctx)
	case snap == nil:
		wait := c.loading
		c.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, sqlError(ctx.Err(), "load dashboard")
		}
		return r.dashboard(ctx)
	case time.Since(snap.loadedAt) >= r.opts.DashboardMaxAge && !c.refreshing:
		c.refreshing = true
		go r.refreshDashboard(context.WithoutCancel(ctx))
	}
	c.mu.Unlock()
	r.primeMemo(ctx, snap)
	return snap, nil
}

// firstDashboard loads the first snapshot. On failure the next request
// tries again.
func (r *Resolver) firstDashboard(ctx context.Context) (*dashboardSnapshot, error) {
	c := &r.dashboardCache
	snap, err := r.loadDashboard(ctx)
	c.mu.Lock()
	if err == nil {
		c.snap = snap
	}
	close(c.loading)
	if err != nil {
		c.loading = nil
	}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	r.primeMemo(ctx, snap)
	return snap, nil
}

func (r *Resolver) refreshDashboard(ctx context.Context) {
	ctx, cancel := context.WithTimeout(withMemos(ctx), 30*time.Second)
	defer cancel()
	snap, err := r.loadDashboard(ctx)
	c := &r.dashboardCache
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		// The old snapshot stays, and the next request tries again.
		r.logger.WarnContext(ctx, "refresh dashboard failed", "err", redactErr(err))
		return
	}
	c.snap = snap
}

func (r *Resolver) loadDashboard(ctx context.Context) (*dashboardSnapshot, error) {
	snap := &dashboardSnapshot{loadedAt: time.Now(), feeds: map[int64]*model.Feed{}, partners: map[int64]*model.Partner{}}
	var err error
	if snap.counts, err = r.runsByStatus(ctx); err != nil {
		return nil, err
	}
	if snap.late, err = r.lateRuns(ctx); err != nil {
		return nil, err
	}
	all := maxPageSize
	if snap.attention, err = r.attention(ctx, &all); err != nil {
		return nil, err
	}
	recent := maxDashboardRuns
	if snap.recent, err = r.recentRuns(ctx, &recent); err != nil {
		return nil, err
	}
	if snap.running, err = r.running(ctx); err != nil {
		return nil, err
	}

	// Every feed and partner the snapshot names, in two queries.
	feeds, err := collect(ctx, r, "list feeds", scanFeed, `SELECT `+feedColumns+` FROM axtract.feed f`)
	if err != nil {
		return nil, err
	}
	for _, f := range feeds {
		snap.feeds[f.FeedID] = f
	}
	partners, err := collect(ctx, r, "list partners", scanPartner, `SELECT `+partnerColumns+` FROM axtract.partner p`)
	if err != nil {
		return nil, err
	}
	for _, p := range partners {
		snap.partners[p.PartnerID] = p
	}
	return snap, nil
}

// primeMemo stores the snapshot's feeds and partners in the request's memo.
// Only staff requests reach the dashboard, and staff read every partner,
// so the values are the ones feedByID and partnerByID would load.
func (r *Resolver) primeMemo(ctx context.Context, snap *dashboardSnapshot) {
	if scope, err := scopeOf(ctx); err != nil || scope != 0 {
		return
	}
	memoFor[model.Feed](ctx, "feed").prime(snap.feeds)
	memoFor[model.Partner](ctx, "partner").prime(snap.partners)
}

func (m *memo[T]) prime(values map[int64]*T) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, v := range values {
		if _, ok := m.entries[id]; ok {
			continue
		}
		e := &memoEntry[T]{done: make(chan struct{}), v: v}
		close(e.done)
		m.entries[id] = e
	}
}

// head returns the first n items of list, or all of them when n is nil.
func head[T any](list []T, n *int, def int) []T {
	size := def
	if n != nil {
		size = *n
	}
	if size < len(list) {
		return list[:size]
	}
	return list
}

// responseCache keeps the encoded responses of queries that read only the
// dashboard, for DashboardMaxAge. Staff viewers poll the same dashboard
// query, and its data is the shared snapshot anyway, so a response that is
// as old as the snapshot may be sent again without running the resolvers.
// The key holds the role, because field authorization makes the response
// differ by role, and the query text, operation name and variables.
type responseCache struct {
	maxAge  time.Duration
	mu      sync.Mutex
	entries map[string]cachedResponse
}

type cachedResponse struct {
	body []byte
	at   time.Time
}

// maxCachedResponses bounds the cache: distinct dashboard queries are few.
const maxCachedResponses = 256

func newResponseCache(maxAge time.Duration) *responseCache {
	return &responseCache{maxAge: maxAge, entries: map[string]cachedResponse{}}
}

// key returns the cache key of an operation, and whether its response may
// be cached: a query by staff whose root fields are only dashboard and
// __typename.
func (c *responseCache) key(p *auth.Principal, oc *graphql.OperationContext, params *graphql.RawParams) (string, bool) {
	if c.maxAge <= 0 || !isStaff(p) || oc.Operation.Operation != ast.Query {
		return "", false
	}
	dashboard := false
	for _, sel := range oc.Operation.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok || (f.Name != "dashboard" && f.Name != "__typename") {
			return "", false
		}
		dashboard = dashboard || f.Name == "dashboard"
	}
	if !dashboard {
		return "", false
	}
	vars, err := json.Marshal(params.Variables)
	if err != nil {
		return "", false
	}
	return string(p.Role) + "\x00" + params.OperationName + "\x00" + params.Query + "\x00" + string(vars), true
}

func (c *responseCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || time.Since(e.at) >= c.maxAge {
		return nil, false
	}
	return e.body, true
}

func (c *responseCache) add(key string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedResponses {
		clear(c.entries)
	}
	c.entries[key] = cachedResponse{body: body, at: time.Now()}
}

package graph

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/graph/model"
)

// The reads of the API. Every query that can return partners, feeds, runs
// or files filters in SQL on scope: the partner id a partner user is
// limited to, or 0 for staff. So a partner user's request cannot reach
// another partner's rows, whatever path it takes through the graph.

const partnerColumns = `p.partner_id, p.slug, p.name, p.purpose_of_use, p.contact_email, p.consent_default,
	p.zip3_version, p.date_shift_max_days, p.max_concurrent_runs, p.created_at`

func scanPartner(row pgx.Row) (*model.Partner, error) {
	var p model.Partner
	err := row.Scan(&p.PartnerID, &p.Slug, &p.Name, &p.PurposeOfUse, &p.ContactEmail, &p.ConsentDefault,
		&p.Zip3Version, &p.DateShiftMaxDays, &p.MaxConcurrentRuns, &p.CreatedAt)
	if err != nil {
		return nil, err
	}
	p.ID = strconv.FormatInt(p.PartnerID, 10)
	return &p, nil
}

const feedColumns = `f.feed_id, f.partner_id, f.view_id, f.destination_id, f.calendar, f.name, f.format,
	f.format_options, f.compression, f.encrypt, f.sign, f.manifest, f.trigger_suffix, f.file_name, f.schedule,
	f.time_zone, f.holiday_rule, f.catch_up, f.deadline::text, f.max_attempts,
	ARRAY(SELECT e.event FROM axtract.feed_event e WHERE e.feed_id = f.feed_id ORDER BY e.event),
	f.watermark_column, f.paused, f.paused_at, f.created_at`

func scanFeed(row pgx.Row) (*model.Feed, error) {
	var f model.Feed
	var formatOptions []byte
	err := row.Scan(&f.FeedID, &f.PartnerID, &f.ViewID, &f.DestinationID, &f.CalendarName, &f.Name, &f.Format,
		&formatOptions, &f.Compression, &f.Encrypt, &f.Sign, &f.Manifest, &f.TriggerSuffix, &f.FileName, &f.Schedule,
		&f.TimeZone, &f.HolidayRule, &f.CatchUp, &f.Deadline, &f.MaxAttempts, &f.Events,
		&f.WatermarkColumn, &f.Paused, &f.PausedAt, &f.CreatedAt)
	if err != nil {
		return nil, err
	}
	f.FormatOptions = formatOptions
	f.ID = strconv.FormatInt(f.FeedID, 10)
	return &f, nil
}

const runColumns = `r.run_id, r.feed_id, f.partner_id, r.slot, r.trigger, r.status, r.attempts, r.view_version,
	r.rows, r.bytes, r.sha256, r.error, r.started_at, r.finished_at, r.created_at, r.deadline_at, r.late_at,
	clock_timestamp()`

func scanRun(row pgx.Row) (*model.Run, error) {
	var r model.Run
	err := row.Scan(&r.RunID, &r.FeedID, &r.PartnerID, &r.Slot, &r.Trigger, &r.Status, &r.Attempts, &r.ViewVersion,
		&r.Rows, &r.Bytes, &r.Sha256, &r.Error, &r.StartedAt, &r.FinishedAt, &r.CreatedAt, &r.DeadlineAt, &r.LateAt,
		&r.Now)
	if err != nil {
		return nil, err
	}
	r.ID = strconv.FormatInt(r.RunID, 10)
	return &r, nil
}

const viewColumns = `v.view_id, v.partner_id, v.name, v.dataset, v.spec, v.compiled_sql, v.version, v.created_at, v.updated_at`

func scanView(row pgx.Row) (*model.View, error) {
	var v model.View
	var spec []byte
	err := row.Scan(&v.ViewID, &v.PartnerID, &v.Name, &v.Dataset, &spec, &v.CompiledSQL, &v.Version, &v.CreatedAt, &v.UpdatedAt)
	if err != nil {
		return nil, err
	}
	v.Spec = spec
	v.ID = strconv.FormatInt(v.ViewID, 10)
	return &v, nil
}

const destinationColumns = `d.destination_id, d.name, d.kind, d.config, d.max_concurrent_runs, d.created_at`

func scanDestination(row pgx.Row) (*model.Destination, error) {
	var d model.Destination
	var config []byte
	if err := row.Scan(&d.DestinationID, &d.Name, &d.Kind, &config, &d.MaxConcurrentRuns, &d.CreatedAt); err != nil {
		return nil, err
	}
	d.Config = config
	d.ID = strconv.FormatInt(d.DestinationID, 10)
	return &d, nil
}

const requestColumns = `q.request_id, q.partner_id, q.previous_id, q.feed_id, q.kind, q.status, q.view_name, q.version,
	q.spec, q.feed, q.template, q.created_by, q.created_at, q.updated_by, q.updated_at, q.submitted_by,
	q.submitted_at, q.reviewed_by, q.reviewed_at, q.review_comment, q.view_version`

func scanRequest(row pgx.Row) (*model.Request, error) {
	var q model.Request
	var spec, feed []byte
	err := row.Scan(&q.RequestID, &q.PartnerID, &q.PreviousID, &q.FeedID, &q.Kind, &q.Status, &q.ViewName, &q.Version,
		&spec, &feed, &q.Template, &q.CreatedBy, &q.CreatedAt, &q.UpdatedBy, &q.UpdatedAt, &q.SubmittedBy,
		&q.SubmittedAt, &q.ReviewedBy, &q.ReviewedAt, &q.ReviewComment, &q.ViewVersion)
	if err != nil {
		return nil, err
	}
	q.Spec, q.Feed = spec, feed
	q.ID = strconv.FormatInt(q.RequestID, 10)
	return &q, nil
}

// collect runs query and scans every row with scan.
func collect[T any](ctx context.Context, r *Resolver, what string, scan func(pgx.Row) (*T, error), query string, args ...any) ([]*T, error) {
	rows, err := r.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, sqlError(err, what)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, sqlError(err, what)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlError(err, what)
	}
	return out, nil
}

// one runs query and scans its single row; no row is (nil, nil).
func one[T any](ctx context.Context, r *Resolver, what string, scan func(pgx.Row) (*T, error), query string, args ...any) (*T, error) {
	v, err := scan(r.pool.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, sqlError(err, what)
	}
	return v, nil
}

func parseID(s, what string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid("invalid %s id %q: use the number the API returned", what, s)
	}
	return id, nil
}

// Lookups by id, memoized for the request: a page of runs names a few
// feeds, and their partners, many times over.

func (r *Resolver) partnerByID(ctx context.Context, id int64) (*model.Partner, error) {
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	return memoFor[model.Partner](ctx, "partner").get(id, func() (*model.Partner, error) {
		return one(ctx, r, "read partner", scanPartner,
			`SELECT `+partnerColumns+` FROM axtract.partner p WHERE p.partner_id = $1 AND ($2 = 0 OR p.partner_id = $2)`,
			id, scope)
	})
}

func (r *Resolver) partnerBySlug(ctx context.Context, slug string) (*model.Partner, error) {
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	return one(ctx, r, "read partner", scanPartner,
		`SELECT `+partnerColumns+` FROM axtract.partner p WHERE p.slug = $1 AND ($2 = 0 OR p.partner_id = $2)`,
		slug, scope)
}

// partnerIDBySlug returns the id of partner slug, or NOT_FOUND.
func (r *Resolver) partnerIDBySlug(ctx context.Context, slug string) (int64, error) {
	p, err := r.partnerBySlug(ctx, slug)
	if err != nil {
		return 0, err
	}
	if p == nil {
		return 0, notFound("partner %s not found", slug)
	}
	return p.PartnerID, nil
}

func (r *Resolver) feedByID(ctx context.Context, id int64) (*model.Feed, error) {
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	return memoFor[model.Feed](ctx, "feed").get(id, func() (*model.Feed, error) {
		return one(ctx, r, "read feed", scanFeed,
			`SELECT `+feedColumns+` FROM axtract.feed f WHERE f.feed_id = $1 AND ($2 = 0 OR f.partner_id = $2)`,
			id, scope)
	})
}

func (r *Resolver) feedByName(ctx context.Context, name string) (*model.Feed, error) {
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	return one(ctx, r, "read feed", scanFeed,
		`SELECT `+feedColumns+` FROM axtract.feed f WHERE f.name = $1 AND ($2 = 0 OR f.partner_id = $2)`,
		name, scope)
}

func (r *Resolver) runByID(ctx context.Context, id int64) (*model.Run, error) {
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	run, err := one(ctx, r, "read run", scanRun,
		`SELECT `+runColumns+` FROM axtract.run r JOIN axtract.feed f ON f.feed_id = r.feed_id
		 WHERE r.run_id = $1 AND ($2 = 0 OR f.partner_id = $2)`, id, scope)
	if err != nil || run == nil {
		return nil, err
	}
	return run, r.attachFeeds(ctx, []*model.Run{run})
}

// attachFeeds sets the Feed of each run: from the request's memo, and the
// rest in one query, which the memo then keeps.
func (r *Resolver) attachFeeds(ctx context.Context, runs []*model.Run) error {
	scope, err := scopeOf(ctx)
	if err != nil {
		return err
	}

	m := memoFor[model.Feed](ctx, "feed")
	var missing []int64
	for _, run := range runs {
		if f := m.done(run.FeedID); f != nil {
			run.Feed = f
		} else if !slices.Contains(missing, run.FeedID) {
			missing = append(missing, run.FeedID)
		}
	}
	if len(missing) == 0 {
		return nil
	}

	feeds, err := collect(ctx, r, "read feeds of runs", scanFeed,
		`SELECT `+feedColumns+` FROM axtract.feed f WHERE f.feed_id = ANY ($1) AND ($2 = 0 OR f.partner_id = $2)`,
		missing, scope)
	if err != nil {
		return err
	}
	loaded := make(map[int64]*model.Feed, len(feeds))
	for _, f := range feeds {
		loaded[f.FeedID] = f
	}
	m.prime(loaded)

	for _, run := range runs {
		if run.Feed == nil {
			run.Feed = loaded[run.FeedID]
		}
		if run.Feed == nil {
			// The run was read with the same scope, so only a feed deleted
			// in between gets here.
			return notFound("feed of run %s not found", run.ID)
		}
	}
	return nil
}

func (r *Resolver) viewByID(ctx context.Context, id int64) (*model.View, error) {
	return memoFor[model.View](ctx, "view").get(id, func() (*model.View, error) {
		return one(ctx, r, "read view", scanView, `SELECT `+viewColumns+` FROM axtract.partner_view v WHERE v.view_id = $1`, id)
	})
}

func (r *Resolver) destinationByID(ctx context.Context, id int64) (*model.Destination, error) {
	return memoFor[model.Destination](ctx, "destination").get(id, func() (*model.Destination, error) {
		return one(ctx, r, "read destination", scanDestination,
			`SELECT `+destinationColumns+` FROM axtract.destination d WHERE d.destination_id = $1`, id)
	})
}

// memo holds the values one request has loaded by id. Concurrent
// resolvers asking for the same id wait for one load.
type memo[T any] struct {
	mu      sync.Mutex
	entries map[int64]*memoEntry[T]
}

type memoEntry[T any] struct {
	done chan struct{}
	v    *T
	err  error
}

// done returns the value of id when it has been loaded without error.
func (m *memo[T]) done(id int64) *T {
	m.mu.Lock()
	e, ok := m.entries[id]
	m.mu.Unlock()
	if !ok {
		return nil
	}
	select {
	case <-e.done:
		if e.err == nil {
			return e.v
		}
	default:
	}
	return nil
}

func (m *memo[T]) get(id int64, load func() (*T, error)) (*T, error) {
	m.mu.Lock()
	e, ok := m.entries[id]
	if !ok {
		e = &memoEntry[T]{done: make(chan struct{})}
		m.entries[id] = e
	}
	m.mu.Unlock()
	if ok {
		<-e.done
		return e.v, e.err
	}
	e.v, e.err = load()
	close(e.done)
	return e.v, e.err
}

type memoKey struct{}

// memos is the per-request set of memo tables, by name.
type memos struct {
	mu     sync.Mutex
	tables map[string]any
}

func withMemos(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &memos{tables: map[string]any{}})
}

// memoFor returns the request's memo table name; without one (outside a
// request) it returns a fresh table, which memoizes nothing across calls.
func memoFor[T any](ctx context.Context, name string) *memo[T] {
	ms, _ := ctx.Value(memoKey{}).(*memos)
	if ms == nil {
		return &memo[T]{entries: map[int64]*memoEntry[T]{}}
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if t, ok := ms.tables[name].(*memo[T]); ok {
		return t
	}
	t := &memo[T]{entries: map[int64]*memoEntry[T]{}}
	ms.tables[name] = t
	return t
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

func scanDataset(row pgx.Row) (*model.Dataset, error) {
	var d model.Dataset
	if err := row.Scan(&d.Name, &d.Description); err != nil {
		return nil, err
	}
	return &d, nil
}

const datasetColumnColumns = `c.dataset, c.column_name, c.ordinal, c.data_type, c.classification, c.safe_harbor_kind,
	c.free_text, c.description`

func scanDatasetColumn(row pgx.Row) (*model.DatasetColumn, error) {
	var c model.DatasetColumn
	if err := row.Scan(&c.Dataset, &c.Name, &c.Ordinal, &c.DataType, &c.Classification, &c.SafeHarborKind,
		&c.FreeText, &c.Description); err != nil {
		return nil, err
	}
	return &c, nil
}

package graph

import (
	"context"
	"strconv"

	"github.com/axtract/axtract/graph/model"
)

// feedsPage lists feeds by name, of partner partnerID when it is not 0.
func (r *Resolver) feedsPage(ctx context.Context, partnerID int64, first *int, after *string) (*model.FeedConnection, error) {
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	size, err := pageSize(first, 20)
	if err != nil {
		return nil, err
	}
	key, err := decodeCursor("feed", after)
	if err != nil {
		return nil, err
	}
	rows, err := collect(ctx, r, "list feeds", scanFeed,
		`SELECT `+feedColumns+` FROM axtract.feed f
		 WHERE ($1 = 0 OR f.partner_id = $1) AND ($2 = 0 OR f.partner_id = $2) AND f.name > $3
		 ORDER BY f.name LIMIT $4`, scope, partnerID, key, size+1)
	if err != nil {
		return nil, err
	}
	rows, info := page(rows, size, after, func(f *model.Feed) string { return encodeCursor("feed", f.Name) })
	conn := &model.FeedConnection{PageInfo: info, Edges: make([]*model.FeedEdge, len(rows))}
	for i, f := range rows {
		conn.Edges[i] = &model.FeedEdge{Cursor: encodeCursor("feed", f.Name), Node: f}
	}
	return conn, nil
}

// runFilter selects runs for runsPage; zero fields do not filter.
type runFilter struct {
	feedID    int64
	partnerID int64
	statuses  []model.RunStatus
}

// runsPage lists runs newest first.
func (r *Resolver) runsPage(ctx context.Context, filter runFilter, first *int, after *string) (*model.RunConnection, error) {
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	size, err := pageSize(first, 20)
	if err != nil {
		return nil, err
	}
	afterID, err := decodeIDCursor("run", after)
	if err != nil {
		return nil, err
	}

	statuses := make([]string, len(filter.statuses))
	for i, s := range filter.statuses {
		statuses[i] = string(s)
	}
	rows, err := collect(ctx, r, "list runs", scanRun,
		`SELECT `+runColumns+` FROM axtract.run r JOIN axtract.feed f ON f.feed_id = r.feed_id
		 WHERE ($1 = 0 OR f.partner_id = $1) AND ($2 = 0 OR f.partner_id = $2) AND ($3 = 0 OR r.feed_id = $3)
		   AND (cardinality($4::text[]) = 0 OR r.status = ANY ($4)) AND ($5 = 0 OR r.run_id < $5)
		 ORDER BY r.run_id DESC LIMIT $6`, scope, filter.partnerID, filter.feedID, statuses, afterID, size+1)
	if err != nil {
		return nil, err
	}
	if err := r.attachFeeds(ctx, rows); err != nil {
		return nil, err
	}

	rows, info := page(rows, size, after, func(run *model.Run) string { return encodeCursor("run", run.ID) })
	conn := &model.RunConnection{PageInfo: info, Edges: make([]*model.RunEdge, len(rows))}
	for i, run := range rows {
		conn.Edges[i] = &model.RunEdge{Cursor: encodeCursor("run", run.ID), Node: run}
	}
	return conn, nil
}

func (r *Resolver) lastRun(ctx context.Context, feedID int64) (*model.Run, error) {
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	run, err := one(ctx, r, "read last run", scanRun,
		`SELECT `+runColumns+` FROM axtract.run r JOIN axtract.feed f ON f.feed_id = r.feed_id
		 WHERE r.feed_id = $1 AND ($2 = 0 OR f.partner_id = $2)
		 ORDER BY r.run_id DESC LIMIT 1`, feedID, scope)
	if err != nil || run == nil {
		return nil, err
	}
	return run, r.attachFeeds(ctx, []*model.Run{run})
}

func (r *Resolver) nextRuns(ctx context.Context, f *model.Feed, count *int) ([]*model.ScheduledSlot, error) {
	n := 5
	if count != nil {
		n = *count
	}
	if n < 0 || n > maxNextRuns {
		return nil, invalid("count must be between 0 and %d, not %d", maxNextRuns, n)
	}
	if f.Schedule == nil || n == 0 {
		return []*model.ScheduledSlot{}, nil
	}
	rows, err := r.pool.Query(ctx,
		`SELECT slot, to_char(local_time, 'YYYY-MM-DD"T"HH24:MI:SS'), time_zone FROM axtract.feed_next_runs($1, $2)`,
		f.Name, n)
	if err != nil {
		return nil, sqlError(err, "list next runs of feed "+f.Name)
	}
	defer rows.Close()
	out := []*model.ScheduledSlot{}
	for rows.Next() {
		var s model.ScheduledSlot
		if err := rows.Scan(&s.Slot, &s.LocalTime, &s.TimeZone); err != nil {
			return nil, sqlError(err, "list next runs of feed "+f.Name)
		}
		out = append(out, &s)
	}
	return out, sqlError(rows.Err(), "list next runs of feed "+f.Name)
}

// schedulePreview returns the first count slots after now of a draft
// schedule, as feed_define would compute them.
func (r *Resolver) schedulePreview(ctx context.Context, schedule string, timeZone, calendar, holidayRule *string,
	count *int) ([]*model.ScheduledSlot, error) {
	n := 5
	if count != nil {
		n = *count
	}
	if n < 0 || n > maxNextRuns {
		return nil, invalid("count must be between 0 and %d, not %d", maxNextRuns, n)
	}
	zone, rule := "UTC", "none"
	if timeZone != nil {
		zone = *timeZone
	}
	if holidayRule != nil {
		rule = *holidayRule
	}
	if calendar != nil && *calendar == "" {
		calendar = nil
	}
	rows, err := r.pool.Query(ctx, `
		SELECT s, to_char(s AT TIME ZONE $2, 'YYYY-MM-DD"T"HH24:MI:SS')
		FROM axtract.schedule_preview($1, $2, $3, $4, now(), $5) AS s`,
		schedule, zone, calendar, rule, n)
	if err != nil {
		return nil, sqlError(err, "preview schedule")
	}
	defer rows.Close()
	out := []*model.ScheduledSlot{}
	for rows.Next() {
		s := model.ScheduledSlot{TimeZone: zone}
		if err := rows.Scan(&s.Slot, &s.LocalTime); err != nil {
			return nil, sqlError(err, "preview schedule")
		}
		out = append(out, &s)
	}
	return out, sqlError(rows.Err(), "preview schedule")
}

func (r *Resolver) calendarByName(ctx context.Context, name string) (*model.Calendar, error) {
	cals, err := r.calendars(ctx, name)
	if err != nil || len(cals) == 0 {
		return nil, err
	}
	return cals[0], nil
}

// calendars lists the calendars, or only calendar name when it is set.
func (r *Resolver) calendars(ctx context.Context, name string) ([]*model.Calendar, error) {
	rows, err := r.pool.Query(ctx, `SELECT name, description, weekend::integer[], federal_holidays
		FROM axtract.calendar WHERE $1 = '' OR name = $1 ORDER BY name`, name)
	if err != nil {
		return nil, sqlError(err, "list calendars")
	}
	defer rows.Close()
	var out []*model.Calendar
	for rows.Next() {
		var c model.Calendar
		if err := rows.Scan(&c.Name, &c.Description, &c.Weekend, &c.FederalHolidays); err != nil {
			return nil, sqlError(err, "list calendars")
		}
		out = append(out, &c)
	}
	return out, sqlError(rows.Err(), "list calendars")
}

func (r *Resolver) runFiles(ctx context.Context, run *model.Run) ([]*model.RunFile, error) {
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, `
		SELECT rf.file_id, rf.run_id, f.partner_id, d.kind, rf.name, rf.kind, rf.part, rf.rows, rf.bytes, rf.sha256, rf.created_at
		FROM axtract.run_file rf
		JOIN axtract.run r ON r.run_id = rf.run_id
		JOIN axtract.feed f ON f.feed_id = r.feed_id
		JOIN axtract.destination d ON d.destination_id = f.destination_id
		WHERE rf.run_id = $1 AND ($2 = 0 OR f.partner_id = $2)
		ORDER BY rf.file_id`, run.RunID, scope)
	if err != nil {
		return nil, sqlError(err, "list files of run")
	}
	defer rows.Close()
	out := []*model.RunFile{}
	for rows.Next() {
		var f model.RunFile
		if err := rows.Scan(&f.FileID, &f.RunID, &f.PartnerID, &f.DestinationKind, &f.Name, &f.Kind, &f.Part,
			&f.Rows, &f.Bytes, &f.Sha256, &f.CreatedAt); err != nil {
			return nil, sqlError(err, "list files of run")
		}
		f.ID = strconv.FormatInt(f.FileID, 10)
		out = append(out, &f)
	}
	return out, sqlError(rows.Err(), "list files of run")
}

package graph

import (
	"context"

	"github.com/axtract/axtract/graph/model"
)

// The dashboard reads whole-table aggregates, so it is staff only (the
// Dashboard type's @hasRole) and needs no partner scope.

func (r *Resolver) runsByStatus(ctx context.Context) ([]*model.RunStatusCount, error) {
	counts := map[model.RunStatus]int64{}
	rows, err := r.pool.Query(ctx, `SELECT status, count(*) FROM axtract.run GROUP BY status`)
	if err != nil {
		return nil, sqlError(err, "count runs")
	}
	defer rows.Close()
	for rows.Next() {
		var status model.RunStatus
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return nil, sqlError(err, "count runs")
		}
		counts[status] = n
	}
	if err := rows.Err(); err != nil {
		return nil, sqlError(err, "count runs")
	}
	out := make([]*model.RunStatusCount, len(model.AllRunStatuses))
	for i, s := range model.AllRunStatuses {
		out[i] = &model.RunStatusCount{Status: s, Count: counts[s]}
	}
	return out, nil
}

// lateCondition is true for a run that missed its deadline and is not
// delivered; run_deadline_idx covers the second half.
const lateCondition = `r.status NOT IN ('succeeded', 'discarded') AND (r.late_at IS NOT NULL OR r.deadline_at < now())`

func (r *Resolver) lateRuns(ctx context.Context) (int, error) {
	var n int
	err := r.pool.QueryRow(ctx, `SELECT count(*) FROM axtract.run r WHERE `+lateCondition).Scan(&n)
	return n, sqlError(err, "count late runs")
}

// attention lists the feeds that are late, failed, held, retrying or
// paused, in that order, each with its last run. A feed is held while any
// of its runs is, since a later run does not decide a held one.
func (r *Resolver) attention(ctx context.Context, first *int) ([]*model.FeedHealth, error) {
	size, err := pageSize(first, 20)
	if err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, `
		WITH health AS (
		    SELECT f.feed_id, f.paused, lr.run_id, lr.status,
		           EXISTS (SELECT FROM axtract.run r WHERE r.feed_id = f.feed_id AND `+lateCondition+`) AS late,
		           EXISTS (SELECT FROM axtract.run r WHERE r.feed_id = f.feed_id AND r.status = 'held') AS held
		    FROM axtract.feed f
		    LEFT JOIN LATERAL (
		        SELECT r.run_id, r.status FROM axtract.run r WHERE r.feed_id = f.feed_id ORDER BY r.run_id DESC LIMIT 1
		    ) lr ON true
		), ranked AS (
		    SELECT feed_id, run_id,
		           CASE WHEN late THEN 'late'
		                WHEN status = 'failed' THEN 'failed'
		                WHEN held THEN 'held'
		                WHEN status = 'retrying' THEN 'retrying'
		                WHEN paused THEN 'paused'
		                ELSE 'ok' END AS state
		    FROM health
		)
		SELECT feed_id, run_id, state FROM ranked
		WHERE state <> 'ok'
		ORDER BY array_position(ARRAY['late', 'failed', 'held', 'retrying', 'paused'], state), feed_id
		LIMIT $1`, size)
	if err != nil {
		return nil, sqlError(err, "list feeds that need attention")
	}
	type entry struct {
		feedID int64
		runID  *int64
		state  model.FeedState
	}
	var entries []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.feedID, &e.runID, &e.state); err != nil {
			rows.Close()
			return nil, sqlError(err, "list feeds that need attention")
		}
		entries = append(entries, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, sqlError(err, "list feeds that need attention")
	}

	out := make([]*model.FeedHealth, 0, len(entries))
	for _, e := range entries {
		f, err := r.feedByID(ctx, e.feedID)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue // deleted since the first query
		}
		h := &model.FeedHealth{Feed: f, State: e.state}
		if e.runID != nil {
			if h.LastRun, err = r.runByID(ctx, *e.runID); err != nil {
				return nil, err
			}
		}
		out = append(out, h)
	}
	return out, nil
}

func (r *Resolver) recentRuns(ctx context.Context, first *int) ([]*model.Run, error) {
	n := 50
	if first != nil {
		n = *first
	}
	if n < 0 || n > maxDashboardRuns {
		return nil, invalid("first must be between 0 and %d, not %d", maxDashboardRuns, n)
	}
	runs, err := collect(ctx, r, "list recent runs", scanRun,
		`SELECT `+runColumns+` FROM axtract.run r JOIN axtract.feed f ON f.feed_id = r.feed_id
		 ORDER BY r.run_id DESC LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	return runs, r.attachFeeds(ctx, runs)
}

// running lists the runs extracting now with the progress of their COPY.
// PostgreSQL reports COPY progress per backend (pg_stat_progress_copy). The
// extract's transaction sets application_name to "axtract run <id>"
// (internal/extract), which finds its backend.
func (r *Resolver) running(ctx context.Context) ([]*model.RunProgress, error) {
	rows, err := r.pool.Query(ctx, `
		SELECT `+runColumns+`, pc.tuples_processed, pc.bytes_processed
		FROM axtract.run r
		JOIN axtract.feed f ON f.feed_id = r.feed_id
		LEFT JOIN LATERAL (
		    SELECT c.tuples_processed, c.bytes_processed
		    FROM pg_stat_progress_copy c
		    JOIN pg_stat_activity a ON a.pid = c.pid
		    WHERE c.command = 'COPY TO' AND a.application_name = 'axtract run ' || r.run_id
		    LIMIT 1
		) pc ON true
		WHERE r.status = 'running'
		ORDER BY r.started_at NULLS LAST, r.run_id`)
	if err != nil {
		return nil, sqlError(err, "list running runs")
	}
	defer rows.Close()
	out := []*model.RunProgress{}
	for rows.Next() {
		var run model.Run
		var p model.RunProgress
		if err := rows.Scan(&run.RunID, &run.FeedID, &run.PartnerID, &run.Slot, &run.Trigger, &run.Status, &run.Attempts,
			&run.ViewVersion, &run.Rows, &run.Bytes, &run.Sha256, &run.Error, &run.StartedAt, &run.FinishedAt,
			&run.CreatedAt, &run.DeadlineAt, &run.LateAt, &run.Now, &p.RowsCopied, &p.BytesCopied); err != nil {
			return nil, sqlError(err, "list running runs")
		}
		run.ID = idString(run.RunID)
		p.Run = &run
		out = append(out, &p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, sqlError(err, "list running runs")
	}
	runs := make([]*model.Run, len(out))
	for i, p := range out {
		runs[i] = p.Run
	}
	return out, r.attachFeeds(ctx, runs)
}

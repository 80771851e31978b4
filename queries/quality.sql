-- name: FeedQualityRules :one
-- Returns the quality rules of a feed. Returns no row when the feed has none.
SELECT rules
FROM axtract.feed_quality
WHERE feed_id = @feed_id;

-- name: RunQualityReleased :one
-- Reports whether an operator has released held run run_id, so its next
-- attempt delivers despite broken rules. Returns no row when the run has no
-- quality result yet.
SELECT (released_at IS NOT NULL)::boolean AS released
FROM axtract.run_quality
WHERE run_id = @run_id;

-- name: RunPreviousRows :one
-- Returns the rows of the latest finished succeeded run of run_id's feed,
-- other than run_id itself. Returns no row before the feed's first delivery.
SELECT prev.rows
FROM axtract.run r
JOIN axtract.run prev ON prev.feed_id = r.feed_id
WHERE r.run_id = @run_id
  AND prev.run_id <> r.run_id
  AND prev.status = 'succeeded'
ORDER BY prev.finished_at DESC NULLS LAST, prev.run_id DESC
LIMIT 1;

-- name: RunQualityRecord :exec
-- Stores the quality result of an attempt of a run, replacing the result of
-- an earlier attempt. The release and discard columns are kept.
INSERT INTO axtract.run_quality AS q (
    run_id,
    feed_id,
    rules,
    outcome,
    rows,
    previous_rows,
    measures,
    violations
)
SELECT
    r.run_id,
    r.feed_id,
    @rules,
    @outcome,
    @rows,
    @previous_rows,
    @measures,
    @violations
FROM axtract.run r
WHERE r.run_id = @run_id
ON CONFLICT (run_id) DO UPDATE SET
    rules = EXCLUDED.rules,
    outcome = EXCLUDED.outcome,
    rows = EXCLUDED.rows,
    previous_rows = EXCLUDED.previous_rows,
    measures = EXCLUDED.measures,
    violations = EXCLUDED.violations,
    checked_at = now();

-- name: RunQualityGet :one
-- Returns the quality result of a run, for the API and the portal. Returns
-- no row when the run's feed had no rules when it ran.
SELECT
    run_id,
    feed_id,
    rules,
    outcome,
    rows,
    previous_rows,
    measures,
    violations,
    checked_at,
    released_at,
    released_by,
    discarded_at,
    discarded_by
FROM axtract.run_quality
WHERE run_id = @run_id;

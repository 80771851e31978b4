-- name: RunCreate :one
-- Creates the run of a feed for a slot. Returns no row when the slot already
-- has a run, which is how a slot is delivered once.
INSERT INTO axtract.run (feed_id, slot, trigger)
VALUES (@feed_id, @slot, @trigger)
ON CONFLICT (feed_id, slot) DO NOTHING
RETURNING run_id;

-- name: RunGet :one
SELECT * FROM axtract.run WHERE run_id = @run_id;

-- name: RunStart :one
-- Marks a run as running for one more attempt. Returns no row when the run
-- has already succeeded, so a duplicate job cannot deliver it again, and
-- when it is held or discarded, which only an operator's release ends.
UPDATE axtract.run
SET status = 'running',
    attempts = attempts + 1,
    started_at = coalesce(started_at, now()),
    error = NULL
WHERE run_id = @run_id
  AND status NOT IN ('succeeded', 'held', 'discarded')
RETURNING attempts;

-- name: RunSucceed :exec
-- Records a delivered run. When the run's watermark window starts at the
-- feed's watermark, the watermark moves to the window's end. A re-run of an
-- older window leaves it alone.
WITH delivered AS (
    UPDATE axtract.run
    SET status = 'succeeded',
        view_version = @view_version,
        view_sql = @view_sql,
        file_name = @file_name,
        rows = @rows,
        bytes = @bytes,
        sha256 = @sha256,
        error = NULL,
        finished_at = now()
    WHERE run_id = @run_id
    RETURNING feed_id, watermark_window
)
UPDATE axtract.feed f
SET watermark = d.watermark_window->>'to'
FROM delivered d
WHERE f.feed_id = d.feed_id
  AND d.watermark_window->>'to' IS NOT NULL
  AND f.watermark_column = d.watermark_window->>'column'
  AND f.watermark IS NOT DISTINCT FROM d.watermark_window->>'from';

-- name: RunSetWindow :execrows
-- Fixes the watermark window of a run at its first attempt. Returns no row
-- affected when the run already has one.
UPDATE axtract.run
SET watermark_window = @watermark_window
WHERE run_id = @run_id
  AND watermark_window IS NULL;

-- name: RunControlNumberTake :one
-- Gives a run the next interchange control number of its partner. Returns
-- no row when the run already has one, which its retries then reuse.
WITH taken AS (
    INSERT INTO axtract.partner_control_number AS c (partner_id, last_value)
    SELECT f.partner_id, 1
    FROM axtract.run r
    JOIN axtract.feed f ON f.feed_id = r.feed_id
    WHERE r.run_id = @run_id
      AND r.control_number IS NULL
    ON CONFLICT (partner_id) DO UPDATE SET last_value = c.last_value + 1
    RETURNING last_value
)
UPDATE axtract.run AS u
SET control_number = (SELECT last_value FROM taken)
WHERE u.run_id = @run_id
  AND u.control_number IS NULL
RETURNING u.control_number::bigint;

-- name: RunFileAdd :exec
-- Records one file a run delivered, in the transaction that marks the run
-- succeeded.
INSERT INTO axtract.run_file (run_id, name, kind, part, rows, bytes, sha256)
VALUES (@run_id, @name, @kind, @part, @rows, @bytes, @sha256);

-- name: RunFileList :many
-- Lists the files of a run in delivery order.
SELECT
    name,
    kind,
    part,
    rows,
    bytes,
    sha256
FROM axtract.run_file
WHERE run_id = @run_id
ORDER BY file_id;

-- name: RunSetJob :exec
-- Records the River job that delivers a run.
UPDATE axtract.run
SET job_id = @job_id
WHERE run_id = @run_id;

-- name: RunRetryBase :one
-- Returns the retry_base of a run's feed in seconds, 0 when the feed has none.
SELECT coalesce(extract(epoch FROM f.retry_base), 0)::float8 AS seconds
FROM axtract.run r
JOIN axtract.feed f ON f.feed_id = r.feed_id
WHERE r.run_id = @run_id;

-- name: RunList :many
-- Lists the newest runs, optionally of one feed.
SELECT
    r.run_id,
    f.name AS feed_name,
    r.slot,
    r.trigger,
    r.status,
    r.attempts,
    r.rows,
    r.bytes,
    r.file_name,
    r.error,
    r.finished_at
FROM axtract.run r
JOIN axtract.feed f ON f.feed_id = r.feed_id
WHERE (sqlc.narg(feed_name)::text IS NULL OR f.name = sqlc.narg(feed_name))
ORDER BY r.run_id DESC
LIMIT @max_rows;

-- name: AuditAppend :exec
INSERT INTO axtract.audit_event (action, partner_id, feed_id, run_id, detail)
VALUES (@action, @partner_id, @feed_id, @run_id, @detail);

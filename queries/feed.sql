-- name: FeedByName :one
-- Returns what an on-demand run needs to know of a feed named by a user.
SELECT
    feed_id,
    paused,
    max_attempts
FROM axtract.feed
WHERE name = @name;

-- name: FeedByID :one
-- Returns a feed with what a run needs to know of its partner, view and destination.
SELECT
    f.feed_id,
    f.name,
    f.format,
    f.compression,
    f.encrypt,
    f.file_name,
    f.schedule,
    f.time_zone,
    f.paused,
    f.max_attempts,
    f.watermark_column,
    f.watermark,
    f.empty_window,
    f.format_options,
    f.sign,
    f.manifest,
    f.trigger_suffix,
    p.partner_id,
    p.slug AS partner_slug,
    v.name AS view_name,
    v.version AS view_version,
    d.name AS destination_name,
    d.kind AS destination_kind,
    d.config AS destination_config
FROM axtract.feed f
JOIN axtract.partner p ON p.partner_id = f.partner_id
JOIN axtract.partner_view v ON v.view_id = f.view_id
JOIN axtract.destination d ON d.destination_id = f.destination_id
WHERE f.feed_id = @feed_id;

-- name: FeedList :many
-- Lists every feed with its partner and the run of its latest slot, the newest one when a slot
-- ran more than once. last_run_id is 0 for a feed that never ran. Runs that a backfill adds for
-- earlier slots do not count as the latest.
SELECT
    f.feed_id,
    f.name,
    p.slug AS partner_slug,
    f.schedule,
    f.time_zone,
    f.paused,
    f.next_slot,
    coalesce(r.run_id, 0)::bigint AS last_run_id,
    coalesce(r.status, '')::text AS last_status
FROM axtract.feed f
JOIN axtract.partner p ON p.partner_id = f.partner_id
LEFT JOIN (
    SELECT DISTINCT ON (feed_id)
        feed_id,
        run_id,
        status
    FROM axtract.run
    ORDER BY feed_id, slot DESC, run_id DESC
) r ON r.feed_id = f.feed_id
ORDER BY f.name;

-- name: PartnerKeyNewest :one
-- Returns the newest OpenPGP key of a partner.
SELECT
    fingerprint,
    armored
FROM axtract.partner_key
WHERE partner_id = @partner_id
ORDER BY created_at DESC
LIMIT 1;

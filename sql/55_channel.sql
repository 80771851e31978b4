-- Delivery channels: API tokens of the partner pull API, webhooks, and the
-- notices (email outbox rows and webhook events) that a run's outcome
-- creates. docs/channels.md explains the channels.
--
-- Notices never carry member data. They name the feed, the partner, the
-- files and their counts, sizes and checksums, which the control schema
-- records about a run. Nothing here reads the mart.

-- ---------------------------------------------------------------------------
-- API tokens

-- Stores a new API token of partner p_slug. The caller generates the token
-- and passes only its SHA-256 and its first characters. Returns the token id.
CREATE OR REPLACE FUNCTION axtract.api_token_create(
    p_slug text,
    p_hash bytea,
    p_prefix text,
    p_scopes text[],
    p_expires_at timestamptz,
    p_note text DEFAULT ''
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    pid bigint;
    id  bigint;
BEGIN
    SELECT partner_id INTO pid FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    IF coalesce(cardinality(p_scopes), 0) = 0 OR NOT p_scopes <@ ARRAY['list', 'download'] THEN
        RAISE EXCEPTION 'invalid token scopes %', coalesce(array_to_string(p_scopes, ','), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use list, download or both.';
    END IF;
    IF p_expires_at IS NULL OR p_expires_at <= now() THEN
        RAISE EXCEPTION 'token expiry % is not in the future', coalesce(p_expires_at::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a positive duration such as 720h.';
    END IF;
    INSERT INTO axtract.api_token (partner_id, token_hash, prefix, scopes, expires_at, note)
    VALUES (pid, p_hash, p_prefix, (SELECT array_agg(DISTINCT s ORDER BY s) FROM unnest(p_scopes) s), p_expires_at, coalesce(p_note, ''))
    RETURNING token_id INTO id;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('api_token.create', pid, jsonb_build_object('token_id', id, 'prefix', p_prefix, 'scopes', p_scopes, 'expires_at', p_expires_at));
    RETURN id;
END
$$;

-- Revokes API token p_token_id at once. Returns false when it was already
-- revoked.
CREATE OR REPLACE FUNCTION axtract.api_token_revoke(p_token_id bigint) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    t axtract.api_token;
BEGIN
    SELECT * INTO t FROM axtract.api_token WHERE token_id = p_token_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'API token % not found', p_token_id
            USING ERRCODE = 'no_data_found', HINT = 'axtract token list PARTNER shows the token ids.';
    END IF;
    IF t.revoked_at IS NOT NULL THEN
        RETURN false;
    END IF;
    UPDATE axtract.api_token SET revoked_at = now() WHERE token_id = p_token_id;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('api_token.revoke', t.partner_id, jsonb_build_object('token_id', t.token_id, 'prefix', t.prefix));
    RETURN true;
END
$$;

-- ---------------------------------------------------------------------------
-- Webhooks

-- Defines, or redefines, the webhook of partner p_slug at p_url, for every
-- feed of the partner or only for feed p_feed. Returns the webhook id.
CREATE OR REPLACE FUNCTION axtract.webhook_define(
    p_slug text,
    p_url text,
    p_secret bytea,
    p_events text[],
    p_feed text DEFAULT NULL,
    p_timeout interval DEFAULT interval '10 seconds'
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    pid bigint;
    fid bigint;
    id  bigint;
BEGIN
    SELECT partner_id INTO pid FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    IF p_feed IS NOT NULL THEN
        SELECT feed_id INTO fid FROM axtract.feed WHERE name = p_feed AND partner_id = pid;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'feed % of partner % not found', p_feed, p_slug USING ERRCODE = 'no_data_found';
        END IF;
    END IF;
    IF p_url IS NULL OR p_url !~ '^https?://[^/?#]+' THEN
        RAISE EXCEPTION 'invalid webhook URL %', coalesce(quote_literal(p_url), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use an http:// or https:// URL with a host.';
    END IF;
    IF coalesce(octet_length(p_secret), 0) < 16 THEN
        RAISE EXCEPTION 'webhook secret has % bytes, fewer than 16', coalesce(octet_length(p_secret), 0)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use at least 16 random bytes, e.g. openssl rand -hex 32.';
    END IF;
    IF coalesce(cardinality(p_events), 0) = 0 OR NOT p_events <@ ARRAY['run.delivered', 'run.failed'] THEN
        RAISE EXCEPTION 'invalid webhook events %', coalesce(array_to_string(p_events, ','), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use run.delivered, run.failed or both.';
    END IF;
    IF p_timeout IS NULL OR p_timeout <= interval '0' OR p_timeout > interval '5 minutes' THEN
        RAISE EXCEPTION 'webhook timeout % is out of range', coalesce(p_timeout::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use more than 0 and at most 5 minutes.';
    END IF;
    INSERT INTO axtract.webhook (partner_id, feed_id, url, secret, events, timeout)
    VALUES (pid, fid, p_url, p_secret, p_events, p_timeout)
    ON CONFLICT (partner_id, coalesce(feed_id, 0), url) DO UPDATE
        SET secret = EXCLUDED.secret, events = EXCLUDED.events, timeout = EXCLUDED.timeout, disabled_at = NULL
    RETURNING webhook_id INTO id;
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, detail)
    VALUES ('webhook.define', pid, fid, jsonb_build_object('webhook_id', id, 'url', p_url, 'events', p_events));
    RETURN id;
END
$$;

-- Inserts one River job of kind axtract.webhook per delivery, with args
-- {"delivery_id": N}, as River's own client writes them for
-- worker.WebhookArgs (River v0.51.2): queue default, priority 1, state
-- available, no unique key because each delivery row exists once. Wakes
-- River's producers like river_jobs_insert does.
CREATE OR REPLACE FUNCTION axtract.webhook_jobs_insert(p_delivery_ids bigint[]) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    n integer;
BEGIN
    IF coalesce(cardinality(p_delivery_ids), 0) = 0 THEN
        RETURN 0;
    END IF;
    INSERT INTO river.river_job (args, kind, max_attempts, priority, queue, state, tags, metadata)
    SELECT jsonb_build_object('delivery_id', d), 'axtract.webhook', 12, 1, 'default', 'available', '{}', '{}'
    FROM unnest(p_delivery_ids) AS d;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM pg_notify('river.river_insert', '{"queue": "default"}');
    RETURN n;
END
$$;

-- The files of run p_run_id as a JSON array of {name, kind, part, rows,
-- bytes, sha256}, from run_file, or from the run's own columns for a run
-- recorded without run_file rows.
CREATE OR REPLACE FUNCTION axtract.run_files_json(p_run_id bigint) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        (SELECT jsonb_agg(jsonb_build_object('name', rf.name, 'kind', rf.kind, 'part', rf.part,
                                             'rows', rf.rows, 'bytes', rf.bytes, 'sha256', rf.sha256)
                          ORDER BY rf.file_id)
         FROM axtract.run_file rf WHERE rf.run_id = p_run_id),
        (SELECT jsonb_build_array(jsonb_build_object('name', r.file_name, 'kind', 'data', 'part', NULL,
                                                     'rows', r.rows, 'bytes', r.bytes, 'sha256', r.sha256))
         FROM axtract.run r WHERE r.run_id = p_run_id AND r.file_name IS NOT NULL),
        '[]'::jsonb)
$$;

-- Creates the webhook deliveries of event p_event of run p_run_id, one per
-- enabled webhook of the run's partner that covers the feed and the event,
-- and their River jobs. A delivery that already exists is not created again.
CREATE OR REPLACE FUNCTION axtract.webhook_event(p_run_id bigint, p_event text) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    ids bigint[];
BEGIN
    WITH created AS (
        INSERT INTO axtract.webhook_delivery (webhook_id, run_id, event, body)
        SELECT w.webhook_id, r.run_id, p_event,
               jsonb_build_object(
                   'event', p_event,
                   'feed', f.name,
                   'partner', p.slug,
                   'run_id', r.run_id,
                   'files', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', e->>'name', 'rows', (e->'rows'),
                                                                          'bytes', (e->'bytes'), 'sha256', e->>'sha256')), '[]')
                             FROM jsonb_array_elements(CASE WHEN p_event = 'run.delivered'
                                                            THEN axtract.run_files_json(r.run_id) ELSE '[]' END) e),
                   'at', to_char(coalesce(r.finished_at, now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
               )::text
        FROM axtract.run r
        JOIN axtract.feed f ON f.feed_id = r.feed_id
        JOIN axtract.partner p ON p.partner_id = f.partner_id
        JOIN axtract.webhook w ON w.partner_id = f.partner_id AND (w.feed_id IS NULL OR w.feed_id = f.feed_id)
        WHERE r.run_id = p_run_id
          AND w.disabled_at IS NULL
          AND p_event = ANY (w.events)
          AND NOT EXISTS (SELECT FROM axtract.webhook_delivery d
                          WHERE d.webhook_id = w.webhook_id AND d.run_id = r.run_id AND d.event = p_event)
        RETURNING delivery_id
    )
    SELECT array_agg(delivery_id ORDER BY delivery_id) INTO ids FROM created;
    RETURN axtract.webhook_jobs_insert(ids);
END
$$;

-- ---------------------------------------------------------------------------
-- Notices of delivered, failed and held runs

-- Records that the runs p_run_ids of one feed are held: they wait and will
-- not deliver until someone acts, because their feed is paused or, for a
-- caller that checks data before delivery, because a check failed
-- (p_reason gives the reason). Creates one run_held notice for the feed's
-- contacts naming every run, and none when the feed has no contacts.
CREATE OR REPLACE FUNCTION axtract.run_held(p_run_ids bigint[], p_reason text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF coalesce(cardinality(p_run_ids), 0) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO axtract.notification (kind, feed_id, run_id, recipients, subject, detail)
    SELECT 'run_held', f.feed_id, min(r.run_id), axtract.feed_recipients(f.feed_id),
           format('Feed %s: %s held (%s)', f.name,
                  CASE WHEN count(*) = 1 THEN format('run %s', min(r.run_id)) ELSE format('%s runs', count(*)) END,
                  p_reason),
           jsonb_build_object('feed', f.name, 'partner', p.slug, 'reason', p_reason,
                              'runs', jsonb_agg(jsonb_build_object('run_id', r.run_id, 'slot', r.slot) ORDER BY r.run_id),
                              'resume', CASE WHEN f.paused THEN format('axtract feed resume %s', f.name) END)
    FROM axtract.run r
    JOIN axtract.feed f ON f.feed_id = r.feed_id
    JOIN axtract.partner p ON p.partner_id = f.partner_id
    WHERE r.run_id = ANY (p_run_ids)
    GROUP BY f.feed_id, f.name, f.paused, p.slug
    HAVING cardinality(axtract.feed_recipients(f.feed_id)) > 0;
END
$$;

-- Runs at commit of a transaction that changed a run's status, so the
-- run_file rows written in the same transaction are there. A run that
-- succeeded gets a run_delivered notice and run.delivered webhooks; a run
-- that failed for good gets run.failed webhooks (axtract.run_fail writes its
-- run_failed notice).
CREATE OR REPLACE FUNCTION axtract.run_outcome_notify() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    SELECT run.run_id, run.status, run.slot, run.rows, run.bytes, f.feed_id, f.name AS feed, p.slug
    INTO r
    FROM axtract.run
    JOIN axtract.feed f ON f.feed_id = run.feed_id
    JOIN axtract.partner p ON p.partner_id = f.partner_id
    WHERE run.run_id = NEW.run_id;
    -- The status may have changed again later in the transaction; the last
    -- one counts, and its own trigger event handles it.
    IF NOT FOUND OR r.status <> NEW.status THEN
        RETURN NULL;
    END IF;
    IF r.status = 'succeeded' THEN
        INSERT INTO axtract.notification (kind, feed_id, run_id, recipients, subject, detail)
        SELECT 'run_delivered', r.feed_id, r.run_id, axtract.feed_recipients(r.feed_id),
               format('Feed %s: run %s delivered %s rows', r.feed, r.run_id, coalesce(r.rows, 0)),
               jsonb_build_object('feed', r.feed, 'partner', r.slug, 'slot', r.slot, 'rows', r.rows, 'bytes', r.bytes,
                                  'files', axtract.run_files_json(r.run_id))
        WHERE cardinality(axtract.feed_recipients(r.feed_id)) > 0
          AND NOT EXISTS (SELECT FROM axtract.notification n WHERE n.run_id = r.run_id AND n.kind = 'run_delivered');
        PERFORM axtract.webhook_event(r.run_id, 'run.delivered');
    ELSIF r.status = 'failed' THEN
        PERFORM axtract.webhook_event(r.run_id, 'run.failed');
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS run_outcome_notify ON axtract.run;
CREATE CONSTRAINT TRIGGER run_outcome_notify
    AFTER UPDATE OF status ON axtract.run
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('succeeded', 'failed'))
    EXECUTE FUNCTION axtract.run_outcome_notify();

-- Runs created for a paused feed (a manual run, a backfill) wait for it to
-- resume: they are held.
CREATE OR REPLACE FUNCTION axtract.run_insert_held() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT array_agg(n.run_id ORDER BY n.run_id) AS run_ids
        FROM new_runs n
        JOIN axtract.feed fd ON fd.feed_id = n.feed_id
        WHERE fd.paused AND n.status IN ('queued', 'retrying')
        GROUP BY fd.feed_id
    LOOP
        PERFORM axtract.run_held(f.run_ids, 'feed paused');
    END LOOP;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER run_insert_held
    AFTER INSERT ON axtract.run
    REFERENCING NEW TABLE AS new_runs
    FOR EACH STATEMENT
    EXECUTE FUNCTION axtract.run_insert_held();

-- Pausing a feed puts its unfinished runs on hold.
CREATE OR REPLACE FUNCTION axtract.feed_pause_held() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM axtract.run_held(
        (SELECT array_agg(r.run_id ORDER BY r.run_id) FROM axtract.run r
         WHERE r.feed_id = NEW.feed_id AND r.status IN ('queued', 'running', 'retrying')),
        'feed paused');
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER feed_pause_held
    AFTER UPDATE OF paused ON axtract.feed
    FOR EACH ROW
    WHEN (NEW.paused AND NOT OLD.paused)
    EXECUTE FUNCTION axtract.feed_pause_held();

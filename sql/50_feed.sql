-- Destinations and feeds.

-- Create or update a destination of a partner. Returns its id.
CREATE OR REPLACE FUNCTION axtract.destination_define(p_slug text, p_name text, p_kind text, p_config jsonb) RETURNS bigint
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
    IF p_kind = 'sftp' AND (coalesce(p_config->>'host', '') = '' OR coalesce(p_config->>'host_key', '') = '' OR coalesce(p_config->>'user', '') = '') THEN
        RAISE EXCEPTION 'sftp destination % needs host, user and host_key', p_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'host_key is the server''s public key line, as ssh-keyscan prints it without the host name.';
    END IF;
    IF p_kind = 'local' AND coalesce(p_config->>'dir', '') = '' THEN
        RAISE EXCEPTION 'local destination % needs dir', p_name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_config ?| ARRAY['password', 'private_key'] THEN
        RAISE EXCEPTION 'destination % must not hold secrets', p_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Reference them by file: password_file, private_key_file.';
    END IF;
    INSERT INTO axtract.destination (partner_id, name, kind, config)
    VALUES (pid, p_name, p_kind, p_config)
    ON CONFLICT (partner_id, name) DO UPDATE SET kind = EXCLUDED.kind, config = EXCLUDED.config
    RETURNING destination_id INTO id;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('destination.define', pid, jsonb_build_object('destination', p_name, 'kind', p_kind));
    RETURN id;
END
$$;

-- Create or update a feed. p_options may set compression (none, gzip,
-- zstd), encrypt (boolean), file_name, schedule (five-field cron),
-- time_zone (IANA name) and max_attempts. Returns the feed id.
CREATE OR REPLACE FUNCTION axtract.feed_define(
    p_name text,
    p_slug text,
    p_view text,
    p_destination text,
    p_options jsonb DEFAULT '{}'
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    pid  bigint;
    vid  bigint;
    did  bigint;
    id   bigint;
    tz   text := coalesce(p_options->>'time_zone', 'UTC');
    sched text := nullif(p_options->>'schedule', '');
    unknown text;
BEGIN
    SELECT partner_id INTO pid FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    SELECT view_id INTO vid FROM axtract.partner_view WHERE partner_id = pid AND name = p_view;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'view % of partner % not found', p_view, p_slug USING ERRCODE = 'no_data_found';
    END IF;
    SELECT destination_id INTO did FROM axtract.destination WHERE partner_id = pid AND name = p_destination;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'destination % of partner % not found', p_destination, p_slug USING ERRCODE = 'no_data_found';
    END IF;
    SELECT string_agg(k, ', ') INTO unknown FROM jsonb_object_keys(p_options) AS k
    WHERE k NOT IN ('compression', 'encrypt', 'file_name', 'schedule', 'time_zone', 'max_attempts');
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown feed option %', unknown
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Options: compression, encrypt, file_name, schedule, time_zone, max_attempts.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_timezone_names WHERE name = tz) THEN
        RAISE EXCEPTION 'unknown time zone %', quote_literal(tz)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use an IANA name such as America/Chicago.';
    END IF;
    IF sched IS NOT NULL AND array_length(regexp_split_to_array(trim(sched), '\s+'), 1) <> 5 THEN
        RAISE EXCEPTION 'schedule % is not a five-field cron expression', quote_literal(sched)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Fields: minute hour day-of-month month day-of-week, e.g. 0 6 * * 1-5.';
    END IF;

    INSERT INTO axtract.feed AS f (name, partner_id, view_id, destination_id, compression, encrypt, file_name,
                                   schedule, time_zone, max_attempts)
    VALUES (p_name, pid, vid, did,
            coalesce(p_options->>'compression', 'zstd'),
            coalesce((p_options->>'encrypt')::boolean, true),
            coalesce(p_options->>'file_name', '{feed}_{slot}.csv'),
            sched, tz,
            coalesce((p_options->>'max_attempts')::integer, 5))
    ON CONFLICT (name) DO UPDATE SET
        partner_id = EXCLUDED.partner_id,
        view_id = EXCLUDED.view_id,
        destination_id = EXCLUDED.destination_id,
        compression = EXCLUDED.compression,
        encrypt = EXCLUDED.encrypt,
        file_name = EXCLUDED.file_name,
        schedule = EXCLUDED.schedule,
        time_zone = EXCLUDED.time_zone,
        max_attempts = EXCLUDED.max_attempts,
        schedule_cursor = CASE WHEN f.schedule IS DISTINCT FROM EXCLUDED.schedule
                                 OR f.time_zone IS DISTINCT FROM EXCLUDED.time_zone
                               THEN NULL ELSE f.schedule_cursor END
    RETURNING feed_id INTO id;
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, detail)
    VALUES ('feed.define', pid, id, p_options || jsonb_build_object('feed', p_name, 'view', p_view, 'destination', p_destination));
    RETURN id;
END
$$;

-- Functions of the control schema are for the AxTract service and DBAs.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract FROM PUBLIC;

-- Destinations and feeds.

-- Create or update a destination of a partner. Returns its id.
CREATE OR REPLACE FUNCTION axtract.destination_define(p_slug text, p_name text, p_kind text, p_config jsonb) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    pid     bigint;
    id      bigint;
    unknown text;
BEGIN
    SELECT partner_id INTO pid FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid destination name %', coalesce(quote_literal(p_name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 63 lowercase letters, digits, _ or -, starting with a letter.';
    END IF;
    IF p_kind IS NULL OR p_kind NOT IN ('sftp', 'local', 'portal') THEN
        RAISE EXCEPTION 'unknown destination kind %', coalesce(quote_literal(p_kind), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use sftp, local or portal.';
    END IF;
    IF p_config IS NULL OR jsonb_typeof(p_config) <> 'object' THEN
        RAISE EXCEPTION 'config of destination % must be a JSON object', p_name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A misspelt key, such as private_key_fle, would leave the destination
    -- without the setting it names.
    SELECT string_agg(quote_literal(k), ', ' ORDER BY k) INTO unknown
    FROM jsonb_object_keys(p_config) AS k
    WHERE k <> ALL (CASE p_kind
        WHEN 'sftp' THEN '{host,port,user,dir,host_key,private_key_file,password_file,timeout_seconds,max_parallel_uploads}'::text[]
        ELSE '{dir}'::text[] END)
      AND k NOT IN ('password', 'private_key');
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown key % in the config of % destination %', unknown, p_kind, p_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE p_kind
                      WHEN 'sftp' THEN 'Keys: host, port, user, dir, host_key, private_key_file, password_file, timeout_seconds, max_parallel_uploads.'
                      ELSE 'The only key is dir.' END;
    END IF;
    IF p_kind = 'sftp' AND NOT p_config ?| ARRAY['private_key_file', 'password_file'] THEN
        RAISE EXCEPTION 'sftp destination % needs private_key_file or password_file', p_name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give the path of a private key or of a file holding the password.';
    END IF;
    -- A portal destination keeps its files under the folder that
    -- AXTRACT_FILES_DIR names unless its config gives an absolute dir.
    IF p_kind = 'portal' AND p_config ? 'dir' AND left(coalesce(p_config->>'dir', ''), 1) <> '/' THEN
        RAISE EXCEPTION 'portal destination % needs an absolute dir, not %', p_name, coalesce(quote_literal(p_config->>'dir'), 'null')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave dir out to use the folder that AXTRACT_FILES_DIR names.';
    END IF;
    IF p_kind = 'portal' AND EXISTS (SELECT FROM jsonb_object_keys(p_config) AS k WHERE k <> 'dir') THEN
        RAISE EXCEPTION 'portal destination % takes only dir in its config', p_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_kind = 'local' AND left(coalesce(p_config->>'dir', ''), 1) <> '/' THEN
        RAISE EXCEPTION 'local destination % needs an absolute dir, not %', p_name, coalesce(quote_literal(p_config->>'dir'), 'none')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A relative folder would depend on where axtract serve was started.';
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

-- Create or update a feed. p_options may set:
--   format           csv, delimited, fixed, jsonl, fhir, x12-834 or parquet (default csv)
--   format_options   JSON object of the format's options (default {}); docs/formats.md lists them
--   compression      none, gzip, zstd or zip (default zstd; none for parquet,
--                    which compresses inside the file)
--   encrypt          boolean (default true)
--   sign             boolean (default false): also sign with the instance's key; needs encrypt
--   manifest         boolean (default true): deliver <base>.manifest.json after the data files
--   trigger_suffix   .done or .ok: deliver an empty trigger file last (default none)
--   file_name        template with {feed}, {partner}, {slot}, {run}, {part}; docs/packaging.md
--                    tells how the format's extension and part names are added
--   schedule         cron expression or preset (see axtract.schedule_parse); NULL for on demand
--   time_zone        IANA name (default UTC)
--   calendar         business calendar, e.g. us_federal
--   holiday_rule     none, skip, next or previous (default none; needs calendar)
--   catch_up         latest or all (default latest)
--   max_attempts     attempts before a run fails (default 5)
--   retry_base       wait before the second attempt: seconds, or an interval such as '2 minutes'
--   deadline         local time the run must be delivered by, such as '07:00'
--   contacts         array of email addresses notified of failed and late runs
--   watermark_column column of the view that makes the feed incremental
--   empty_window     file or skip: what an incremental run with no new rows delivers (default file)
--   events           array of event names the feed waits for (axtract.signal)
-- Options left out take their defaults, also on an update. A changed
-- schedule or time zone starts the schedule afresh from now; a changed
-- watermark column starts the incremental feed over from the first row.
-- Returns the feed id.
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
    known CONSTANT text[] := '{format,format_options,compression,encrypt,sign,manifest,trigger_suffix,file_name,schedule,time_zone,calendar,holiday_rule,catch_up,max_attempts,retry_base,deadline,contacts,watermark_column,empty_window,events}';
    formats CONSTANT text[] := '{csv,delimited,fixed,jsonl,fhir,x12-834,parquet}';
    fmt      text := coalesce(nullif(p_options->>'format', ''), 'csv');
    fmt_opts jsonb := coalesce(nullif(p_options->'format_options', 'null'::jsonb), '{}');
    trigger  text := nullif(p_options->>'trigger_suffix', '');
    pid      bigint;
    vid      bigint;
    did      bigint;
    id       bigint;
    tz       text := coalesce(p_options->>'time_zone', 'UTC');
    sched    text := nullif(p_options->>'schedule', '');
    cal      text := nullif(p_options->>'calendar', '');
    rule     text := coalesce(nullif(p_options->>'holiday_rule', ''), 'none');
    catch_up text := coalesce(nullif(p_options->>'catch_up', ''), 'latest');
    empty    text := coalesce(nullif(p_options->>'empty_window', ''), 'file');
    wm_col   text := nullif(p_options->>'watermark_column', '');
    retry    interval;
    deadline time;
    contacts text[] := '{}';
    events   text[] := '{}';
    unknown  text;
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
    SELECT string_agg(k, ', ') INTO unknown FROM jsonb_object_keys(p_options) AS k WHERE k <> ALL (known);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown feed option %', unknown
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Options: ' || array_to_string(known, ', ') || '.';
    END IF;

    IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid feed name %', coalesce(quote_literal(p_name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 63 lowercase letters, digits, _ or -, starting with a letter.';
    END IF;
    -- A feed's runs, files and disclosures belong to its partner: moving the
    -- feed would hand that history to another partner.
    SELECT p.slug INTO unknown FROM axtract.feed f JOIN axtract.partner p ON p.partner_id = f.partner_id
    WHERE f.name = p_name AND f.partner_id <> pid;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'feed % belongs to partner %, not %', p_name, unknown, p_slug
            USING ERRCODE = 'unique_violation',
                  HINT = 'Feed names are unique across partners; choose another name, such as ' || p_slug || '-' || p_name || '.';
    END IF;
    IF coalesce(p_options->>'compression', 'zstd') NOT IN ('none', 'gzip', 'zstd', 'zip') THEN
        RAISE EXCEPTION 'unknown compression %', quote_literal(p_options->>'compression')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use none, gzip, zstd or zip.';
    END IF;
    -- Format options are checked in full by the Go format packages (axtract
    -- feed define runs them before calling this function, and each run
    -- checks them again); SQL checks what it can without them.
    IF fmt <> ALL (formats) THEN
        RAISE EXCEPTION 'unknown format %', quote_literal(fmt)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ' || array_to_string(formats, ', ') || '.';
    END IF;
    IF jsonb_typeof(fmt_opts) <> 'object' THEN
        RAISE EXCEPTION 'format_options must be a JSON object, not %', fmt_opts
            USING ERRCODE = 'invalid_parameter_value', HINT = 'For example {"delimiter": "|"}; docs/formats.md lists the options.';
    END IF;
    IF fmt = 'csv' AND fmt_opts <> '{}' THEN
        RAISE EXCEPTION 'format csv takes no format_options, got %', fmt_opts
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use the delimited format for another delimiter or quoting.';
    END IF;
    IF trigger IS NOT NULL AND trigger NOT IN ('.done', '.ok') THEN
        RAISE EXCEPTION 'trigger_suffix % is invalid', quote_literal(trigger)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use .done or .ok, or leave it out for no trigger file.';
    END IF;
    IF coalesce((p_options->>'sign')::boolean, false) AND NOT coalesce((p_options->>'encrypt')::boolean, true) THEN
        RAISE EXCEPTION 'feed % signs its files but does not encrypt them', p_name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Signatures are made inside the encrypted message; set encrypt true or sign false.';
    END IF;
    -- The template must expand to a base name: destinations reject folders,
    -- and a leading dot marks an unfinished upload.
    IF coalesce(p_options->>'file_name', '') <> ''
       AND (p_options->>'file_name' ~ '[/\\[:cntrl:]]' OR left(p_options->>'file_name', 1) = '.') THEN
        RAISE EXCEPTION 'file name template % must be a base name', quote_literal(p_options->>'file_name')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use no slash, backslash or control character, and no leading dot, e.g. {feed}_{slot}.csv.';
    END IF;
    IF p_options ? 'file_name' AND coalesce(p_options->>'file_name', '') = '' THEN
        RAISE EXCEPTION 'file name template of feed % is empty', p_name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave file_name out for {feed}_{slot}.csv, or give a template.';
    END IF;
    SELECT string_agg(DISTINCT m[1], ', ') INTO unknown
    FROM regexp_matches(coalesce(p_options->>'file_name', ''), '(\{[^}]*\})', 'g') AS m
    WHERE m[1] NOT IN ('{feed}', '{partner}', '{slot}', '{run}', '{part}');
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'file name template % has unknown placeholder %', quote_literal(p_options->>'file_name'), unknown
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Placeholders: {feed}, {partner}, {slot}, {run} and {part}.';
    END IF;
    IF coalesce(p_options->>'file_name', '{slot}') !~ '\{(slot|run)\}' THEN
        RAISE WARNING 'file name template % has neither {slot} nor {run}, so each run of feed % replaces the previous file',
            quote_literal(p_options->>'file_name'), p_name;
    END IF;
    -- The views of a FHIR feed's resources must exist now; a run that found
    -- a missing one after writing the Patient file would leave it delivered.
    IF fmt = 'fhir' AND jsonb_typeof(fmt_opts->'resources') = 'object' THEN
        SELECT string_agg(format('%s (%s)', r.key, r.view), ', ') INTO unknown
        FROM (SELECT e.key, CASE jsonb_typeof(e.value) WHEN 'string' THEN e.value #>> '{}' ELSE e.value->>'view' END AS view
              FROM jsonb_each(fmt_opts->'resources') AS e) AS r
        WHERE r.view IS NULL OR NOT EXISTS (
            SELECT FROM axtract.partner_view v WHERE v.partner_id = pid AND v.name = r.view);
        IF unknown IS NOT NULL THEN
            RAISE EXCEPTION 'feed %: the views of resources % are not views of partner %', p_name, unknown, p_slug
                USING ERRCODE = 'no_data_found', HINT = 'Define each view first, or name one of the partner''s views.';
        END IF;
    END IF;
    IF coalesce((p_options->>'encrypt')::boolean, true)
       AND NOT EXISTS (SELECT FROM axtract.partner_key WHERE partner_id = pid) THEN
        RAISE WARNING 'partner % has no OpenPGP key yet; runs of feed % fail until one is added', p_slug, p_name
            USING HINT = 'Add one with axtract partner key add, or define the feed with encrypt false.';
    END IF;

    PERFORM axtract.schedule_check_options(tz, cal, rule);
    IF sched IS NOT NULL THEN
        PERFORM axtract.schedule_parse(sched);
    END IF;
    IF catch_up NOT IN ('latest', 'all') THEN
        RAISE EXCEPTION 'catch_up % is invalid', quote_literal(catch_up)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use latest (only the newest missed slot) or all (each missed slot).';
    END IF;
    IF empty NOT IN ('file', 'skip') THEN
        RAISE EXCEPTION 'empty_window % is invalid', quote_literal(empty)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use file (a file with the header only) or skip (deliver nothing).';
    END IF;
    IF nullif(p_options->>'retry_base', '') IS NOT NULL THEN
        retry := CASE jsonb_typeof(p_options->'retry_base')
                     WHEN 'number' THEN make_interval(secs => (p_options->>'retry_base')::float8)
                     ELSE (p_options->>'retry_base')::interval END;
        IF retry <= interval '0' THEN
            RAISE EXCEPTION 'retry_base % must be positive', p_options->>'retry_base' USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    IF nullif(p_options->>'deadline', '') IS NOT NULL THEN
        IF p_options->>'deadline' !~ '^[0-9]{1,2}:[0-9]{2}$' THEN
            RAISE EXCEPTION 'deadline % is invalid', quote_literal(p_options->>'deadline')
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a local time as HH:MM, such as 07:00.';
        END IF;
        deadline := (p_options->>'deadline')::time;
    END IF;
    IF jsonb_typeof(p_options->'contacts') = 'array' THEN
        contacts := ARRAY(SELECT jsonb_array_elements_text(p_options->'contacts'));
    ELSIF p_options ? 'contacts' AND jsonb_typeof(p_options->'contacts') <> 'null' THEN
        RAISE EXCEPTION 'contacts must be an array of email addresses' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(c, ', ') INTO unknown FROM unnest(contacts) AS c WHERE c !~ '^[^@[:space:]]+@[^@[:space:]]+$';
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'contact % is not an email address', unknown USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(p_options->'events') = 'array' THEN
        events := ARRAY(SELECT DISTINCT jsonb_array_elements_text(p_options->'events'));
    ELSIF p_options ? 'events' AND jsonb_typeof(p_options->'events') <> 'null' THEN
        RAISE EXCEPTION 'events must be an array of event names' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(e, ', ') INTO unknown FROM unnest(events) AS e WHERE e !~ '^[a-z][a-z0-9_.-]{0,62}$';
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'event name % is invalid', unknown
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use lowercase letters, digits, _, . and -, starting with a letter.';
    END IF;
    IF wm_col IS NOT NULL AND NOT EXISTS (
        SELECT FROM pg_attribute
        WHERE attrelid = to_regclass(format('%I.%I', axtract.partner_schema(p_slug), p_view))
          AND attname = wm_col AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'watermark_column % is not a column of view %', wm_col, p_view
            USING ERRCODE = 'undefined_column', HINT = 'Pick a column the view selects, such as loaded_at.';
    END IF;

    INSERT INTO axtract.feed AS f (name, partner_id, view_id, destination_id, format, format_options, compression,
                                   encrypt, sign, manifest, trigger_suffix, file_name,
                                   schedule, time_zone, calendar, holiday_rule, catch_up, max_attempts, retry_base,
                                   deadline, contacts, watermark_column, empty_window)
    VALUES (p_name, pid, vid, did, fmt, fmt_opts,
            coalesce(p_options->>'compression', CASE fmt WHEN 'parquet' THEN 'none' ELSE 'zstd' END),
            coalesce((p_options->>'encrypt')::boolean, true),
            coalesce((p_options->>'sign')::boolean, false),
            coalesce((p_options->>'manifest')::boolean, true),
            trigger,
            coalesce(p_options->>'file_name', '{feed}_{slot}.csv'),
            sched, tz, cal, rule, catch_up,
            coalesce((p_options->>'max_attempts')::integer, 5),
            retry, deadline, contacts, wm_col, empty)
    ON CONFLICT (name) DO UPDATE SET
        partner_id = EXCLUDED.partner_id,
        view_id = EXCLUDED.view_id,
        destination_id = EXCLUDED.destination_id,
        format = EXCLUDED.format,
        format_options = EXCLUDED.format_options,
        compression = EXCLUDED.compression,
        encrypt = EXCLUDED.encrypt,
        sign = EXCLUDED.sign,
        manifest = EXCLUDED.manifest,
        trigger_suffix = EXCLUDED.trigger_suffix,
        file_name = EXCLUDED.file_name,
        schedule = EXCLUDED.schedule,
        time_zone = EXCLUDED.time_zone,
        calendar = EXCLUDED.calendar,
        holiday_rule = EXCLUDED.holiday_rule,
        catch_up = EXCLUDED.catch_up,
        max_attempts = EXCLUDED.max_attempts,
        retry_base = EXCLUDED.retry_base,
        deadline = EXCLUDED.deadline,
        contacts = EXCLUDED.contacts,
        watermark_column = EXCLUDED.watermark_column,
        empty_window = EXCLUDED.empty_window,
        watermark = CASE WHEN f.watermark_column IS DISTINCT FROM EXCLUDED.watermark_column
                         THEN NULL ELSE f.watermark END,
        schedule_cursor = CASE WHEN f.schedule IS DISTINCT FROM EXCLUDED.schedule
                                 OR f.time_zone IS DISTINCT FROM EXCLUDED.time_zone
                               THEN now() ELSE f.schedule_cursor END
    RETURNING feed_id INTO id;

    DELETE FROM axtract.feed_event WHERE feed_id = id AND event <> ALL (events);
    INSERT INTO axtract.feed_event (feed_id, event)
    SELECT id, e FROM unnest(events) AS e
    ON CONFLICT (feed_id, event) DO NOTHING;

    INSERT INTO axtract.audit_event (action, partner_id, feed_id, detail)
    VALUES ('feed.define', pid, id, p_options || jsonb_build_object('feed', p_name, 'view', p_view, 'destination', p_destination));
    RETURN id;
END
$$;

-- Functions of the control schema are for the AxTract service and DBAs.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract FROM PUBLIC;

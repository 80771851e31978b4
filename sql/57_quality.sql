-- Quality rules of feeds, and the held runs they produce. docs/quality.md
-- describes the rules and what fail and hold do.

-- The columns of feed p_feed_id's view, in order.
CREATE OR REPLACE FUNCTION axtract.feed_view_columns(p_feed_id bigint) RETURNS text[]
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}')
    FROM axtract.feed f
    JOIN axtract.partner p ON p.partner_id = f.partner_id
    JOIN axtract.partner_view v ON v.view_id = f.view_id
    JOIN pg_attribute a ON a.attrelid = to_regclass(format('%I.%I', axtract.partner_schema(p.slug), v.name))
    WHERE f.feed_id = p_feed_id
      AND a.attnum > 0
      AND NOT a.attisdropped
$$;

-- Checks that p_value, the value of rules key p_key, is an array of distinct
-- column names of the feed's view, and returns them.
CREATE OR REPLACE FUNCTION axtract.feed_quality_columns(p_key text, p_value jsonb, p_columns text[], p_view text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    names text[];
    bad   text;
BEGIN
    IF jsonb_typeof(p_value) <> 'array' THEN
        RAISE EXCEPTION '% must be an array of column names, not %', p_key, p_value
            USING ERRCODE = 'invalid_parameter_value', HINT = format('For example {"%s": ["member_id"]}.', p_key);
    END IF;
    SELECT string_agg(e::text, ', ') INTO bad
    FROM jsonb_array_elements(p_value) AS e
    WHERE jsonb_typeof(e) <> 'string' OR e #>> '{}' = '';
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION '% must list column names as strings, not %', p_key, bad
            USING ERRCODE = 'invalid_parameter_value', HINT = format('For example {"%s": ["member_id"]}.', p_key);
    END IF;
    names := ARRAY(SELECT jsonb_array_elements_text(p_value));
    SELECT string_agg(d.n, ', ') INTO bad
    FROM (SELECT n FROM unnest(names) AS n GROUP BY n HAVING count(*) > 1) AS d;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION '% lists column % more than once', p_key, bad
            USING ERRCODE = 'invalid_parameter_value', HINT = 'List each column once.';
    END IF;
    SELECT string_agg(n, ', ') INTO bad FROM unnest(names) AS n WHERE n <> ALL (p_columns);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION '% names %, which view % does not have', p_key, bad, p_view
            USING ERRCODE = 'undefined_column', HINT = 'Columns of the view: ' || array_to_string(p_columns, ', ') || '.';
    END IF;
    RETURN names;
END
$$;

-- Sets the quality rules of feed p_feed to p_rules, a JSON object with any
-- of these keys:
--   min_rows            whole number: fewest rows a run may deliver
--   max_rows            whole number: most rows a run may deliver
--   max_row_change_pct  number: largest change in rows, in percent of the
--                       previous succeeded run's rows; skipped on the first
--                       run and after a run of 0 rows
--   max_null_pct        object of column name to a percent (0 to 100): most
--                       NULLs the column may hold
--   required_columns    array of column names that must hold no NULL
--   unique_columns      array of column names whose non-NULL values must be
--                       distinct
--   unique_max_values   whole number, 1 to 10000000 (default 1000000): most
--                       non-NULL values tracked per unique column. A column
--                       with more breaks the rule, because it could not be
--                       checked in full
--   on_fail             fail (default): the run fails and delivers nothing;
--                       hold: the run delivers nothing and waits for
--                       axtract.run_release or axtract.run_discard
-- NULL or {} removes the rules. Returns the rules stored, with on_fail
-- filled in.
CREATE OR REPLACE FUNCTION axtract.feed_quality_set(p_feed text, p_rules jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    known CONSTANT text[] := '{min_rows,max_rows,max_row_change_pct,max_null_pct,required_columns,unique_columns,unique_max_values,on_fail}';
    f            record;
    view_name    text;
    view_columns text[];
    rules        jsonb;
    unknown      text;
    rule_key     text;
    rule_value   jsonb;
BEGIN
    SELECT fd.feed_id, fd.partner_id, fd.view_id, v.name AS view_name, p.slug
    INTO f
    FROM axtract.feed fd
    JOIN axtract.partner p ON p.partner_id = fd.partner_id
    JOIN axtract.partner_view v ON v.view_id = fd.view_id
    WHERE fd.name = p_feed;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed % not found', coalesce(quote_literal(p_feed), 'NULL')
            USING ERRCODE = 'no_data_found', HINT = 'SELECT name FROM axtract.feed lists the feeds.';
    END IF;

    IF p_rules IS NULL OR p_rules = '{}'::jsonb THEN
        DELETE FROM axtract.feed_quality WHERE feed_id = f.feed_id;
        INSERT INTO axtract.audit_event (action, partner_id, feed_id, detail)
        VALUES ('feed.quality_clear', f.partner_id, f.feed_id, jsonb_build_object('feed', p_feed));
        RETURN '{}'::jsonb;
    END IF;
    IF jsonb_typeof(p_rules) <> 'object' THEN
        RAISE EXCEPTION 'quality rules must be a JSON object, not %', p_rules
            USING ERRCODE = 'invalid_parameter_value', HINT = 'For example {"min_rows": 1, "on_fail": "hold"}; docs/quality.md lists the rules.';
    END IF;
    SELECT string_agg(k, ', ') INTO unknown FROM jsonb_object_keys(p_rules) AS k WHERE k <> ALL (known);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown quality rule %', unknown
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Rules: ' || array_to_string(known, ', ') || '.';
    END IF;

    view_name := format('%I.%I', axtract.partner_schema(f.slug), f.view_name);
    view_columns := axtract.feed_view_columns(f.feed_id);
    IF cardinality(view_columns) = 0 THEN
        RAISE EXCEPTION 'view % of feed % not found', view_name, p_feed
            USING ERRCODE = 'undefined_table', HINT = 'Define the partner view again with axtract.view_define.';
    END IF;

    FOREACH rule_key IN ARRAY ARRAY['min_rows', 'max_rows', 'unique_max_values'] LOOP
        rule_value := p_rules->rule_key;
        CONTINUE WHEN rule_value IS NULL;
        IF jsonb_typeof(rule_value) <> 'number' OR rule_value::text::numeric <> trunc(rule_value::text::numeric) OR rule_value::text::numeric < 0 THEN
            RAISE EXCEPTION '% must be a whole number, 0 or more, not %', rule_key, rule_value
                USING ERRCODE = 'invalid_parameter_value', HINT = format('For example {"%s": 1000}.', rule_key);
        END IF;
        IF rule_value::text::numeric > 9223372036854775807 THEN
            RAISE EXCEPTION '% % is too large', rule_key, rule_value
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Use at most 9223372036854775807.';
        END IF;
    END LOOP;
    IF (p_rules->>'min_rows')::numeric > (p_rules->>'max_rows')::numeric THEN
        RAISE EXCEPTION 'min_rows % is more than max_rows %', p_rules->'min_rows', p_rules->'max_rows'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Lower min_rows or raise max_rows.';
    END IF;
    IF p_rules ? 'unique_max_values' AND (p_rules->>'unique_max_values')::numeric NOT BETWEEN 1 AND 10000000 THEN
        RAISE EXCEPTION 'unique_max_values % is out of range', p_rules->'unique_max_values'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 10000000; each tracked value takes about 16 bytes of worker memory per unique column.';
    END IF;

    rule_value := p_rules->'max_row_change_pct';
    IF rule_value IS NOT NULL AND (jsonb_typeof(rule_value) <> 'number' OR rule_value::text::numeric < 0) THEN
        RAISE EXCEPTION 'max_row_change_pct must be a percent, 0 or more, not %', rule_value
            USING ERRCODE = 'invalid_parameter_value', HINT = 'For example {"max_row_change_pct": 20} allows 80 to 120 rows after a run of 100.';
    END IF;

    rule_value := p_rules->'max_null_pct';
    IF rule_value IS NOT NULL THEN
        IF jsonb_typeof(rule_value) <> 'object' THEN
            RAISE EXCEPTION 'max_null_pct must be an object of column name to percent, not %', rule_value
                USING ERRCODE = 'invalid_parameter_value', HINT = 'For example {"max_null_pct": {"member_zip": 5}}.';
        END IF;
        SELECT string_agg(format('%s: %s', e.key, e.value), ', ') INTO unknown
        FROM jsonb_each(rule_value) AS e
        WHERE jsonb_typeof(e.value) <> 'number' OR e.value::text::numeric NOT BETWEEN 0 AND 100;
        IF unknown IS NOT NULL THEN
            RAISE EXCEPTION 'max_null_pct must give each column a percent from 0 to 100, not %', unknown
                USING ERRCODE = 'invalid_parameter_value', HINT = 'For example {"max_null_pct": {"member_zip": 5}}.';
        END IF;
        PERFORM axtract.feed_quality_columns('max_null_pct', to_jsonb(ARRAY(SELECT jsonb_object_keys(rule_value))), view_columns, view_name);
    END IF;

    FOREACH rule_key IN ARRAY ARRAY['required_columns', 'unique_columns'] LOOP
        CONTINUE WHEN NOT p_rules ? rule_key;
        PERFORM axtract.feed_quality_columns(rule_key, p_rules->rule_key, view_columns, view_name);
    END LOOP;

    IF p_rules ? 'on_fail' AND (jsonb_typeof(p_rules->'on_fail') <> 'string' OR p_rules->>'on_fail' NOT IN ('fail', 'hold')) THEN
        RAISE EXCEPTION 'on_fail must be fail or hold, not %', p_rules->'on_fail'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'fail ends the run as failed; hold keeps it for axtract.run_release or axtract.run_discard.';
    END IF;

    rules := jsonb_build_object('on_fail', 'fail') || p_rules;
    INSERT INTO axtract.feed_quality AS q (feed_id, rules)
    VALUES (f.feed_id, rules)
    ON CONFLICT (feed_id) DO UPDATE SET rules = EXCLUDED.rules, updated_at = now(), updated_by = current_user;
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, detail)
    VALUES ('feed.quality_set', f.partner_id, f.feed_id, jsonb_build_object('feed', p_feed, 'rules', rules));
    RETURN rules;
END
$$;

-- Puts running run p_run_id on hold because its data broke a quality rule
-- of a feed whose on_fail is hold. p_reason names the broken rules, never
-- member data. The extract calls it after recording the run's quality result
-- and before it delivers any file. Appends a run.held audit event and a
-- run_held notice for the feed's contacts.
CREATE OR REPLACE FUNCTION axtract.run_hold(p_run_id bigint, p_reason text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    UPDATE axtract.run
    SET status = 'held',
        error = p_reason,
        finished_at = now()
    WHERE run_id = p_run_id
      AND status = 'running'
    RETURNING run_id, feed_id, slot, attempts INTO r;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % is not running, so it cannot be held', p_run_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Only the attempt that checked the data holds a run.';
    END IF;
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, run_id, detail)
    SELECT 'run.held', f.partner_id, f.feed_id, r.run_id,
           jsonb_build_object('feed', f.name, 'slot', r.slot, 'attempts', r.attempts, 'reason', p_reason)
    FROM axtract.feed f WHERE f.feed_id = r.feed_id;
    PERFORM axtract.run_held(ARRAY[r.run_id], 'quality checks: ' || p_reason);
END
$$;

-- Looks up a run for axtract.run_release or axtract.run_discard, locked,
-- and raises unless it is held.
CREATE OR REPLACE FUNCTION axtract.run_held_lock(p_run_id bigint, p_verb text,
    OUT run_id bigint, OUT feed_id bigint, OUT partner_id bigint, OUT feed text, OUT max_attempts integer,
    OUT watermark_column text)
LANGUAGE plpgsql
AS $$
DECLARE
    status text;
BEGIN
    SELECT r.run_id, r.feed_id, f.partner_id, f.name, f.max_attempts, f.watermark_column, r.status
    INTO run_id, feed_id, partner_id, feed, max_attempts, watermark_column, status
    FROM axtract.run r
    JOIN axtract.feed f ON f.feed_id = r.feed_id
    WHERE r.run_id = p_run_id
    FOR UPDATE OF r;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % not found', p_run_id USING ERRCODE = 'no_data_found';
    END IF;
    IF status <> 'held' THEN
        RAISE EXCEPTION 'run % of feed % is %, not held, so it cannot be %', p_run_id, feed, status, p_verb
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Only runs held by quality checks are released or discarded; axtract.run_retry retries a failed run.';
    END IF;
END
$$;

-- Releases held run p_run_id: the run is queued again with a new River job,
-- and its next attempt extracts and delivers the data even if it breaks the
-- feed's rules again (the result is recorded as released). The new attempt
-- reads a new snapshot. An incremental run reads the same window, but a
-- full-refresh run reads the view as it is then. A held incremental run
-- whose feed has delivered a later run since cannot be released, because that
-- run's file already holds its rows; discard it. Returns the River job id.
CREATE OR REPLACE FUNCTION axtract.run_release(p_run_id bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    r   record;
    job bigint;
BEGIN
    SELECT * INTO r FROM axtract.run_held_lock(p_run_id, 'released');
    IF r.watermark_column IS NOT NULL AND EXISTS (
        SELECT FROM axtract.run later
        WHERE later.feed_id = r.feed_id AND later.run_id > p_run_id AND later.status = 'succeeded') THEN
        RAISE EXCEPTION 'run % of incremental feed % cannot be released: a later run has delivered its rows', p_run_id, r.feed
            USING ERRCODE = 'invalid_parameter_value', HINT = format('Discard it with SELECT axtract.run_discard(%s).', p_run_id);
    END IF;

    UPDATE axtract.run_quality
    SET released_at = now(),
        released_by = current_user
    WHERE run_quality.run_id = p_run_id;
    UPDATE axtract.run
    SET status = 'queued',
        error = NULL,
        finished_at = NULL
    WHERE run.run_id = p_run_id;
    job := axtract.run_enqueue(p_run_id, r.max_attempts);
    IF job IS NULL THEN
        RAISE EXCEPTION 'run % still has an unfinished River job', p_run_id
            USING ERRCODE = 'object_in_use', HINT = 'Wait for it to end and try again.';
    END IF;
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, run_id, detail)
    VALUES ('run.released', r.partner_id, r.feed_id, p_run_id, jsonb_build_object('feed', r.feed, 'job_id', job));
    RETURN job;
END
$$;

-- Discards held run p_run_id: it ends as discarded and delivers nothing.
-- p_reason, optional, is kept in the audit event. The feed's watermark does
-- not move, so the next run of an incremental feed reads the discarded
-- run's rows again.
CREATE OR REPLACE FUNCTION axtract.run_discard(p_run_id bigint, p_reason text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM axtract.run_held_lock(p_run_id, 'discarded');
    UPDATE axtract.run_quality
    SET discarded_at = now(),
        discarded_by = current_user
    WHERE run_quality.run_id = p_run_id;
    UPDATE axtract.run
    SET status = 'discarded',
        finished_at = now()
    WHERE run.run_id = p_run_id;
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, run_id, detail)
    VALUES ('run.discarded', r.partner_id, r.feed_id, p_run_id,
            jsonb_strip_nulls(jsonb_build_object('feed', r.feed, 'reason', p_reason)));
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract FROM PUBLIC;

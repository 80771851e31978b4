-- Requests and approvals of partner views and feeds.
--
-- An analyst drafts a request: a view spec for a partner and, for kind
-- feed, the arguments of axtract.feed_define. A submitted request is
-- reviewed by someone else, who approves or rejects it. Approval calls
-- axtract.view_define and axtract.feed_define with exactly the request's
-- spec and feed, so the live view and feed are what was approved. Editing
-- an approved or rejected request starts a new version, which is not live
-- until it is approved in turn. A DBA may still call view_define directly;
-- that path writes its own audit event as before.
--
-- p_actor is the portal login of whoever acts. When it names an account,
-- the account must be enabled and hold a role that may take the step; any
-- other name is taken as a DBA working in SQL. Every step appends an
-- audit event.

-- Raise unless actor p_actor may take step p_step (draft or review).
CREATE OR REPLACE FUNCTION axtract.request_actor_check(p_actor text, p_step text) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    a       axtract.account;
    allowed text[] := CASE p_step WHEN 'draft' THEN ARRAY['admin', 'analyst'] ELSE ARRAY['admin', 'privacy_officer'] END;
BEGIN
    IF coalesce(p_actor, '') = '' THEN
        RAISE EXCEPTION 'a request step needs the actor''s name' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO a FROM axtract.account WHERE login = lower(p_actor);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF a.disabled THEN
        RAISE EXCEPTION 'account % is disabled', a.login USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF a.role <> ALL (allowed) THEN
        RAISE EXCEPTION 'account % has role %, which may not % requests', a.login, a.role,
            CASE p_step WHEN 'draft' THEN 'draft or submit' ELSE 'approve or reject' END
            USING ERRCODE = 'insufficient_privilege', HINT = 'Roles that may: ' || array_to_string(allowed, ', ') || '.';
    END IF;
END
$$;

-- Lock and return request p_id.
CREATE OR REPLACE FUNCTION axtract.request_lock(p_id bigint) RETURNS axtract.request
LANGUAGE plpgsql
AS $$
DECLARE
    r axtract.request;
BEGIN
    SELECT * INTO r FROM axtract.request WHERE request_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'request % not found', p_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN r;
END
$$;

CREATE OR REPLACE FUNCTION axtract.request_audit(p_action text, p_actor text, r axtract.request, p_detail jsonb DEFAULT '{}')
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO axtract.audit_event (actor, action, partner_id, feed_id, detail)
    VALUES (p_actor, p_action, r.partner_id, r.feed_id,
            jsonb_build_object('request_id', r.request_id, 'view', r.view_name, 'version', r.version,
                               'kind', r.kind, 'status', r.status, 'db_user', current_user) || p_detail)
$$;

-- Raise unless p_feed has the shape of a feed request: a name, a
-- destination of the partner and an optional options object.
CREATE OR REPLACE FUNCTION axtract.request_feed_check(p_partner_id bigint, p_feed jsonb) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    unknown text;
BEGIN
    IF p_feed IS NULL OR jsonb_typeof(p_feed) <> 'object' THEN
        RAISE EXCEPTION 'a feed request needs a feed object {"name": ..., "destination": ..., "options": {...}}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(k, ', ') INTO unknown FROM jsonb_object_keys(p_feed) AS k WHERE k NOT IN ('name', 'destination', 'options');
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown key % in the feed of a request', unknown
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use name, destination and options.';
    END IF;
    IF coalesce(p_feed->>'name', '') !~ '^[a-z][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid feed name %', coalesce(quote_literal(p_feed->>'name'), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 63 lowercase letters, digits, _ or -, starting with a letter.';
    END IF;
    IF NOT EXISTS (SELECT FROM axtract.destination WHERE partner_id = p_partner_id AND name = p_feed->>'destination') THEN
        RAISE EXCEPTION 'destination % of the partner not found', coalesce(quote_literal(p_feed->>'destination'), 'NULL')
            USING ERRCODE = 'no_data_found',
                  HINT = coalesce('Destinations: ' || (SELECT string_agg(name, ', ' ORDER BY name) FROM axtract.destination WHERE partner_id = p_partner_id) || '.',
                                  'Define one first with axtract.destination_define.');
    END IF;
    IF p_feed ? 'options' AND jsonb_typeof(p_feed->'options') <> 'object' THEN
        RAISE EXCEPTION 'feed options of a request must be an object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

-- Create a draft request and return its id. p_kind is view or feed. With
-- p_template, the spec defaults to the template's and the template's feed
-- options are the defaults of p_feed's options. A feed request without a
-- spec and template takes the spec of the partner's live view p_name.
CREATE OR REPLACE FUNCTION axtract.request_create(
    p_partner text,
    p_kind text,
    p_name text,
    p_spec jsonb,
    p_feed jsonb,
    p_actor text,
    p_template text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    p    axtract.partner;
    t        axtract.request_template;
    new_spec jsonb := p_spec;
    new_feed jsonb := p_feed;
    r    axtract.request;
BEGIN
    PERFORM axtract.request_actor_check(p_actor, 'draft');
    SELECT * INTO p FROM axtract.partner WHERE slug = p_partner;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', coalesce(quote_literal(p_partner), 'NULL') USING ERRCODE = 'no_data_found';
    END IF;
    IF p_kind IS NULL OR p_kind NOT IN ('view', 'feed') THEN
        RAISE EXCEPTION 'unknown request kind %', coalesce(quote_literal(p_kind), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use view (a view only) or feed (a view and its feed).';
    END IF;
    IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid view name %', coalesce(quote_literal(p_name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use lowercase letters, digits and _, starting with a letter.';
    END IF;
    IF p_template IS NOT NULL THEN
        SELECT * INTO t FROM axtract.request_template WHERE name = p_template;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'request template % not found', quote_literal(p_template)
                USING ERRCODE = 'no_data_found',
                      HINT = 'Templates: ' || coalesce((SELECT string_agg(name, ', ' ORDER BY name) FROM axtract.request_template), 'none') || '.';
        END IF;
        new_spec := coalesce(new_spec, t.spec);
        IF p_kind = 'feed' AND new_feed IS NOT NULL THEN
            -- A template's feed options may name the request's own view as
            -- "{view}", as a FHIR feed's resources do. The name is checked
            -- to be a plain identifier, so the replaced text stays JSON.
            new_feed := new_feed || jsonb_build_object('options',
                replace(t.feed_options::text, '"{view}"', to_jsonb(p_name)::text)::jsonb || coalesce(new_feed->'options', '{}'));
        END IF;
    END IF;
    IF new_spec IS NULL AND p_kind = 'feed' THEN
        SELECT v.spec INTO new_spec FROM axtract.partner_view v WHERE v.partner_id = p.partner_id AND v.name = p_name;
    END IF;
    IF new_spec IS NULL OR jsonb_typeof(new_spec) <> 'object' THEN
        RAISE EXCEPTION 'request for view % needs a view spec object', p_name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a spec, or a template to start from.';
    END IF;
    IF p_kind = 'feed' THEN
        PERFORM axtract.request_feed_check(p.partner_id, new_feed);
    ELSIF new_feed IS NOT NULL THEN
        RAISE EXCEPTION 'a view request has no feed' USING ERRCODE = 'invalid_parameter_value', HINT = 'Use kind feed.';
    END IF;
    IF EXISTS (SELECT FROM axtract.request WHERE partner_id = p.partner_id AND view_name = p_name AND status IN ('draft', 'submitted')) THEN
        RAISE EXCEPTION 'view % of partner % already has an open request %', p_name, p.slug,
            (SELECT request_id FROM axtract.request WHERE partner_id = p.partner_id AND view_name = p_name AND status IN ('draft', 'submitted'))
            USING ERRCODE = 'unique_violation', HINT = 'Edit that request with axtract.request_update, or wait for its review.';
    END IF;

    INSERT INTO axtract.request (partner_id, kind, view_name, version, spec, feed, template, created_by, updated_by)
    VALUES (p.partner_id, p_kind, p_name,
            coalesce((SELECT max(version) FROM axtract.request WHERE partner_id = p.partner_id AND view_name = p_name), 0) + 1,
            new_spec, new_feed, p_template, p_actor, p_actor)
    RETURNING * INTO r;
    PERFORM axtract.request_audit('request.create', p_actor, r, jsonb_build_object('spec', r.spec, 'feed', r.feed, 'template', p_template));
    RETURN r.request_id;
END
$$;

-- Edit a request; NULL arguments keep what the request has. A draft is
-- changed in place. An approved or rejected request is kept as it was, and
-- the edit becomes a new draft version, which is not live until approved.
-- A submitted request cannot change while it is under review. Returns the
-- id of the draft that contains the edit.
CREATE OR REPLACE FUNCTION axtract.request_update(p_id bigint, p_spec jsonb, p_feed jsonb, p_actor text) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    r        axtract.request;
    new_spec jsonb;
    new_feed jsonb;
BEGIN
    PERFORM axtract.request_actor_check(p_actor, 'draft');
    r := axtract.request_lock(p_id);
    IF r.status = 'submitted' THEN
        RAISE EXCEPTION 'request % is under review and cannot change', p_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Wait for the decision; a reviewer can reject it, and the edit then starts a new version.';
    END IF;
    new_spec := coalesce(p_spec, r.spec);
    new_feed := coalesce(p_feed, r.feed);
    IF jsonb_typeof(new_spec) <> 'object' THEN
        RAISE EXCEPTION 'request % needs a view spec object', p_id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF r.kind = 'feed' THEN
        PERFORM axtract.request_feed_check(r.partner_id, new_feed);
    ELSIF p_feed IS NOT NULL THEN
        RAISE EXCEPTION 'request % is a view request and has no feed', p_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Create a request of kind feed.';
    END IF;

    IF r.status = 'draft' THEN
        UPDATE axtract.request SET spec = new_spec, feed = new_feed, updated_by = p_actor, updated_at = now()
        WHERE request_id = p_id
        RETURNING * INTO r;
        PERFORM axtract.request_audit('request.update', p_actor, r, jsonb_build_object('spec', r.spec, 'feed', r.feed));
        RETURN r.request_id;
    END IF;

    IF EXISTS (SELECT FROM axtract.request WHERE partner_id = r.partner_id AND view_name = r.view_name AND status IN ('draft', 'submitted')) THEN
        RAISE EXCEPTION 'view % already has an open request %', r.view_name,
            (SELECT request_id FROM axtract.request WHERE partner_id = r.partner_id AND view_name = r.view_name AND status IN ('draft', 'submitted'))
            USING ERRCODE = 'unique_violation', HINT = 'Edit that request instead.';
    END IF;
    INSERT INTO axtract.request (partner_id, kind, view_name, version, spec, feed, template, previous_id, created_by, updated_by)
    VALUES (r.partner_id, r.kind, r.view_name,
            (SELECT max(version) FROM axtract.request WHERE partner_id = r.partner_id AND view_name = r.view_name) + 1,
            new_spec, new_feed, r.template, r.request_id, p_actor, p_actor)
    RETURNING * INTO r;
    PERFORM axtract.request_audit('request.create', p_actor, r,
        jsonb_build_object('spec', r.spec, 'feed', r.feed, 'previous_id', p_id));
    RETURN r.request_id;
END
$$;

-- Define the request's view and feed inside a subtransaction and roll it
-- back, and return {"ok": true} or the error that approving would raise.
-- Replacing a live view waits for the runs reading it, so the dry run
-- gives up after 5 seconds with SQLSTATE 55P03 instead of blocking the
-- reviewer.
CREATE OR REPLACE FUNCTION axtract.request_dry_run(r axtract.request) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    slug        text := (SELECT p.slug FROM axtract.partner p WHERE p.partner_id = r.partner_id);
    old_timeout text := current_setting('lock_timeout');
    err_state   text;
    err_message text;
    err_detail  text;
    err_hint    text;
BEGIN
    PERFORM set_config('lock_timeout', '5s', true);
    BEGIN
        PERFORM axtract.view_define(slug, r.view_name, r.spec);
        IF r.kind = 'feed' THEN
            PERFORM axtract.feed_define(r.feed->>'name', slug, r.view_name, r.feed->>'destination', coalesce(r.feed->'options', '{}'));
        END IF;
        -- Undo everything above: the error ends the subtransaction.
        RAISE EXCEPTION 'dry run' USING ERRCODE = 'AXDRY';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
            err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT;
    END;
    PERFORM set_config('lock_timeout', old_timeout, true);
    IF err_state = 'AXDRY' THEN
        RETURN jsonb_build_object('ok', true);
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object('ok', false, 'sqlstate', err_state, 'message', err_message,
        'detail', nullif(err_detail, ''), 'hint', nullif(err_hint, '')));
END
$$;

-- Submit a draft for review. A draft that approving would reject (a
-- column the purpose does not allow, an unknown feed option) is refused.
CREATE OR REPLACE FUNCTION axtract.request_submit(p_id bigint, p_actor text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    r      axtract.request;
    result jsonb;
BEGIN
    PERFORM axtract.request_actor_check(p_actor, 'draft');
    r := axtract.request_lock(p_id);
    IF r.status <> 'draft' THEN
        RAISE EXCEPTION 'request % is %, so it cannot be submitted', p_id, r.status
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Only drafts are submitted; edit it to start a new draft.';
    END IF;
    result := axtract.request_dry_run(r);
    IF NOT (result->>'ok')::boolean THEN
        RAISE EXCEPTION 'request % cannot be submitted: %', p_id, result->>'message'
            USING ERRCODE = result->>'sqlstate', DETAIL = coalesce(result->>'detail', ''), HINT = coalesce(result->>'hint', '');
    END IF;
    UPDATE axtract.request SET status = 'submitted', submitted_by = p_actor, submitted_at = now()
    WHERE request_id = p_id
    RETURNING * INTO r;
    PERFORM axtract.request_audit('request.submit', p_actor, r);
END
$$;

-- Describe what request p_id would disclose, for its reviewer. The result
-- has the partner and its purpose of use, and each column with its
-- classification before and after its transform and whether the purpose
-- allows it. It also has the filters, the result of the minimum-necessary
-- and profile checks, the compiled SELECT, whether approving would
-- succeed, and the live view's spec. docs/approval.md lists the keys.
CREATE OR REPLACE FUNCTION axtract.request_review(p_id bigint) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    r        axtract.request;
    p        axtract.partner;
    item     jsonb;
    col      axtract.dataset_column;
    effect   record;
    compiled text;
    live     axtract.partner_view;
    columns  jsonb := '[]';
    filters  jsonb := '[]';
    result      jsonb;
    err_state   text;
    err_message text;
    err_detail  text;
    err_hint    text;
BEGIN
    SELECT * INTO r FROM axtract.request WHERE request_id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'request % not found', p_id USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO p FROM axtract.partner WHERE partner_id = r.partner_id;

    FOR item IN SELECT * FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.spec->'columns') = 'array' THEN r.spec->'columns' ELSE '[]' END) LOOP
        IF jsonb_typeof(item) = 'string' THEN
            item := jsonb_build_object('column', item);
        END IF;
        SELECT * INTO col FROM axtract.dataset_column WHERE dataset = r.spec->>'dataset' AND column_name = item->>'column';
        IF NOT FOUND THEN
            columns := columns || jsonb_build_array(jsonb_build_object('column', item->>'column', 'allowed', false,
                'problem', format('not a column of dataset %s', coalesce(r.spec->>'dataset', 'NULL'))));
            CONTINUE;
        END IF;
        effect := axtract.transform_effect(col, coalesce(item->>'transform', 'none'));
        columns := columns || jsonb_build_array(jsonb_build_object(
            'column', col.column_name,
            'as', coalesce(item->>'as', col.column_name),
            'transform', coalesce(item->>'transform', 'none'),
            'description', col.description,
            'classification', col.classification,
            'safe_harbor_kind', col.safe_harbor_kind,
            'classification_after', effect.classification,
            'safe_harbor_kind_after', effect.safe_harbor_kind,
            'exception', axtract.column_exception_in_force(p.partner_id, col.dataset, col.column_name),
            'allowed', EXISTS (SELECT FROM axtract.purpose_classification
                               WHERE purpose_of_use = p.purpose_of_use AND classification = effect.classification)
                       OR axtract.column_exception_in_force(p.partner_id, col.dataset, col.column_name)));
    END LOOP;

    FOR item IN SELECT * FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.spec->'filters') = 'array' THEN r.spec->'filters' ELSE '[]' END) LOOP
        SELECT * INTO col FROM axtract.dataset_column WHERE dataset = r.spec->>'dataset' AND column_name = item->>'column';
        filters := filters || jsonb_build_array(item || CASE WHEN col IS NULL THEN jsonb_build_object('allowed', false)
            ELSE jsonb_build_object('classification', col.classification,
                'allowed', EXISTS (SELECT FROM axtract.purpose_classification
                                   WHERE purpose_of_use = p.purpose_of_use AND classification = col.classification)
                           OR axtract.column_exception_in_force(p.partner_id, col.dataset, col.column_name)) END);
    END LOOP;

    -- view_compile writes nothing; the block only catches its error.
    BEGIN
        SELECT c.compiled_sql INTO compiled FROM axtract.view_compile(p.partner_id, r.spec) AS c;
        result := jsonb_build_object('ok', true);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
            err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT;
        result := jsonb_strip_nulls(jsonb_build_object('ok', false, 'sqlstate', err_state, 'message', err_message,
            'detail', nullif(err_detail, ''), 'hint', nullif(err_hint, '')));
    END;

    SELECT * INTO live FROM axtract.partner_view WHERE partner_id = r.partner_id AND name = r.view_name;

    RETURN jsonb_build_object(
        'request', jsonb_build_object(
            'request_id', r.request_id, 'kind', r.kind, 'view', r.view_name, 'version', r.version,
            'status', r.status, 'template', r.template, 'previous_id', r.previous_id,
            'created_by', r.created_by, 'created_at', r.created_at,
            'submitted_by', r.submitted_by, 'submitted_at', r.submitted_at,
            'reviewed_by', r.reviewed_by, 'reviewed_at', r.reviewed_at, 'review_comment', r.review_comment),
        'partner', jsonb_build_object('slug', p.slug, 'name', p.name, 'purpose_of_use', p.purpose_of_use),
        'allowed_classifications', coalesce((SELECT jsonb_agg(classification ORDER BY classification)
                                             FROM axtract.purpose_classification WHERE purpose_of_use = p.purpose_of_use), '[]'),
        'dataset', r.spec->>'dataset',
        'profile', coalesce(r.spec->>'profile', 'none'),
        'spec', r.spec,
        'columns', columns,
        'filters', filters,
        'minimum_necessary', result,
        'compiled_sql', compiled,
        'feed', r.feed,
        'approval', CASE WHEN r.status IN ('draft', 'submitted') THEN axtract.request_dry_run(r) END,
        'live', CASE WHEN live.view_id IS NOT NULL THEN
            jsonb_build_object('version', live.version, 'spec', live.spec, 'same_spec', live.spec = r.spec) END);
END
$$;

-- Approve a submitted request: define its view, and its feed for kind
-- feed, exactly as requested. Whoever created, edited or submitted the
-- request may not approve it.
CREATE OR REPLACE FUNCTION axtract.request_approve(p_id bigint, p_actor text, p_comment text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    r    axtract.request;
    slug text;
    vver integer;
    fid  bigint;
BEGIN
    PERFORM axtract.request_actor_check(p_actor, 'review');
    r := axtract.request_lock(p_id);
    IF r.status <> 'submitted' THEN
        RAISE EXCEPTION 'request % is %, so it cannot be approved', p_id, r.status
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Only submitted requests are approved.';
    END IF;
    IF lower(p_actor) IN (lower(r.created_by), lower(r.updated_by), lower(r.submitted_by)) THEN
        RAISE EXCEPTION 'request %: % drafted or submitted it, so someone else must approve it', p_id, p_actor
            USING ERRCODE = 'insufficient_privilege', HINT = 'Ask another privacy officer to review it.';
    END IF;
    SELECT p.slug INTO slug FROM axtract.partner p WHERE p.partner_id = r.partner_id;

    PERFORM axtract.view_define(slug, r.view_name, r.spec);
    SELECT version INTO vver FROM axtract.partner_view WHERE partner_id = r.partner_id AND name = r.view_name;
    IF r.kind = 'feed' THEN
        fid := axtract.feed_define(r.feed->>'name', slug, r.view_name, r.feed->>'destination', coalesce(r.feed->'options', '{}'));
    END IF;

    UPDATE axtract.request
    SET status = 'approved', reviewed_by = p_actor, reviewed_at = now(), review_comment = p_comment,
        view_version = vver, feed_id = fid
    WHERE request_id = p_id
    RETURNING * INTO r;
    PERFORM axtract.request_audit('request.approve', p_actor, r,
        jsonb_build_object('comment', p_comment, 'view_version', vver, 'spec', r.spec, 'feed', r.feed));
END
$$;

-- Reject a submitted request with a reason. Nothing becomes live.
CREATE OR REPLACE FUNCTION axtract.request_reject(p_id bigint, p_actor text, p_comment text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    r axtract.request;
BEGIN
    PERFORM axtract.request_actor_check(p_actor, 'review');
    r := axtract.request_lock(p_id);
    IF r.status <> 'submitted' THEN
        RAISE EXCEPTION 'request % is %, so it cannot be rejected', p_id, r.status
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Only submitted requests are rejected.';
    END IF;
    IF coalesce(btrim(p_comment), '') = '' THEN
        RAISE EXCEPTION 'rejecting request % needs a comment saying why', p_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The analyst reads it to fix the request.';
    END IF;
    UPDATE axtract.request SET status = 'rejected', reviewed_by = p_actor, reviewed_at = now(), review_comment = p_comment
    WHERE request_id = p_id
    RETURNING * INTO r;
    PERFORM axtract.request_audit('request.reject', p_actor, r, jsonb_build_object('comment', p_comment));
END
$$;

-- Built-in templates. Each is valid for a partner of its purpose of use
-- against the datasets of sql/30_dataset.sql; a test compiles every one.
INSERT INTO axtract.request_template AS t (name, title, description, purpose_of_use, spec, feed_options, builtin) VALUES
    ('pbm_eligibility', 'PBM eligibility',
     'Coverage spans with the identifying fields a pharmacy benefit manager needs to adjudicate claims.',
     'payment',
     '{"dataset": "enrollment",
       "columns": ["member_id", "subscriber_id", "relationship", "plan_name", "start_date", "end_date",
                   "first_name", "last_name", "birth_date", "gender", "zip"],
       "filters": [{"column": "end_date", "op": "is_null"}]}',
     '{"compression": "zstd", "schedule": "0 5 * * *", "time_zone": "America/Chicago", "max_attempts": 5}',
     true),
    ('research_deidentified_claims', 'Research de-identified claims (Safe Harbor)',
     'Medical claim lines de-identified by the Safe Harbor method: pseudonymous member keys, years, three-digit ZIP codes.',
     'research',
     '{"dataset": "medical_claims",
       "profile": "safe_harbor",
       "columns": [{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
                   {"column": "service_from", "as": "service_year", "transform": "year"},
                   {"column": "member_birth_date", "as": "birth_year", "transform": "year"},
                   "member_gender",
                   {"column": "member_zip", "as": "member_zip3", "transform": "zip3"},
                   "member_state", "claim_type", "procedure_code", "procedure_code_system",
                   "diagnosis_code_system", "diagnosis_1", "diagnosis_2", "units", "paid_amount"],
       "filters": [{"column": "service_from", "op": ">=", "value": "2020-01-01"}]}',
     '{"compression": "gzip", "schedule": "0 6 1 * *", "time_zone": "UTC"}',
     true),
    ('provider_network_roster', 'Provider network roster',
     'Members attributed to a provider group, with the demographics the group needs to reach them for care.',
     'treatment',
     '{"dataset": "members",
       "columns": ["member_id", "first_name", "last_name", "birth_date", "gender", "phone",
                   "address", "city", "state", "zip", "attributed_org_id"],
       "filters": [{"column": "attributed_org_id", "op": "not_null"}]}',
     '{"compression": "zstd", "schedule": "0 6 * * 1", "time_zone": "America/New_York"}',
     true),
    ('fhir_patient_access', 'FHIR patient access',
     'Member demographics for a patient access application, the fields of a FHIR Patient resource.',
     'treatment',
     '{"dataset": "members",
       "columns": ["member_id", "first_name", "last_name", "birth_date", "death_date", "gender",
                   "race", "ethnicity", "address", "city", "state", "zip", "phone"]}',
     '{"format": "fhir", "format_options": {"resources": {"Patient": "{view}"}}, "file_name": "{feed}_{slot}_{part}.ndjson",
       "compression": "none", "encrypt": true}',
     true)
ON CONFLICT (name) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    purpose_of_use = EXCLUDED.purpose_of_use,
    spec = EXCLUDED.spec,
    feed_options = EXCLUDED.feed_options
WHERE t.builtin;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract FROM PUBLIC;

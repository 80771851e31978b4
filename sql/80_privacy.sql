-- The privacy engine's other objects: the sensitive categories of mart rows,
-- exceptions to the minimum-necessary rule, data use agreements, partner
-- de-identification settings, and the accounting of disclosures. The last
-- statements bring existing data and partners up to date on every migrate.

-- Sensitive categories of rows.
--
-- A row's categories come from its codes and axtract.sensitive_code. Codes
-- are compared in upper case without dots. A code without a code system
-- (reason codes, encounter and care plan codes) counts as SNOMED CT when it
-- is all digits and as ICD-10-CM otherwise.

-- Compile axtract.sensitive_code into the body of
-- axtract.sensitive_code_map(), a jsonb object from 'E|system|code' (exact
-- rows) and 'P|system|prefix' (prefix rows) to the codes' categories. The
-- row triggers look codes up in it instead of querying the table, which
-- keeps loads fast: the function is inlined as a constant into their cached
-- plans, and replacing it invalidates those plans.
CREATE OR REPLACE FUNCTION axtract.sensitive_code_compile() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    map jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(k, categories), '{}') INTO map
    FROM (
        SELECT CASE match WHEN 'exact' THEN 'E|' ELSE 'P|' END || code_system || '|' || code AS k,
               jsonb_agg(DISTINCT category ORDER BY category) AS categories
        FROM axtract.sensitive_code
        GROUP BY 1
    ) AS s;
    EXECUTE format('CREATE OR REPLACE FUNCTION axtract.sensitive_code_map() RETURNS jsonb'
        ' LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L', format('SELECT %L::jsonb', map));
    EXECUTE format('COMMENT ON FUNCTION axtract.sensitive_code_map() IS %L',
        'axtract.sensitive_code compiled by axtract.sensitive_code_compile(); do not edit.');
END
$$;

SELECT axtract.sensitive_code_compile();

-- The sorted categories of codes p_codes, each of code system p_systems[i]
-- (NULL: guessed from its form). A code matches an exact row equal to it
-- and a prefix row equal to its first 3 to 7 characters (or to all of it).
CREATE OR REPLACE FUNCTION axtract.sensitive_categories_of(p_systems text[], p_codes text[]) RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    code        text;
    code_system text;
    keys        text[];
    found       text[] := '{}';
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_codes), 0) LOOP
        code := p_codes[i];
        CONTINUE WHEN code IS NULL OR code = '';
        code := upper(replace(code, '.', ''));
        code_system := coalesce(p_systems[i], CASE WHEN code ~ '^[0-9]+$' THEN 'SNOMED-CT' ELSE 'ICD-10-CM' END);
        keys := ARRAY['E|' || code_system || '|' || code, 'P|' || code_system || '|' || code,
                      'P|' || code_system || '|' || left(code, 3), 'P|' || code_system || '|' || left(code, 4),
                      'P|' || code_system || '|' || left(code, 5), 'P|' || code_system || '|' || left(code, 6),
                      'P|' || code_system || '|' || left(code, 7)];
        -- Most codes are in no category; one existence test settles them.
        CONTINUE WHEN NOT axtract.sensitive_code_map() ?| keys;
        found := found || ARRAY(SELECT jsonb_array_elements_text(axtract.sensitive_code_map() -> k) FROM unnest(keys) AS k);
    END LOOP;
    IF cardinality(found) = 0 THEN
        RETURN '{}';
    END IF;
    RETURN ARRAY(SELECT DISTINCT x FROM unnest(found) AS x ORDER BY 1);
END
$$;

-- The sorted union of two category lists.
CREATE OR REPLACE FUNCTION axtract.categories_union(a text[], b text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF coalesce(cardinality(b), 0) = 0 THEN
        RETURN coalesce(a, '{}');
    END IF;
    IF coalesce(cardinality(a), 0) = 0 THEN
        RETURN b;
    END IF;
    RETURN (SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(a || b) AS x);
END
$$;

CREATE OR REPLACE FUNCTION axtract.categories_of_claim(r mart.claim) RETURNS text[]
LANGUAGE sql STABLE
AS $$
    SELECT axtract.sensitive_categories_of(array_fill(r.diagnosis_code_system, ARRAY[8]),
        ARRAY[r.diagnosis_1, r.diagnosis_2, r.diagnosis_3, r.diagnosis_4, r.diagnosis_5, r.diagnosis_6, r.diagnosis_7, r.diagnosis_8])
$$;

-- A line has its claim's categories and those of its procedure code. The
-- function reads the claim as its owner, because row-level security would
-- hide the claim from a loading role that is not the table owner, and the
-- line would then carry no categories.
CREATE OR REPLACE FUNCTION axtract.categories_of_claim_line(r mart.claim_line) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    claim_categories text[];
BEGIN
    SELECT c.sensitive_categories INTO claim_categories FROM mart.claim c WHERE c.claim_id = r.claim_id;
    IF r.procedure_code IS NULL THEN
        RETURN coalesce(claim_categories, '{}');
    END IF;
    RETURN axtract.categories_union(claim_categories,
        axtract.sensitive_categories_of(ARRAY[r.procedure_code_system], ARRAY[r.procedure_code]));
END
$$;

CREATE OR REPLACE FUNCTION axtract.categories_of_claim_transaction(r mart.claim_transaction) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN coalesce((SELECT c.sensitive_categories FROM mart.claim c WHERE c.claim_id = r.claim_id), '{}');
END
$$;

CREATE OR REPLACE FUNCTION axtract.categories_of_encounter(r mart.encounter) RETURNS text[]
LANGUAGE sql STABLE
AS $$ SELECT axtract.sensitive_categories_of(ARRAY[NULL, NULL]::text[], ARRAY[r.code, r.reason_code]) $$;

CREATE OR REPLACE FUNCTION axtract.categories_of_condition(r mart.condition) RETURNS text[]
LANGUAGE sql STABLE
AS $$ SELECT axtract.sensitive_categories_of(ARRAY[r.code_system], ARRAY[r.code]) $$;

CREATE OR REPLACE FUNCTION axtract.categories_of_observation(r mart.observation) RETURNS text[]
LANGUAGE sql STABLE
AS $$ SELECT axtract.sensitive_categories_of(ARRAY[r.code_system], ARRAY[r.code]) $$;

CREATE OR REPLACE FUNCTION axtract.categories_of_procedure(r mart.procedure) RETURNS text[]
LANGUAGE sql STABLE
AS $$ SELECT axtract.sensitive_categories_of(ARRAY[r.code_system, NULL], ARRAY[r.code, r.reason_code]) $$;

-- A pharmacy claim's drug is looked up by RxNorm code; there is no NDC list.
CREATE OR REPLACE FUNCTION axtract.categories_of_pharmacy_claim(r mart.pharmacy_claim) RETURNS text[]
LANGUAGE sql STABLE
AS $$ SELECT axtract.sensitive_categories_of(ARRAY['RxNorm', NULL], ARRAY[r.rxnorm_code, r.reason_code]) $$;

CREATE OR REPLACE FUNCTION axtract.categories_of_careplan(r mart.careplan) RETURNS text[]
LANGUAGE sql STABLE
AS $$ SELECT axtract.sensitive_categories_of(ARRAY[NULL, NULL]::text[], ARRAY[r.code, r.reason_code]) $$;

-- The mart tables whose rows carry sensitive categories, claims first
-- because their lines and transactions copy them.
CREATE OR REPLACE FUNCTION axtract.categorized_tables() RETURNS SETOF text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT unnest(ARRAY['claim', 'claim_line', 'claim_transaction', 'encounter', 'condition', 'observation',
                        'procedure', 'pharmacy_claim', 'careplan'])
$$;

-- Set NEW.sensitive_categories from NEW's codes, NULL for none, whatever
-- the statement wrote there, so imports, generated data and hand-written
-- rows all get them.
CREATE OR REPLACE FUNCTION axtract.row_categorize() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    CASE TG_TABLE_NAME
    WHEN 'claim' THEN NEW.sensitive_categories := nullif(axtract.categories_of_claim(NEW), '{}');
    WHEN 'claim_line' THEN NEW.sensitive_categories := nullif(axtract.categories_of_claim_line(NEW), '{}');
    WHEN 'claim_transaction' THEN NEW.sensitive_categories := nullif(axtract.categories_of_claim_transaction(NEW), '{}');
    WHEN 'encounter' THEN NEW.sensitive_categories := nullif(axtract.categories_of_encounter(NEW), '{}');
    WHEN 'condition' THEN NEW.sensitive_categories := nullif(axtract.categories_of_condition(NEW), '{}');
    WHEN 'observation' THEN NEW.sensitive_categories := nullif(axtract.categories_of_observation(NEW), '{}');
    WHEN 'procedure' THEN NEW.sensitive_categories := nullif(axtract.categories_of_procedure(NEW), '{}');
    WHEN 'pharmacy_claim' THEN NEW.sensitive_categories := nullif(axtract.categories_of_pharmacy_claim(NEW), '{}');
    WHEN 'careplan' THEN NEW.sensitive_categories := nullif(axtract.categories_of_careplan(NEW), '{}');
    END CASE;
    RETURN NEW;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT axtract.categorized_tables() LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER sensitive_categories BEFORE INSERT OR UPDATE ON mart.%I'
            ' FOR EACH ROW EXECUTE FUNCTION axtract.row_categorize()', t);
    END LOOP;
END
$$;

-- When a claim's categories change, its lines and transactions take them
-- again (the row trigger recomputes the NULL).
CREATE OR REPLACE FUNCTION axtract.claim_categories_cascade() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE mart.claim_line SET sensitive_categories = NULL WHERE claim_id = NEW.claim_id;
    UPDATE mart.claim_transaction SET sensitive_categories = NULL WHERE claim_id = NEW.claim_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER claim_categories_cascade
    AFTER UPDATE ON mart.claim
    FOR EACH ROW
    WHEN (OLD.sensitive_categories IS DISTINCT FROM NEW.sensitive_categories)
    EXECUTE FUNCTION axtract.claim_categories_cascade();

-- Recompute the categories of every stored row after the code list
-- changed. Only rows whose categories differ are rewritten. Returns the
-- rows changed per table, not counting lines and transactions that follow
-- their claim.
CREATE OR REPLACE FUNCTION axtract.sensitive_categories_recompute()
RETURNS TABLE (table_name text, rows_changed bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    t text;
    n bigint;
BEGIN
    FOR t IN SELECT axtract.categorized_tables() LOOP
        EXECUTE format('UPDATE mart.%1$I AS r SET sensitive_categories = NULL'
            ' WHERE r.sensitive_categories IS DISTINCT FROM nullif(axtract.%2$I(r), ''{}'')', t, 'categories_of_' || t);
        GET DIAGNOSTICS n = ROW_COUNT;
        table_name := t;
        rows_changed := n;
        RETURN NEXT;
    END LOOP;
    UPDATE axtract.privacy_state SET categories_stale = false, categories_computed_at = now();
END
$$;

CREATE OR REPLACE FUNCTION axtract.sensitive_code_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM axtract.sensitive_code_compile();
    UPDATE axtract.privacy_state SET categories_stale = true;
    RAISE NOTICE 'axtract.sensitive_code changed; stored rows keep their old categories until SELECT * FROM axtract.sensitive_categories_recompute() runs';
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER sensitive_code_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON axtract.sensitive_code
    FOR EACH STATEMENT EXECUTE FUNCTION axtract.sensitive_code_changed();

-- The category test of a consent policy names every category, so adding,
-- renaming or removing one rewrites every partner's policies.
CREATE OR REPLACE FUNCTION axtract.sensitive_category_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    slug text;
BEGIN
    FOR slug IN SELECT p.slug FROM axtract.partner p ORDER BY p.slug LOOP
        PERFORM axtract.partner_apply_policies(slug);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER sensitive_category_changed
    AFTER INSERT OR UPDATE OR DELETE ON axtract.sensitive_category
    FOR EACH STATEMENT EXECUTE FUNCTION axtract.sensitive_category_changed();

-- Member numbers, assigned when members are inserted.
CREATE OR REPLACE FUNCTION axtract.member_number_assign() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO axtract.member_number (member_id)
    SELECT n.member_id FROM new_members n ORDER BY n.member_id
    ON CONFLICT (member_id) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER member_number_assign
    AFTER INSERT ON mart.member
    REFERENCING NEW TABLE AS new_members
    FOR EACH STATEMENT EXECUTE FUNCTION axtract.member_number_assign();

-- Exceptions to the minimum-necessary rule.

-- Record a privacy officer's approval for partner p_slug to select column
-- p_column of dataset p_dataset until p_expires_at, and return its id.
CREATE OR REPLACE FUNCTION axtract.column_exception_add(
    p_slug text,
    p_dataset text,
    p_column text,
    p_approved_by text,
    p_reason text,
    p_expires_at timestamptz
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
    PERFORM axtract.dataset_column_get(p_dataset, p_column);
    IF coalesce(p_approved_by, '') = '' OR coalesce(p_reason, '') = '' THEN
        RAISE EXCEPTION 'an exception needs the approver and the reason' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_expires_at IS NULL OR p_expires_at <= now() THEN
        RAISE EXCEPTION 'exception expiry % is not in the future', coalesce(p_expires_at::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO axtract.column_exception (partner_id, dataset, column_name, approved_by, reason, expires_at)
    VALUES (pid, p_dataset, p_column, p_approved_by, p_reason, p_expires_at)
    RETURNING exception_id INTO id;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('privacy.exception.add', pid, jsonb_build_object('exception_id', id, 'dataset', p_dataset, 'column', p_column,
        'approved_by', p_approved_by, 'reason', p_reason, 'expires_at', p_expires_at));
    PERFORM axtract.partner_sync_grants(pid);
    RETURN id;
END
$$;

-- Revoke an exception; views that need it lose their grants at once.
CREATE OR REPLACE FUNCTION axtract.column_exception_revoke(p_exception_id bigint) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    pid bigint;
BEGIN
    UPDATE axtract.column_exception SET revoked_at = now()
    WHERE exception_id = p_exception_id AND revoked_at IS NULL
    RETURNING partner_id INTO pid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'exception % not found or already revoked', p_exception_id USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('privacy.exception.revoke', pid, jsonb_build_object('exception_id', p_exception_id));
    PERFORM axtract.partner_sync_grants(pid);
END
$$;

-- Data use agreements.

CREATE OR REPLACE FUNCTION axtract.dua_in_force(p_partner_id bigint) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT EXISTS (
        SELECT FROM axtract.data_use_agreement a
        WHERE a.partner_id = p_partner_id AND a.revoked_at IS NULL
          AND a.effective_from <= (now() AT TIME ZONE 'UTC')::date
          AND (a.effective_to IS NULL OR a.effective_to >= (now() AT TIME ZONE 'UTC')::date))
$$;

-- Record a signed data use agreement with partner p_slug and return its id.
-- p_reference names the place where the signed document is kept.
CREATE OR REPLACE FUNCTION axtract.dua_record(
    p_slug text,
    p_reference text,
    p_signed_on date,
    p_effective_from date,
    p_effective_to date DEFAULT NULL
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
    IF coalesce(p_reference, '') = '' OR p_signed_on IS NULL OR p_effective_from IS NULL THEN
        RAISE EXCEPTION 'a data use agreement needs a reference, the signing date and a start date'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_effective_to IS NOT NULL AND p_effective_to < p_effective_from THEN
        RAISE EXCEPTION 'data use agreement end date % is before its start date %', p_effective_to, p_effective_from
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO axtract.data_use_agreement (partner_id, reference, signed_on, effective_from, effective_to)
    VALUES (pid, p_reference, p_signed_on, p_effective_from, p_effective_to)
    RETURNING dua_id INTO id;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('privacy.dua.record', pid, jsonb_build_object('dua_id', id, 'reference', p_reference,
        'effective_from', p_effective_from, 'effective_to', p_effective_to));
    PERFORM axtract.partner_sync_grants(pid);
    RETURN id;
END
$$;

CREATE OR REPLACE FUNCTION axtract.dua_revoke(p_dua_id bigint) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    pid bigint;
BEGIN
    UPDATE axtract.data_use_agreement SET revoked_at = now()
    WHERE dua_id = p_dua_id AND revoked_at IS NULL
    RETURNING partner_id INTO pid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'data use agreement % not found or already revoked', p_dua_id USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('privacy.dua.revoke', pid, jsonb_build_object('dua_id', p_dua_id));
    PERFORM axtract.partner_sync_grants(pid);
END
$$;

-- Partner de-identification settings.

-- Set the ZIP list version and the date shift range of partner p_slug;
-- NULL leaves a setting as it is. A trigger re-checks the partner's views.
CREATE OR REPLACE FUNCTION axtract.partner_privacy_set(
    p_slug text,
    p_zip3_version text DEFAULT NULL,
    p_date_shift_max_days integer DEFAULT NULL
) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    pid bigint;
BEGIN
    IF p_zip3_version IS NOT NULL AND NOT EXISTS (SELECT FROM axtract.zip3_list WHERE version = p_zip3_version) THEN
        RAISE EXCEPTION 'unknown ZIP list version %', quote_literal(p_zip3_version)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Versions: ' || (SELECT string_agg(version, ', ' ORDER BY version) FROM axtract.zip3_list);
    END IF;
    IF p_date_shift_max_days IS NOT NULL AND p_date_shift_max_days NOT BETWEEN 1 AND 3650 THEN
        RAISE EXCEPTION 'date shift range must be between 1 and 3650 days, not %', p_date_shift_max_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE axtract.partner SET
        zip3_version = coalesce(p_zip3_version, zip3_version),
        date_shift_max_days = coalesce(p_date_shift_max_days, date_shift_max_days)
    WHERE slug = p_slug
    RETURNING partner_id INTO pid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM axtract.date_shifts_refresh(pid);
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('partner.privacy', pid, jsonb_build_object('zip3_version', p_zip3_version, 'date_shift_max_days', p_date_shift_max_days));
END
$$;

-- Define again, as a new version, every view of partner p_partner_id whose
-- spec compiles to other SQL than the view holds, and return how many. A
-- view that no longer compiles stays as it is, and partner_sync_grants
-- leaves it without grants.
CREATE OR REPLACE FUNCTION axtract.partner_views_redefine(p_partner_id bigint) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    slug     text := (SELECT p.slug FROM axtract.partner p WHERE p.partner_id = p_partner_id);
    v        axtract.partner_view;
    compiled record;
    n        integer := 0;
BEGIN
    FOR v IN SELECT * FROM axtract.partner_view WHERE partner_id = p_partner_id ORDER BY name LOOP
        BEGIN
            SELECT * INTO compiled FROM axtract.view_compile(p_partner_id, v.spec);
        EXCEPTION WHEN insufficient_privilege OR invalid_parameter_value OR undefined_column THEN
            CONTINUE;
        END;
        IF compiled.compiled_sql IS DISTINCT FROM v.compiled_sql THEN
            PERFORM axtract.view_define(slug, v.name, v.spec);
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;

-- The purpose of use, ZIP list and date shift range decide whether the
-- partner's views compile, so a change of any re-checks their grants. The
-- zip3 transform names the ZIP list version in the compiled SQL, so a
-- change of the list defines the views that use it again.
CREATE OR REPLACE FUNCTION axtract.partner_grants_maintain() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF OLD.zip3_version IS DISTINCT FROM NEW.zip3_version THEN
        PERFORM axtract.partner_views_redefine(NEW.partner_id);
    END IF;
    PERFORM axtract.partner_sync_grants(NEW.partner_id);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER partner_grants_maintain
    AFTER UPDATE OF purpose_of_use, zip3_version, date_shift_max_days ON axtract.partner
    FOR EACH ROW
    WHEN (OLD.purpose_of_use IS DISTINCT FROM NEW.purpose_of_use
          OR OLD.zip3_version IS DISTINCT FROM NEW.zip3_version
          OR OLD.date_shift_max_days IS DISTINCT FROM NEW.date_shift_max_days)
    EXECUTE FUNCTION axtract.partner_grants_maintain();

-- Accounting of disclosures.

-- The view p_view of partner p_slug, for recording its disclosures.
-- Raises when either is not found.
CREATE OR REPLACE FUNCTION axtract.disclosure_view(p_slug text, p_view text) RETURNS axtract.partner_view
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    pid bigint;
    v   axtract.partner_view;
BEGIN
    SELECT partner_id INTO pid FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO v FROM axtract.partner_view WHERE partner_id = pid AND name = p_view;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'view % of partner % not found', p_view, p_slug USING ERRCODE = 'no_data_found';
    END IF;
    RETURN v;
END
$$;

-- Record which members run p_run_id disclosed through view p_view of
-- partner p_slug, from the current transaction's snapshot: the extract's
-- REPEATABLE READ transaction, after its COPY. p_window is the watermark
-- window of an incremental run ({"column", "from", "to"}, the values as
-- text of the column's type), NULL for the whole view. Recording a run again
-- replaces its record. Returns how many members it disclosed.
--
-- The member ids come from the view's member-id view, which has the
-- partner view's FROM, WHERE, columns and owner, so the same consent
-- policies select the same rows.
CREATE OR REPLACE FUNCTION axtract.disclosure_record(
    p_run_id bigint,
    p_slug text,
    p_view text,
    p_window jsonb DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    v          axtract.partner_view;
    members    text;
    col        text;
    where_sql  text := '';
BEGIN
    v := axtract.disclosure_view(p_slug, p_view);
    members := format('axtract_disclosure.%I', 'v' || v.view_id);
    IF to_regclass(members) IS NULL THEN
        RAISE EXCEPTION 'view %.% has no member-id view %', p_slug, p_view, members
            USING ERRCODE = 'undefined_table', HINT = 'Define the view again with axtract.view_define.';
    END IF;

    IF p_window IS NOT NULL THEN
        col := p_window->>'column';
        IF col IS NULL OR NOT EXISTS (
            SELECT FROM pg_attribute WHERE attrelid = members::regclass AND attname = col AND attnum > 0 AND NOT attisdropped
        ) THEN
            RAISE EXCEPTION 'watermark column % is not a column of view %.%', coalesce(quote_literal(col), 'NULL'), p_slug, p_view
                USING ERRCODE = 'undefined_column';
        END IF;
        IF p_window->>'to' IS NULL OR p_window->>'from' = p_window->>'to' THEN
            where_sql := ' WHERE false';
        ELSE
            where_sql := format(' WHERE %I <= %L', col, p_window->>'to');
            IF p_window->>'from' IS NOT NULL THEN
                where_sql := where_sql || format(' AND %I > %L', col, p_window->>'from');
            END IF;
        END IF;
    END IF;

    RETURN axtract.disclosure_store(p_run_id, v,
        format('SELECT DISTINCT axtract_member_id AS member_id FROM %s%s', members, where_sql));
END
$$;

DROP FUNCTION IF EXISTS axtract.disclosure_store(bigint, axtract.partner, axtract.partner_view, text, uuid[]);

-- Replace the record of the members run p_run_id disclosed through partner
-- view v. p_members_sql is a query of the distinct member ids (column
-- member_id) that may read p_keys as $1. Returns how many members it found.
CREATE OR REPLACE FUNCTION axtract.disclosure_store(
    p_run_id bigint,
    v axtract.partner_view,
    p_members_sql text,
    p_keys uuid[] DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    -- Members per row of disclosure_member: 40 kB of integers, stored
    -- compressed out of line.
    chunk_size CONSTANT integer := 10000;
    p          axtract.partner;
    disclosed  bigint;
    stored     bigint;
BEGIN
    SELECT * INTO p FROM axtract.partner WHERE partner_id = v.partner_id;
    DELETE FROM axtract.disclosure WHERE run_id = p_run_id AND view_id = v.view_id;
    INSERT INTO axtract.disclosure (run_id, partner_id, partner_slug, feed_id, view_id, view_name, view_version,
                                    purpose_of_use, disclosed_at, members)
    VALUES (p_run_id, p.partner_id, p.slug, (SELECT r.feed_id FROM axtract.run r WHERE r.run_id = p_run_id),
            v.view_id, v.name, v.version, p.purpose_of_use, now(), 0);
    EXECUTE format(
        'WITH disclosed AS MATERIALIZED (%s),'
        ' numbered AS ('
        '   SELECT n.member_no, (row_number() OVER (ORDER BY n.member_no) - 1) / %s AS chunk'
        '   FROM disclosed d JOIN axtract.member_number n ON n.member_id = d.member_id),'
        ' stored AS ('
        '   INSERT INTO axtract.disclosure_member (run_id, view_id, chunk, buckets, members)'
        '   SELECT %s, %s, chunk, array_agg(DISTINCT member_no / 256), array_agg(member_no ORDER BY member_no)'
        '   FROM numbered GROUP BY chunk'
        '   RETURNING cardinality(members) AS n)'
        ' SELECT (SELECT count(*) FROM disclosed), (SELECT coalesce(sum(n), 0) FROM stored)',
        p_members_sql, chunk_size, p_run_id, v.view_id)
    INTO disclosed, stored
    USING p_keys;
    IF stored <> disclosed THEN
        RAISE EXCEPTION 'run %: % of % disclosed members have no member number', p_run_id, disclosed - stored, disclosed
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Members get numbers when they are inserted into mart.member; axtract migrate numbers the others.';
    END IF;
    UPDATE axtract.disclosure SET members = disclosed WHERE run_id = p_run_id AND view_id = v.view_id;
    RETURN disclosed;
END
$$;

-- The output column of view p_view of partner p_slug that names each row's
-- member, and its kind: member_id when the view selects the dataset's
-- member id as it is, pseudonym when it selects the partner's pseudonym of
-- it. No row when the view selects neither. The extract collects the
-- distinct values of that column as it writes the file, so it can record
-- the run's disclosures without reading the view a second time
-- (axtract.disclosure_record_keys).
CREATE OR REPLACE FUNCTION axtract.view_member_key(p_slug text, p_view text)
RETURNS TABLE (column_name text, kind text)
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(item->>'as', item->>'column'),
           CASE WHEN coalesce(item->>'transform', 'none') = 'none' THEN 'member_id' ELSE 'pseudonym' END
    FROM axtract.partner p
    JOIN axtract.partner_view v ON v.partner_id = p.partner_id
    JOIN axtract.dataset ds ON ds.name = v.spec->>'dataset'
    CROSS JOIN LATERAL jsonb_array_elements(v.spec->'columns') WITH ORDINALITY AS e(raw, n)
    CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(e.raw) = 'string' THEN jsonb_build_object('column', e.raw) ELSE e.raw END) AS i(item)
    JOIN axtract.dataset_column c ON c.dataset = ds.name AND c.column_name = i.item->>'column'
    WHERE p.slug = p_slug AND v.name = p_view
      AND c.table_alias || '.' || c.source_column = ds.member_column
      AND coalesce(item->>'transform', 'none') IN ('none', 'pseudonym')
    -- The member id itself, when the view has it, else a pseudonym.
    ORDER BY coalesce(item->>'transform', 'none') = 'none' DESC, e.n
    LIMIT 1
$$;

-- Record which members run p_run_id disclosed through view p_view of
-- partner p_slug from the member keys that the extract read from the
-- delivered rows: p_keys are the distinct values of the view's member key
-- column (axtract.view_member_key), of kind p_kind. Every key must name a
-- member; otherwise nothing is recorded and the call raises. Returns how
-- many members it disclosed.
CREATE OR REPLACE FUNCTION axtract.disclosure_record_keys(
    p_run_id bigint,
    p_slug text,
    p_view text,
    p_kind text,
    p_keys uuid[]
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    v         axtract.partner_view;
    members   text;
    keys      bigint := (SELECT count(DISTINCT k) FROM unnest(p_keys) AS k);
    disclosed bigint;
BEGIN
    v := axtract.disclosure_view(p_slug, p_view);
    CASE p_kind
    WHEN 'member_id' THEN
        members := 'SELECT DISTINCT k AS member_id FROM unnest($1) AS k JOIN mart.member m ON m.member_id = k';
    WHEN 'pseudonym' THEN
        members := format('SELECT DISTINCT ps.member_id FROM unnest($1) AS k'
                          ' JOIN axtract.member_pseudonym ps ON ps.partner_id = %s AND ps.pseudonym = k', v.partner_id);
    ELSE
        RAISE EXCEPTION 'unknown member key kind %', quote_literal(p_kind)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use member_id or pseudonym.';
    END CASE;
    disclosed := axtract.disclosure_store(p_run_id, v, members, p_keys);
    IF disclosed <> keys THEN
        RAISE EXCEPTION 'run %: % of the % member keys of view %.% name no member', p_run_id,
            keys - disclosed, keys, p_slug, p_view
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN disclosed;
END
$$;

-- Who received member p_member_id's data, when, under which view
-- definition and purpose: one row per run and view that disclosed it.
CREATE OR REPLACE FUNCTION axtract.disclosures_of_member(p_member_id uuid)
RETURNS TABLE (
    run_id bigint,
    disclosed_at timestamptz,
    partner text,
    partner_name text,
    purpose_of_use text,
    feed text,
    view_name text,
    view_version integer,
    view_spec jsonb
)
LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_column
DECLARE
    no integer;
BEGIN
    SELECT n.member_no INTO no FROM axtract.member_number n WHERE n.member_id = p_member_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT d.run_id, d.disclosed_at, d.partner_slug, p.name, d.purpose_of_use, f.name, d.view_name, d.view_version, vv.spec
    FROM axtract.disclosure d
    LEFT JOIN axtract.partner p ON p.partner_id = d.partner_id
    LEFT JOIN axtract.feed f ON f.feed_id = d.feed_id
    LEFT JOIN axtract.partner_view_version vv ON vv.view_id = d.view_id AND vv.version = d.view_version
    WHERE (d.run_id, d.view_id) IN (SELECT dm.run_id, dm.view_id FROM axtract.disclosure_member dm
                                    WHERE dm.buckets @> ARRAY[no / 256] AND dm.members @> ARRAY[no])
    ORDER BY d.disclosed_at, d.run_id, d.view_name;
END
$$;

-- The disclosures to partner p_slug from UTC date p_from through p_to.
CREATE OR REPLACE FUNCTION axtract.disclosures_of_partner(p_slug text, p_from date, p_to date)
RETURNS TABLE (
    run_id bigint,
    disclosed_at timestamptz,
    purpose_of_use text,
    feed text,
    view_name text,
    view_version integer,
    members bigint
)
LANGUAGE sql STABLE
AS $$
    SELECT d.run_id, d.disclosed_at, d.purpose_of_use, f.name, d.view_name, d.view_version, d.members
    FROM axtract.disclosure d
    LEFT JOIN axtract.feed f ON f.feed_id = d.feed_id
    WHERE d.partner_slug = p_slug
      AND d.disclosed_at >= (p_from::timestamp AT TIME ZONE 'UTC')
      AND d.disclosed_at < ((p_to + 1)::timestamp AT TIME ZONE 'UTC')
    ORDER BY d.disclosed_at, d.run_id, d.view_name
$$;

-- Re-create every partner's policies, column grants and missing member-id
-- views. Runs on every migrate; run it daily too, so that views whose
-- exception or data use agreement expired lose their grants.
CREATE OR REPLACE FUNCTION axtract.privacy_refresh() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    p        axtract.partner;
    v        axtract.partner_view;
    compiled record;
BEGIN
    PERFORM axtract.member_tables_secure();
    FOR p IN SELECT * FROM axtract.partner ORDER BY slug LOOP
        PERFORM axtract.partner_apply_policies(p.slug);
        PERFORM axtract.partner_sync_grants(p.partner_id);
        FOR v IN SELECT * FROM axtract.partner_view WHERE partner_id = p.partner_id ORDER BY name LOOP
            IF to_regclass(format('axtract_disclosure.%I', 'v' || v.view_id)) IS NOT NULL THEN
                EXECUTE format('GRANT SELECT ON axtract_disclosure.%I TO %I', 'v' || v.view_id, current_user);
                CONTINUE;
            END IF;
            BEGIN
                SELECT * INTO compiled FROM axtract.view_compile(p.partner_id, v.spec);
                PERFORM axtract.view_members_define(v.view_id, compiled.member_sql);
            EXCEPTION WHEN insufficient_privilege OR invalid_parameter_value OR undefined_column THEN
                RAISE WARNING 'view %.% fails its privacy checks, so its runs cannot be recorded until it is defined again: %',
                    p.slug, v.name, SQLERRM;
            END;
        END LOOP;
    END LOOP;
END
$$;

-- Bring existing data and partners up to date.
INSERT INTO axtract.member_number (member_id)
SELECT m.member_id FROM mart.member m
WHERE NOT EXISTS (SELECT FROM axtract.member_number n WHERE n.member_id = m.member_id)
ORDER BY m.member_id;

DO $$
BEGIN
    IF (SELECT categories_stale FROM axtract.privacy_state) THEN
        PERFORM axtract.sensitive_categories_recompute();
    END IF;
END
$$;

SELECT axtract.privacy_refresh();

-- Like the rest of the control schema, these functions are for the AxTract
-- service role and DBAs.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract FROM PUBLIC;

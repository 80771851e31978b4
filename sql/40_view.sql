-- The partner view compiler. A view spec is JSON:
--
--   {"dataset": "medical_claims",
--    "profile": "safe_harbor",
--    "columns": [{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
--                {"column": "service_from", "transform": "year"},
--                {"column": "member_zip", "transform": "zip3"},
--                "procedure_code"],
--    "filters": [{"column": "service_from", "op": ">=", "value": "2023-01-01"}]}
--
-- Column names are looked up in the dataset's catalog, never taken as SQL;
-- every identifier is quoted with %I and every value with %L and cast to
-- the catalog's type. Each column and filter passes the minimum-necessary
-- rule of the partner's purpose of use, and the view's profile, before any
-- SQL exists. The result is a security_barrier view owned by the partner's
-- view-owner role, which gets column grants on exactly the mart columns
-- that its views read and that pass the same rules. The view reads the
-- compiled SELECT behind an OFFSET 0 fence (axtract.partner_view_query), so
-- a partner's own conditions run only on rows the consent policies let
-- through.
--
-- Transforms are computed in SQL, so a direct connection reads the same
-- values as a delivered file. The ones that take today's date use the UTC
-- date, and those on timestamps read them in UTC, whatever the session's
-- TimeZone.

DROP FUNCTION IF EXISTS axtract.view_transform(bigint, axtract.dataset_column, text, jsonb);
DROP FUNCTION IF EXISTS axtract.view_compile(bigint, jsonb);

-- The classification and Safe Harbor kind of a column's values after a
-- transform. A pseudonym is a re-identification code that Safe Harbor
-- allows (45 CFR 164.514(c)), but it links a member's rows, so it counts as
-- a quasi-identifier. Year, age and age band keep no date element but the
-- year, and zip3 of a ZIP code keeps the three digits Safe Harbor allows,
-- so they clear the kind and keep the class. Every other transform keeps
-- both: a masked SSN, a month or a shifted date still identifies.
CREATE OR REPLACE FUNCTION axtract.transform_effect(
    p_col axtract.dataset_column,
    p_transform text,
    OUT classification text,
    OUT safe_harbor_kind text
)
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN p_transform = 'pseudonym' THEN 'quasi_identifier' ELSE p_col.classification END,
           CASE WHEN p_transform = 'pseudonym' THEN NULL
                WHEN p_transform IN ('year', 'age', 'age_band') AND p_col.safe_harbor_kind = 'dates' THEN NULL
                WHEN p_transform = 'zip3' AND p_col.source_column = 'zip' THEN NULL
                ELSE p_col.safe_harbor_kind END
$$;

-- Whether a privacy officer's exception lets partner p_partner_id select
-- dataset column p_column now.
CREATE OR REPLACE FUNCTION axtract.column_exception_in_force(p_partner_id bigint, p_dataset text, p_column text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT EXISTS (
        SELECT FROM axtract.column_exception e
        WHERE e.partner_id = p_partner_id AND e.dataset = p_dataset AND e.column_name = p_column
          AND e.revoked_at IS NULL AND e.expires_at > now())
$$;

-- Raise unless partner p's purpose of use allows values of class p_class
-- from column p_col, or an exception covers the column. p_use names what
-- reads it: a column or a filter.
CREATE OR REPLACE FUNCTION axtract.minimum_necessary_check(
    p axtract.partner,
    p_col axtract.dataset_column,
    p_class text,
    p_use text
) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF EXISTS (SELECT FROM axtract.purpose_classification WHERE purpose_of_use = p.purpose_of_use AND classification = p_class)
       OR axtract.column_exception_in_force(p.partner_id, p_col.dataset, p_col.column_name) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'minimum necessary: % % of dataset % is a %, which purpose of use % does not allow',
        p_use, p_col.column_name, p_col.dataset, p_class, p.purpose_of_use
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = format('Purpose of use %s allows %s (axtract.purpose_classification).', p.purpose_of_use,
                  coalesce((SELECT string_agg(classification, ', ' ORDER BY classification)
                            FROM axtract.purpose_classification WHERE purpose_of_use = p.purpose_of_use), 'nothing')),
              HINT = 'Leave the column out, select it through a transform that de-identifies it, or have a privacy officer record an exception with axtract.column_exception_add.';
END
$$;

-- Raise unless a column may appear in a view of profile p_profile, given
-- the class and kind its transform leaves.
CREATE OR REPLACE FUNCTION axtract.profile_column_check(
    p_profile text,
    p_col axtract.dataset_column,
    p_class text,
    p_kind text
) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF p_profile = 'safe_harbor' THEN
        IF p_col.free_text THEN
            RAISE EXCEPTION 'safe_harbor view: column % is free text, which Safe Harbor never shares', p_col.column_name
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave it out; select the code column instead.';
        END IF;
        IF p_kind IS NOT NULL THEN
            RAISE EXCEPTION 'safe_harbor view: column % is a Safe Harbor identifier (%)', p_col.column_name, p_kind
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = CASE
                          WHEN p_kind = 'dates' THEN 'Use transform year, age or age_band.'
                          WHEN p_col.source_column = 'zip' THEN 'Use transform zip3.'
                          WHEN p_col.source_column = 'member_id' THEN 'Use transform pseudonym.'
                          ELSE 'Leave it out.' END;
        END IF;
    ELSIF p_profile = 'limited_data_set' AND p_class = 'direct_identifier' THEN
        RAISE EXCEPTION 'limited_data_set view: column % is a direct identifier (%), which a limited data set excludes',
            p_col.column_name, p_col.safe_harbor_kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE WHEN p_col.source_column = 'member_id' THEN 'Use transform pseudonym.' ELSE 'Leave it out.' END;
    END IF;
END
$$;

-- Raise unless a filter may appear in a view of profile p_profile. A
-- filter shows which rows match, so under Safe Harbor a filter on an
-- identifier may only test for NULL, and one on a date may also compare
-- with the first of January of a year. In a limited data set a filter on a
-- direct identifier may only test for NULL.
CREATE OR REPLACE FUNCTION axtract.profile_filter_check(p_profile text, p_col axtract.dataset_column, p_filter jsonb) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    op     text := p_filter->>'op';
    -- Born on or before this day means 90 or older today.
    cutoff date := ((now() AT TIME ZONE 'UTC')::date - interval '90 years')::date;
BEGIN
    IF op IN ('is_null', 'not_null') THEN
        RETURN;
    END IF;
    IF p_profile = 'safe_harbor' AND (p_col.free_text OR p_col.safe_harbor_kind IS NOT NULL) THEN
        IF p_col.safe_harbor_kind = 'dates' AND op IN ('<', '<=', '>', '>=')
           AND jsonb_typeof(p_filter->'value') = 'string' AND p_filter->>'value' ~ '^[0-9]{4}-01-01$' THEN
            -- A bound on a birth date on or before the cutoff separates
            -- members aged 90 or older by birth year. Safe Harbor does not
            -- allow that, because they form one category.
            IF p_col.source_table = 'member' AND p_col.source_column = 'birth_date' AND (p_filter->>'value')::date <= cutoff THEN
                RAISE EXCEPTION 'safe_harbor view: the filter % % on column % would separate members aged 90 or older by birth year',
                        op, p_filter->>'value', p_col.column_name
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = format('Use a bound after %s, 90 years ago, or none.', cutoff);
            END IF;
            RETURN;
        END IF;
        IF p_col.safe_harbor_kind = 'dates' THEN
            RAISE EXCEPTION 'safe_harbor view: the filter % % on column % may only test for NULL, or compare with <, <=, > or >= against January 1 of a year (YYYY-01-01)',
                    op, coalesce(p_filter->>'value', 'NULL'), p_col.column_name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RAISE EXCEPTION 'safe_harbor view: the filter on column % may only test for NULL', p_col.column_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_profile = 'limited_data_set' AND p_col.classification = 'direct_identifier' THEN
        RAISE EXCEPTION 'limited_data_set view: the filter on direct identifier % may only test for NULL', p_col.column_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

-- Apply one transform to expr, checking that it suits the column's type,
-- and return the SQL expression. pseudonym and date_shift read the join
-- that view_compile adds for the column's table alias.
CREATE OR REPLACE FUNCTION axtract.view_transform(
    p axtract.partner,
    p_col axtract.dataset_column,
    p_expr text,
    p_spec jsonb,
    p_profile text
) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    name   text := coalesce(p_spec->>'transform', 'none');
    -- The column's value as a date or a timestamp in UTC.
    utc    text := CASE WHEN p_col.data_type = 'timestamptz' THEN format('(%s AT TIME ZONE ''UTC'')', p_expr) ELSE p_expr END;
    -- Today and the cutoff are scalar subqueries, which PostgreSQL computes
    -- once per query; as plain expressions they would be computed per row.
    today  text := '(SELECT (now() AT TIME ZONE ''UTC'')::date)';
    -- Born on or before this day means 90 or older today.
    cutoff text := '(SELECT ((now() AT TIME ZONE ''UTC'')::date - interval ''90 years'')::date)';
    age    text;
    param  text;
    n      integer;
BEGIN
    CASE name
    WHEN 'none' THEN
        RETURN p_expr;
    WHEN 'pseudonym' THEN
        IF p_col.source_column <> 'member_id' THEN
            RAISE EXCEPTION 'transform pseudonym applies to member id columns, not to %', p_col.column_name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN format('%I.pseudonym', 'axps_' || p_col.table_alias);
    WHEN 'year', 'month', 'age', 'age_band', 'date_shift' THEN
        IF p_col.data_type NOT IN ('date', 'timestamptz') THEN
            RAISE EXCEPTION 'transform % applies to dates, but column % is %', name, p_col.column_name, p_col.data_type
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    WHEN 'zip3', 'mask', 'truncate' THEN
        IF p_col.data_type <> 'text' THEN
            RAISE EXCEPTION 'transform % applies to text, but column % is %', name, p_col.column_name, p_col.data_type
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSE
        RAISE EXCEPTION 'unknown transform % on column %', quote_literal(name), p_col.column_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use one of none, pseudonym, year, month, age, age_band, date_shift, zip3, mask, truncate.';
    END CASE;

    age := format('date_part(''year'', age(%s, %s::date))::integer', today, utc);
    CASE name
    WHEN 'year' THEN
        -- Safe Harbor keeps no year of birth of a member aged 90 or older.
        IF p_profile = 'safe_harbor' AND p_col.source_table = 'member' AND p_col.source_column = 'birth_date' THEN
            RETURN format('CASE WHEN %s::date > %s THEN date_part(''year'', %s)::integer END', utc, cutoff, utc);
        END IF;
        RETURN format('date_part(''year'', %s)::integer', utc);
    WHEN 'month' THEN
        RETURN format('date_trunc(''month'', %s)::date', utc);
    WHEN 'age' THEN
        -- Safe Harbor puts every age over 89 in one category.
        IF p_profile = 'safe_harbor' THEN
            RETURN format('CASE WHEN %s::date <= %s THEN ''90+'' ELSE %s::text END', utc, cutoff, age);
        END IF;
        RETURN age;
    WHEN 'age_band' THEN
        param := 'width';
    WHEN 'date_shift' THEN
        IF p.date_shift_max_days IS NULL THEN
            RAISE EXCEPTION 'transform date_shift on column %: partner % has no date shift range', p_col.column_name, p.slug
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Set one with axtract.partner_privacy_set(slug, p_date_shift_max_days => N).';
        END IF;
        IF p_col.data_type = 'timestamptz' THEN
            RETURN format('(%s + make_interval(hours => 24 * %I.shift_days))', p_expr, 'axds_' || p_col.table_alias);
        END IF;
        RETURN format('(%s + %I.shift_days)', p_expr, 'axds_' || p_col.table_alias);
    WHEN 'zip3' THEN
        -- A value that does not start with five digits is no ZIP code and
        -- becomes NULL. The test trims digits off the first five characters
        -- instead of matching a regular expression, which costs about three
        -- times as much per row.
        IF p_profile = 'safe_harbor' AND NOT EXISTS (SELECT FROM axtract.zip3_list WHERE version = p.zip3_version AND populated) THEN
            RAISE EXCEPTION 'safe_harbor view: ZIP list version % of partner % is not populated', p.zip3_version, p.slug
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Fill axtract.zip3_restricted for it and set populated, or choose a populated version with axtract.partner_privacy_set.';
        END IF;
        IF p_col.source_table = 'member' AND p_col.source_column = 'zip' THEN
            -- mart.member.zip3 stores the result of the same test, computed
            -- when the member was loaded.
            RETURN format('CASE WHEN %1$I.zip3 IN (SELECT z.zip3 FROM axtract.zip3_restricted z WHERE z.version = %2$L)'
                          ' THEN ''000'' ELSE %1$I.zip3 END', p_col.table_alias, p.zip3_version);
        END IF;
        RETURN format('CASE WHEN octet_length(%1$s) >= 5 AND ltrim(left(%1$s, 5), ''0123456789'') = '''''
                      ' THEN CASE WHEN left(%1$s, 3) IN'
                      ' (SELECT z.zip3 FROM axtract.zip3_restricted z WHERE z.version = %2$L)'
                      ' THEN ''000'' ELSE left(%1$s, 3) END END', p_expr, p.zip3_version);
    WHEN 'mask' THEN
        param := 'keep';
    WHEN 'truncate' THEN
        param := 'length';
    END CASE;

    BEGIN
        n := coalesce((p_spec->>param)::integer, CASE name WHEN 'age_band' THEN 5 ELSE 4 END);
    EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'transform % of column % needs a whole number in "%"', name, p_col.column_name, param
            USING ERRCODE = 'invalid_parameter_value';
    END;
    IF name = 'age_band' THEN
        IF n < 1 OR n > 45 THEN
            RAISE EXCEPTION 'transform age_band of column %: width % is out of range 1 to 45', p_col.column_name, n
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- Bands of n years from 0, the last one cut at 89, then 90+.
        RETURN format('CASE WHEN %1$s::date <= %2$s THEN ''90+'' ELSE (%3$s / %4$s * %4$s)::text || ''-'''
                      ' || least(%3$s / %4$s * %4$s + %4$s - 1, 89)::text END', utc, cutoff, age, n);
    END IF;
    IF n < 0 OR n > 64 THEN
        RAISE EXCEPTION 'transform % of column %: % is out of range 0 to 64', name, p_col.column_name, n
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF name = 'truncate' THEN
        RETURN format('left(%s, %s)', p_expr, n);
    END IF;
    RETURN format('(repeat(''*'', greatest(length(%1$s) - %2$s, 0)) || right(%1$s, %2$s))', p_expr, n);
END
$$;

-- Compile one structured filter to a predicate.
-- Raise unless p_value reads as a value of column p_col's type, so that a
-- wrong filter value is reported with its column rather than as a bare
-- cast error when the view is created.
CREATE OR REPLACE FUNCTION axtract.filter_value_check(p_col axtract.dataset_column, p_value text) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- PostgreSQL reads these words as the day they are compiled on, so the
    -- view would keep that day while a preview of the spec moved on.
    IF p_col.data_type IN ('date', 'timestamptz', 'timestamp')
       AND p_value ~* '(now|today|tomorrow|yesterday)' THEN
        RAISE EXCEPTION 'filter value % for column % names a day relative to today, which the view would fix at the day it is defined',
                quote_literal(p_value), p_col.column_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Write a date as YYYY-MM-DD; for a moving window, use an incremental feed with a watermark column.';
    END IF;
    BEGIN
        EXECUTE format('SELECT %L::%s', p_value, p_col.data_type);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'filter value % is not a valid % for column %', quote_literal(p_value), p_col.data_type, p_col.column_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE WHEN p_col.data_type IN ('date', 'timestamptz', 'timestamp') THEN 'Write dates as YYYY-MM-DD.'
                              ELSE 'Give a value of the column''s type.' END;
    END;
END
$$;

CREATE OR REPLACE FUNCTION axtract.view_filter(p_col axtract.dataset_column, p_expr text, p_filter jsonb) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    op    text := p_filter->>'op';
    value jsonb := p_filter->'value';
    v     text;
BEGIN
    IF op IN ('is_null', 'not_null') THEN
        IF p_filter ? 'value' THEN
            RAISE EXCEPTION 'filter % on column % takes no "value"', op, p_col.column_name
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Remove the value, or use = to compare with one.';
        END IF;
        RETURN format('%s IS %s NULL', p_expr, CASE op WHEN 'is_null' THEN '' ELSE 'NOT' END);
    END IF;
    IF op IN ('in', 'not_in') THEN
        IF value IS NULL OR jsonb_typeof(value) <> 'array' OR jsonb_array_length(value) = 0 THEN
            RAISE EXCEPTION 'filter % on column % needs a non-empty array "value"', op, p_col.column_name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR v IN SELECT jsonb_array_elements_text(value) LOOP
            PERFORM axtract.filter_value_check(p_col, v);
        END LOOP;
        RETURN format('%s %s (%L::%s[])', p_expr, CASE op WHEN 'in' THEN '= ANY' ELSE '<> ALL' END,
            ARRAY(SELECT jsonb_array_elements_text(value)), p_col.data_type);
    END IF;
    IF op IS NULL OR op NOT IN ('=', '<>', '<', '<=', '>', '>=') THEN
        RAISE EXCEPTION 'unknown filter operator % on column %', coalesce(quote_literal(op), 'NULL'), p_col.column_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use one of =, <>, <, <=, >, >=, in, not_in, is_null, not_null.';
    END IF;
    IF value IS NULL OR jsonb_typeof(value) NOT IN ('string', 'number', 'boolean') THEN
        RAISE EXCEPTION 'filter % on column % needs a scalar "value"', op, p_col.column_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM axtract.filter_value_check(p_col, value #>> '{}');
    RETURN format('%s %s %L::%s', p_expr, op, value #>> '{}', p_col.data_type);
END
$$;

-- Look up a catalog column or fail naming the dataset's columns.
CREATE OR REPLACE FUNCTION axtract.dataset_column_get(p_dataset text, p_column text) RETURNS axtract.dataset_column
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    col axtract.dataset_column;
BEGIN
    SELECT * INTO col FROM axtract.dataset_column WHERE dataset = p_dataset AND column_name = p_column;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column % is not in dataset %', coalesce(quote_literal(p_column), 'NULL'), p_dataset
            USING ERRCODE = 'undefined_column',
                  HINT = 'Columns of ' || p_dataset || ': ' ||
                         (SELECT string_agg(column_name, ', ' ORDER BY ordinal) FROM axtract.dataset_column WHERE dataset = p_dataset);
    END IF;
    RETURN col;
END
$$;

-- Compile a spec to the SELECT of a partner view, list the mart columns it
-- reads, and build the SELECT of its member-id view. That view has the same
-- FROM and WHERE, the member id of each row as axtract_member_id, and the
-- view's columns, so an incremental run's window applies to it unchanged.
-- Raises on any column or filter that the partner's purpose or the view's
-- profile does not allow.
-- Raise when p_obj, the part p_where of a view spec, contains a key outside
-- p_known. A misspelt key such as "transfrom" would otherwise be ignored and
-- send a column untransformed, so every level of the spec is checked.
CREATE OR REPLACE FUNCTION axtract.spec_keys_check(p_obj jsonb, p_known text[], p_where text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    unknown text;
BEGIN
    IF jsonb_typeof(p_obj) <> 'object' THEN
        RAISE EXCEPTION '% must be a JSON object, not %', p_where, jsonb_typeof(p_obj)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(quote_literal(k), ', ' ORDER BY k) INTO unknown
    FROM jsonb_object_keys(p_obj) AS k WHERE k <> ALL (p_known);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown key % in %', unknown, p_where
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Known keys there: ' || array_to_string(p_known, ', ') || '.';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION axtract.view_compile(
    p_partner_id bigint,
    p_spec jsonb,
    OUT compiled_sql text,
    OUT source_columns text[],
    OUT member_sql text
)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    p         axtract.partner;
    ds        axtract.dataset;
    col       axtract.dataset_column;
    effect    record;
    item      jsonb;
    transform text;
    profile   text := coalesce(p_spec->>'profile', 'none');
    expr      text;
    out_name  text;
    outputs   text[] := '{}';
    selects   text[] := '{}';
    wheres    text[] := '{}';
    joins     text[] := '{}';
    from_sql  text;
    where_sql text := '';
BEGIN
    SELECT * INTO p FROM axtract.partner WHERE partner_id = p_partner_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner id % not found', p_partner_id USING ERRCODE = 'no_data_found';
    END IF;
    IF p_spec IS NULL OR jsonb_typeof(p_spec) <> 'object' THEN
        RAISE EXCEPTION 'view spec must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM axtract.spec_keys_check(p_spec, '{dataset,columns,filters,profile}', 'the view spec');
    SELECT * INTO ds FROM axtract.dataset WHERE name = p_spec->>'dataset';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown dataset %', coalesce(quote_literal(p_spec->>'dataset'), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Datasets: ' || (SELECT string_agg(name, ', ' ORDER BY name) FROM axtract.dataset);
    END IF;
    IF jsonb_typeof(p_spec->'columns') IS DISTINCT FROM 'array' OR jsonb_array_length(p_spec->'columns') = 0 THEN
        RAISE EXCEPTION 'view spec needs a non-empty "columns" array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF profile NOT IN ('none', 'safe_harbor', 'limited_data_set') THEN
        RAISE EXCEPTION 'unknown view profile %', quote_literal(profile)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use safe_harbor, limited_data_set or none.';
    END IF;
    IF profile = 'limited_data_set' AND NOT axtract.dua_in_force(p.partner_id) THEN
        RAISE EXCEPTION 'limited_data_set view: partner % has no data use agreement in force', p.slug
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Record the signed agreement with axtract.dua_record.';
    END IF;
    source_columns := ARRAY(SELECT unnest(ds.key_columns));

    FOR item IN SELECT * FROM jsonb_array_elements(p_spec->'columns') LOOP
        IF jsonb_typeof(item) = 'string' THEN
            item := jsonb_build_object('column', item);
        END IF;
        PERFORM axtract.spec_keys_check(item, '{column,as,transform,width,keep,length}',
            format('column %s of the view spec', coalesce(quote_literal(item->>'column'), '#' || (cardinality(outputs) + 1))));
        col := axtract.dataset_column_get(ds.name, item->>'column');
        transform := coalesce(item->>'transform', 'none');
        -- A parameter of another transform than the one named is a mistake
        -- too: {"transform": "mask", "length": 4} would keep the default.
        SELECT string_agg(quote_literal(k), ', ') INTO expr
        FROM (VALUES ('width', 'age_band'), ('keep', 'mask'), ('length', 'truncate')) AS t(k, owner)
        WHERE item ? k AND transform <> owner;
        IF expr IS NOT NULL THEN
            RAISE EXCEPTION 'column % of the view spec: % does not apply to transform %', col.column_name, expr, quote_literal(transform)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'width goes with age_band, keep with mask, length with truncate.';
        END IF;
        out_name := coalesce(item->>'as', col.column_name);
        IF out_name !~ '^[a-z_][a-z0-9_]{0,62}$' OR out_name = 'axtract_member_id' THEN
            RAISE EXCEPTION 'invalid output column name %', quote_literal(out_name)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Use lowercase letters, digits and _, starting with a letter or _; axtract_member_id is reserved.';
        END IF;
        IF out_name = ANY (outputs) THEN
            RAISE EXCEPTION 'output column % appears twice', out_name
                USING ERRCODE = 'duplicate_column', HINT = 'Give one of them another name with "as".';
        END IF;
        outputs := outputs || out_name;

        expr := axtract.view_transform(p, col, format('%I.%I', col.table_alias, col.source_column), item, profile);
        effect := axtract.transform_effect(col, transform);
        PERFORM axtract.minimum_necessary_check(p, col, effect.classification, 'column');
        PERFORM axtract.profile_column_check(profile, col, effect.classification, effect.safe_harbor_kind);

        selects := selects || format('%s AS %I', expr, out_name);
        source_columns := source_columns || format('mart.%s.%s', col.source_table, col.source_column);
        IF transform = 'pseudonym' THEN
            joins := joins || format('LEFT JOIN axtract.member_pseudonym %1$I ON %1$I.partner_id = %2$s AND %1$I.member_id = %3$I.member_id',
                'axps_' || col.table_alias, p.partner_id, col.table_alias);
            source_columns := source_columns || 'axtract.member_pseudonym.*'::text;
        ELSIF transform = 'date_shift' THEN
            joins := joins || format('LEFT JOIN axtract.member_date_shift %1$I ON %1$I.partner_id = %2$s AND %1$I.member_id = %3$I.member_id',
                'axds_' || col.table_alias, p.partner_id, col.table_alias);
            source_columns := source_columns || 'axtract.member_date_shift.*'::text;
        ELSIF transform = 'zip3' THEN
            source_columns := source_columns || 'axtract.zip3_restricted.*'::text;
            -- The owner keeps its grant on zip too, which views compiled
            -- before mart.member.zip3 existed still read.
            IF col.source_table = 'member' AND col.source_column = 'zip' THEN
                source_columns := source_columns || 'mart.member.zip3'::text;
            END IF;
        END IF;
    END LOOP;

    IF p_spec ? 'filters' AND jsonb_typeof(p_spec->'filters') <> 'array' THEN
        RAISE EXCEPTION 'view spec "filters" must be an array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR item IN SELECT * FROM jsonb_array_elements(coalesce(p_spec->'filters', '[]')) LOOP
        PERFORM axtract.spec_keys_check(item, '{column,op,value}',
            format('the filter on %s of the view spec', coalesce(quote_literal(item->>'column'), 'no column')));
        col := axtract.dataset_column_get(ds.name, item->>'column');
        PERFORM axtract.minimum_necessary_check(p, col, col.classification, 'filter column');
        PERFORM axtract.profile_filter_check(profile, col, item);
        wheres := wheres || axtract.view_filter(col, format('%I.%I', col.table_alias, col.source_column), item);
        source_columns := source_columns || format('mart.%s.%s', col.source_table, col.source_column);
    END LOOP;

    from_sql := ds.from_clause;
    IF cardinality(joins) > 0 THEN
        from_sql := from_sql || ' ' || array_to_string(ARRAY(SELECT DISTINCT unnest(joins) ORDER BY 1), ' ');
    END IF;
    IF cardinality(wheres) > 0 THEN
        where_sql := ' WHERE ' || array_to_string(wheres, ' AND ');
    END IF;
    compiled_sql := format('SELECT %s FROM %s', array_to_string(selects, ', '), from_sql) || where_sql;
    member_sql := format('SELECT %s AS axtract_member_id, %s FROM %s', ds.member_column, array_to_string(selects, ', '), from_sql) || where_sql;
    source_columns := ARRAY(SELECT DISTINCT unnest(source_columns) ORDER BY 1);
END
$$;

-- Grant the partner's view owner SELECT on exactly the columns that its
-- views read, and nothing else in the mart. Each view is compiled again
-- first: one that no longer passes the minimum-necessary rule or its
-- profile (an exception or a data use agreement expired, a DBA changed the
-- purpose rules) contributes no grants, so it fails with permission denied
-- until it is defined again. The same holds for a view that the owner role
-- would write by hand.
CREATE OR REPLACE FUNCTION axtract.partner_sync_grants(p_partner_id bigint) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    slug     text := (SELECT p.slug FROM axtract.partner p WHERE p.partner_id = p_partner_id);
    owner    text := axtract.partner_owner_role(slug);
    v        axtract.partner_view;
    compiled record;
    cols     text[] := '{}';
    r        record;
BEGIN
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA mart FROM %I', owner);
    EXECUTE format('REVOKE ALL ON axtract.member_pseudonym, axtract.member_date_shift, axtract.zip3_restricted FROM %I', owner);
    FOR v IN SELECT * FROM axtract.partner_view WHERE partner_id = p_partner_id ORDER BY name LOOP
        BEGIN
            SELECT * INTO compiled FROM axtract.view_compile(p_partner_id, v.spec);
            cols := cols || compiled.source_columns;
        EXCEPTION WHEN insufficient_privilege OR invalid_parameter_value OR undefined_column THEN
            RAISE WARNING 'view %.% no longer passes its privacy checks, so its view owner gets no column grants for it: %',
                slug, v.name, SQLERRM;
        END;
    END LOOP;

    FOR r IN
        SELECT split_part(c, '.', 2) AS tbl, array_agg(DISTINCT split_part(c, '.', 3)) AS cols
        FROM unnest(cols) AS c
        WHERE c LIKE 'mart.%'
        GROUP BY 1
    LOOP
        EXECUTE format('GRANT SELECT (%s) ON mart.%I TO %I',
            (SELECT string_agg(quote_ident(x), ', ') FROM unnest(r.cols) AS x), r.tbl, owner);
    END LOOP;
    IF 'axtract.member_pseudonym.*' = ANY (cols) THEN
        EXECUTE format('GRANT SELECT (partner_id, member_id, pseudonym) ON axtract.member_pseudonym TO %I', owner);
    END IF;
    IF 'axtract.member_date_shift.*' = ANY (cols) THEN
        EXECUTE format('GRANT SELECT (partner_id, member_id, shift_days) ON axtract.member_date_shift TO %I', owner);
    END IF;
    IF 'axtract.zip3_restricted.*' = ANY (cols) THEN
        EXECUTE format('GRANT SELECT (version, zip3) ON axtract.zip3_restricted TO %I', owner);
    END IF;
    -- The owner owns the member-id views; a role that is not a superuser
    -- can give it those only if it may create in their schema.
    EXECUTE format('GRANT USAGE, CREATE ON SCHEMA axtract_disclosure TO %I', owner);
END
$$;

-- Create or replace the member-id view of partner view p_view_id, owned by
-- the partner's view owner so that the same policies apply, readable by
-- the role that defines it (the AxTract service role) and by no partner.
CREATE OR REPLACE FUNCTION axtract.view_members_define(p_view_id bigint, p_member_sql text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    name  text := 'v' || p_view_id;
    owner text := axtract.partner_owner_role(
        (SELECT p.slug FROM axtract.partner_view v JOIN axtract.partner p USING (partner_id) WHERE v.view_id = p_view_id));
BEGIN
    IF to_regclass(format('axtract_disclosure.%I', name)) IS NOT NULL THEN
        EXECUTE format('DROP VIEW axtract_disclosure.%I', name);
    END IF;
    EXECUTE format('CREATE VIEW axtract_disclosure.%I AS %s', name, p_member_sql);
    EXECUTE format('ALTER VIEW axtract_disclosure.%I OWNER TO %I', name, owner);
    EXECUTE format('REVOKE ALL ON axtract_disclosure.%I FROM PUBLIC', name);
    EXECUTE format('GRANT SELECT ON axtract_disclosure.%I TO %I', name, current_user);
    EXECUTE format('COMMENT ON VIEW axtract_disclosure.%I IS %L', name,
        format('Member ids of the rows of partner view %s, for the accounting of disclosures', p_view_id));
END
$$;

-- The query of the partner view over compiled SELECT p_compiled: the
-- compiled rows in a subquery with OFFSET 0, which PostgreSQL does not push
-- a partner's conditions into. A security_barrier view alone lets leakproof
-- conditions, such as a comparison of a column with a constant, run on the
-- mart rows before the consent policies. EXPLAIN ANALYZE then shows the
-- partner whether a hidden row matched: how many rows a filter removed, and
-- whether a consent subquery ran. Behind the fence a partner's conditions
-- see only the rows the policies let through, so a query's plan and timing
-- depend on visible rows alone. The price is that a partner's conditions
-- cannot use the mart's indexes: each query of a view reads the whole view.
CREATE OR REPLACE FUNCTION axtract.partner_view_query(p_compiled text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT format('SELECT * FROM (%s) AS axtract_view OFFSET 0', p_compiled) $$;

-- Whether partner view p_view reads its rows behind the fence of
-- axtract.partner_view_query. pg_get_viewdef prints the outer OFFSET last.
CREATE OR REPLACE FUNCTION axtract.partner_view_fenced(p_view regclass) RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT pg_get_viewdef(p_view) ~ '\mOFFSET 0;?\s*$' $$;

-- Define (create or replace) a partner view from a spec. Returns the
-- compiled SELECT.
CREATE OR REPLACE FUNCTION axtract.view_define(p_slug text, p_name text, p_spec jsonb) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    p        axtract.partner;
    compiled record;
    sch      text := axtract.partner_schema(p_slug);
    vid      bigint;
    ver      integer;
BEGIN
    SELECT * INTO p FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid view name %', coalesce(quote_literal(p_name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use lowercase letters, digits and _, starting with a letter.';
    END IF;
    SELECT * INTO compiled FROM axtract.view_compile(p.partner_id, p_spec);

    INSERT INTO axtract.partner_view (partner_id, name, dataset, spec, compiled_sql, source_columns)
    VALUES (p.partner_id, p_name, p_spec->>'dataset', p_spec, compiled.compiled_sql, compiled.source_columns)
    ON CONFLICT (partner_id, name) DO UPDATE SET
        dataset = EXCLUDED.dataset,
        spec = EXCLUDED.spec,
        compiled_sql = EXCLUDED.compiled_sql,
        source_columns = EXCLUDED.source_columns,
        version = axtract.partner_view.version + 1,
        updated_at = now()
    RETURNING view_id, version INTO vid, ver;
    INSERT INTO axtract.partner_view_version (view_id, version, spec, compiled_sql, purpose_of_use)
    VALUES (vid, ver, p_spec, compiled.compiled_sql, p.purpose_of_use)
    ON CONFLICT (view_id, version) DO UPDATE SET
        spec = EXCLUDED.spec, compiled_sql = EXCLUDED.compiled_sql, purpose_of_use = EXCLUDED.purpose_of_use, defined_at = now();

    PERFORM axtract.partner_sync_grants(p.partner_id);
    IF to_regclass(format('%I.%I', sch, p_name)) IS NOT NULL THEN
        EXECUTE format('DROP VIEW %I.%I', sch, p_name);
    END IF;
    EXECUTE format('CREATE VIEW %I.%I WITH (security_barrier = true) AS %s', sch, p_name,
        axtract.partner_view_query(compiled.compiled_sql));
    EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', sch, p_name, axtract.partner_owner_role(p_slug));
    EXECUTE format('REVOKE ALL ON %I.%I FROM PUBLIC', sch, p_name);
    EXECUTE format('GRANT SELECT ON %I.%I TO %I', sch, p_name, axtract.partner_role(p_slug));
    EXECUTE format('COMMENT ON VIEW %I.%I IS %L', sch, p_name,
        format('AxTract view %s version %s over dataset %s', p_name, ver, p_spec->>'dataset'));
    PERFORM axtract.view_members_define(vid, compiled.member_sql);
    IF compiled.source_columns && ARRAY['axtract.member_pseudonym.*', 'axtract.member_date_shift.*'] THEN
        PERFORM axtract.pseudonyms_refresh(p.partner_id);
    END IF;

    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('view.define', p.partner_id, jsonb_build_object('view', p_name, 'view_id', vid, 'version', ver, 'spec', p_spec));
    RETURN compiled.compiled_sql;
END
$$;

-- Put every partner view that reads its rows without the fence of
-- axtract.partner_view_query behind it, as views defined before the fence
-- existed do. CREATE OR REPLACE keeps the view's owner, grants and
-- version. Fenced views are left alone, because replacing a view locks out
-- its readers.
CREATE OR REPLACE FUNCTION axtract.partner_views_fence() RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v record;
    n integer := 0;
BEGIN
    FOR v IN
        SELECT p.slug, pv.name, pv.compiled_sql, format('%I.%I', axtract.partner_schema(p.slug), pv.name)::regclass AS rel
        FROM axtract.partner_view pv
        JOIN axtract.partner p ON p.partner_id = pv.partner_id
        WHERE to_regclass(format('%I.%I', axtract.partner_schema(p.slug), pv.name)) IS NOT NULL
        ORDER BY p.slug, pv.name
    LOOP
        CONTINUE WHEN axtract.partner_view_fenced(v.rel);
        BEGIN
            EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_barrier = true) AS %s', v.rel,
                axtract.partner_view_query(v.compiled_sql));
            n := n + 1;
        EXCEPTION WHEN OTHERS THEN
            -- The access check reports the view as drift until someone
            -- defines it again.
            RAISE WARNING 'could not fence view % of partner %: %', v.name, v.slug, SQLERRM
                USING HINT = 'Define the view again with axtract.view_define.';
        END;
    END LOOP;
    RETURN n;
END
$$;

SELECT axtract.partner_views_fence();

-- The partner view compiler. A view spec is JSON:
--
--   {"dataset": "medical_claims",
--    "columns": [{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
--                {"column": "service_from", "transform": "year"},
--                {"column": "member_zip", "transform": "zip3"},
--                {"column": "claim_id"}],
--    "filters": [{"column": "service_from", "op": ">=", "value": "2023-01-01"}]}
--
-- Column names are looked up in the dataset's catalog, never taken as SQL;
-- every identifier is quoted with %I and every value with %L and cast to
-- the catalog's type. The result is a security_barrier view owned by the
-- partner's view-owner role, which gets column grants on exactly the mart
-- columns its views read.

-- Apply one transform to expr, checking that it suits the column's type.
-- Returns the SQL expression.
CREATE OR REPLACE FUNCTION axtract.view_transform(
    p_partner_id bigint,
    p_col axtract.dataset_column,
    p_expr text,
    p_spec jsonb
) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    name text := coalesce(p_spec->>'transform', 'none');
    n    integer;
BEGIN
    CASE name
    WHEN 'none' THEN
        RETURN p_expr;
    WHEN 'pseudonym' THEN
        IF p_col.source_column <> 'member_id' THEN
            RAISE EXCEPTION 'transform pseudonym applies to member id columns, not to %', p_col.column_name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN format('(SELECT ps.pseudonym FROM axtract.member_pseudonym ps WHERE ps.partner_id = %s AND ps.member_id = %s)',
            p_partner_id, p_expr);
    WHEN 'year', 'month', 'age' THEN
        IF p_col.data_type NOT IN ('date', 'timestamptz') THEN
            RAISE EXCEPTION 'transform % applies to dates, but column % is %', name, p_col.column_name, p_col.data_type
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF name = 'year' THEN
            RETURN format('date_part(''year'', %s)::integer', p_expr);
        ELSIF name = 'month' THEN
            RETURN format('date_trunc(''month'', %s)::date', p_expr);
        END IF;
        RETURN format('date_part(''year'', age((now() AT TIME ZONE ''UTC'')::date, %s::date))::integer', p_expr);
    WHEN 'zip3', 'mask', 'truncate' THEN
        IF p_col.data_type <> 'text' THEN
            RAISE EXCEPTION 'transform % applies to text, but column % is %', name, p_col.column_name, p_col.data_type
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF name = 'zip3' THEN
            RETURN format('left(%s, 3)', p_expr);
        END IF;
        BEGIN
            n := coalesce((p_spec->>CASE name WHEN 'mask' THEN 'keep' ELSE 'length' END)::integer, 4);
        EXCEPTION WHEN invalid_text_representation THEN
            RAISE EXCEPTION 'transform % of column % needs a whole number in "%"', name, p_col.column_name,
                CASE name WHEN 'mask' THEN 'keep' ELSE 'length' END
                USING ERRCODE = 'invalid_parameter_value';
        END;
        IF n < 0 OR n > 64 THEN
            RAISE EXCEPTION 'transform % of column %: % is out of range 0 to 64', name, p_col.column_name, n
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF name = 'truncate' THEN
            RETURN format('left(%s, %s)', p_expr, n);
        END IF;
        RETURN format('(repeat(''*'', greatest(length(%1$s) - %2$s, 0)) || right(%1$s, %2$s))', p_expr, n);
    ELSE
        RAISE EXCEPTION 'unknown transform % on column %', quote_literal(name), p_col.column_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use one of none, pseudonym, year, month, age, zip3, mask, truncate.';
    END CASE;
END
$$;

-- Compile one structured filter to a predicate.
CREATE OR REPLACE FUNCTION axtract.view_filter(p_col axtract.dataset_column, p_expr text, p_filter jsonb) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    op    text := p_filter->>'op';
    value jsonb := p_filter->'value';
BEGIN
    IF op IN ('is_null', 'not_null') THEN
        RETURN format('%s IS %s NULL', p_expr, CASE op WHEN 'is_null' THEN '' ELSE 'NOT' END);
    END IF;
    IF op IN ('in', 'not_in') THEN
        IF value IS NULL OR jsonb_typeof(value) <> 'array' OR jsonb_array_length(value) = 0 THEN
            RAISE EXCEPTION 'filter % on column % needs a non-empty array "value"', op, p_col.column_name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
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

-- Compile a spec to the SELECT of a view, and list the mart columns it reads.
CREATE OR REPLACE FUNCTION axtract.view_compile(
    p_partner_id bigint,
    p_spec jsonb,
    OUT compiled_sql text,
    OUT source_columns text[]
)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    ds      axtract.dataset;
    col     axtract.dataset_column;
    item    jsonb;
    expr    text;
    out_name text;
    outputs text[] := '{}';
    selects text[] := '{}';
    wheres  text[] := '{}';
BEGIN
    IF p_spec IS NULL OR jsonb_typeof(p_spec) <> 'object' THEN
        RAISE EXCEPTION 'view spec must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO ds FROM axtract.dataset WHERE name = p_spec->>'dataset';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown dataset %', coalesce(quote_literal(p_spec->>'dataset'), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Datasets: ' || (SELECT string_agg(name, ', ' ORDER BY name) FROM axtract.dataset);
    END IF;
    IF jsonb_typeof(p_spec->'columns') IS DISTINCT FROM 'array' OR jsonb_array_length(p_spec->'columns') = 0 THEN
        RAISE EXCEPTION 'view spec needs a non-empty "columns" array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    source_columns := ARRAY(SELECT unnest(ds.key_columns));

    FOR item IN SELECT * FROM jsonb_array_elements(p_spec->'columns') LOOP
        IF jsonb_typeof(item) = 'string' THEN
            item := jsonb_build_object('column', item);
        END IF;
        col := axtract.dataset_column_get(ds.name, item->>'column');
        out_name := coalesce(item->>'as', col.column_name);
        IF out_name !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
            RAISE EXCEPTION 'invalid output column name %', quote_literal(out_name)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Use lowercase letters, digits and _, starting with a letter or _.';
        END IF;
        IF out_name = ANY (outputs) THEN
            RAISE EXCEPTION 'output column % appears twice', out_name
                USING ERRCODE = 'duplicate_column', HINT = 'Give one of them another name with "as".';
        END IF;
        outputs := outputs || out_name;
        expr := axtract.view_transform(p_partner_id, col, format('%I.%I', col.table_alias, col.source_column), item);
        selects := selects || format('%s AS %I', expr, out_name);
        source_columns := source_columns || format('mart.%s.%s', col.source_table, col.source_column);
        IF item->>'transform' = 'pseudonym' THEN
            source_columns := source_columns || 'axtract.member_pseudonym.*'::text;
        END IF;
    END LOOP;

    IF p_spec ? 'filters' AND jsonb_typeof(p_spec->'filters') <> 'array' THEN
        RAISE EXCEPTION 'view spec "filters" must be an array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR item IN SELECT * FROM jsonb_array_elements(coalesce(p_spec->'filters', '[]')) LOOP
        col := axtract.dataset_column_get(ds.name, item->>'column');
        wheres := wheres || axtract.view_filter(col, format('%I.%I', col.table_alias, col.source_column), item);
        source_columns := source_columns || format('mart.%s.%s', col.source_table, col.source_column);
    END LOOP;

    compiled_sql := format('SELECT %s FROM %s', array_to_string(selects, ', '), ds.from_clause);
    IF cardinality(wheres) > 0 THEN
        compiled_sql := compiled_sql || ' WHERE ' || array_to_string(wheres, ' AND ');
    END IF;
    source_columns := ARRAY(SELECT DISTINCT unnest(source_columns) ORDER BY 1);
END
$$;

-- Grant the partner's view owner SELECT on exactly the columns its views
-- read, and nothing else in the mart.
CREATE OR REPLACE FUNCTION axtract.partner_sync_grants(p_partner_id bigint) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    owner text := axtract.partner_owner_role((SELECT slug FROM axtract.partner WHERE partner_id = p_partner_id));
    r     record;
BEGIN
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA mart FROM %I', owner);
    EXECUTE format('REVOKE ALL ON axtract.member_pseudonym FROM %I', owner);
    FOR r IN
        SELECT split_part(c, '.', 2) AS tbl, array_agg(DISTINCT split_part(c, '.', 3)) AS cols
        FROM axtract.partner_view v, unnest(v.source_columns) AS c
        WHERE v.partner_id = p_partner_id AND c LIKE 'mart.%'
        GROUP BY 1
    LOOP
        EXECUTE format('GRANT SELECT (%s) ON mart.%I TO %I',
            (SELECT string_agg(quote_ident(x), ', ') FROM unnest(r.cols) AS x), r.tbl, owner);
    END LOOP;
    IF EXISTS (SELECT FROM axtract.partner_view v WHERE v.partner_id = p_partner_id AND 'axtract.member_pseudonym.*' = ANY (v.source_columns)) THEN
        EXECUTE format('GRANT SELECT (partner_id, member_id, pseudonym) ON axtract.member_pseudonym TO %I', owner);
    END IF;
END
$$;

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

    PERFORM axtract.partner_sync_grants(p.partner_id);
    EXECUTE format('DROP VIEW IF EXISTS %I.%I', sch, p_name);
    EXECUTE format('CREATE VIEW %I.%I WITH (security_barrier = true) AS %s', sch, p_name, compiled.compiled_sql);
    EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', sch, p_name, axtract.partner_owner_role(p_slug));
    EXECUTE format('REVOKE ALL ON %I.%I FROM PUBLIC', sch, p_name);
    EXECUTE format('GRANT SELECT ON %I.%I TO %I', sch, p_name, axtract.partner_role(p_slug));
    EXECUTE format('COMMENT ON VIEW %I.%I IS %L', sch, p_name,
        format('AxTract view %s version %s over dataset %s', p_name, ver, p_spec->>'dataset'));
    IF compiled.source_columns @> ARRAY['axtract.member_pseudonym.*'] THEN
        PERFORM axtract.pseudonyms_refresh(p.partner_id);
    END IF;

    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('view.define', p.partner_id, jsonb_build_object('view', p_name, 'view_id', vid, 'version', ver, 'spec', p_spec));
    RETURN compiled.compiled_sql;
END
$$;

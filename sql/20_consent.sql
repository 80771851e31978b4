-- Consents: members' decisions to share with a partner, or with every
-- partner of a purpose of use, between two UTC dates. A decision is a grant
-- or a denial, in general or for one sensitive category; the policies in
-- 15_consent_policy.sql read them.
--
-- Recording a decision supersedes the member's earlier decisions of the
-- opposite kind for the same scope and category where their dates overlap,
-- so the latest one counts on the days it covers and earlier ones keep
-- the other days (axtract.consent_apply). Rows are never deleted or
-- changed except for revoked_at, which keeps the history.

DROP FUNCTION IF EXISTS axtract.consent_grant(text, uuid, date, date, text);
DROP FUNCTION IF EXISTS axtract.consent_grant_all(text, text, date, date, text);
DROP FUNCTION IF EXISTS axtract.consent_revoke(text, uuid);

-- Check the scope and category of a decision and return the partner id
-- (NULL for a purpose-scoped decision).
CREATE OR REPLACE FUNCTION axtract.consent_scope(p_slug text, p_purpose text, p_category text) RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    pid bigint;
BEGIN
    IF (p_slug IS NULL) = (p_purpose IS NULL) THEN
        RAISE EXCEPTION 'a consent names either a partner or a purpose of use'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_slug IS NOT NULL THEN
        SELECT partner_id INTO pid FROM axtract.partner WHERE slug = p_slug;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
        END IF;
    ELSIF p_purpose NOT IN ('treatment', 'payment', 'operations', 'research', 'public_health') THEN
        RAISE EXCEPTION 'invalid purpose of use %', quote_literal(p_purpose)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use one of treatment, payment, operations, research, public_health.';
    END IF;
    IF p_category IS NOT NULL AND NOT EXISTS (SELECT FROM axtract.sensitive_category WHERE category = p_category) THEN
        RAISE EXCEPTION 'unknown sensitive category %', quote_literal(p_category)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Categories: ' || (SELECT string_agg(category, ', ' ORDER BY category) FROM axtract.sensitive_category);
    END IF;
    RETURN pid;
END
$$;

-- Insert the consent decisions that query p_decisions_sql returns, with the
-- columns member_id uuid, partner_id bigint, purpose_of_use text, kind
-- text, category text, effective_from date, effective_to date, source text
-- and ord integer (insertion order), and supersede earlier decisions.
--
-- An earlier decision in force (not revoked) is superseded when a new one
-- of the opposite kind names the same member, partner or purpose, and
-- category, and their dates overlap. It is revoked, and the days of it that
-- no new decision of the opposite kind covers are recorded again as new
-- rows of its kind, scope, category and source. So a grant for a past year
-- leaves a denial in force today alone, and a denial from next month ends
-- a grant at the end of this month. New decisions do not supersede each
-- other: of two in one load, the denial outweighs the grant on the days
-- both cover, as the policies do.
--
-- Returns how many decisions were inserted, how many earlier ones were
-- superseded, and the id of the last one inserted.
CREATE OR REPLACE FUNCTION axtract.consent_apply(p_decisions_sql text)
RETURNS TABLE (inserted bigint, superseded bigint, last_id bigint)
LANGUAGE plpgsql
AS $$
BEGIN
    -- Decisions about the same member are applied one transaction at a
    -- time. Without that, two transactions that split one earlier decision
    -- would each revoke it and each record its days outside their own new
    -- decision, the other's days included. The lock is one of 1,024
    -- per-member buckets (a transaction-level advisory lock in the
    -- two-key space, class 1,937,011,566), taken in bucket order, so that
    -- two calls wait for each other rather than deadlock. A transaction
    -- that makes several calls in other orders can still deadlock, which
    -- PostgreSQL detects and fails. The statement below runs after the wait
    -- and so, in READ COMMITTED, reads what the other transaction
    -- committed.
    EXECUTE format(
        'SELECT count(pg_advisory_xact_lock(1937011566, b)) FROM ('
        '  SELECT DISTINCT abs(hashtext(d.member_id::text)) %% 1024 AS b'
        '  FROM (%s) AS d(member_id, partner_id, purpose_of_use, kind, category, effective_from, effective_to, source, ord)'
        '  ORDER BY 1) AS buckets',
        p_decisions_sql);
    RETURN QUERY EXECUTE format($q$
        WITH new AS MATERIALIZED (
            SELECT d.*, daterange(d.effective_from, d.effective_to, '[]') AS period
            FROM (%s) AS d(member_id, partner_id, purpose_of_use, kind, category, effective_from, effective_to, source, ord)
        ), hit AS MATERIALIZED (
            SELECT c.consent_id, c.partner_id, c.purpose_of_use, c.member_id, c.kind, c.category, c.source,
                   datemultirange(daterange(c.effective_from, c.effective_to, '[]')) - range_agg(n.period) AS kept
            FROM axtract.consent c
            JOIN new n ON n.member_id = c.member_id
                      AND n.partner_id IS NOT DISTINCT FROM c.partner_id
                      AND n.purpose_of_use IS NOT DISTINCT FROM c.purpose_of_use
                      AND n.category IS NOT DISTINCT FROM c.category
                      AND n.kind <> c.kind
                      AND n.period && daterange(c.effective_from, c.effective_to, '[]')
            WHERE c.revoked_at IS NULL
            GROUP BY c.consent_id
        ), revoked AS (
            UPDATE axtract.consent c SET revoked_at = now()
            FROM hit WHERE c.consent_id = hit.consent_id
            RETURNING c.consent_id
        ), kept AS (
            INSERT INTO axtract.consent (partner_id, purpose_of_use, member_id, kind, category, effective_from, effective_to, source)
            SELECT hit.partner_id, hit.purpose_of_use, hit.member_id, hit.kind, hit.category,
                   lower(r), CASE WHEN upper_inf(r) THEN NULL ELSE upper(r) - 1 END, hit.source
            FROM hit CROSS JOIN LATERAL unnest(hit.kept) AS r
            ORDER BY hit.consent_id, lower(r)
            RETURNING 1
        ), added AS (
            INSERT INTO axtract.consent (partner_id, purpose_of_use, member_id, kind, category, effective_from, effective_to, source)
            SELECT n.partner_id, n.purpose_of_use, n.member_id, n.kind, n.category, n.effective_from, n.effective_to, n.source
            FROM new n
            ORDER BY n.ord
            RETURNING consent_id
        )
        SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM revoked), (SELECT max(consent_id) FROM added)
    $q$, p_decisions_sql);
END
$$;

-- Record one consent decision and return its id. p_kind is grant or deny,
-- p_to NULL means open-ended, p_slug or p_purpose names the scope, and
-- p_category NULL means the member's records in general.
CREATE OR REPLACE FUNCTION axtract.consent_record(
    p_member_id uuid,
    p_kind text,
    p_from date,
    p_to date,
    p_slug text,
    p_purpose text,
    p_category text,
    p_source text
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    pid        bigint := axtract.consent_scope(p_slug, p_purpose, p_category);
    id         bigint;
    superseded bigint;
BEGIN
    IF p_kind IS NULL OR p_kind NOT IN ('grant', 'deny') THEN
        RAISE EXCEPTION 'invalid consent kind %', coalesce(quote_literal(p_kind), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use grant or deny.';
    END IF;
    IF p_from IS NULL THEN
        RAISE EXCEPTION 'consent start date is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_to IS NOT NULL AND p_to < p_from THEN
        RAISE EXCEPTION 'consent end date % is before its start date %', p_to, p_from
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM mart.member WHERE member_id = p_member_id) THEN
        RAISE EXCEPTION 'member % not found', p_member_id USING ERRCODE = 'foreign_key_violation';
    END IF;

    SELECT a.superseded, a.last_id INTO superseded, id
    FROM axtract.consent_apply(format(
        'SELECT %L::uuid, %L::bigint, %L::text, %L::text, %L::text, %L::date, %L::date, %L::text, 1',
        p_member_id, pid, p_purpose, p_kind, p_category, p_from, p_to, coalesce(p_source, 'manual'))) AS a;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('consent.' || p_kind, pid, jsonb_build_object(
        'consent_id', id, 'source', coalesce(p_source, 'manual'), 'purpose_of_use', p_purpose,
        'category', p_category, 'superseded', superseded));
    RETURN id;
END
$$;

-- Record a grant of member to partner p_slug and return its id. p_to NULL
-- means open-ended; p_category limits it to one sensitive category.
CREATE OR REPLACE FUNCTION axtract.consent_grant(
    p_slug text,
    p_member_id uuid,
    p_from date,
    p_to date DEFAULT NULL,
    p_source text DEFAULT 'manual',
    p_category text DEFAULT NULL
) RETURNS bigint
LANGUAGE sql
AS $$ SELECT axtract.consent_record(p_member_id, 'grant', p_from, p_to, p_slug, NULL, p_category, p_source) $$;

-- Record a denial of member to partner p_slug, in force from p_from (today
-- in UTC by default), and return its id.
CREATE OR REPLACE FUNCTION axtract.consent_deny(
    p_slug text,
    p_member_id uuid,
    p_from date DEFAULT NULL,
    p_to date DEFAULT NULL,
    p_source text DEFAULT 'manual',
    p_category text DEFAULT NULL
) RETURNS bigint
LANGUAGE sql
AS $$
    SELECT axtract.consent_record(p_member_id, 'deny', coalesce(p_from, (now() AT TIME ZONE 'UTC')::date), p_to,
                                  p_slug, NULL, p_category, p_source)
$$;

-- Grant a consent to every member a query selects, superseding their
-- denials of the same scope and category on the days the grant covers, and
-- return how many grants were recorded.
-- Used by the demo and by bulk loads: p_member_query must return one uuid
-- column and comes from the DBA, not from a partner.
CREATE OR REPLACE FUNCTION axtract.consent_grant_all(
    p_slug text,
    p_member_query text,
    p_from date,
    p_to date DEFAULT NULL,
    p_source text DEFAULT 'bulk',
    p_category text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    pid bigint := axtract.consent_scope(p_slug, NULL, p_category);
    n   bigint;
BEGIN
    SELECT a.inserted INTO n
    FROM axtract.consent_apply(format(
        'SELECT q.member_id, %L::bigint, NULL::text, ''grant''::text, %L::text, %L::date, %L::date, %L::text, 1'
        ' FROM (SELECT DISTINCT q.member_id FROM (%s) AS q(member_id)) AS q',
        pid, p_category, p_from, p_to, p_source, p_member_query)) AS a;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('consent.grant_all', pid, jsonb_build_object('consents', n, 'source', p_source, 'category', p_category));
    RETURN n;
END
$$;

-- Revoke a member's grants to a partner (only those of p_category when it
-- is set) and record a denial from today, so that neither a grant to the
-- partner's purpose of use nor an opt_out default shares the member's
-- records after it. Returns how many grants were revoked.
CREATE OR REPLACE FUNCTION axtract.consent_revoke(p_slug text, p_member_id uuid, p_category text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    pid bigint := axtract.consent_scope(p_slug, NULL, p_category);
    n   integer;
BEGIN
    UPDATE axtract.consent SET revoked_at = now()
    WHERE partner_id = pid AND member_id = p_member_id AND kind = 'grant' AND revoked_at IS NULL
      AND (p_category IS NULL OR category = p_category);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF EXISTS (SELECT FROM mart.member WHERE member_id = p_member_id) THEN
        INSERT INTO axtract.consent (partner_id, member_id, kind, category, effective_from, source)
        VALUES (pid, p_member_id, 'deny', p_category, (now() AT TIME ZONE 'UTC')::date, 'revocation');
    END IF;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('consent.revoke', pid, jsonb_build_object('consents', n, 'category', p_category));
    RETURN n;
END
$$;

-- Set a partner's consent default, opt_in or opt_out. The partner's
-- policies are rewritten by a trigger in the same transaction.
CREATE OR REPLACE FUNCTION axtract.partner_consent_default_set(p_slug text, p_default text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    pid bigint;
BEGIN
    IF p_default IS NULL OR p_default NOT IN ('opt_in', 'opt_out') THEN
        RAISE EXCEPTION 'invalid consent default %', coalesce(quote_literal(p_default), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use opt_in or opt_out.';
    END IF;
    UPDATE axtract.partner SET consent_default = p_default WHERE slug = p_slug RETURNING partner_id INTO pid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('partner.consent_default', pid, jsonb_build_object('consent_default', p_default));
END
$$;

-- Give every member a pseudonym for a partner that has none yet and, when
-- the partner shifts dates, a date offset. Returns how many pseudonyms were
-- added. The extract calls it before each run's snapshot.
CREATE OR REPLACE FUNCTION axtract.pseudonyms_refresh(p_partner_id bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    -- The anti-join skips members that have one already, which would
    -- otherwise each draw a random pseudonym and hit the conflict: about
    -- six times slower once every member has one, as before most runs.
    INSERT INTO axtract.member_pseudonym (partner_id, member_id)
    SELECT p_partner_id, m.member_id FROM mart.member m
    WHERE NOT EXISTS (SELECT FROM axtract.member_pseudonym p WHERE p.partner_id = p_partner_id AND p.member_id = m.member_id)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM axtract.date_shifts_refresh(p_partner_id);
    RETURN n;
END
$$;

-- Give every member a date offset for a partner with date_shift_max_days
-- that has none yet: a whole number of days from -max to max, never 0, from
-- the server's cryptographic random source. Offsets already drawn stay, so
-- intervals agree across runs. Returns how many were added.
CREATE OR REPLACE FUNCTION axtract.date_shifts_refresh(p_partner_id bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    max_days integer;
    n        bigint;
BEGIN
    SELECT date_shift_max_days INTO max_days FROM axtract.partner WHERE partner_id = p_partner_id;
    IF max_days IS NULL THEN
        RETURN 0;
    END IF;
    -- r is uniform on 0 .. 2^32-1; its remainder modulo 2*max picks one of
    -- the 2*max offsets, with a bias below 2*max/2^32.
    INSERT INTO axtract.member_date_shift (partner_id, member_id, shift_days)
    SELECT p_partner_id, d.member_id,
           CASE WHEN d.r % (2 * max_days) < max_days THEN -(d.r % (2 * max_days)) - 1
                ELSE d.r % (2 * max_days) - max_days + 1 END
    FROM (
        SELECT m.member_id, ('x' || encode(axtract_crypto.gen_random_bytes(4), 'hex'))::bit(32)::bigint AS r
        FROM mart.member m
        WHERE NOT EXISTS (SELECT FROM axtract.member_date_shift s WHERE s.partner_id = p_partner_id AND s.member_id = m.member_id)
    ) AS d
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

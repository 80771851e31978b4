-- Consent policies: row-level security on every mart table that describes a
-- member.
--
-- A partner has one policy per table. It names only the partner's view-owner
-- role, because PostgreSQL applies a view's policies as the view owner, and
-- it carries the partner id, purpose of use and consent default as
-- constants. It reads no setting, no current_user and no search_path, and
-- takes today's date in UTC rather than in the session's TimeZone, so
-- nothing a partner session can set changes what it sees. A row is visible
-- when
--
--   1. the member's general consent allows it: an opt_in partner needs a
--      grant in force and no denial in force, an opt_out partner only no
--      denial in force; and
--   2. every sensitive category of the row has a category grant in force
--      and no category denial in force, whatever the consent default.
--
-- Grants and denials count when they name the partner or its purpose of
-- use. Each test is an uncorrelated subquery on axtract.consent, which
-- PostgreSQL runs once per query into a hash table (a hashed SubPlan), so
-- no SQL or PL/pgSQL function runs per row. The policies use subqueries
-- rather than set-returning functions because a policy calls functions with
-- the privileges of the querying partner role. Nothing is cached between
-- queries: the next query sees a revocation.
--
-- NOTE: PostgreSQL hashes a subquery only when its estimated result fits in
-- hash_mem (work_mem times hash_mem_multiplier: 8 MB by default, about
-- 200,000 consents of one partner). Beyond that it compares each row with
-- the whole result, which is quadratic, so sessions that read partners with
-- more consents need a larger work_mem (docs/privacy.md).

DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT axtract.member_tables() LOOP
        EXECUTE format('ALTER TABLE mart.%I ENABLE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

-- The condition that consent row p_alias is in force for partner p today
-- (UTC). Today is a scalar subquery, which PostgreSQL computes once per
-- query rather than once per consent row.
CREATE OR REPLACE FUNCTION axtract.consent_in_force_sql(p axtract.partner, p_alias text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT format(
        '(%1$I.partner_id = %2$s OR %1$I.purpose_of_use = %3$L)'
        ' AND %1$I.revoked_at IS NULL'
        ' AND %1$I.effective_from <= (SELECT (now() AT TIME ZONE ''UTC'')::date)'
        ' AND (%1$I.effective_to IS NULL OR %1$I.effective_to >= (SELECT (now() AT TIME ZONE ''UTC'')::date))',
        p_alias, p.partner_id, p.purpose_of_use)
$$;

DROP FUNCTION IF EXISTS axtract.consent_in_force_sql(axtract.partner);
DROP FUNCTION IF EXISTS axtract.consent_predicate(bigint);

-- The USING expression of partner p's consent policy on mart table p_table.
-- Every subquery is uncorrelated, so PostgreSQL runs it once per query and
-- looks rows up in its hash table (a hashed SubPlan). Denials are few and
-- have their own index, so the subqueries leave them out with an anti-join
-- rather than a set difference over all grants. The table's own columns
-- are qualified with its name, so the subqueries cannot mistake them for
-- columns of axtract.consent.
CREATE OR REPLACE FUNCTION axtract.consent_predicate(p axtract.partner, p_table text) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    grant_in_force text := axtract.consent_in_force_sql(p, 'g');
    deny_in_force  text := axtract.consent_in_force_sql(p, 'd');
    member         text := format('%I.member_id', p_table);
    general        text;
    categories     text;
    positions      integer;
    test           text;
BEGIN
    IF p.consent_default = 'opt_in' THEN
        general := format(
            '%s IN (SELECT g.member_id FROM axtract.consent g WHERE g.category IS NULL AND g.kind = ''grant'' AND %s'
            ' AND NOT EXISTS (SELECT FROM axtract.consent d WHERE d.member_id = g.member_id'
            ' AND d.category IS NULL AND d.kind = ''deny'' AND %s))',
            member, grant_in_force, deny_in_force);
    ELSE
        general := format(
            '%s NOT IN (SELECT d.member_id FROM axtract.consent d WHERE d.category IS NULL AND d.kind = ''deny'' AND %s)',
            member, deny_in_force);
    END IF;

    IF NOT EXISTS (
        SELECT FROM pg_attribute
        WHERE attrelid = format('mart.%I', p_table)::regclass AND attname = 'sensitive_categories' AND NOT attisdropped
    ) THEN
        RETURN general;
    END IF;
    -- Rows without categories (NULL), the most, skip the category test. The
    -- others need each of their categories to be one that the member
    -- granted and did not deny. A row holds each category at most once, so
    -- it has no more categories than axtract.sensitive_category has rows;
    -- the test looks up each position in turn (one hash table per position,
    -- since an expression cannot share another's), and a row with more
    -- categories than there were when the policy was written is hidden.
    categories := format(
        'SELECT g.member_id, g.category FROM axtract.consent g WHERE g.category IS NOT NULL AND g.kind = ''grant'' AND %s'
        ' AND NOT EXISTS (SELECT FROM axtract.consent d WHERE d.member_id = g.member_id'
        ' AND d.category = g.category AND d.kind = ''deny'' AND %s)',
        grant_in_force, deny_in_force);
    positions := greatest((SELECT count(*) FROM axtract.sensitive_category), 1);
    test := format('(%s, %I.sensitive_categories[1]) IN (%s)', member, p_table, categories);
    FOR i IN 2 .. positions LOOP
        test := test || format(' AND (cardinality(%1$I.sensitive_categories) < %2$s OR (%3$s, %1$I.sensitive_categories[%2$s]) IN (%4$s))',
            p_table, i, member, categories);
    END LOOP;
    RETURN general || format(' AND (%1$I.sensitive_categories IS NULL OR %1$I.sensitive_categories = ''{}'''
        ' OR (cardinality(%1$I.sensitive_categories) <= %2$s AND %3$s))',
        p_table, positions, test);
END
$$;

-- Create or refresh the consent policies of one partner on every member
-- table, and give its view owner the consent columns the policies read.
CREATE OR REPLACE FUNCTION axtract.partner_apply_policies(p_slug text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    p     axtract.partner;
    owner text := axtract.partner_owner_role(p_slug);
    pol   text := axtract.role_prefix() || '_consent_' || p_slug;
    t     text;
BEGIN
    SELECT * INTO p FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    EXECUTE format('GRANT SELECT (partner_id, purpose_of_use, member_id, kind, category, effective_from, effective_to, revoked_at)'
        ' ON axtract.consent TO %I', owner);
    FOR t IN SELECT axtract.member_tables() LOOP
        EXECUTE format('DROP POLICY IF EXISTS %I ON mart.%I', pol, t);
        EXECUTE format('CREATE POLICY %I ON mart.%I AS PERMISSIVE FOR SELECT TO %I USING (%s)',
            pol, t, owner, axtract.consent_predicate(p, t));
    END LOOP;
END
$$;

-- The policies carry the purpose of use and the consent default, so a
-- change of either rewrites them in the same transaction.
CREATE OR REPLACE FUNCTION axtract.partner_policies_maintain() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM axtract.partner_apply_policies(NEW.slug);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER partner_policies_maintain
    AFTER UPDATE OF purpose_of_use, consent_default ON axtract.partner
    FOR EACH ROW
    WHEN (OLD.purpose_of_use IS DISTINCT FROM NEW.purpose_of_use OR OLD.consent_default IS DISTINCT FROM NEW.consent_default)
    EXECUTE FUNCTION axtract.partner_policies_maintain();

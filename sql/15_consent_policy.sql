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
-- no SQL or PL/pgSQL function runs per row. Partial indexes let each
-- subquery read only the grants of the partner and of its purpose. The
-- policies use subqueries rather than set-returning functions because a
-- policy calls functions with the privileges of the querying partner role.
-- Nothing is cached between queries, so a revocation applies to the next
-- query.
--
-- NOTE: PostgreSQL hashes a subquery only when its estimated result fits in
-- hash_mem (work_mem times hash_mem_multiplier: 8 MB by default, about
-- 200,000 consents of one partner). Beyond that it compares each row with
-- the whole result, which is quadratic, so sessions that read partners with
-- more consents need a larger work_mem (docs/privacy.md).

-- Enable row-level security on every member table that lacks it, as
-- migrate and axtract.privacy_refresh() do. ALTER TABLE locks out readers,
-- so tables that have it are left alone (see partner_apply_policies).
CREATE OR REPLACE FUNCTION axtract.member_tables_secure() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    t text;
BEGIN
    FOR t IN
        SELECT m.t FROM axtract.member_tables() AS m(t)
        JOIN pg_class c ON c.oid = format('mart.%I', m.t)::regclass
        WHERE NOT c.relrowsecurity
    LOOP
        -- A table with policies had it before: someone turned it off.
        IF EXISTS (SELECT FROM pg_policy pg WHERE pg.polrelid = format('mart.%I', t)::regclass) THEN
            RAISE WARNING 'mart.% had its row-level security turned off; turning it on again', t;
        END IF;
        EXECUTE format('ALTER TABLE mart.%I ENABLE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

SELECT axtract.member_tables_secure();

-- The condition that consent row p_alias is in force today (UTC), for any
-- partner or purpose it names. Today is a plain expression, computed for
-- each consent row the subquery reads. As a scalar subquery it would be
-- computed once, but an InitPlan inside the policy's subqueries keeps
-- PostgreSQL from running the partner's query in parallel.
CREATE OR REPLACE FUNCTION axtract.consent_current_sql(p_alias text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT format(
        '%1$I.revoked_at IS NULL'
        ' AND %1$I.effective_from <= (now() AT TIME ZONE ''UTC'')::date'
        ' AND (%1$I.effective_to IS NULL OR %1$I.effective_to >= (now() AT TIME ZONE ''UTC'')::date)',
        p_alias)
$$;

-- The condition that consent row p_alias is in force for partner p today:
-- it names the partner or its purpose of use.
CREATE OR REPLACE FUNCTION axtract.consent_in_force_sql(p axtract.partner, p_alias text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT format('(%1$I.partner_id = %2$s OR %1$I.purpose_of_use = %3$L) AND %4$s',
        p_alias, p.partner_id, p.purpose_of_use, axtract.consent_current_sql(p_alias))
$$;

DROP FUNCTION IF EXISTS axtract.consent_in_force_sql(axtract.partner);
DROP FUNCTION IF EXISTS axtract.consent_predicate(bigint);

-- A subquery of the members whose grant of p_category (NULL: the general
-- consent) is in force for partner p today and not overridden by a denial
-- in force. Grants that name the partner and grants that name its purpose
-- of use are read in two branches. Each branch is a range of a partial
-- index keyed on the start date that includes the member and the end date
-- (consent_grant_partner_idx, consent_grant_purpose_idx). So building the
-- set reads only this partner's grants and no table rows, and it computes
-- today once for the start date. Denials are few and have their own index,
-- so an anti-join leaves them out. A separate NOT IN test of the denials would save the anti-join,
-- but it lowers the planner's row estimates, and with them it picked a
-- nested loop for the pseudonym join that was slower.
CREATE OR REPLACE FUNCTION axtract.consent_grant_set_sql(p axtract.partner, p_category text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT format(
        'SELECT g.member_id FROM axtract.consent g WHERE g.partner_id = %1$s AND g.kind = ''grant'' AND %3$s AND %4$s AND %5$s'
        ' UNION ALL '
        'SELECT g.member_id FROM axtract.consent g WHERE g.purpose_of_use = %2$L AND g.kind = ''grant'' AND %3$s AND %4$s AND %5$s',
        p.partner_id, p.purpose_of_use,
        CASE WHEN p_category IS NULL THEN 'g.category IS NULL' ELSE format('g.category = %L', p_category) END,
        axtract.consent_current_sql('g'),
        format('NOT EXISTS (SELECT FROM axtract.consent d WHERE d.member_id = g.member_id AND %s AND d.kind = ''deny'' AND %s)',
            CASE WHEN p_category IS NULL THEN 'd.category IS NULL' ELSE format('d.category = %L', p_category) END,
            axtract.consent_in_force_sql(p, 'd')))
$$;

-- The USING expression of partner p's consent policy on mart table p_table.
-- Every subquery is uncorrelated, so PostgreSQL runs it once per query and
-- looks rows up in its hash table (a hashed SubPlan). The table's own
-- columns are qualified with its name, so the subqueries cannot mistake
-- them for columns of axtract.consent.
CREATE OR REPLACE FUNCTION axtract.consent_predicate(p axtract.partner, p_table text) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    member  text := format('%I.member_id', p_table);
    cats    text := format('%I.sensitive_categories', p_table);
    general text;
    known   text[];
    tests   text := '';
    c       text;
BEGIN
    IF p.consent_default = 'opt_in' THEN
        general := format('%s IN (%s)', member, axtract.consent_grant_set_sql(p, NULL));
    ELSE
        general := format(
            '%s NOT IN (SELECT d.member_id FROM axtract.consent d WHERE d.category IS NULL AND d.kind = ''deny'' AND %s)',
            member, axtract.consent_in_force_sql(p, 'd'));
    END IF;

    IF NOT EXISTS (
        SELECT FROM pg_attribute
        WHERE attrelid = format('mart.%I', p_table)::regclass AND attname = 'sensitive_categories' AND NOT attisdropped
    ) THEN
        RETURN general;
    END IF;
    -- Rows without categories (NULL), the most, skip the category test. The
    -- others need each of their categories to be one that the member
    -- granted and did not deny. There is one hash table per category, built
    -- only when a row has that category, and a row with a category that was
    -- not in axtract.sensitive_category when the policy was written is
    -- hidden.
    known := ARRAY(SELECT category FROM axtract.sensitive_category ORDER BY category);
    FOREACH c IN ARRAY known LOOP
        tests := tests || format(' AND (NOT (%L = ANY (%s)) OR %s IN (%s))', c, cats, member, axtract.consent_grant_set_sql(p, c));
    END LOOP;
    RETURN general || format(' AND (%1$s IS NULL OR %1$s = ''{}'' OR (%1$s <@ %2$L::text[]%3$s))', cats, known, tests);
END
$$;

-- The fingerprint of policy p_policy on mart table p_table as it is in the
-- catalog: its command, kind, roles and expressions, or NULL when there is
-- no such policy.
CREATE OR REPLACE FUNCTION axtract.policy_fingerprint(p_table text, p_policy text) RETURNS text
LANGUAGE sql STABLE
-- pg_get_expr leaves out the schemas on the search_path, so a fixed one
-- keeps the fingerprint the same for every caller.
SET search_path = pg_catalog
AS $$
    SELECT md5(concat_ws('|', pol.polcmd, pol.polpermissive, pol.polroles::text,
                         pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid)))
    FROM pg_policy pol
    WHERE pol.polrelid = format('mart.%I', p_table)::regclass AND pol.polname = p_policy
$$;

-- Create or refresh the consent policies of one partner on every member
-- table, and give its view owner the consent columns the policies read.
--
-- Creating a policy locks its table against every reader until the
-- transaction ends, and waits for running extracts first, so a migrate
-- during a long extract would stall all queries of the mart. Each policy
-- therefore carries a comment with the hash of the expression it was made
-- from and the fingerprint of what the catalog then held. A policy whose
-- comment still matches both is left alone; one whose expression would
-- change, or that someone altered or dropped, is created again. Any other
-- permissive policy that applies to the partner's view owner, by name or
-- through PUBLIC, is dropped, because it could only widen what the
-- partner reads.
CREATE OR REPLACE FUNCTION axtract.partner_apply_policies(p_slug text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    p     axtract.partner;
    owner text := axtract.partner_owner_role(p_slug);
    pol   text := axtract.role_prefix() || '_consent_' || p_slug;
    t     text;
    pred  text;
    want  text;
    noted text;
    other text;
BEGIN
    SELECT * INTO p FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    EXECUTE format('GRANT SELECT (partner_id, purpose_of_use, member_id, kind, category, effective_from, effective_to, revoked_at)'
        ' ON axtract.consent TO %I', owner);
    FOR t IN SELECT axtract.member_tables() LOOP
        FOR other IN
            SELECT pg.polname FROM pg_policy pg
            WHERE pg.polrelid = format('mart.%I', t)::regclass AND pg.polname <> pol AND pg.polpermissive
              AND pg.polroles && ARRAY[0, to_regrole(owner)]::oid[]
        LOOP
            RAISE WARNING 'dropping policy % on mart.%: it applies to the view owner of partner %, which only its consent policy may',
                other, t, p_slug;
            EXECUTE format('DROP POLICY %I ON mart.%I', other, t);
        END LOOP;
        pred := axtract.consent_predicate(p, t);
        want := md5(owner || '|' || pred);
        SELECT obj_description(pg.oid, 'pg_policy') INTO noted
        FROM pg_policy pg
        WHERE pg.polrelid = format('mart.%I', t)::regclass AND pg.polname = pol;
        IF noted IS NOT NULL AND noted = want || ':' || axtract.policy_fingerprint(t, pol) THEN
            CONTINUE;
        END IF;
        -- Dropped only when it exists, so a new partner's first policies
        -- print no NOTICE per table.
        IF EXISTS (SELECT FROM pg_policy pg WHERE pg.polrelid = format('mart.%I', t)::regclass AND pg.polname = pol) THEN
            EXECUTE format('DROP POLICY %I ON mart.%I', pol, t);
        END IF;
        EXECUTE format('CREATE POLICY %I ON mart.%I AS PERMISSIVE FOR SELECT TO %I USING (%s)', pol, t, owner, pred);
        EXECUTE format('COMMENT ON POLICY %I ON mart.%I IS %L', pol, t, want || ':' || axtract.policy_fingerprint(t, pol));
    END LOOP;
END
$$;

-- A deleted partner's consents go with it, and with an opt_out partner's
-- denials gone its policies would show more. The policies and the view
-- owner's grants are dropped instead, so its views read nothing: row-level
-- security shows no row to a role that no policy names. The roles and the
-- schema stay for a DBA to drop.
CREATE OR REPLACE FUNCTION axtract.partner_deleted() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    pol   text := axtract.role_prefix() || '_consent_' || OLD.slug;
    owner text := axtract.partner_owner_role(OLD.slug);
    t     text;
BEGIN
    FOR t IN SELECT axtract.member_tables() LOOP
        EXECUTE format('DROP POLICY IF EXISTS %I ON mart.%I', pol, t);
    END LOOP;
    IF to_regrole(owner) IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA mart FROM %I', owner);
        EXECUTE format('REVOKE ALL ON axtract.consent, axtract.member_pseudonym, axtract.member_date_shift, axtract.zip3_restricted FROM %I',
            owner);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER partner_deleted
    AFTER DELETE ON axtract.partner
    FOR EACH ROW EXECUTE FUNCTION axtract.partner_deleted();

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

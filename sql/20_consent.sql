-- Consents: a member's permission to share with a partner between two dates.

-- Record a consent and return its id. p_to NULL means open-ended.
CREATE OR REPLACE FUNCTION axtract.consent_grant(
    p_slug text,
    p_member_id uuid,
    p_from date,
    p_to date DEFAULT NULL,
    p_source text DEFAULT 'manual'
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
    INSERT INTO axtract.consent (partner_id, member_id, effective_from, effective_to, source)
    VALUES (pid, p_member_id, p_from, p_to, p_source)
    RETURNING consent_id INTO id;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('consent.grant', pid, jsonb_build_object('consent_id', id, 'source', p_source));
    RETURN id;
END
$$;

-- Grant a consent to every member a query selects; returns how many.
-- Used by the demo and by bulk loads: p_member_query must return one uuid
-- column and comes from the DBA, not from a partner.
CREATE OR REPLACE FUNCTION axtract.consent_grant_all(
    p_slug text,
    p_member_query text,
    p_from date,
    p_to date DEFAULT NULL,
    p_source text DEFAULT 'bulk'
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    pid bigint;
    n   bigint;
BEGIN
    SELECT partner_id INTO pid FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    EXECUTE format(
        'INSERT INTO axtract.consent (partner_id, member_id, effective_from, effective_to, source)'
        ' SELECT %s, q.member_id, %L, %L, %L FROM (%s) AS q(member_id)',
        pid, p_from, p_to, p_source, p_member_query);
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('consent.grant_all', pid, jsonb_build_object('consents', n, 'source', p_source));
    RETURN n;
END
$$;

-- Revoke every consent of a member to a partner; returns how many were in force.
CREATE OR REPLACE FUNCTION axtract.consent_revoke(p_slug text, p_member_id uuid) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    pid bigint;
    n   integer;
BEGIN
    SELECT partner_id INTO pid FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE axtract.consent SET revoked_at = now()
    WHERE partner_id = pid AND member_id = p_member_id AND revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('consent.revoke', pid, jsonb_build_object('consents', n));
    RETURN n;
END
$$;

-- Give every member a pseudonym for a partner that has none yet.
CREATE OR REPLACE FUNCTION axtract.pseudonyms_refresh(p_partner_id bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO axtract.member_pseudonym (partner_id, member_id)
    SELECT p_partner_id, m.member_id FROM mart.member m
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

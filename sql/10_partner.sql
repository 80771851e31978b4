-- Partners: schema, roles and the consent policies on the mart.
--
-- Every mart table that describes a member has row-level security. A
-- partner's policy names only that partner's view-owner role and compares
-- member_id with the partner's consents in force, with the partner id written
-- into the policy as a constant. Nothing in it reads a setting, the session's
-- role or its search_path, so a partner session cannot widen it.

-- The mart tables whose rows belong to a member.
CREATE OR REPLACE FUNCTION axtract.member_tables() RETURNS SETOF text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT unnest(ARRAY[
        'member', 'enrollment', 'encounter', 'claim', 'claim_line', 'claim_transaction',
        'pharmacy_claim', 'condition', 'observation', 'procedure', 'allergy', 'careplan',
        'immunization', 'device', 'imaging_study', 'supply'
    ])
$$;

-- Create a partner with its schema, identity role, view-owner role and
-- consent policies. Returns the partner id.
CREATE OR REPLACE FUNCTION axtract.partner_create(
    p_slug text,
    p_name text,
    p_purpose text,
    p_contact_email text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    id       bigint;
    identity text;
    owner    text;
    sch      text;
BEGIN
    IF p_slug IS NULL OR p_slug !~ '^[a-z][a-z0-9_]{0,29}$' THEN
        RAISE EXCEPTION 'invalid partner slug %', coalesce(quote_literal(p_slug), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 30 lowercase letters, digits or _, starting with a letter.';
    END IF;
    IF p_purpose IS NULL OR p_purpose NOT IN ('treatment', 'payment', 'operations', 'research', 'public_health') THEN
        RAISE EXCEPTION 'invalid purpose of use %', coalesce(quote_literal(p_purpose), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use one of treatment, payment, operations, research, public_health.';
    END IF;
    IF EXISTS (SELECT FROM axtract.partner WHERE slug = p_slug) THEN
        RAISE EXCEPTION 'partner % already exists', p_slug USING ERRCODE = 'unique_violation';
    END IF;

    INSERT INTO axtract.partner (slug, name, purpose_of_use, contact_email)
    VALUES (p_slug, p_name, p_purpose, p_contact_email)
    RETURNING partner_id INTO id;

    identity := axtract.partner_role(p_slug);
    owner := axtract.partner_owner_role(p_slug);
    sch := axtract.partner_schema(p_slug);

    EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', identity);
    EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', owner);
    EXECUTE format('COMMENT ON ROLE %I IS %L', identity, 'AxTract partner ' || p_slug || ': holds SELECT on its views');
    EXECUTE format('COMMENT ON ROLE %I IS %L', owner, 'AxTract partner ' || p_slug || ': owns its views; named by the consent policies');

    EXECUTE format('CREATE SCHEMA %I', sch);
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', sch);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', sch, identity);
    -- The view owner reads the mart and the pseudonym table through column
    -- grants that the view compiler adds; schema usage alone exposes nothing.
    EXECUTE format('GRANT USAGE ON SCHEMA mart, axtract TO %I', owner);
    EXECUTE format('GRANT SELECT (partner_id, member_id, effective_from, effective_to, revoked_at) ON axtract.consent TO %I', owner);

    -- The extract worker runs as the partner role and must be able to switch to it.
    EXECUTE format('GRANT %I TO %I', identity, current_user);
    EXECUTE format('GRANT %I TO %I', owner, current_user);

    PERFORM axtract.partner_apply_policies(p_slug);

    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('partner.create', id, jsonb_build_object('slug', p_slug, 'purpose_of_use', p_purpose));
    RETURN id;
END
$$;

-- Store an OpenPGP public key for a partner; the newest key is used.
CREATE OR REPLACE FUNCTION axtract.partner_key_add(p_slug text, p_fingerprint text, p_armored text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    id bigint;
BEGIN
    SELECT partner_id INTO id FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO axtract.partner_key (partner_id, fingerprint, armored)
    VALUES (id, upper(p_fingerprint), p_armored)
    ON CONFLICT (partner_id, fingerprint) DO UPDATE SET armored = EXCLUDED.armored, created_at = now();
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('partner.key.add', id, jsonb_build_object('fingerprint', upper(p_fingerprint)));
END
$$;

-- Create a reader login for a partner and the LOGIN role of its first
-- password generation. p_password_verifier is a SCRAM-SHA-256 verifier
-- computed by the caller, so the clear password never reaches the server or
-- its logs. p_valid_until NULL means the login does not expire; a zero
-- timeout disables that limit. The functions the login's roles share with
-- rotation, revocation and the session guard are in 60_access.sql. Returns
-- the role name.
DROP FUNCTION IF EXISTS axtract.partner_login_create(text, text, text, integer);
CREATE OR REPLACE FUNCTION axtract.partner_login_create(
    p_slug text,
    p_login text,
    p_password_verifier text,
    p_connection_limit integer DEFAULT 5,
    p_valid_until timestamptz DEFAULT NULL,
    p_statement_timeout interval DEFAULT '15 minutes',
    p_idle_in_transaction_timeout interval DEFAULT '5 minutes',
    p_idle_session_timeout interval DEFAULT '1 hour'
) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    id   bigint;
    l    axtract.partner_login;
    role text;
BEGIN
    SELECT partner_id INTO id FROM axtract.partner WHERE slug = p_slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_slug USING ERRCODE = 'no_data_found';
    END IF;
    IF p_login IS NULL OR p_login !~ '^[a-z][a-z0-9_]{0,15}$' OR p_login ~ '_g[0-9]+$' THEN
        RAISE EXCEPTION 'invalid login name %', coalesce(quote_literal(p_login), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 16 lowercase letters, digits or _, starting with a letter and not ending in _g and digits, which mark password generations.';
    END IF;
    IF p_connection_limit IS NULL OR p_connection_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'connection limit must be between 1 and 1000, not %', coalesce(p_connection_limit::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_valid_until IS NOT NULL AND p_valid_until <= now() THEN
        RAISE EXCEPTION 'expiry % is not in the future', p_valid_until USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_statement_timeout IS NULL OR p_statement_timeout < interval '0'
       OR p_idle_in_transaction_timeout IS NULL OR p_idle_in_transaction_timeout < interval '0'
       OR p_idle_session_timeout IS NULL OR p_idle_session_timeout < interval '0' THEN
        RAISE EXCEPTION 'timeouts must be zero or positive'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Zero disables a limit.';
    END IF;
    IF EXISTS (SELECT FROM axtract.partner_login WHERE partner_id = id AND login = p_login AND revoked_at IS NULL) THEN
        RAISE EXCEPTION 'login % of partner % already exists', p_login, p_slug
            USING ERRCODE = 'unique_violation',
                  HINT = 'Give it a new password with axtract partner login rotate, or revoke it first.';
    END IF;

    INSERT INTO axtract.partner_login (partner_id, login, connection_limit, valid_until,
                                       statement_timeout, idle_in_transaction_timeout, idle_session_timeout)
    VALUES (id, p_login, p_connection_limit, p_valid_until,
            p_statement_timeout, p_idle_in_transaction_timeout, p_idle_session_timeout)
    RETURNING * INTO l;
    PERFORM axtract.access_harden();
    role := axtract.login_role_create(l, 1, p_password_verifier);

    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('partner.login.create', id, jsonb_build_object(
        'login', p_login, 'role', role, 'connection_limit', p_connection_limit, 'valid_until', p_valid_until,
        'statement_timeout', p_statement_timeout, 'idle_in_transaction_timeout', p_idle_in_transaction_timeout,
        'idle_session_timeout', p_idle_session_timeout));
    RETURN role;
END
$$;

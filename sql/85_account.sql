-- Portal accounts. Passwords are hashed by the caller (internal/auth,
-- axtract user add), so no clear password reaches the server or its logs.
-- These functions store the Argon2id PHC string as given. Each change
-- appends an audit event naming the actor, with the database user in
-- detail.db_user.

-- Look up an account by login or fail with a hint.
CREATE OR REPLACE FUNCTION axtract.account_get(p_login text) RETURNS axtract.account
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    a axtract.account;
BEGIN
    SELECT * INTO a FROM axtract.account WHERE login = lower(p_login);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % not found', coalesce(quote_literal(p_login), 'NULL')
            USING ERRCODE = 'no_data_found', HINT = 'List accounts with axtract user list.';
    END IF;
    RETURN a;
END
$$;

-- The partner id of slug p_partner for an account of role p_role: NULL for
-- roles other than partner, which must not name one.
CREATE OR REPLACE FUNCTION axtract.account_partner_id(p_role text, p_partner text) RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    pid bigint;
BEGIN
    IF p_role IS NULL OR p_role NOT IN ('admin', 'analyst', 'privacy_officer', 'operator', 'partner') THEN
        RAISE EXCEPTION 'unknown role %', coalesce(quote_literal(p_role), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use admin, analyst, privacy_officer, operator or partner.';
    END IF;
    IF p_role <> 'partner' THEN
        IF coalesce(p_partner, '') <> '' THEN
            RAISE EXCEPTION 'role % belongs to no partner, but partner % was given', p_role, p_partner
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave the partner out, or use role partner.';
        END IF;
        RETURN NULL;
    END IF;
    IF coalesce(p_partner, '') = '' THEN
        RAISE EXCEPTION 'role partner needs the partner''s slug' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Name the partner: axtract user add|role LOGIN --role partner --partner SLUG.';
    END IF;
    SELECT partner_id INTO pid FROM axtract.partner WHERE slug = p_partner;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partner % not found', p_partner USING ERRCODE = 'no_data_found';
    END IF;
    RETURN pid;
END
$$;

CREATE OR REPLACE FUNCTION axtract.account_audit(p_action text, p_actor text, a axtract.account, p_detail jsonb DEFAULT '{}')
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO axtract.audit_event (actor, action, partner_id, detail)
    VALUES (coalesce(p_actor, current_user), p_action, a.partner_id,
            jsonb_build_object('login', a.login, 'account_id', a.account_id, 'role', a.role, 'db_user', current_user) || p_detail)
$$;

-- Create an account. p_password_hash is an Argon2id PHC string, or NULL for
-- an account that signs in through OpenID Connect only. Returns its id.
CREATE OR REPLACE FUNCTION axtract.account_create(
    p_login text,
    p_role text,
    p_partner text,
    p_password_hash text,
    p_actor text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    a axtract.account;
BEGIN
    IF p_login IS NULL OR lower(p_login) !~ '^[a-z0-9][a-z0-9._@-]{0,127}$' THEN
        RAISE EXCEPTION 'invalid login %', coalesce(quote_literal(p_login), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 128 letters, digits, ., _, @ or -, starting with a letter or digit.';
    END IF;
    IF p_password_hash IS NOT NULL AND p_password_hash NOT LIKE '$argon2id$%' THEN
        RAISE EXCEPTION 'password hash of account % is not an Argon2id PHC string', p_login
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Create accounts with axtract user add, which hashes the password.';
    END IF;
    IF EXISTS (SELECT FROM axtract.account WHERE login = lower(p_login)) THEN
        RAISE EXCEPTION 'account % already exists', lower(p_login)
            USING ERRCODE = 'unique_violation', HINT = 'Change it with axtract user role or axtract user passwd.';
    END IF;
    INSERT INTO axtract.account (login, role, partner_id, password_hash)
    VALUES (lower(p_login), p_role, axtract.account_partner_id(p_role, p_partner), p_password_hash)
    RETURNING * INTO a;
    PERFORM axtract.account_audit('account.create', p_actor, a);
    RETURN a.account_id;
END
$$;

-- Replace an account's password hash, lift a lockout and end its sessions.
CREATE OR REPLACE FUNCTION axtract.account_password_set(p_login text, p_password_hash text, p_actor text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    a axtract.account := axtract.account_get(p_login);
BEGIN
    IF p_password_hash IS NULL OR p_password_hash NOT LIKE '$argon2id$%' THEN
        RAISE EXCEPTION 'password hash of account % is not an Argon2id PHC string', a.login
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Set passwords with axtract user passwd, which hashes them.';
    END IF;
    UPDATE axtract.account
    SET password_hash = p_password_hash, failed_attempts = 0, first_failed_at = NULL, locked_until = NULL, updated_at = now()
    WHERE account_id = a.account_id;
    DELETE FROM axtract.account_session WHERE account_id = a.account_id;
    PERFORM axtract.account_audit('account.password', p_actor, a);
END
$$;

-- Change an account's role (and partner, for role partner). Sessions read
-- the role on every request, so the change applies to the next one.
CREATE OR REPLACE FUNCTION axtract.account_role_set(p_login text, p_role text, p_partner text DEFAULT NULL, p_actor text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    a   axtract.account := axtract.account_get(p_login);
    pid bigint := axtract.account_partner_id(p_role, p_partner);
BEGIN
    UPDATE axtract.account SET role = p_role, partner_id = pid, updated_at = now() WHERE account_id = a.account_id;
    PERFORM axtract.account_audit('account.role', p_actor, a, jsonb_build_object('new_role', p_role, 'new_partner_id', pid));
END
$$;

-- Disable or enable an account. Disabling ends its sessions at once.
CREATE OR REPLACE FUNCTION axtract.account_disabled_set(p_login text, p_disabled boolean, p_actor text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    a axtract.account := axtract.account_get(p_login);
BEGIN
    UPDATE axtract.account SET disabled = p_disabled, updated_at = now() WHERE account_id = a.account_id;
    IF p_disabled THEN
        DELETE FROM axtract.account_session WHERE account_id = a.account_id;
    END IF;
    PERFORM axtract.account_audit(CASE WHEN p_disabled THEN 'account.disable' ELSE 'account.enable' END, p_actor, a);
END
$$;

-- Lift a lockout before it ends.
CREATE OR REPLACE FUNCTION axtract.account_unlock(p_login text, p_actor text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    a axtract.account := axtract.account_get(p_login);
BEGIN
    UPDATE axtract.account SET failed_attempts = 0, first_failed_at = NULL, locked_until = NULL, updated_at = now() WHERE account_id = a.account_id;
    PERFORM axtract.account_audit('account.unlock', p_actor, a);
END
$$;

-- Delete sessions that ended before p_before and login attempts older than
-- p_keep. Returns the number of sessions deleted.
CREATE OR REPLACE FUNCTION axtract.account_session_purge(p_before timestamptz, p_keep interval DEFAULT interval '90 days')
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM axtract.account_session WHERE expires_at < p_before;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM axtract.login_attempt WHERE at < p_before - p_keep;
    RETURN n;
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract FROM PUBLIC;

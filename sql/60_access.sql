-- Direct read-only access for partners: reader logins and their rotation,
-- PUBLIC's privileges, the access check and the session guard.
--
-- A partner login is one row of axtract.partner_login and one LOGIN role per
-- password generation (axtract.partner_login_role). Each role is a member of
-- the partner's identity role, which holds SELECT on the partner's views, and
-- of the group role <prefix>_partners, which holds nothing and exists so that
-- pg_hba.conf can name every partner login at once (+<prefix>_partners).
--
-- Read-only comes from privileges. Partner roles get CONNECT on this
-- database, USAGE on their own schema and SELECT on their own views; PUBLIC
-- keeps no privilege on the database, on schema public or on the functions
-- listed by access_restricted_functions(). Role settings (search_path and
-- timeouts) are defaults a session can change, so the session guard enforces
-- the limits from outside.

-- The service role is whoever runs axtract migrate. current_user, not
-- session_user: a DBA who runs migrate after SET ROLE acts as that role.
INSERT INTO axtract.access_setting (service_role) VALUES (current_user)
ON CONFLICT (singleton) DO UPDATE SET service_role = EXCLUDED.service_role, updated_at = now();

CREATE OR REPLACE FUNCTION axtract.access_service_role() RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT service_role FROM axtract.access_setting $$;

-- The NOLOGIN group role that every partner login is a member of.
CREATE OR REPLACE FUNCTION axtract.partner_group_role() RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT axtract.role_prefix() || '_partners' $$;

-- The role of one password generation of a login: generation 1 has the
-- plain login role name, later ones end in _g<generation>.
CREATE OR REPLACE FUNCTION axtract.partner_login_role(slug text, login text, generation integer) RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT axtract.partner_login_role(slug, login) || CASE WHEN generation > 1 THEN '_g' || generation ELSE '' END
$$;

-- True when pgaudit is loaded in this server: its settings exist only then.
CREATE OR REPLACE FUNCTION axtract.pgaudit_loaded() RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT EXISTS (SELECT FROM pg_settings WHERE name = 'pgaudit.log') $$;

-- Functions of pg_catalog that PUBLIC may execute by default but partners
-- must not. Large-object creation is the one write to the database that
-- needs no CREATE privilege. With advisory locks, a session could hold the
-- keys that axtract migrate and River wait for.
CREATE OR REPLACE FUNCTION axtract.access_restricted_functions() RETURNS SETOF regprocedure
LANGUAGE sql STABLE
AS $$
    SELECT p.oid::regprocedure
    FROM pg_proc p
    WHERE p.pronamespace = 'pg_catalog'::regnamespace
      AND (p.proname IN ('lo_creat', 'lo_create', 'lo_from_bytea')
           OR p.proname ~ '^pg_(try_)?advisory_(xact_)?lock(_shared)?$')
$$;

-- True when the current role may change the privileges of an object owned
-- by p_owner. Without it, GRANT and REVOKE only warn, so the callers skip
-- the statement and the access check reports what is left to do.
CREATE OR REPLACE FUNCTION axtract.access_can_alter(p_owner oid) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR pg_has_role(current_user, p_owner, 'USAGE')
$$;

-- Take PUBLIC's privileges on this database, on schema public, on pgcrypto
-- and on the restricted functions, and give the service role and the
-- partner identity roles what they need instead. Safe to run again.
CREATE OR REPLACE FUNCTION axtract.access_harden() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    db      text := current_database();
    service text := axtract.access_service_role();
    grp     text := axtract.partner_group_role();
    owner   oid;
    fn      regprocedure;
    identity text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = grp) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', grp);
        EXECUTE format('COMMENT ON ROLE %I IS %L', grp,
            'AxTract: every partner login is a member; holds no privileges; name it in pg_hba.conf as +' || grp);
    END IF;

    SELECT datdba INTO owner FROM pg_database WHERE datname = db;
    IF axtract.access_can_alter(owner) THEN
        -- The service role first, so that revoking from PUBLIC cannot lock it out.
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', db, service);
        EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', db);
        FOR identity IN
            SELECT r.rolname FROM axtract.partner p JOIN pg_roles r ON r.rolname = axtract.partner_role(p.slug)
        LOOP
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', db, identity);
        END LOOP;
    ELSE
        RAISE NOTICE 'role % cannot change the privileges of database %; the access check reports what is left', current_user, db;
    END IF;

    SELECT nspowner INTO owner FROM pg_namespace WHERE nspname = 'public';
    IF FOUND AND axtract.access_can_alter(owner) THEN
        -- goose keeps its version table in schema public.
        EXECUTE format('GRANT USAGE, CREATE ON SCHEMA public TO %I', service);
        REVOKE ALL ON SCHEMA public FROM PUBLIC;
    END IF;

    SELECT nspowner INTO owner FROM pg_namespace WHERE nspname = 'axtract_crypto';
    IF FOUND AND axtract.access_can_alter(owner) THEN
        REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract_crypto FROM PUBLIC;
        EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract_crypto TO %I', service);
    END IF;

    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        FOR fn IN SELECT axtract.access_restricted_functions() LOOP
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
            IF fn::text LIKE 'pg_%advisory%' THEN
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, service);
            END IF;
        END LOOP;
        -- pgaudit's documentation requires the extension before pgaudit.log
        -- is set, because its event triggers name the objects of DDL.
        IF axtract.pgaudit_loaded() AND NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pgaudit') THEN
            CREATE SCHEMA IF NOT EXISTS axtract_pgaudit;
            REVOKE ALL ON SCHEMA axtract_pgaudit FROM PUBLIC;
            CREATE EXTENSION pgaudit WITH SCHEMA axtract_pgaudit;
        END IF;
    ELSE
        RAISE NOTICE 'role % is not a superuser, so PUBLIC keeps EXECUTE on large-object and advisory-lock functions', current_user;
    END IF;
END
$$;

-- The settings a login's role carries, as pg_db_role_setting stores them.
-- pgaudit.log is set only where pgaudit is loaded and this role may set it.
CREATE OR REPLACE FUNCTION axtract.login_role_config(p_login axtract.partner_login) RETURNS text[]
LANGUAGE sql STABLE
AS $$
    SELECT ARRAY[
        'search_path=' || axtract.partner_schema(p.slug),
        'statement_timeout=' || (extract(epoch FROM p_login.statement_timeout) * 1000)::bigint,
        'idle_in_transaction_session_timeout=' || (extract(epoch FROM p_login.idle_in_transaction_timeout) * 1000)::bigint,
        'idle_session_timeout=' || (extract(epoch FROM p_login.idle_session_timeout) * 1000)::bigint,
        -- The consent policies' subplans are hashed only when the hash fits
        -- in work_mem; past about 200,000 consents the default 4MB turns a
        -- scan into one subplan run per row. jit only adds start-up time to
        -- these scans.
        'work_mem=256MB',
        'jit=off'
    ] || CASE WHEN axtract.pgaudit_loaded() AND has_parameter_privilege('pgaudit.log', 'SET')
              THEN ARRAY['pgaudit.log=read, write, function, role, ddl, misc', 'pgaudit.log_relation=on', 'pgaudit.log_parameter=off']
              ELSE '{}'::text[] END
    FROM axtract.partner p
    WHERE p.partner_id = p_login.partner_id
$$;

-- The VALID UNTIL a role of a login carries: the login's expiry, or the end
-- of the grace period of a rotated-out role when that is sooner.
CREATE OR REPLACE FUNCTION axtract.login_role_valid_until(p_login axtract.partner_login, p_role axtract.partner_login_role)
RETURNS timestamptz
LANGUAGE sql STABLE
AS $$ SELECT coalesce(least(p_login.valid_until, p_role.retire_at), 'infinity') $$;

-- Bring one role of a login to what its row stores: LOGIN, connection limit,
-- VALID UNTIL, settings and memberships. The service role becomes a member
-- too, so that it sees the role's sessions in pg_stat_activity and may
-- cancel them without pg_signal_backend.
CREATE OR REPLACE FUNCTION axtract.login_role_configure(p_login axtract.partner_login, p_role axtract.partner_login_role)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    slug    text := (SELECT slug FROM axtract.partner WHERE partner_id = p_login.partner_id);
    setting text;
BEGIN
    EXECUTE format('ALTER ROLE %I %s CONNECTION LIMIT %s VALID UNTIL %L',
        p_role.role_name,
        CASE WHEN p_login.revoked_at IS NULL AND p_login.expired_at IS NULL THEN 'LOGIN' ELSE 'NOLOGIN' END,
        p_login.connection_limit,
        axtract.login_role_valid_until(p_login, p_role));
    EXECUTE format('ALTER ROLE %I RESET ALL', p_role.role_name);
    FOREACH setting IN ARRAY axtract.login_role_config(p_login) LOOP
        -- The names come from login_role_config, never from input.
        EXECUTE format('ALTER ROLE %I SET %s = %L', p_role.role_name, split_part(setting, '=', 1), substr(setting, strpos(setting, '=') + 1));
    END LOOP;
    EXECUTE format('GRANT %I TO %I', axtract.partner_role(slug), p_role.role_name);
    EXECUTE format('GRANT %I TO %I', axtract.partner_group_role(), p_role.role_name);
    EXECUTE format('GRANT %I TO %I', p_role.role_name, axtract.access_service_role());
END
$$;

-- Create the role of generation p_generation of a login with a SCRAM-SHA-256
-- verifier as its password. Returns the role name.
CREATE OR REPLACE FUNCTION axtract.login_role_create(p_login axtract.partner_login, p_generation integer, p_password_verifier text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    slug text := (SELECT slug FROM axtract.partner WHERE partner_id = p_login.partner_id);
    name text := axtract.partner_login_role(slug, p_login.login, p_generation);
    r    axtract.partner_login_role;
BEGIN
    IF p_password_verifier IS NULL OR p_password_verifier !~ '^SCRAM-SHA-256\$' THEN
        RAISE EXCEPTION 'password must be given as a SCRAM-SHA-256 verifier'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF octet_length(name) > 63 THEN
        RAISE EXCEPTION 'role name % is longer than 63 bytes', name
            USING ERRCODE = 'name_too_long', HINT = 'Use a shorter login name.';
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = name) THEN
        RAISE EXCEPTION 'role % already exists', name
            USING ERRCODE = 'duplicate_object', HINT = 'Drop the role or choose another login name.';
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
        name, p_password_verifier);
    EXECUTE format('COMMENT ON ROLE %I IS %L', name,
        format('AxTract partner %s: login %s, password generation %s', slug, p_login.login, p_generation));
    INSERT INTO axtract.partner_login_role (login_id, generation, role_name, role_oid)
    VALUES (p_login.login_id, p_generation, name, (SELECT oid FROM pg_roles WHERE rolname = name))
    RETURNING * INTO r;
    PERFORM axtract.login_role_configure(p_login, r);
    RETURN name;
END
$$;

-- Find a login that is not revoked, or fail.
CREATE OR REPLACE FUNCTION axtract.partner_login_get(p_slug text, p_login text) RETURNS axtract.partner_login
LANGUAGE plpgsql
AS $$
DECLARE
    l axtract.partner_login;
BEGIN
    SELECT pl.* INTO l
    FROM axtract.partner_login pl JOIN axtract.partner p USING (partner_id)
    WHERE p.slug = p_slug AND pl.login = p_login AND pl.revoked_at IS NULL
    FOR UPDATE OF pl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'login % of partner % not found', p_login, p_slug
            USING ERRCODE = 'no_data_found', HINT = 'List the logins with axtract partner login list.';
    END IF;
    RETURN l;
END
$$;

-- Rotate a login's password: create the next generation of its role with
-- p_password_verifier, and let the previous roles log in until now() +
-- p_grace. The session guard drops them after that. Returns the new role.
CREATE OR REPLACE FUNCTION axtract.partner_login_rotate(
    p_slug text,
    p_login text,
    p_password_verifier text,
    p_grace interval DEFAULT '24 hours'
) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    l        axtract.partner_login := axtract.partner_login_get(p_slug, p_login);
    r        axtract.partner_login_role;
    previous text;
    next_gen integer;
    role     text;
BEGIN
    IF l.expired_at IS NOT NULL OR l.valid_until <= now() THEN
        RAISE EXCEPTION 'login % of partner % has expired', p_login, p_slug
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Revoke it and create it again with a new expiry.';
    END IF;
    IF p_grace IS NULL OR p_grace < interval '0' THEN
        RAISE EXCEPTION 'grace period must be zero or positive, not %', coalesce(p_grace::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT role_name INTO previous FROM axtract.partner_login_role
    WHERE login_id = l.login_id AND dropped_at IS NULL AND retire_at IS NULL;
    FOR r IN
        UPDATE axtract.partner_login_role
        SET retire_at = least(coalesce(retire_at, 'infinity'), now() + p_grace)
        WHERE login_id = l.login_id AND dropped_at IS NULL
        RETURNING *
    LOOP
        PERFORM axtract.login_role_configure(l, r);
    END LOOP;
    SELECT max(generation) + 1 INTO next_gen FROM axtract.partner_login_role WHERE login_id = l.login_id;
    role := axtract.login_role_create(l, next_gen, p_password_verifier);

    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('partner.login.rotate', l.partner_id, jsonb_build_object(
        'login', p_login, 'role', role, 'previous_role', previous, 'retire_at', now() + p_grace));
    RETURN role;
END
$$;

-- Cancel the statement of, or terminate, one partner session and record it.
-- The audit event carries the query's duration and the sha256 of its text
-- as pg_stat_activity shows it (cut at track_activity_query_size bytes),
-- never the text. p_wait_ms > 0 waits for a terminated session to end.
-- Returns whether the signal was sent, and for a wait, whether the session
-- ended.
CREATE OR REPLACE FUNCTION axtract.access_signal(
    p_pid integer,
    p_terminate boolean,
    p_reason text,
    p_login_id bigint,
    p_role text,
    p_wait_ms integer DEFAULT 0
) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    a    record;
    l    axtract.partner_login;
    sent boolean;
BEGIN
    SELECT s.pid, s.state, s.backend_start, s.client_addr, s.query_id, s.datname,
           extract(epoch FROM CASE WHEN s.state = 'active' THEN clock_timestamp() ELSE s.state_change END - s.query_start) AS query_seconds,
           CASE WHEN s.query_start IS NOT NULL THEN encode(sha256(convert_to(s.query, 'UTF8')), 'hex') END AS query_sha256
    INTO a
    FROM pg_stat_activity s
    WHERE s.pid = p_pid;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT * INTO l FROM axtract.partner_login WHERE login_id = p_login_id;
    BEGIN
        IF p_terminate THEN
            sent := pg_terminate_backend(p_pid, p_wait_ms);
        ELSE
            sent := pg_cancel_backend(p_pid);
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN
        -- A session whose role was dropped can be signalled only by a
        -- superuser or a member of pg_signal_backend.
        sent := false;
    END;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES (CASE WHEN p_terminate THEN 'partner.session.terminate' ELSE 'partner.session.cancel' END, l.partner_id,
        jsonb_build_object(
            'login', l.login, 'role', p_role, 'pid', p_pid, 'reason', p_reason, 'signalled', sent,
            'backend_start', a.backend_start, 'client_addr', a.client_addr, 'database', a.datname, 'state', a.state,
            'query_seconds', round(a.query_seconds::numeric, 3), 'query_sha256', a.query_sha256, 'query_id', a.query_id));
    RETURN sent;
END
$$;

-- Revoke a login: lock its roles, end their open sessions, drop the roles
-- and keep the login's row for the audit trail. Returns the number of
-- sessions ended.
CREATE OR REPLACE FUNCTION axtract.partner_login_revoke(p_slug text, p_login text) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    l axtract.partner_login := axtract.partner_login_get(p_slug, p_login);
    r axtract.partner_login_role;
    a record;
    n integer := 0;
BEGIN
    FOR r IN SELECT * FROM axtract.partner_login_role WHERE login_id = l.login_id AND dropped_at IS NULL LOOP
        EXECUTE format('ALTER ROLE %I NOLOGIN', r.role_name);
    END LOOP;
    FOR a IN
        SELECT s.pid, lr.role_name
        FROM pg_stat_activity s JOIN axtract.partner_login_role lr ON lr.role_oid = s.usesysid AND lr.role_name = s.usename
        WHERE lr.login_id = l.login_id AND lr.dropped_at IS NULL
    LOOP
        IF axtract.access_signal(a.pid, true, 'revoked', l.login_id, a.role_name, 5000) THEN
            n := n + 1;
        END IF;
    END LOOP;
    FOR r IN
        UPDATE axtract.partner_login_role SET dropped_at = now()
        WHERE login_id = l.login_id AND dropped_at IS NULL
        RETURNING *
    LOOP
        EXECUTE format('DROP ROLE %I', r.role_name);
    END LOOP;
    UPDATE axtract.partner_login SET revoked_at = now() WHERE login_id = l.login_id;
    INSERT INTO axtract.audit_event (action, partner_id, detail)
    VALUES ('partner.login.revoke', l.partner_id, jsonb_build_object('login', p_login, 'sessions_ended', n));
    RETURN n;
END
$$;

-- The logins of one partner, or of all when p_slug is NULL, with one row
-- per role that still exists. Revoked logins are left out.
CREATE OR REPLACE FUNCTION axtract.partner_login_list(p_slug text DEFAULT NULL)
RETURNS TABLE (
    slug text,
    login text,
    role_name text,
    generation integer,
    status text,
    valid_until timestamptz,
    connection_limit integer,
    statement_timeout interval,
    idle_in_transaction_timeout interval,
    idle_session_timeout interval,
    sessions bigint
)
LANGUAGE sql STABLE
AS $$
    SELECT p.slug, l.login, r.role_name, r.generation,
           CASE WHEN l.expired_at IS NOT NULL OR l.valid_until <= now() THEN 'expired'
                WHEN r.retire_at IS NOT NULL THEN 'rotated out'
                ELSE 'active' END,
           nullif(axtract.login_role_valid_until(l, r), 'infinity'),
           l.connection_limit, l.statement_timeout, l.idle_in_transaction_timeout, l.idle_session_timeout,
           (SELECT count(*) FROM pg_stat_activity s WHERE s.usesysid = r.role_oid AND s.usename = r.role_name)
    FROM axtract.partner_login l
    JOIN axtract.partner p USING (partner_id)
    JOIN axtract.partner_login_role r USING (login_id)
    WHERE l.revoked_at IS NULL AND r.dropped_at IS NULL AND (p_slug IS NULL OR p.slug = p_slug)
    ORDER BY p.slug, l.login, r.generation
$$;

-- Re-create everything access_harden and login_role_configure set, for
-- every login role that exists. Runs on every migrate.
-- Remove the settings of partner identity roles and of the group role,
-- which AxTract never sets. A login can SET ROLE to either and run ALTER
-- ROLE ... SET on it, and pg_db_role_setting is readable by every role,
-- so such settings would carry messages from one partner to another.
-- Returns the names of the roles it reset.
CREATE OR REPLACE FUNCTION axtract.shared_role_settings_reset() RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT s.role_name, d.setdatabase, db.datname
        FROM axtract.access_subjects() s
        JOIN pg_db_role_setting d ON d.setrole = s.role_oid
        LEFT JOIN pg_database db ON db.oid = d.setdatabase
        WHERE s.kind IN ('identity', 'group')
    LOOP
        IF r.setdatabase = 0 THEN
            EXECUTE format('ALTER ROLE %I RESET ALL', r.role_name);
        ELSIF r.datname IS NOT NULL THEN
            EXECUTE format('ALTER ROLE %I IN DATABASE %I RESET ALL', r.role_name, r.datname);
        END IF;
        RETURN NEXT r.role_name;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION axtract.access_apply() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    l axtract.partner_login;
    r axtract.partner_login_role;
BEGIN
    PERFORM axtract.access_harden();
    PERFORM axtract.shared_role_settings_reset();
    FOR r IN
        SELECT lr.*
        FROM axtract.partner_login_role lr
        JOIN pg_roles ro ON ro.oid = lr.role_oid AND ro.rolname = lr.role_name
        WHERE lr.dropped_at IS NULL
    LOOP
        SELECT * INTO l FROM axtract.partner_login WHERE login_id = r.login_id;
        PERFORM axtract.login_role_configure(l, r);
    END LOOP;
END
$$;

-- Whether a transaction that began at p_started has outlived its UTC day
-- at p_now. The consent policies and transforms take today from the
-- transaction's start, so such a transaction reads the consents of an
-- earlier day.
CREATE OR REPLACE FUNCTION axtract.transaction_outdated(p_started timestamptz, p_now timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$ SELECT (p_started AT TIME ZONE 'UTC')::date < (p_now AT TIME ZONE 'UTC')::date $$;

-- One pass of the session guard. Role settings are only defaults that a
-- session may change (SET statement_timeout = 0), so the guard enforces a
-- login's limits from outside, in this order:
--
--   1. it records a logout event for each session seen before that is gone,
--      and a login event for each partner session it sees for the first time;
--   2. it locks logins whose valid_until has passed (VALID UNTIL alone binds
--      only password authentication and never ends an open session);
--   3. it ends the sessions of rotated-out roles whose grace has ended and
--      drops those roles;
--   4. it cancels a statement running past the login's statement_timeout,
--      and terminates the session if that statement still runs at the next
--      pass; it terminates sessions idle past their limits, sessions beyond
--      the connection limit (newest first), sessions in another database,
--      sessions of expired, revoked or dropped roles, and sessions whose
--      transaction began on an earlier UTC day: the consent policies and
--      transforms take today from the transaction's start, so such a
--      transaction would still see consents that have ended;
--   5. it removes settings that someone put on a partner identity role or
--      the group role (axtract.shared_role_settings_reset).
--
-- Each action writes an audit event. Returns one row per action.
CREATE OR REPLACE FUNCTION axtract.access_guard()
RETURNS TABLE (action text, login text, role_name text, pid integer, reason text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_login    axtract.partner_login;
    v_role     axtract.partner_login_role;
    v_seen     axtract.access_session;
    v_session  record;
    v_reason   text;
    v_sent     boolean;
    v_previous timestamptz;
BEGIN
    -- One pass at a time in this database. A row lock, not an advisory
    -- lock, because no partner session can take it.
    SELECT guard_pass_at INTO v_previous FROM axtract.access_setting FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    FOR v_seen IN
        DELETE FROM axtract.access_session seen
        WHERE NOT EXISTS (SELECT FROM pg_stat_activity act WHERE act.pid = seen.pid AND act.backend_start = seen.backend_start)
        RETURNING *
    LOOP
        SELECT * INTO v_login FROM axtract.partner_login WHERE login_id = v_seen.login_id;
        INSERT INTO axtract.audit_event (action, partner_id, detail)
        VALUES ('partner.session.logout', v_login.partner_id, jsonb_build_object(
            'login', v_login.login, 'role', v_seen.role_name, 'pid', v_seen.pid,
            'backend_start', v_seen.backend_start, 'client_addr', v_seen.client_addr, 'database', v_seen.database_name,
            'ended_after', greatest(v_seen.seen_at, v_previous), 'ended_before', now()));
        RETURN QUERY SELECT 'logout'::text, v_login.login, v_seen.role_name, v_seen.pid, NULL::text;
    END LOOP;

    FOR v_seen IN
        INSERT INTO axtract.access_session (pid, backend_start, login_id, role_name, client_addr, database_name)
        SELECT act.pid, act.backend_start, lr.login_id, lr.role_name, act.client_addr, act.datname
        FROM pg_stat_activity act
        JOIN axtract.partner_login_role lr ON lr.role_oid = act.usesysid
        WHERE act.backend_type = 'client backend' AND act.backend_start IS NOT NULL
          AND ((lr.dropped_at IS NULL AND act.usename = lr.role_name)
               OR (lr.dropped_at IS NOT NULL AND act.usename IS NULL AND act.backend_start < lr.dropped_at))
        ON CONFLICT DO NOTHING
        RETURNING *
    LOOP
        SELECT * INTO v_login FROM axtract.partner_login WHERE login_id = v_seen.login_id;
        INSERT INTO axtract.audit_event (action, partner_id, detail)
        VALUES ('partner.session.login', v_login.partner_id, jsonb_build_object(
            'login', v_login.login, 'role', v_seen.role_name, 'pid', v_seen.pid,
            'backend_start', v_seen.backend_start, 'client_addr', v_seen.client_addr, 'database', v_seen.database_name));
        RETURN QUERY SELECT 'login'::text, v_login.login, v_seen.role_name, v_seen.pid, NULL::text;
    END LOOP;

    FOR v_login IN
        UPDATE axtract.partner_login SET expired_at = now()
        WHERE revoked_at IS NULL AND expired_at IS NULL AND valid_until <= now()
        RETURNING *
    LOOP
        FOR v_role IN SELECT * FROM axtract.partner_login_role WHERE login_id = v_login.login_id AND dropped_at IS NULL LOOP
            PERFORM axtract.login_role_configure(v_login, v_role);
        END LOOP;
        INSERT INTO axtract.audit_event (action, partner_id, detail)
        VALUES ('partner.login.expire', v_login.partner_id, jsonb_build_object('login', v_login.login, 'valid_until', v_login.valid_until));
        RETURN QUERY SELECT 'expire'::text, v_login.login, NULL::text, NULL::integer, 'valid_until passed'::text;
    END LOOP;

    FOR v_role IN
        SELECT * FROM axtract.partner_login_role
        WHERE dropped_at IS NULL AND retire_at <= now()
        FOR UPDATE
    LOOP
        SELECT * INTO v_login FROM axtract.partner_login WHERE login_id = v_role.login_id;
        EXECUTE format('ALTER ROLE %I NOLOGIN', v_role.role_name);
        FOR v_session IN
            SELECT act.pid AS spid FROM pg_stat_activity act
            WHERE act.usesysid = v_role.role_oid AND act.usename = v_role.role_name
        LOOP
            RETURN QUERY SELECT
                CASE WHEN axtract.access_signal(v_session.spid, true, 'rotated out', v_login.login_id, v_role.role_name, 1000)
                     THEN 'terminate' ELSE 'signal failed' END,
                v_login.login, v_role.role_name, v_session.spid, 'rotated out'::text;
        END LOOP;
        EXECUTE format('DROP ROLE %I', v_role.role_name);
        UPDATE axtract.partner_login_role SET dropped_at = now()
        WHERE login_id = v_role.login_id AND generation = v_role.generation;
        INSERT INTO axtract.audit_event (action, partner_id, detail)
        VALUES ('partner.login.retire', v_login.partner_id, jsonb_build_object(
            'login', v_login.login, 'role', v_role.role_name, 'retire_at', v_role.retire_at));
        RETURN QUERY SELECT 'drop role'::text, v_login.login, v_role.role_name, NULL::integer, 'rotated out'::text;
    END LOOP;

    FOR v_session IN
        SELECT act.pid AS spid, act.backend_start AS started, act.datname AS dbname, act.state AS sstate,
               act.query_start AS qstart, act.state_change AS changed, act.xact_start AS xstart,
               lr.role_name AS rname, lr.dropped_at AS role_dropped,
               pl.login_id AS lid, pl.login AS lname, pl.valid_until AS lvalid, pl.expired_at AS lexpired,
               pl.revoked_at AS lrevoked, pl.connection_limit AS climit, pl.statement_timeout AS stmt_limit,
               pl.idle_in_transaction_timeout AS idle_tx_limit, pl.idle_session_timeout AS idle_limit,
               seen.cancelled_query_start AS cancelled,
               row_number() OVER (PARTITION BY lr.role_oid ORDER BY act.backend_start) AS rank
        FROM pg_stat_activity act
        JOIN axtract.partner_login_role lr ON lr.role_oid = act.usesysid
        JOIN axtract.partner_login pl ON pl.login_id = lr.login_id
        LEFT JOIN axtract.access_session seen ON seen.pid = act.pid AND seen.backend_start = act.backend_start
        WHERE act.backend_type = 'client backend'
          AND ((lr.dropped_at IS NULL AND act.usename = lr.role_name)
               OR (lr.dropped_at IS NOT NULL AND act.usename IS NULL AND act.backend_start < lr.dropped_at))
    LOOP
        IF v_session.started IS NULL THEN
            -- pg_stat_activity hides the session from the role running the
            -- guard, which then needs pg_read_all_stats and pg_signal_backend.
            RETURN QUERY SELECT 'blind'::text, v_session.lname, v_session.rname, v_session.spid, 'session details hidden'::text;
            CONTINUE;
        END IF;
        v_reason := CASE
            WHEN v_session.role_dropped IS NOT NULL THEN 'role dropped'
            WHEN v_session.lrevoked IS NOT NULL THEN 'revoked'
            WHEN v_session.lexpired IS NOT NULL OR v_session.lvalid <= now() THEN 'expired'
            WHEN v_session.dbname IS DISTINCT FROM current_database() THEN 'other database'
            WHEN v_session.sstate IN ('active', 'fastpath function call') AND v_session.stmt_limit > interval '0'
                 AND now() - v_session.qstart > v_session.stmt_limit THEN 'statement timeout'
            WHEN v_session.sstate IN ('idle in transaction', 'idle in transaction (aborted)') AND v_session.idle_tx_limit > interval '0'
                 AND now() - v_session.changed > v_session.idle_tx_limit THEN 'idle in transaction timeout'
            WHEN v_session.sstate = 'idle' AND v_session.idle_limit > interval '0'
                 AND now() - v_session.changed > v_session.idle_limit THEN 'idle session timeout'
            WHEN axtract.transaction_outdated(v_session.xstart, now())
                 THEN 'transaction began on an earlier UTC day'
            WHEN v_session.rank > v_session.climit THEN 'connection limit'
        END;
        CONTINUE WHEN v_reason IS NULL;

        IF v_reason = 'statement timeout' AND v_session.cancelled IS DISTINCT FROM v_session.qstart THEN
            v_sent := axtract.access_signal(v_session.spid, false, v_reason, v_session.lid, v_session.rname);
            UPDATE axtract.access_session SET cancelled_query_start = v_session.qstart
            WHERE pid = v_session.spid AND backend_start = v_session.started;
            RETURN QUERY SELECT CASE WHEN v_sent THEN 'cancel' ELSE 'signal failed' END,
                v_session.lname, v_session.rname, v_session.spid, v_reason;
        ELSE
            v_sent := axtract.access_signal(v_session.spid, true, v_reason, v_session.lid, v_session.rname);
            RETURN QUERY SELECT CASE WHEN v_sent THEN 'terminate' ELSE 'signal failed' END,
                v_session.lname, v_session.rname, v_session.spid, v_reason;
        END IF;
    END LOOP;

    FOR v_session IN SELECT axtract.shared_role_settings_reset() AS rname LOOP
        INSERT INTO axtract.audit_event (action, detail)
        VALUES ('partner.role.settings_reset', jsonb_build_object('role', v_session.rname));
        RETURN QUERY SELECT 'reset settings'::text, NULL::text, v_session.rname, NULL::integer, 'settings on a shared partner role'::text;
    END LOOP;

    UPDATE axtract.access_setting SET guard_pass_at = now();
END
$$;

-- The roles whose privileges the access check verifies: partner identity
-- roles, the group role and the login roles AxTract manages.
CREATE OR REPLACE FUNCTION axtract.access_subjects()
RETURNS TABLE (role_oid oid, role_name text, kind text, partner_id bigint, login_id bigint, schema_name text)
LANGUAGE sql STABLE
AS $$
    SELECT ro.oid, ro.rolname::text, 'identity', p.partner_id, NULL::bigint, axtract.partner_schema(p.slug)
    FROM axtract.partner p
    JOIN pg_roles ro ON ro.rolname = axtract.partner_role(p.slug)
    UNION ALL
    SELECT ro.oid, ro.rolname::text, 'group', NULL, NULL, NULL
    FROM pg_roles ro
    WHERE ro.rolname = axtract.partner_group_role()
    UNION ALL
    SELECT ro.oid, ro.rolname::text, 'login', l.partner_id, l.login_id, axtract.partner_schema(p.slug)
    FROM axtract.partner_login_role lr
    JOIN axtract.partner_login l ON l.login_id = lr.login_id
    JOIN axtract.partner p ON p.partner_id = l.partner_id
    JOIN pg_roles ro ON ro.oid = lr.role_oid AND ro.rolname = lr.role_name
    WHERE lr.dropped_at IS NULL
$$;

-- The ACL of an object as pg_shdepend names it: a catalog, an object id
-- and, for a column, its number.
CREATE OR REPLACE FUNCTION axtract.access_acl(p_classid oid, p_objid oid, p_objsubid integer) RETURNS aclitem[]
LANGUAGE sql STABLE
AS $$
    SELECT CASE p_classid
        WHEN 'pg_class'::regclass::oid THEN
            CASE WHEN p_objsubid = 0 THEN (SELECT relacl FROM pg_class WHERE oid = p_objid)
                 ELSE (SELECT attacl FROM pg_attribute WHERE attrelid = p_objid AND attnum = p_objsubid) END
        WHEN 'pg_namespace'::regclass::oid THEN (SELECT nspacl FROM pg_namespace WHERE oid = p_objid)
        WHEN 'pg_proc'::regclass::oid THEN (SELECT proacl FROM pg_proc WHERE oid = p_objid)
        WHEN 'pg_database'::regclass::oid THEN (SELECT datacl FROM pg_database WHERE oid = p_objid)
        WHEN 'pg_type'::regclass::oid THEN (SELECT typacl FROM pg_type WHERE oid = p_objid)
        WHEN 'pg_language'::regclass::oid THEN (SELECT lanacl FROM pg_language WHERE oid = p_objid)
        WHEN 'pg_largeobject'::regclass::oid THEN (SELECT lomacl FROM pg_largeobject_metadata WHERE oid = p_objid)
        WHEN 'pg_largeobject_metadata'::regclass::oid THEN (SELECT lomacl FROM pg_largeobject_metadata WHERE oid = p_objid)
        WHEN 'pg_foreign_data_wrapper'::regclass::oid THEN (SELECT fdwacl FROM pg_foreign_data_wrapper WHERE oid = p_objid)
        WHEN 'pg_foreign_server'::regclass::oid THEN (SELECT srvacl FROM pg_foreign_server WHERE oid = p_objid)
        WHEN 'pg_tablespace'::regclass::oid THEN (SELECT spcacl FROM pg_tablespace WHERE oid = p_objid)
        WHEN 'pg_parameter_acl'::regclass::oid THEN (SELECT paracl FROM pg_parameter_acl WHERE oid = p_objid)
        WHEN 'pg_default_acl'::regclass::oid THEN (SELECT defaclacl FROM pg_default_acl WHERE oid = p_objid)
    END
$$;

-- Compare the privileges of partner roles and of PUBLIC with what AxTract
-- grants, in the live catalog, and return one row per difference. Severity
-- drift means this database differs from what axtract migrate and the login
-- functions set. Severity warning means that something outside this
-- database, which AxTract does not manage, lets partners do more than read
-- their views.
CREATE OR REPLACE FUNCTION axtract.access_check()
RETURNS TABLE (severity text, role_name text, object text, problem text)
LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_column
DECLARE
    db_oid  oid := (SELECT oid FROM pg_database WHERE datname = current_database());
    system  oid[] := ARRAY['pg_catalog'::regnamespace::oid, 'information_schema'::regnamespace::oid];
    grp     text := axtract.partner_group_role();
BEGIN
    -- Roles named like partner logins that AxTract did not create.
    RETURN QUERY
    SELECT 'drift'::text, ro.rolname::text, 'role ' || ro.rolname, 'is named like a partner login but is not one AxTract manages'::text
    FROM pg_roles ro
    WHERE starts_with(ro.rolname, axtract.role_prefix() || '_l_')
      AND NOT EXISTS (SELECT FROM axtract.access_subjects() s WHERE s.role_oid = ro.oid);

    -- Role attributes.
    RETURN QUERY
    SELECT 'drift'::text, s.role_name, 'role ' || s.role_name, v.problem
    FROM axtract.access_subjects() s
    JOIN pg_roles ro ON ro.oid = s.role_oid
    CROSS JOIN LATERAL (VALUES
        (ro.rolsuper, 'is a superuser'),
        (ro.rolcreatedb, 'has CREATEDB'),
        (ro.rolcreaterole, 'has CREATEROLE'),
        (ro.rolreplication, 'has REPLICATION'),
        (ro.rolbypassrls, 'has BYPASSRLS'),
        (s.kind <> 'login' AND ro.rolcanlogin, 'has LOGIN')
    ) AS v(bad, problem)
    WHERE v.bad;

    RETURN QUERY
    SELECT 'drift'::text, s.role_name, 'role ' || s.role_name, v.problem
    FROM axtract.access_subjects() s
    JOIN pg_roles ro ON ro.oid = s.role_oid
    JOIN axtract.partner_login l ON l.login_id = s.login_id
    JOIN axtract.partner_login_role lr ON lr.role_oid = s.role_oid AND lr.dropped_at IS NULL
    CROSS JOIN LATERAL (VALUES
        (ro.rolcanlogin AND l.expired_at IS NOT NULL, 'has LOGIN although the login expired'),
        (NOT ro.rolcanlogin AND l.expired_at IS NULL, 'has NOLOGIN although the login is active'),
        (ro.rolconnlimit <> l.connection_limit,
            format('has connection limit %s, not %s', ro.rolconnlimit, l.connection_limit)),
        (coalesce(ro.rolvaliduntil, 'infinity') <> axtract.login_role_valid_until(l, lr),
            format('is valid until %s, not %s', coalesce(ro.rolvaliduntil::text, 'infinity'), axtract.login_role_valid_until(l, lr)))
    ) AS v(bad, problem)
    WHERE v.bad;

    -- Role settings: exactly the ones AxTract set, and none per database.
    RETURN QUERY
    WITH config AS (
        SELECT s.role_name AS rname, coalesce(d.setconfig, '{}') AS actual, axtract.login_role_config(l) AS expected
        FROM axtract.access_subjects() s
        JOIN axtract.partner_login l ON l.login_id = s.login_id
        LEFT JOIN pg_db_role_setting d ON d.setrole = s.role_oid AND d.setdatabase = 0
    )
    SELECT 'drift'::text, c.rname, 'role ' || c.rname, 'has setting ' || x || ', which AxTract did not set'
    FROM config c, unnest(c.actual) AS x
    WHERE x <> ALL (c.expected)
    UNION ALL
    SELECT 'drift'::text, c.rname, 'role ' || c.rname, 'lacks setting ' || x
    FROM config c, unnest(c.expected) AS x
    WHERE x <> ALL (c.actual);

    -- Identity roles and the group role carry no settings.
    RETURN QUERY
    SELECT 'drift'::text, s.role_name, 'role ' || s.role_name, 'has setting ' || x || ', which AxTract did not set'
    FROM axtract.access_subjects() s
    JOIN pg_db_role_setting d ON d.setrole = s.role_oid AND d.setdatabase = 0
    CROSS JOIN LATERAL unnest(d.setconfig) AS x
    WHERE s.kind IN ('identity', 'group');

    RETURN QUERY
    SELECT 'drift'::text, s.role_name, 'role ' || s.role_name,
           format('has settings for database %s: %s', coalesce(db.datname::text, d.setdatabase::text), array_to_string(d.setconfig, ', '))
    FROM axtract.access_subjects() s
    JOIN pg_db_role_setting d ON d.setrole = s.role_oid AND d.setdatabase <> 0
    LEFT JOIN pg_database db ON db.oid = d.setdatabase;

    -- Memberships: a login is a member of its partner's identity role and
    -- of the group role, without ADMIN OPTION; the others of nothing.
    RETURN QUERY
    SELECT 'drift'::text, s.role_name, 'role ' || g.rolname,
           CASE WHEN m.admin_option THEN 'is a member with ADMIN OPTION' ELSE 'is a member' END
    FROM axtract.access_subjects() s
    JOIN pg_auth_members m ON m.member = s.role_oid
    JOIN pg_roles g ON g.oid = m.roleid
    WHERE m.admin_option
       OR NOT (s.kind = 'login'
               AND (g.rolname = grp
                    OR g.rolname = axtract.partner_role((SELECT p.slug FROM axtract.partner p WHERE p.partner_id = s.partner_id))));

    -- Ownership and privileges granted to a partner role itself, from the
    -- dependencies PostgreSQL records for every ACL entry naming a role.
    RETURN QUERY
    SELECT 'drift'::text, s.role_name, pg_describe_object(d.classid, d.objid, d.objsubid), 'owns it'::text
    FROM axtract.access_subjects() s
    JOIN pg_shdepend d ON d.refclassid = 'pg_authid'::regclass AND d.refobjid = s.role_oid
    WHERE d.deptype = 'o' AND d.dbid IN (0, db_oid);

    RETURN QUERY
    SELECT 'drift'::text, s.role_name, pg_describe_object(d.classid, d.objid, d.objsubid),
           'holds ' || coalesce(a.privilege_type, 'a privilege') || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
    FROM axtract.access_subjects() s
    JOIN pg_shdepend d ON d.refclassid = 'pg_authid'::regclass AND d.refobjid = s.role_oid
    LEFT JOIN LATERAL aclexplode(axtract.access_acl(d.classid, d.objid, d.objsubid)) a ON a.grantee = s.role_oid
    WHERE d.deptype = 'a' AND d.dbid IN (0, db_oid)
      AND NOT coalesce(s.kind = 'identity' AND NOT a.is_grantable AND (
              (a.privilege_type = 'CONNECT' AND d.classid = 'pg_database'::regclass AND d.objid = db_oid)
           OR (a.privilege_type = 'USAGE' AND d.classid = 'pg_namespace'::regclass AND d.objid = to_regnamespace(s.schema_name)::oid)
           OR (a.privilege_type = 'SELECT' AND d.classid = 'pg_class'::regclass AND d.objsubid = 0
               AND d.objid IN (SELECT to_regclass(format('%I.%I', s.schema_name, v.name))::oid
                               FROM axtract.partner_view v WHERE v.partner_id = s.partner_id))), false);

    -- What partners need and lack.
    RETURN QUERY
    SELECT 'drift'::text, s.role_name, 'database ' || current_database(), 'lacks CONNECT, so the partner''s logins cannot connect'::text
    FROM axtract.access_subjects() s
    WHERE s.kind = 'identity'
      AND EXISTS (SELECT FROM axtract.access_subjects() x WHERE x.kind = 'login' AND x.partner_id = s.partner_id)
      AND NOT has_database_privilege(s.role_oid, db_oid, 'CONNECT')
    UNION ALL
    SELECT 'drift'::text, s.role_name, 'schema ' || s.schema_name, 'lacks USAGE, so the partner cannot read its views'::text
    FROM axtract.access_subjects() s
    WHERE s.kind = 'identity' AND to_regnamespace(s.schema_name) IS NOT NULL
      AND NOT has_schema_privilege(s.role_oid, s.schema_name, 'USAGE');

    -- PUBLIC, which every partner role is part of.
    RETURN QUERY
    SELECT 'drift'::text, 'PUBLIC'::text, 'database ' || d.datname,
           CASE WHEN d.datacl IS NULL THEN 'holds the default CONNECT and TEMPORARY' ELSE 'holds ' || a.privilege_type END
    FROM pg_database d
    LEFT JOIN LATERAL aclexplode(d.datacl) a ON true
    WHERE d.oid = db_oid AND (d.datacl IS NULL OR a.grantee = 0);

    RETURN QUERY
    SELECT 'drift'::text, 'PUBLIC'::text, 'schema ' || n.nspname, 'holds ' || a.privilege_type
    FROM pg_namespace n, aclexplode(n.nspacl) a
    WHERE a.grantee = 0 AND n.oid <> ALL (system);

    RETURN QUERY
    SELECT 'drift'::text, 'PUBLIC'::text, pg_describe_object('pg_class'::regclass, c.oid, 0), 'holds ' || a.privilege_type
    FROM pg_class c, aclexplode(c.relacl) a
    WHERE a.grantee = 0 AND c.relnamespace <> ALL (system)
    UNION ALL
    SELECT 'drift'::text, 'PUBLIC'::text, pg_describe_object('pg_class'::regclass, c.oid, at.attnum), 'holds ' || a.privilege_type
    FROM pg_class c JOIN pg_attribute at ON at.attrelid = c.oid, aclexplode(at.attacl) a
    WHERE a.grantee = 0 AND c.relnamespace <> ALL (system);

    -- In pg_catalog and information_schema PUBLIC holds much by design, so
    -- compare with the privileges initdb recorded in pg_init_privs. Objects
    -- without a record there have the default ACL, which lets PUBLIC execute
    -- functions; PostgreSQL 15 records nothing for information_schema, whose
    -- views PUBLIC may read.
    RETURN QUERY
    WITH catalog_acl AS (
        SELECT 'pg_class'::regclass::oid AS cls, c.oid AS obj, 0 AS sub, c.relnamespace AS nsp, c.relacl AS acl
        FROM pg_class c WHERE c.relnamespace = ANY (system)
        UNION ALL
        SELECT 'pg_class'::regclass::oid, at.attrelid, at.attnum::integer, c.relnamespace, at.attacl
        FROM pg_attribute at JOIN pg_class c ON c.oid = at.attrelid
        WHERE c.relnamespace = ANY (system) AND at.attacl IS NOT NULL
        UNION ALL
        SELECT 'pg_proc'::regclass::oid, p.oid, 0, p.pronamespace, p.proacl
        FROM pg_proc p WHERE p.pronamespace = ANY (system)
    )
    SELECT 'drift'::text, 'PUBLIC'::text, pg_describe_object(ca.cls, ca.obj, ca.sub), 'holds ' || a.privilege_type || ', which initdb did not grant'
    FROM catalog_acl ca
    CROSS JOIN LATERAL aclexplode(ca.acl) a
    LEFT JOIN pg_init_privs i ON i.objoid = ca.obj AND i.classoid = ca.cls AND i.objsubid = ca.sub
    WHERE a.grantee = 0
      AND CASE WHEN i.objoid IS NULL
               THEN ca.cls = 'pg_class'::regclass::oid
                    AND NOT (ca.nsp = 'information_schema'::regnamespace::oid AND a.privilege_type = 'SELECT')
               ELSE NOT EXISTS (SELECT FROM aclexplode(i.initprivs) ia WHERE ia.grantee = 0 AND ia.privilege_type = a.privilege_type) END;

    RETURN QUERY
    SELECT 'drift'::text, 'PUBLIC'::text, 'functions ' || string_agg(f::text, ', ' ORDER BY f::text), 'hold EXECUTE'::text
    FROM axtract.access_restricted_functions() f
    JOIN pg_proc p ON p.oid = f
    WHERE p.proacl IS NULL OR EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
    HAVING count(*) > 0;

    RETURN QUERY
    SELECT 'drift'::text, 'PUBLIC'::text, 'large object ' || m.oid, 'holds ' || a.privilege_type
    FROM pg_largeobject_metadata m, aclexplode(m.lomacl) a
    WHERE a.grantee = 0
    UNION ALL
    SELECT 'drift'::text, 'PUBLIC'::text, 'setting lo_compat_privileges'::text, 'is on, which turns off privilege checks on large objects'::text
    WHERE current_setting('lo_compat_privileges')::boolean
    UNION ALL
    SELECT 'drift'::text, 'PUBLIC'::text, 'foreign-data wrapper ' || w.fdwname, 'holds ' || a.privilege_type
    FROM pg_foreign_data_wrapper w, aclexplode(w.fdwacl) a
    WHERE a.grantee = 0
    UNION ALL
    SELECT 'drift'::text, 'PUBLIC'::text, 'server ' || fs.srvname, 'holds ' || a.privilege_type
    FROM pg_foreign_server fs, aclexplode(fs.srvacl) a
    WHERE a.grantee = 0
    UNION ALL
    SELECT 'drift'::text, 'PUBLIC'::text, 'user mapping on server ' || um.srvname, 'exists, so every role may use the server'::text
    FROM pg_user_mappings um
    WHERE um.umuser = 0
    UNION ALL
    SELECT 'drift'::text, 'PUBLIC'::text, 'tablespace ' || t.spcname, 'holds ' || a.privilege_type
    FROM pg_tablespace t, aclexplode(t.spcacl) a
    WHERE a.grantee = 0
    UNION ALL
    SELECT 'drift'::text, 'PUBLIC'::text, 'parameter ' || pa.parname, 'holds ' || a.privilege_type
    FROM pg_parameter_acl pa, aclexplode(pa.paracl) a
    WHERE a.grantee = 0
    UNION ALL
    SELECT 'drift'::text, 'PUBLIC'::text, pg_describe_object('pg_default_acl'::regclass, da.oid, 0), 'holds ' || a.privilege_type
    FROM pg_default_acl da, aclexplode(da.defaclacl) a
    WHERE a.grantee = 0 AND da.defaclobjtype IN ('r', 'S', 'n');

    -- Partner schemas hold only the security_barrier views AxTract defined,
    -- owned by the partner's view owner.
    RETURN QUERY
    SELECT 'drift'::text, axtract.partner_owner_role(p.slug), pg_describe_object('pg_class'::regclass, c.oid, 0), v.problem
    FROM axtract.partner p
    JOIN pg_class c ON c.relnamespace = to_regnamespace(axtract.partner_schema(p.slug))::oid
    LEFT JOIN axtract.partner_view pv ON pv.partner_id = p.partner_id AND pv.name = c.relname
    CROSS JOIN LATERAL (VALUES
        (c.relkind <> 'v' OR pv.view_id IS NULL, 'is not a view AxTract defined'),
        (c.relkind = 'v' AND NOT coalesce(c.reloptions @> ARRAY['security_barrier=true'], false), 'is not a security_barrier view'),
        (c.relkind = 'v' AND NOT axtract.partner_view_fenced(c.oid),
            'reads its rows without the OFFSET 0 fence, so a partner''s conditions can run before the consent policies'),
        (c.relowner <> coalesce(to_regrole(axtract.partner_owner_role(p.slug))::oid, 0), 'is not owned by the partner''s view owner')
    ) AS v(bad, problem)
    WHERE v.bad
    UNION ALL
    SELECT 'drift'::text, NULL::text, pg_describe_object('pg_proc'::regclass, f.oid, 0), 'is in a partner schema, which holds only views'::text
    FROM axtract.partner p
    JOIN pg_proc f ON f.pronamespace = to_regnamespace(axtract.partner_schema(p.slug))::oid;

    -- Outside this database: other databases that partner logins may
    -- connect to, and pgaudit settings this role cannot make.
    RETURN QUERY
    SELECT 'warning'::text, grp, 'databases ' || string_agg(d.datname::text, ', ' ORDER BY d.datname),
           'accept connections from partner logins through PUBLIC''s CONNECT; reject them in pg_hba.conf'::text
    FROM pg_database d
    WHERE d.oid <> db_oid AND d.datallowconn
      AND EXISTS (SELECT FROM axtract.access_subjects() s WHERE s.kind = 'login' AND has_database_privilege(s.role_oid, d.oid, 'CONNECT'))
    HAVING count(*) > 0
    UNION ALL
    SELECT 'warning'::text, current_user::text, 'parameter pgaudit.log',
           'cannot be set by this role, so pgaudit does not log partner statements'::text
    WHERE axtract.pgaudit_loaded() AND NOT has_parameter_privilege('pgaudit.log', 'SET');

    -- pg_hba.conf rules that let partner logins into this database without
    -- a password. Only superusers read pg_hba_file_rules unless granted.
    IF NOT EXISTS (SELECT FROM axtract.access_subjects() s WHERE s.kind = 'login') THEN
        RETURN;
    END IF;
    IF NOT (has_table_privilege('pg_catalog.pg_hba_file_rules', 'SELECT')
            AND has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE')) THEN
        RETURN QUERY
        SELECT 'warning'::text, current_user::text, 'view pg_hba_file_rules'::text,
               'cannot be read by this role, so the check cannot see whether partner logins need a password; '
               'grant it SELECT on pg_hba_file_rules and EXECUTE on pg_hba_file_rules(), or check pg_hba.conf by hand'::text;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT 'warning'::text, grp, format('pg_hba.conf line %s', h.line_number),
           format('lets partner logins connect (%s%s) with %s, %s; use scram-sha-256',
                  h.type, coalesce(' from ' || h.address, ''), h.auth_method,
                  CASE h.auth_method WHEN 'trust' THEN 'which checks no password' ELSE 'which sends the password in clear text' END)
    FROM pg_hba_file_rules h
    WHERE h.error IS NULL AND h.auth_method IN ('trust', 'password')
      AND h.database && ARRAY['all', current_database()]::text[]
      AND h.user_name && (ARRAY['all', '+' || grp]
                          || ARRAY(SELECT s.role_name FROM axtract.access_subjects() s WHERE s.kind = 'login'))::text[];
END
$$;

SELECT axtract.access_apply();

-- Like the rest of the control schema, these functions are for the AxTract
-- service role and DBAs.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract FROM PUBLIC;

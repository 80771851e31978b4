-- +goose Up
-- Direct read-only database access for partners: reader logins, the roles
-- that carry them, and the partner sessions the session guard has seen.
-- The functions that manage these tables are in sql/60_access.sql.
--
-- PostgreSQL keeps one password per role, so a login that is rotated gets a
-- new role (a new generation) with the new password, and the previous role
-- stays usable until the end of a grace period. A login is therefore one row
-- in partner_login and one or more rows in partner_login_role.

CREATE TABLE axtract.access_setting (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    service_role  text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    guard_pass_at timestamptz
);
COMMENT ON TABLE axtract.access_setting IS
    'One row: the AxTract service role, which is the role that last ran axtract migrate. It gets the database privileges taken from PUBLIC.';
COMMENT ON COLUMN axtract.access_setting.guard_pass_at IS 'When the last session guard pass ran.';

CREATE TABLE axtract.partner_login (
    login_id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id                  bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    login                       text NOT NULL CHECK (login ~ '^[a-z][a-z0-9_]{0,15}$'),
    connection_limit            integer NOT NULL CHECK (connection_limit BETWEEN 1 AND 1000),
    valid_until                 timestamptz,
    statement_timeout           interval NOT NULL CHECK (statement_timeout >= interval '0'),
    idle_in_transaction_timeout interval NOT NULL CHECK (idle_in_transaction_timeout >= interval '0'),
    idle_session_timeout        interval NOT NULL CHECK (idle_session_timeout >= interval '0'),
    created_at                  timestamptz NOT NULL DEFAULT now(),
    expired_at                  timestamptz,
    revoked_at                  timestamptz
);
COMMENT ON TABLE axtract.partner_login IS
    'Reader logins of partners, one per person or tool. Passwords are never stored; the roles hold SCRAM-SHA-256 verifiers.';
COMMENT ON COLUMN axtract.partner_login.valid_until IS 'When the login expires; NULL for never. Every generation of its role gets VALID UNTIL no later than this.';
COMMENT ON COLUMN axtract.partner_login.statement_timeout IS 'Longest a statement may run; set on the role and enforced by the session guard. Zero disables the limit.';
COMMENT ON COLUMN axtract.partner_login.idle_in_transaction_timeout IS 'Longest a session may stay idle inside a transaction. Zero disables the limit.';
COMMENT ON COLUMN axtract.partner_login.idle_session_timeout IS 'Longest a session may stay idle outside a transaction. Zero disables the limit.';
COMMENT ON COLUMN axtract.partner_login.expired_at IS 'When the session guard locked the login because valid_until had passed.';
-- A revoked login keeps its row for the audit trail, and its name can be
-- used again by a new login.
CREATE UNIQUE INDEX partner_login_name_idx ON axtract.partner_login (partner_id, login) WHERE revoked_at IS NULL;

CREATE TABLE axtract.partner_login_role (
    login_id   bigint NOT NULL REFERENCES axtract.partner_login ON DELETE CASCADE,
    generation integer NOT NULL CHECK (generation >= 1),
    role_name  text NOT NULL,
    role_oid   oid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retire_at  timestamptz,
    dropped_at timestamptz,
    PRIMARY KEY (login_id, generation)
);
COMMENT ON TABLE axtract.partner_login_role IS
    'The LOGIN roles of a login, one per password generation. A rotation creates the next generation and sets retire_at on the previous one.';
COMMENT ON COLUMN axtract.partner_login_role.role_oid IS 'OID of the role, kept after the role is dropped so the guard can still find its sessions.';
COMMENT ON COLUMN axtract.partner_login_role.retire_at IS 'End of the grace period of a rotated-out role; the session guard drops the role after it.';
CREATE UNIQUE INDEX partner_login_role_live_idx ON axtract.partner_login_role (role_name) WHERE dropped_at IS NULL;

CREATE TABLE axtract.access_session (
    pid                   integer NOT NULL,
    backend_start         timestamptz NOT NULL,
    login_id              bigint NOT NULL REFERENCES axtract.partner_login ON DELETE CASCADE,
    role_name             text NOT NULL,
    client_addr           inet,
    database_name         text,
    seen_at               timestamptz NOT NULL DEFAULT now(),
    cancelled_query_start timestamptz,
    PRIMARY KEY (pid, backend_start)
);
COMMENT ON TABLE axtract.access_session IS
    'Partner sessions open at the last session guard pass. A row is added when the guard first sees a session (a login event) and removed when it is gone (a logout event).';
COMMENT ON COLUMN axtract.access_session.cancelled_query_start IS
    'query_start of the statement the guard last cancelled; if that statement still runs at the next pass, the guard terminates the session.';

-- +goose Down
DROP TABLE axtract.access_session;
DROP TABLE axtract.partner_login_role;
DROP TABLE axtract.partner_login;
DROP TABLE axtract.access_setting;

-- +goose Up
-- Portal accounts, their sessions and login attempts, and the requests
-- through which views and feeds are drafted, reviewed and approved. The
-- functions that act on these tables are in sql/85_account.sql and
-- sql/87_approval.sql. Every table here is new. The only locks on existing
-- tables are the brief ones that foreign keys to axtract.partner take.

CREATE TABLE axtract.account (
    account_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login           text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._@-]{0,127}$'),
    role            text NOT NULL CHECK (role IN ('admin', 'analyst', 'privacy_officer', 'operator', 'partner')),
    partner_id      bigint REFERENCES axtract.partner ON DELETE CASCADE,
    password_hash   text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    oidc_issuer     text,
    oidc_subject    text,
    disabled        boolean NOT NULL DEFAULT false,
    failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    first_failed_at timestamptz,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'partner') = (partner_id IS NOT NULL)),
    CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL)),
    UNIQUE (oidc_issuer, oidc_subject)
);
COMMENT ON TABLE axtract.account IS 'Portal accounts. docs/accounts.md lists what each role may do.';
COMMENT ON COLUMN axtract.account.login IS 'Sign-in name: lowercase letters, digits, ., _, @ and -.';
COMMENT ON COLUMN axtract.account.partner_id IS 'The partner whose deliveries a partner account may read. Set for role partner only.';
COMMENT ON COLUMN axtract.account.password_hash IS
    'Argon2id hash in PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash) with a random salt per account; NULL for accounts that sign in through OpenID Connect only.';
COMMENT ON COLUMN axtract.account.oidc_subject IS 'The sub claim of the OpenID Connect provider oidc_issuer that signs this account in.';
COMMENT ON COLUMN axtract.account.failed_attempts IS 'Failed sign-ins since first_failed_at; reset by a successful sign-in, a lockout or axtract.account_unlock.';
COMMENT ON COLUMN axtract.account.first_failed_at IS 'Start of the current failure window: the first failure that counts toward a lockout.';
COMMENT ON COLUMN axtract.account.locked_until IS 'Sign-in is refused until this time after too many failures.';

CREATE TABLE axtract.account_session (
    session_hash bytea PRIMARY KEY CHECK (length(session_hash) = 32),
    account_id   bigint NOT NULL REFERENCES axtract.account ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    client_addr  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
COMMENT ON TABLE axtract.account_session IS
    'Signed-in portal sessions. Only the SHA-256 of the session id is stored, so a copy of this table signs no one in.';
COMMENT ON COLUMN axtract.account_session.expires_at IS 'End of the absolute lifetime; the idle timeout is counted from last_seen_at.';
CREATE INDEX account_session_account_idx ON axtract.account_session (account_id);
CREATE INDEX account_session_expires_idx ON axtract.account_session (expires_at);

CREATE TABLE axtract.login_attempt (
    attempt_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    login       text NOT NULL,
    account_id  bigint REFERENCES axtract.account ON DELETE SET NULL,
    client_addr text NOT NULL DEFAULT '',
    succeeded   boolean NOT NULL,
    reason      text NOT NULL DEFAULT ''
);
COMMENT ON TABLE axtract.login_attempt IS
    'Every portal sign-in attempt, for rate limits and lockout. login is the name as typed (at most 128 characters), also for names without an account.';
COMMENT ON COLUMN axtract.login_attempt.reason IS 'Why a failed attempt failed: password, unknown, disabled or locked. Shown to no one signing in. Attempts refused by the per-address limit are not recorded.';
CREATE INDEX login_attempt_login_idx ON axtract.login_attempt (login, at);
CREATE INDEX login_attempt_client_idx ON axtract.login_attempt (client_addr, at);

-- Requests and approvals.

CREATE TABLE axtract.request_template (
    name           text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    title          text NOT NULL,
    description    text NOT NULL,
    purpose_of_use text NOT NULL,
    spec           jsonb NOT NULL CHECK (jsonb_typeof(spec) = 'object'),
    feed_options   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(feed_options) = 'object'),
    builtin        boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE axtract.request_template IS
    'Starting points for requests: a view spec and feed options. Built-in rows are rewritten on every migrate; others are left alone.';
COMMENT ON COLUMN axtract.request_template.purpose_of_use IS 'The purpose of use of the partners the template is written for.';

CREATE TABLE axtract.request (
    request_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id     bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('view', 'feed')),
    view_name      text NOT NULL CHECK (view_name ~ '^[a-z][a-z0-9_]{0,62}$'),
    version        integer NOT NULL CHECK (version > 0),
    spec           jsonb NOT NULL CHECK (jsonb_typeof(spec) = 'object'),
    feed           jsonb CHECK (feed IS NULL OR jsonb_typeof(feed) = 'object'),
    template       text REFERENCES axtract.request_template ON DELETE SET NULL,
    previous_id    bigint REFERENCES axtract.request,
    status         text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted', 'approved', 'rejected')),
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    submitted_by   text,
    submitted_at   timestamptz,
    reviewed_by    text,
    reviewed_at    timestamptz,
    review_comment text,
    view_version   integer,
    feed_id        bigint,
    UNIQUE (partner_id, view_name, version),
    CHECK ((kind = 'feed') = (feed IS NOT NULL))
);
COMMENT ON TABLE axtract.request IS
    'A drafted view, optionally with a feed, for one partner. Only an approved request becomes live, through axtract.request_approve.';
COMMENT ON COLUMN axtract.request.version IS 'Counts the requests for this partner and view name; editing an approved request starts the next version.';
COMMENT ON COLUMN axtract.request.feed IS 'For kind feed: {"name": ..., "destination": ..., "options": {...}}, the arguments of axtract.feed_define.';
COMMENT ON COLUMN axtract.request.previous_id IS 'The approved or rejected request this one was edited from.';
COMMENT ON COLUMN axtract.request.view_version IS 'The version of axtract.partner_view that approving this request defined.';
-- One open request per view at a time, so two drafts cannot race to
-- become the live definition.
CREATE UNIQUE INDEX request_open_idx ON axtract.request (partner_id, view_name) WHERE status IN ('draft', 'submitted');
CREATE INDEX request_status_idx ON axtract.request (status);

-- +goose Down
DROP TABLE axtract.request;
DROP TABLE axtract.request_template;
DROP TABLE axtract.login_attempt;
DROP TABLE axtract.account_session;
DROP TABLE axtract.account;

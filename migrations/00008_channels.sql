-- +goose Up
-- Delivery channels besides the file itself: partner API tokens for the
-- pull API, the key that signs portal download links, webhooks and the
-- retry state of email notices. Functions and triggers that act on these
-- tables live in sql/55_channel.sql.
--
-- Every table here is in the control schema, where partner roles have no
-- privilege, so only the AxTract service role (and superusers) can read
-- token hashes, the link key and webhook secrets.

CREATE TABLE axtract.api_token (
    token_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id   bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    prefix       text NOT NULL,
    scopes       text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ '{list,download}'::text[]),
    note         text NOT NULL DEFAULT '',
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE axtract.api_token IS
    'Bearer tokens of the partner pull API. Only the SHA-256 of each token is stored: a token carries 256 random bits, so its hash cannot be reversed by guessing, and a fast hash lets each request find its token by index.';
COMMENT ON COLUMN axtract.api_token.prefix IS 'The first characters of the token, shown in listings so a partner can tell its tokens apart; too short to guess the rest from.';
COMMENT ON COLUMN axtract.api_token.scopes IS 'Operations the token allows: list (GET /api/v1/deliveries) and download (GET /api/v1/files/ID).';
CREATE INDEX api_token_partner_idx ON axtract.api_token (partner_id);

CREATE TABLE axtract.channel_key (
    name       text PRIMARY KEY CHECK (name IN ('link')),
    key        bytea NOT NULL CHECK (octet_length(key) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE axtract.channel_key IS
    'Random keys of this AxTract instance. link signs portal download links with HMAC-SHA256; replacing it invalidates every link handed out.';
INSERT INTO axtract.channel_key (name, key) VALUES ('link', axtract_crypto.gen_random_bytes(32));

CREATE TABLE axtract.webhook (
    webhook_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id  bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    feed_id     bigint REFERENCES axtract.feed ON DELETE CASCADE,
    url         text NOT NULL CHECK (url ~ '^https?://[^/?#]+'),
    secret      bytea NOT NULL CHECK (octet_length(secret) >= 16),
    events      text[] NOT NULL CHECK (cardinality(events) > 0 AND events <@ '{run.delivered,run.failed}'::text[]),
    timeout     interval NOT NULL DEFAULT interval '10 seconds' CHECK (timeout > interval '0' AND timeout <= interval '5 minutes'),
    disabled_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE axtract.webhook IS
    'HTTP endpoints notified of a partner''s runs. Each request is signed with HMAC-SHA256 under secret. A hash cannot sign, so the secret is stored as it is, in the control schema, which only the service role can read.';
COMMENT ON COLUMN axtract.webhook.feed_id IS 'The feed whose runs are sent; NULL for every feed of the partner.';
COMMENT ON COLUMN axtract.webhook.timeout IS 'How long one attempt may take, connection and response included.';
CREATE UNIQUE INDEX webhook_target_idx ON axtract.webhook (partner_id, coalesce(feed_id, 0), url);

CREATE TABLE axtract.webhook_delivery (
    delivery_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id   bigint NOT NULL REFERENCES axtract.webhook ON DELETE CASCADE,
    run_id       bigint REFERENCES axtract.run ON DELETE CASCADE,
    event        text NOT NULL CHECK (event IN ('run.delivered', 'run.failed')),
    body         text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    last_status  integer,
    last_error   text,
    delivered_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE axtract.webhook_delivery IS
    'One event for one webhook. body is the exact JSON sent and signed on every attempt; it names files and counts, never member data.';
CREATE INDEX webhook_delivery_run_idx ON axtract.webhook_delivery (run_id);

ALTER TABLE axtract.notification
    DROP CONSTRAINT notification_kind_check,
    ADD CONSTRAINT notification_kind_check CHECK (kind IN ('run_failed', 'run_late', 'run_delivered', 'run_held')),
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN last_error text,
    ADD COLUMN abandoned_at timestamptz;
COMMENT ON COLUMN axtract.notification.attempts IS 'SMTP attempts made so far.';
COMMENT ON COLUMN axtract.notification.next_attempt_at IS 'When the sender may try again after a failed attempt.';
COMMENT ON COLUMN axtract.notification.last_error IS 'Error of the last attempt: an SMTP reply or a connection error, never message content.';
COMMENT ON COLUMN axtract.notification.abandoned_at IS 'When the sender stopped trying: after its last attempt, or at once when there are no recipients.';
DROP INDEX axtract.notification_unsent_idx;
CREATE INDEX notification_due_idx ON axtract.notification (next_attempt_at) WHERE sent_at IS NULL AND abandoned_at IS NULL;

-- +goose Down
-- The triggers and functions of sql/55_channel.sql use these tables, so
-- they go first; the next migrate re-creates them.
DROP TRIGGER IF EXISTS run_outcome_notify ON axtract.run;
DROP TRIGGER IF EXISTS run_insert_held ON axtract.run;
DROP TRIGGER IF EXISTS feed_pause_held ON axtract.feed;
DROP FUNCTION IF EXISTS axtract.run_outcome_notify();
DROP FUNCTION IF EXISTS axtract.run_insert_held();
DROP FUNCTION IF EXISTS axtract.feed_pause_held();
DROP FUNCTION IF EXISTS axtract.run_held(bigint[], text);
DROP FUNCTION IF EXISTS axtract.webhook_event(bigint, text);
DROP FUNCTION IF EXISTS axtract.run_files_json(bigint);
DROP FUNCTION IF EXISTS axtract.webhook_jobs_insert(bigint[]);
DROP FUNCTION IF EXISTS axtract.webhook_define(text, text, bytea, text[], text, interval);
DROP FUNCTION IF EXISTS axtract.api_token_revoke(bigint);
DROP FUNCTION IF EXISTS axtract.api_token_create(text, bytea, text, text[], timestamptz, text);
DROP INDEX axtract.notification_due_idx;
CREATE INDEX notification_unsent_idx ON axtract.notification (notification_id) WHERE sent_at IS NULL;
DELETE FROM axtract.notification WHERE kind IN ('run_delivered', 'run_held');
ALTER TABLE axtract.notification
    DROP COLUMN abandoned_at,
    DROP COLUMN last_error,
    DROP COLUMN next_attempt_at,
    DROP COLUMN attempts,
    DROP CONSTRAINT notification_kind_check,
    ADD CONSTRAINT notification_kind_check CHECK (kind IN ('run_failed', 'run_late'));
DROP TABLE axtract.webhook_delivery;
DROP TABLE axtract.webhook;
DROP TABLE axtract.channel_key;
DROP TABLE axtract.api_token;

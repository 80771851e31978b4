-- +goose Up
-- The control plane: partners, consents, datasets, views, destinations,
-- feeds, runs and the audit log. It lives beside the mart so a DBA can steer
-- everything in SQL. Functions that act on these tables live in sql/ and are
-- re-created on every migrate.

CREATE SCHEMA axtract;
COMMENT ON SCHEMA axtract IS 'AxTract control plane. Partner roles have no privilege here.';

-- pgcrypto lives in its own schema so that PUBLIC, and so every partner
-- login, cannot reach its functions through the public schema.
CREATE SCHEMA axtract_crypto;
REVOKE ALL ON SCHEMA axtract_crypto FROM PUBLIC;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA axtract_crypto;

CREATE TABLE axtract.instance (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    role_prefix text NOT NULL CHECK (role_prefix ~ '^[a-z][a-z0-9_]{0,23}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE axtract.instance IS 'One row: settings of this AxTract database.';
COMMENT ON COLUMN axtract.instance.role_prefix IS
    'Prefix of every role AxTract creates. Roles are cluster-wide, so two AxTract databases in one cluster need different prefixes.';

CREATE TABLE axtract.partner (
    partner_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z][a-z0-9_]{0,29}$'),
    name            text NOT NULL CHECK (name <> ''),
    purpose_of_use  text NOT NULL CHECK (purpose_of_use IN ('treatment', 'payment', 'operations', 'research', 'public_health')),
    contact_email   text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE axtract.partner IS 'Organizations that receive data. Each has schema partner_<slug> and its own roles.';

CREATE TABLE axtract.partner_key (
    partner_id  bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    fingerprint text NOT NULL,
    armored     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, fingerprint)
);
COMMENT ON TABLE axtract.partner_key IS 'OpenPGP public keys that files for a partner are encrypted to; the newest is used.';

CREATE TABLE axtract.consent (
    consent_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id     bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    member_id      uuid NOT NULL REFERENCES mart.member ON DELETE CASCADE,
    effective_from date NOT NULL,
    effective_to   date,
    revoked_at     timestamptz,
    source         text NOT NULL DEFAULT 'manual',
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);
COMMENT ON TABLE axtract.consent IS 'Member consents to share with a partner. A consent is in force from effective_from through effective_to (UTC dates) unless revoked.';
CREATE INDEX consent_partner_member_idx ON axtract.consent (partner_id, member_id);

CREATE TABLE axtract.member_pseudonym (
    partner_id bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    member_id  uuid NOT NULL REFERENCES mart.member ON DELETE CASCADE,
    pseudonym  uuid NOT NULL DEFAULT gen_random_uuid(),
    PRIMARY KEY (partner_id, member_id),
    UNIQUE (partner_id, pseudonym)
);
COMMENT ON TABLE axtract.member_pseudonym IS
    'Per-partner random surrogate member keys. They are not derived from the member id, so no one without this table can compute or reverse them.';

CREATE TABLE axtract.dataset (
    name        text PRIMARY KEY,
    description text NOT NULL,
    from_clause text NOT NULL,
    key_columns text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE axtract.dataset IS 'What a partner view can select from: a FROM clause over mart tables, written by AxTract, never by a user.';
COMMENT ON COLUMN axtract.dataset.key_columns IS 'Qualified columns (mart.table.column) that the FROM clause joins on; the view owner needs SELECT on them.';

CREATE TABLE axtract.dataset_column (
    dataset        text NOT NULL REFERENCES axtract.dataset ON DELETE CASCADE,
    column_name    text NOT NULL,
    ordinal        integer NOT NULL,
    table_alias    text NOT NULL,
    source_table   text NOT NULL,
    source_column  text NOT NULL,
    data_type      text NOT NULL,
    classification text NOT NULL CHECK (classification IN ('direct_identifier', 'quasi_identifier', 'sensitive', 'ordinary')),
    description    text NOT NULL DEFAULT '',
    PRIMARY KEY (dataset, column_name)
);
COMMENT ON TABLE axtract.dataset_column IS 'Column catalog: each column a view may select, where it comes from and how it is classified.';

CREATE TABLE axtract.partner_view (
    view_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id   bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    name         text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    dataset      text NOT NULL REFERENCES axtract.dataset,
    spec         jsonb NOT NULL,
    compiled_sql text NOT NULL,
    source_columns text[] NOT NULL DEFAULT '{}',
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (partner_id, name)
);
COMMENT ON TABLE axtract.partner_view IS 'Declarative partner views and the SQL they compiled to.';
COMMENT ON COLUMN axtract.partner_view.source_columns IS 'Qualified columns (mart.table.column) the view reads; the view owner is granted SELECT on exactly these.';

CREATE TABLE axtract.destination (
    destination_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id     bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    name           text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
    kind           text NOT NULL CHECK (kind IN ('sftp', 'local')),
    config         jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (partner_id, name)
);
COMMENT ON TABLE axtract.destination IS 'Where files go. config holds host, port, user, directory and pinned host key; secrets are referenced by file path, never stored.';

CREATE TABLE axtract.feed (
    feed_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
    partner_id      bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    view_id         bigint NOT NULL REFERENCES axtract.partner_view,
    destination_id  bigint NOT NULL REFERENCES axtract.destination,
    format          text NOT NULL DEFAULT 'csv' CHECK (format IN ('csv')),
    compression     text NOT NULL DEFAULT 'zstd' CHECK (compression IN ('none', 'gzip', 'zstd')),
    encrypt         boolean NOT NULL DEFAULT true,
    file_name       text NOT NULL DEFAULT '{feed}_{slot}.csv',
    schedule        text,
    time_zone       text NOT NULL DEFAULT 'UTC',
    paused          boolean NOT NULL DEFAULT false,
    max_attempts    integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 25),
    schedule_cursor timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE axtract.feed IS 'A view delivered as a file: format, packaging, destination and schedule.';
COMMENT ON COLUMN axtract.feed.schedule IS 'Five-field cron expression evaluated in time_zone; NULL for on-demand feeds.';
COMMENT ON COLUMN axtract.feed.file_name IS 'File name template; {feed}, {partner}, {slot} and {run} are replaced, and the compression and encryption suffixes appended.';
COMMENT ON COLUMN axtract.feed.schedule_cursor IS 'Latest slot the scheduler has already enqueued.';

CREATE TABLE axtract.run (
    run_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed_id      bigint NOT NULL REFERENCES axtract.feed ON DELETE CASCADE,
    slot         timestamptz NOT NULL,
    trigger      text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'retrying', 'succeeded', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    view_version integer,
    view_sql     text,
    file_name    text,
    rows         bigint,
    bytes        bigint,
    sha256       text,
    error        text,
    started_at   timestamptz,
    finished_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (feed_id, slot)
);
COMMENT ON TABLE axtract.run IS 'One delivery of a feed for one slot. UNIQUE (feed_id, slot) is what makes a slot deliver once.';
COMMENT ON COLUMN axtract.run.view_sql IS 'The view definition the run read, as PostgreSQL printed it at extract time.';
CREATE INDEX run_status_idx ON axtract.run (status) WHERE status IN ('queued', 'running', 'retrying');

CREATE TABLE axtract.audit_event (
    event_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL DEFAULT current_user,
    action     text NOT NULL,
    partner_id bigint,
    feed_id    bigint,
    run_id     bigint,
    detail     jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE axtract.audit_event IS 'Append-only log of changes and disclosures. detail never holds member data or secrets.';
CREATE INDEX audit_event_run_idx ON axtract.audit_event (run_id);

-- +goose Down
DROP SCHEMA axtract CASCADE;
DROP SCHEMA axtract_crypto CASCADE;

-- +goose Up
-- File formats, packaging and the files of a run.
--
-- A run can now deliver several files: one per part of a multi-file format
-- (FHIR Bulk Data writes one file per resource type), a manifest and a
-- trigger file. run_file lists them; run.file_name keeps the main data file
-- for the commands that show one name per run.

ALTER TABLE axtract.feed
    DROP CONSTRAINT feed_format_check,
    ADD CONSTRAINT feed_format_check CHECK (format IN ('csv', 'delimited', 'fixed', 'jsonl', 'fhir', 'x12-834', 'parquet')),
    DROP CONSTRAINT feed_compression_check,
    ADD CONSTRAINT feed_compression_check CHECK (compression IN ('none', 'gzip', 'zstd', 'zip')),
    ADD COLUMN format_options jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(format_options) = 'object'),
    ADD COLUMN sign boolean NOT NULL DEFAULT false,
    ADD COLUMN manifest boolean NOT NULL DEFAULT true,
    ADD COLUMN trigger_suffix text CHECK (trigger_suffix IN ('.done', '.ok'));
COMMENT ON COLUMN axtract.feed.format_options IS 'Options of the feed''s format, such as the delimiter of a delimited feed or the layout of a fixed-width one; docs/formats.md lists them.';
COMMENT ON COLUMN axtract.feed.sign IS 'Whether files are signed with the instance''s OpenPGP signing key as well as encrypted.';
COMMENT ON COLUMN axtract.feed.manifest IS 'Whether each run also delivers a JSON manifest of its files.';
COMMENT ON COLUMN axtract.feed.trigger_suffix IS 'When set, an empty file named after the data file plus this suffix is delivered last, for partners that poll.';

ALTER TABLE axtract.destination
    DROP CONSTRAINT destination_kind_check,
    ADD CONSTRAINT destination_kind_check CHECK (kind IN ('sftp', 'local', 'portal'));
COMMENT ON COLUMN axtract.destination.kind IS 'sftp: a partner''s server; local: a folder on the AxTract host; portal: kept by AxTract for the partner pull API and portal downloads.';

CREATE TABLE axtract.run_file (
    file_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id     bigint NOT NULL REFERENCES axtract.run ON DELETE CASCADE,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('data', 'manifest', 'trigger')),
    part       text,
    rows       bigint,
    bytes      bigint NOT NULL,
    sha256     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, name)
);
COMMENT ON TABLE axtract.run_file IS 'The files a succeeded run delivered, in delivery order.';
COMMENT ON COLUMN axtract.run_file.part IS 'For a multi-file format, the part the file holds, such as the FHIR resource type.';
COMMENT ON COLUMN axtract.run_file.rows IS 'Data rows in the file; NULL for manifests and trigger files.';

-- +goose Down
DROP TABLE axtract.run_file;
ALTER TABLE axtract.destination
    DROP CONSTRAINT destination_kind_check,
    ADD CONSTRAINT destination_kind_check CHECK (kind IN ('sftp', 'local'));
ALTER TABLE axtract.feed
    DROP COLUMN trigger_suffix,
    DROP COLUMN manifest,
    DROP COLUMN sign,
    DROP COLUMN format_options,
    DROP CONSTRAINT feed_compression_check,
    ADD CONSTRAINT feed_compression_check CHECK (compression IN ('none', 'gzip', 'zstd')),
    DROP CONSTRAINT feed_format_check,
    ADD CONSTRAINT feed_format_check CHECK (format IN ('csv'));

-- +goose Up
-- Quality checks of feed runs.
--
-- A feed may carry rules that a run's data must meet before the file is
-- delivered: row counts, the change in rows against the previous delivery,
-- NULLs per column and unique columns. The extract measures the rows as
-- they stream through the format writer and decides before the file gets
-- its final name. A run whose data breaks a rule either fails or is held
-- for an operator, who releases it (the run is extracted and delivered
-- again) or discards it. The functions live in sql/57_quality.sql.
--
-- Adding values to the status check only widens it, so existing rows stay
-- valid; PostgreSQL still scans axtract.run once to validate the new
-- constraint, under an ACCESS EXCLUSIVE lock that lasts as long as that scan.

ALTER TABLE axtract.run
    DROP CONSTRAINT run_status_check,
    ADD CONSTRAINT run_status_check CHECK (status IN ('queued', 'running', 'retrying', 'succeeded', 'failed', 'held', 'discarded'));
COMMENT ON COLUMN axtract.run.status IS
    'queued, running, retrying, succeeded or failed. held: the data broke a quality rule of a feed whose on_fail is hold, so nothing was delivered until an operator decides. discarded: an operator then dropped the run.';

CREATE TABLE axtract.feed_quality (
    feed_id    bigint PRIMARY KEY REFERENCES axtract.feed ON DELETE CASCADE,
    rules      jsonb NOT NULL CHECK (jsonb_typeof(rules) = 'object'),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT current_user
);
COMMENT ON TABLE axtract.feed_quality IS
    'Quality rules of a feed, set with axtract.feed_quality_set, which validates them. A feed without a row has no checks.';
COMMENT ON COLUMN axtract.feed_quality.rules IS
    'JSON object: min_rows, max_rows, max_row_change_pct, max_null_pct (column to percent), required_columns, unique_columns, unique_max_values and on_fail (fail or hold). docs/quality.md describes each.';

CREATE TABLE axtract.run_quality (
    run_id        bigint PRIMARY KEY REFERENCES axtract.run ON DELETE CASCADE,
    feed_id       bigint NOT NULL REFERENCES axtract.feed ON DELETE CASCADE,
    rules         jsonb NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('passed', 'failed', 'held', 'released')),
    rows          bigint NOT NULL,
    previous_rows bigint,
    measures      jsonb NOT NULL,
    violations    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(violations) = 'array'),
    checked_at    timestamptz NOT NULL DEFAULT now(),
    released_at   timestamptz,
    released_by   text,
    discarded_at  timestamptz,
    discarded_by  text
);
COMMENT ON TABLE axtract.run_quality IS
    'The quality result of the latest checked attempt of a run, and what an operator did with a held run. Measures and violations hold counts, percentages and column names, never member data.';
COMMENT ON COLUMN axtract.run_quality.rules IS 'The feed''s rules as the attempt applied them.';
COMMENT ON COLUMN axtract.run_quality.outcome IS
    'passed: no rule broken. failed: a rule broken and on_fail is fail. held: a rule broken and on_fail is hold. released: a rule broken, but an operator had released the run, so it was delivered.';
COMMENT ON COLUMN axtract.run_quality.previous_rows IS 'Rows of the feed''s previous succeeded run, which max_row_change_pct compares with; NULL on the first run.';
COMMENT ON COLUMN axtract.run_quality.measures IS 'Measured values: the row change in percent, the checks skipped and why, and per column the NULL count and percent and, for unique columns, the distinct and duplicate counts.';
COMMENT ON COLUMN axtract.run_quality.violations IS 'Broken rules as [{"check", "column", "message"}]; column is absent for row-count checks.';
COMMENT ON COLUMN axtract.run_quality.released_at IS 'When axtract.run_release let the held run deliver despite its violations.';
COMMENT ON COLUMN axtract.run_quality.discarded_at IS 'When axtract.run_discard dropped the held run.';
CREATE INDEX run_quality_feed_idx ON axtract.run_quality (feed_id, run_id);

-- +goose Down
-- The functions of sql/57_quality.sql use these tables, so they go first;
-- the next migrate re-creates them.
DROP FUNCTION IF EXISTS axtract.run_discard(bigint, text);
DROP FUNCTION IF EXISTS axtract.run_release(bigint);
DROP FUNCTION IF EXISTS axtract.run_hold(bigint, text);
DROP FUNCTION IF EXISTS axtract.feed_quality_set(text, jsonb);
DROP TABLE axtract.run_quality;
DROP TABLE axtract.feed_quality;
-- Held and discarded runs delivered nothing, so they become failed runs.
-- The status triggers of sql/55_channel.sql would send notices and webhooks
-- for that change and, being deferred, would also keep the ALTER TABLE below
-- from running in this transaction, so they are off while it runs.
ALTER TABLE axtract.run DISABLE TRIGGER USER;
UPDATE axtract.run SET status = 'failed', error = coalesce(error, 'held or discarded by quality checks') WHERE status IN ('held', 'discarded');
ALTER TABLE axtract.run
    DROP CONSTRAINT run_status_check,
    ADD CONSTRAINT run_status_check CHECK (status IN ('queued', 'running', 'retrying', 'succeeded', 'failed'));
ALTER TABLE axtract.run ENABLE TRIGGER USER;
COMMENT ON COLUMN axtract.run.status IS NULL;

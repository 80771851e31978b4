-- +goose Up
-- Control numbers of X12 interchanges.
--
-- An X12 834 file carries an interchange control number (ISA13) that the
-- receiver uses to detect duplicates and gaps, so it must be unique and
-- increasing per trading partner. The counter lives in its own row per
-- partner: taking a number locks that row only until the worker's short
-- transaction commits, and never inside an extract's snapshot.

CREATE TABLE axtract.partner_control_number (
    partner_id bigint PRIMARY KEY REFERENCES axtract.partner ON DELETE CASCADE,
    last_value bigint NOT NULL CHECK (last_value BETWEEN 1 AND 999999999)
);
COMMENT ON TABLE axtract.partner_control_number IS 'The last interchange control number given to a run of each partner; ISA13 has nine digits, so numbers stop at 999999999.';

ALTER TABLE axtract.run ADD COLUMN control_number bigint;
COMMENT ON COLUMN axtract.run.control_number IS 'The interchange control number of the run''s X12 file, taken at its first attempt and reused by its retries.';

-- +goose Down
ALTER TABLE axtract.run DROP COLUMN control_number;
DROP TABLE axtract.partner_control_number;

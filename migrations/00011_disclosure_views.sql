-- +goose Up
-- A run of a multi-file format (FHIR Bulk Data reads one view per resource
-- type) discloses through several views, so the accounting keeps one
-- record per run and view.

ALTER TABLE axtract.disclosure_member DROP CONSTRAINT disclosure_member_run_id_fkey;
ALTER TABLE axtract.disclosure_member ADD COLUMN view_id bigint;
UPDATE axtract.disclosure_member dm SET view_id = d.view_id FROM axtract.disclosure d WHERE d.run_id = dm.run_id;
DELETE FROM axtract.disclosure_member WHERE view_id IS NULL;
ALTER TABLE axtract.disclosure_member
    ALTER COLUMN view_id SET NOT NULL,
    DROP CONSTRAINT disclosure_member_pkey,
    ADD PRIMARY KEY (run_id, view_id, chunk);

ALTER TABLE axtract.disclosure
    DROP CONSTRAINT disclosure_pkey,
    ADD PRIMARY KEY (run_id, view_id);
COMMENT ON TABLE axtract.disclosure IS
    'One view of one delivered run: who received it, under which view definition and purpose, and how many members it disclosed. No foreign keys, so the record outlives runs, feeds, views and partners.';

ALTER TABLE axtract.disclosure_member
    ADD FOREIGN KEY (run_id, view_id) REFERENCES axtract.disclosure ON DELETE CASCADE;

-- +goose Down
ALTER TABLE axtract.disclosure_member DROP CONSTRAINT disclosure_member_run_id_view_id_fkey;
DELETE FROM axtract.disclosure_member dm
WHERE view_id <> (SELECT min(d.view_id) FROM axtract.disclosure d WHERE d.run_id = dm.run_id);
DELETE FROM axtract.disclosure d
WHERE view_id <> (SELECT min(o.view_id) FROM axtract.disclosure o WHERE o.run_id = d.run_id);
ALTER TABLE axtract.disclosure
    DROP CONSTRAINT disclosure_pkey,
    ADD PRIMARY KEY (run_id);
ALTER TABLE axtract.disclosure_member
    DROP CONSTRAINT disclosure_member_pkey,
    ADD PRIMARY KEY (run_id, chunk),
    DROP COLUMN view_id,
    ADD FOREIGN KEY (run_id) REFERENCES axtract.disclosure ON DELETE CASCADE;

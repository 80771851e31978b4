-- +goose Up
-- The first three digits of a member's ZIP code, stored with the row. The
-- zip3 transform of Safe Harbor views reads it, so the test that the code
-- starts with five digits runs once per member at load time instead of once
-- per extracted row of every table joined to the member.

ALTER TABLE mart.member ADD COLUMN zip3 text
    GENERATED ALWAYS AS (CASE WHEN octet_length(zip) >= 5 AND ltrim(left(zip, 5), '0123456789') = '' THEN left(zip, 3) END) STORED;
COMMENT ON COLUMN mart.member.zip3 IS
    'The first three digits of zip when zip starts with five digits, else NULL. Generated; the zip3 transform maps restricted areas to 000.';

-- +goose Down
ALTER TABLE mart.member DROP COLUMN zip3;

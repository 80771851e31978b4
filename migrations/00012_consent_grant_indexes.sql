-- +goose Up
-- The consent policies build each partner's set of consenting members from
-- the grants that name the partner and those that name its purpose of use.
-- These partial indexes hold exactly those grants with their dates, so a
-- policy reads the partner's range of one index and the purpose's range of
-- the other, whatever the number of other partners, and reads no table row
-- once the pages are all-visible.

CREATE INDEX consent_grant_partner_idx ON axtract.consent (partner_id, category, member_id)
    INCLUDE (effective_from, effective_to)
    WHERE kind = 'grant' AND revoked_at IS NULL AND partner_id IS NOT NULL;
CREATE INDEX consent_grant_purpose_idx ON axtract.consent (purpose_of_use, category, member_id)
    INCLUDE (effective_from, effective_to)
    WHERE kind = 'grant' AND revoked_at IS NULL AND purpose_of_use IS NOT NULL;

-- +goose Down
DROP INDEX axtract.consent_grant_purpose_idx;
DROP INDEX axtract.consent_grant_partner_idx;

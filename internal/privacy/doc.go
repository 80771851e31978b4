// Package privacy is the Go side of AxTract's privacy engine, whose rules
// live in SQL (sql/15_consent_policy.sql, sql/20_consent.sql,
// sql/40_view.sql, sql/80_privacy.sql) so that the CLI, the workers and a
// DBA in psql share one implementation.
//
// It records the accounting of disclosures from inside an extract's
// snapshot (RecordDisclosures), lists who received a member's data and
// what a partner received (MemberDisclosures, PartnerDisclosures), and
// loads consents in bulk from CSV (LoadConsents). docs/privacy.md describes
// the consent model, the minimum-necessary rules and the de-identification
// transforms.
package privacy

// Package synthea imports a Synthea CSV export into the mart.
//
// # Files
//
// An export is a directory of 18 CSV files, and all of them are required:
// patients, payers, payer_transitions, organizations, providers, encounters,
// claims, claims_transactions, conditions, medications, observations,
// procedures, allergies, careplans, immunizations, devices, imaging_studies
// and supplies. Each maps to the mart table of the same meaning;
// claims_transactions.csv fills both mart.claim_transaction (every row) and
// mart.claim_line (one line per CHARGE transaction). The column mapping is
// in files.go and targets.go.
//
// Columns are found by header name, without regard to case or order.
// Every column the mart stores must be present, except SYSTEM in
// conditions.csv and procedures.csv, which older exports lack. Columns the
// mart does not store are ignored. An empty field is NULL. Dates are
// YYYY-MM-DD, timestamps RFC 3339 (2023-01-27T16:17:47Z), and a timestamp
// that feeds a date column keeps its UTC calendar date.
//
// # Derived values
//
// Rows of files without an Id column get a name-based UUID of the file name
// and the row's fields, so importing the same export again finds the same
// rows. Identical records of such a file stay separate rows, the second and
// later ones keyed by a digest of the first key and their rank. Synthea
// repeats a study's Id on each instance in imaging_studies.csv, and those
// rows are re-keyed the same way, ranked by series and instance UID.
//
// A claim's type comes from HEALTHCARECLAIMTYPEID1 (1 professional,
// 2 institutional), and its diagnoses are SNOMED CT codes. A payer id of 0
// means no payer. The billing organization is the encounter's organization,
// and the totals add up the claim's CHARGE and PAYMENT transactions. A claim
// line is paid the PAYMENT transactions of the same claim, procedure code and
// service date, and numbered in CHARGEID order within its claim. Its code is
// CVX or RxNorm when a vaccine or medication of the encounter carries it, and
// SNOMED CT otherwise. A pharmacy claim has an RxNorm code, no NDC, and the
// encounter's provider as its prescriber. Providers have no NPI.
//
// # Transactions and errors
//
// Everything happens in one transaction: each file streams through pgx
// CopyFrom into a temporary staging table, and each mart table is then
// upserted with INSERT ... ON CONFLICT DO UPDATE, which rewrites a stored row
// (and sets its loaded_at) only when it differs from the staged one. An
// import never deletes rows.
//
// Records are parsed and validated in Go while they stream, and references
// (a member, payer, provider, organization or claim id) are checked against
// the mart before each table is merged. An invalid export fails with an
// *InputError naming the file, the line (the header is line 1) and the
// column, and the transaction is rolled back. Neither errors nor logs contain
// a field's value.
package synthea

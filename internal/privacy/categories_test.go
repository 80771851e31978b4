package privacy_test

import (
	"context"
	"testing"

	"github.com/axtract/axtract/internal/pgtest"
)

// categoriesOf returns the sensitive categories of the row of mart.table
// whose key column equals key, as text ("NULL" for none).
func categoriesOf(t *testing.T, db *pgtest.DB, table, key, id string) string {
	t.Helper()
	var got *string
	err := db.Pool.QueryRow(context.Background(),
		"SELECT sensitive_categories::text FROM mart."+table+" WHERE "+key+"::text = $1", id).Scan(&got)
	if err != nil {
		t.Fatalf("categories of %s %s: %v", table, id, err)
	}
	if got == nil {
		return "NULL"
	}
	return *got
}

func TestSensitiveCategoriesFromCodes(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	insertMembers(t, db, member{id: memberID(1), birth: "1980-01-01"})

	claims := []struct {
		diagnoses []string
		want      string
	}{
		{[]string{"F10.20"}, "{substance_use}"},
		{[]string{"F17.210"}, "NULL"}, // nicotine dependence is in no category
		{[]string{"B20"}, "{hiv}"},
		{[]string{"Z21"}, "{hiv}"},
		{[]string{"F32.9", "I10"}, "{mental_health}"},
		{[]string{"F41.1", "F11.20"}, "{mental_health,substance_use}"},
		{[]string{"O80"}, "{reproductive_health}"},
		{[]string{"O9A.111"}, "{reproductive_health}"},
		{[]string{"z30.011"}, "{reproductive_health}"}, // lower case, as some sources send it
		{[]string{"A54.9", "N97.9"}, "{reproductive_health}"},
		{[]string{"O99.310"}, "{reproductive_health,substance_use}"},
		{[]string{"R45.851"}, "{mental_health}"},
		{[]string{"I10", "E11.9", "J45.909", "Z00.00"}, "NULL"},
	}
	for i, c := range claims {
		id := claimID(i + 1)
		insertClaim(t, db, id, memberID(1), c.diagnoses...)
		if got := categoriesOf(t, db, "claim", "claim_id", id); got != c.want {
			t.Errorf("claim with %v: categories = %s, want %s", c.diagnoses, got, c.want)
		}
		if got := categoriesOf(t, db, "claim_line", "claim_id", id); got != c.want {
			t.Errorf("line of claim with %v: categories = %s, want %s", c.diagnoses, got, c.want)
		}
	}

	// Synthea codes: SNOMED CT conditions and reasons, RxNorm drugs, LOINC
	// questionnaire scores.
	mustExec(t, db, `INSERT INTO mart.condition (condition_id, member_id, onset_date, code_system, code) VALUES
		('00000000-0000-4000-a000-000000000001', $1, '2024-01-01', 'SNOMED-CT', '55680006'),
		('00000000-0000-4000-a000-000000000002', $1, '2024-01-01', 'SNOMED-CT', '72892002'),
		('00000000-0000-4000-a000-000000000003', $1, '2024-01-01', 'SNOMED-CT', '195662009')`, memberID(1))
	mustExec(t, db, `INSERT INTO mart.pharmacy_claim (pharmacy_claim_id, member_id, fill_date, rxnorm_code, reason_code) VALUES
		('00000000-0000-4000-b000-000000000001', $1, '2024-01-01', '757594', NULL),
		('00000000-0000-4000-b000-000000000002', $1, '2024-01-01', '314076', 'F32.9'),
		('00000000-0000-4000-b000-000000000003', $1, '2024-01-01', '314076', '59621000')`, memberID(1))
	mustExec(t, db, `INSERT INTO mart.observation (observation_id, member_id, observed_at, code_system, code, value) VALUES
		('00000000-0000-4000-c000-000000000001', $1, '2024-01-01', 'LOINC', '44261-6', '21'),
		('00000000-0000-4000-c000-000000000002', $1, '2024-01-01', 'LOINC', '8302-2', '170')`, memberID(1))
	mustExec(t, db, `INSERT INTO mart.encounter (encounter_id, member_id, start_at, code, reason_code) VALUES
		('00000000-0000-4000-d000-000000000001', $1, '2024-01-01', '424619006', NULL),
		('00000000-0000-4000-d000-000000000002', $1, '2024-01-01', '185345009', '55680006')`, memberID(1))
	mustExec(t, db, `INSERT INTO mart.procedure (procedure_id, member_id, start_at, code_system, code, reason_code) VALUES
		('00000000-0000-4000-e000-000000000001', $1, '2024-01-01', 'SNOMED-CT', '31676001', NULL),
		('00000000-0000-4000-e000-000000000002', $1, '2024-01-01', 'SNOMED-CT', '171207006', NULL)`, memberID(1))

	rows := []struct {
		table, key, id, want string
	}{
		{"condition", "condition_id", "00000000-0000-4000-a000-000000000001", "{substance_use}"},
		{"condition", "condition_id", "00000000-0000-4000-a000-000000000002", "{reproductive_health}"},
		{"condition", "condition_id", "00000000-0000-4000-a000-000000000003", "NULL"},
		{"pharmacy_claim", "pharmacy_claim_id", "00000000-0000-4000-b000-000000000001", "{reproductive_health}"},
		{"pharmacy_claim", "pharmacy_claim_id", "00000000-0000-4000-b000-000000000002", "{mental_health}"},
		{"pharmacy_claim", "pharmacy_claim_id", "00000000-0000-4000-b000-000000000003", "NULL"},
		{"observation", "observation_id", "00000000-0000-4000-c000-000000000001", "{mental_health}"},
		{"observation", "observation_id", "00000000-0000-4000-c000-000000000002", "NULL"},
		{"encounter", "encounter_id", "00000000-0000-4000-d000-000000000001", "{reproductive_health}"},
		{"encounter", "encounter_id", "00000000-0000-4000-d000-000000000002", "{substance_use}"},
		{"procedure", "procedure_id", "00000000-0000-4000-e000-000000000001", "{hiv}"},
		// A depression screening without a result is in no category.
		{"procedure", "procedure_id", "00000000-0000-4000-e000-000000000002", "NULL"},
	}
	for _, r := range rows {
		if got := categoriesOf(t, db, r.table, r.key, r.id); got != r.want {
			t.Errorf("%s %s: categories = %s, want %s", r.table, r.id, got, r.want)
		}
	}
}

func TestCategoriesFollowUpdates(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	insertMembers(t, db, member{id: memberID(1), birth: "1980-01-01"})
	insertClaim(t, db, claimID(1), memberID(1), "I10")

	// A hand-written value is replaced by the computed one.
	mustExec(t, db, "UPDATE mart.claim SET sensitive_categories = '{hiv}' WHERE claim_id = $1", claimID(1))
	if got := categoriesOf(t, db, "claim", "claim_id", claimID(1)); got != "NULL" {
		t.Errorf("claim after writing categories by hand = %s, want NULL", got)
	}

	// A new diagnosis changes the claim and, through it, its line.
	mustExec(t, db, "UPDATE mart.claim SET diagnosis_2 = 'F14.20' WHERE claim_id = $1", claimID(1))
	if got := categoriesOf(t, db, "claim", "claim_id", claimID(1)); got != "{substance_use}" {
		t.Errorf("claim after a new diagnosis = %s, want {substance_use}", got)
	}
	if got := categoriesOf(t, db, "claim_line", "claim_id", claimID(1)); got != "{substance_use}" {
		t.Errorf("line after its claim's new diagnosis = %s, want {substance_use}", got)
	}
}

func TestRecomputeAfterCodeListEdit(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	insertMembers(t, db, member{id: memberID(1), birth: "1980-01-01"})
	insertClaim(t, db, claimID(1), memberID(1), "G47.33")
	insertClaim(t, db, claimID(2), memberID(1), "I10")

	// A DBA classifies sleep disorders as mental health.
	mustExec(t, db, `INSERT INTO axtract.sensitive_code (code_system, code, match, category, description)
		VALUES ('ICD-10-CM', 'G47', 'prefix', 'mental_health', 'Sleep disorders')`)
	var stale bool
	if err := db.Pool.QueryRow(ctx, "SELECT categories_stale FROM axtract.privacy_state").Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if !stale {
		t.Error("categories_stale = false after the code list changed, want true")
	}
	if got := categoriesOf(t, db, "claim", "claim_id", claimID(1)); got != "NULL" {
		t.Errorf("claim before the recompute = %s, want NULL", got)
	}

	rows, err := db.Pool.Query(ctx, "SELECT table_name, rows_changed FROM axtract.sensitive_categories_recompute()")
	if err != nil {
		t.Fatal(err)
	}
	changed := map[string]int64{}
	for rows.Next() {
		var table string
		var n int64
		if err := rows.Scan(&table, &n); err != nil {
			t.Fatal(err)
		}
		changed[table] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if changed["claim"] != 1 {
		t.Errorf("claims changed by the recompute = %d, want 1", changed["claim"])
	}
	if got := categoriesOf(t, db, "claim", "claim_id", claimID(1)); got != "{mental_health}" {
		t.Errorf("claim after the recompute = %s, want {mental_health}", got)
	}
	if got := categoriesOf(t, db, "claim_line", "claim_id", claimID(1)); got != "{mental_health}" {
		t.Errorf("line after the recompute = %s, want {mental_health}", got)
	}
	if got := categoriesOf(t, db, "claim", "claim_id", claimID(2)); got != "NULL" {
		t.Errorf("other claim after the recompute = %s, want NULL", got)
	}
	if err := db.Pool.QueryRow(ctx, "SELECT categories_stale FROM axtract.privacy_state").Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale {
		t.Error("categories_stale = true after the recompute, want false")
	}
}

func TestCatalogClassifiesEveryMartColumn(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	missing, err := collectText(context.Background(), db.Pool, `
		SELECT c.table_name || '.' || c.column_name
		FROM information_schema.columns c
		WHERE c.table_schema = 'mart'
		  AND NOT EXISTS (SELECT FROM axtract.mart_column m WHERE m.table_name = c.table_name AND m.column_name = c.column_name)`)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("mart columns without a row in axtract.mart_column (classify them in sql/30_dataset.sql): %v", missing)
	}
	stale, err := collectText(context.Background(), db.Pool, `
		SELECT m.table_name || '.' || m.column_name
		FROM axtract.mart_column m
		WHERE NOT EXISTS (SELECT FROM information_schema.columns c
		                  WHERE c.table_schema = 'mart' AND c.table_name = m.table_name AND c.column_name = m.column_name)`)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Errorf("axtract.mart_column rows without a mart column: %v", stale)
	}
}

package fhir_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/fhir"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

// TestExportFromPartnerViews feeds the COPY output of real de-identified
// partner views, read as the partner's role in one snapshot, through the
// Decoder into the FHIR writers.
func TestExportFromPartnerViews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO mart.member (member_id, first_name, last_name, birth_date, gender, zip) VALUES
		($1, 'Ann', 'O''Neil "Jr"', '1970-01-02', 'F', '02139'),
		($2, 'Zoë', E'back\\slash\ttab', '1985-07-08', 'M', '60614'),
		($3, 'Cy', 'Hidden', '1990-05-06', 'F', '94110')`, memberA, memberB, memberC)
	exec(`INSERT INTO mart.condition (condition_id, member_id, onset_date, code_system, code, description)
		SELECT gen_random_uuid(), m, DATE '2024-03-01', 'ICD-10-CM', c, E'line one\nline "two" \\ Zoë'
		FROM unnest(ARRAY[$1, $2, $3]::uuid[]) AS m, unnest(ARRAY['E11.9', 'I10']) AS c`, memberA, memberB, memberC)

	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "research", Name: "Research", Purpose: "research"}); err != nil {
		t.Fatal(err)
	}
	views := map[string]string{
		"members": `{"dataset": "members", "columns": [
			{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
			{"column": "birth_date", "transform": "year"}, "gender", {"column": "zip", "transform": "zip3"}]}`,
		"conditions": `{"dataset": "conditions", "columns": [
			{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
			{"column": "onset_date", "transform": "year"}, "code_system", "code", "description"]}`,
	}
	for name, spec := range views {
		if _, err := partner.DefineView(ctx, db.Pool, "research", name, []byte(spec)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []string{memberA, memberB} {
		if _, err := partner.GrantConsent(ctx, db.Pool, "research", m, time.Now().AddDate(-1, 0, 0), nil, "test"); err != nil {
			t.Fatal(err)
		}
	}

	f, err := fhir.New([]byte(`{"resources": {"Patient": "members", "Condition": "conditions"}}`))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tx := partnerSnapshot(t, db, "research")
	for _, p := range f.(format.MultiFormat).Parts() {
		files[p.Name] = copyThrough(t, tx, "partner_research", p)
	}

	patients := resources(t, "Patient", files["Patient"])
	if len(patients) != 2 {
		t.Fatalf("%d patients, want the 2 with consent", len(patients))
	}
	ids := map[string]bool{}
	for _, p := range patients {
		ids["Patient/"+p["id"].(string)] = true
		if p["id"] == memberA || p["id"] == memberB {
			t.Errorf("Patient id %v is the member id, not the pseudonym", p["id"])
		}
		birth, _ := p["birthDate"].(string)
		if birth != "1970" && birth != "1985" {
			t.Errorf("birthDate = %q, want a year", birth)
		}
		zip := at(t, p, "address", 0, "postalCode")
		if zip != "021" && zip != "606" {
			t.Errorf("postalCode = %v, want a three-digit ZIP code", zip)
		}
	}
	conditions := resources(t, "Condition", files["Condition"])
	if len(conditions) != 4 {
		t.Fatalf("%d conditions, want 4", len(conditions))
	}
	for _, c := range conditions {
		ref := at(t, c, "subject", "reference").(string)
		if !ids[ref] {
			t.Errorf("Condition refers to %s, which is not in the Patient file", ref)
		}
		if got := at(t, c, "onsetDateTime"); got != "2024" {
			t.Errorf("onsetDateTime = %v, want 2024", got)
		}
		if got := at(t, c, "code", "text"); got != "line one\nline \"two\" \\ Zoë" {
			t.Errorf("code.text = %q, want the description as stored", got)
		}
		if got := at(t, c, "code", "coding", 0, "system"); got != "http://hl7.org/fhir/sid/icd-10-cm" {
			t.Errorf("code system = %v", got)
		}
	}
}

// partnerSnapshot opens the REPEATABLE READ transaction of a run as the
// partner's role, with the settings the extract uses.
func partnerSnapshot(t *testing.T, db *pgtest.DB, slug string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	var role string
	if err := tx.QueryRow(ctx, "SELECT axtract.partner_role($1)", slug).Scan(&role); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'", "SET LOCAL extra_float_digits = 1",
		"SET LOCAL ROLE " + pgx.Identifier{role}.Sanitize(),
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return tx
}

// copyThrough streams the part's view with COPY in text format through
// the Decoder into the part's writer and returns the file.
func copyThrough(t *testing.T, tx pgx.Tx, schema string, p format.Part) []byte {
	t.Helper()
	ctx := context.Background()
	relation := pgx.Identifier{schema, p.View}.Sanitize()
	cols, err := format.ColumnsOf(ctx, tx, relation)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := p.Format.NewWriter(&buf, cols, testInfo)
	if err != nil {
		t.Fatalf("NewWriter of %s: %v", p.Name, err)
	}
	dec := format.NewDecoder(w, len(cols))
	if _, err := tx.Conn().PgConn().CopyTo(ctx, dec, "COPY (SELECT * FROM "+relation+") TO STDOUT"); err != nil {
		t.Fatalf("COPY %s: %v", relation, err)
	}
	if err := dec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

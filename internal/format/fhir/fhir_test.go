package fhir_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/fhir"
)

// table is the rows of one view; "NULL" stands for SQL NULL.
type table struct {
	cols []string
	rows [][]string
}

func (tb table) columns() []format.Column {
	cols := make([]format.Column, len(tb.cols))
	for i, name := range tb.cols {
		cols[i] = format.Column{Name: name, Type: "text"}
	}
	return cols
}

func fields(values []string) [][]byte {
	out := make([][]byte, len(values))
	for i, v := range values {
		if v != "NULL" {
			out[i] = []byte(v)
		}
	}
	return out
}

var testInfo = format.Info{RunID: 9, Feed: "research-fhir", Partner: "research",
	Now: time.Date(2026, 12, 4, 17, 30, 0, 0, time.UTC)}

func newFormat(t testing.TB, options string) *fhir.Fhir {
	t.Helper()
	f, err := fhir.New(json.RawMessage(options))
	if err != nil {
		t.Fatalf("fhir.New(%s): %v", options, err)
	}
	return f.(*fhir.Fhir)
}

// export writes every part of f in the order of Parts, from the tables
// named by part, and returns each file and each writer's counts.
func export(t *testing.T, f *fhir.Fhir, tables map[string]table) (map[string][]byte, map[string]map[string]int64) {
	t.Helper()
	files := map[string][]byte{}
	counts := map[string]map[string]int64{}
	for _, p := range f.Parts() {
		tb, ok := tables[p.Name]
		if !ok {
			t.Fatalf("no table for part %s", p.Name)
		}
		var buf bytes.Buffer
		w, err := p.Format.NewWriter(&buf, tb.columns(), testInfo)
		if err != nil {
			t.Fatalf("NewWriter of %s: %v", p.Name, err)
		}
		for i, r := range tb.rows {
			if err := w.WriteRow(fields(r)); err != nil {
				t.Fatalf("%s WriteRow %d: %v", p.Name, i+1, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close of %s: %v", p.Name, err)
		}
		files[p.Name] = buf.Bytes()
		counts[p.Name] = w.(format.Counter).Counts()
	}
	return files, counts
}

var idSyntax = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// resources parses an NDJSON file, failing on blank lines, lines that are
// not JSON objects and resources without resourceType or a valid id.
func resources(t *testing.T, resourceType string, data []byte) []map[string]any {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("%s file does not end with a line feed", resourceType)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			t.Errorf("%s line %d is blank", resourceType, n)
			continue
		}
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Errorf("%s line %d is not JSON: %v: %s", resourceType, n, err, sc.Bytes())
			continue
		}
		if r["resourceType"] != resourceType {
			t.Errorf("%s line %d has resourceType %v", resourceType, n, r["resourceType"])
		}
		id, _ := r["id"].(string)
		if !idSyntax.MatchString(id) {
			t.Errorf("%s line %d has id %q, which is not a FHIR id", resourceType, n, id)
		}
		out = append(out, r)
	}
	return out
}

// references collects every "reference" value in v.
func references(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				*out = append(*out, s)
			}
			references(e, out)
		}
	case []any:
		for _, e := range x {
			references(e, out)
		}
	}
}

const (
	memberA = "6f1c2d3e-0000-4000-8000-00000000000a"
	memberB = "6f1c2d3e-0000-4000-8000-00000000000b"
	memberC = "6f1c2d3e-0000-4000-8000-00000000000c" // not in the Patient view
)

var allOptions = `{"resources": {
	"Patient": "members", "Coverage": "enrollment", "ExplanationOfBenefit": "claims",
	"Condition": "conditions", "Observation": "observations", "MedicationDispense": "pharmacy"},
	"payer_name": "Example Health Plan"}`

var allTables = map[string]table{
	"Patient": {
		cols: []string{"member_id", "first_name", "last_name", "birth_date", "gender", "address", "city", "state", "zip", "phone", "race"},
		rows: [][]string{
			{memberA, "Ann", "Lee", "1970-01-02", "F", "1 Main St", "Springfield", "IL", "62701", "555-0100", "White"},
			{memberB, "Bob", "Ray", "1980-03-04", "M", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
		},
	},
	"Coverage": {
		cols: []string{"member_id", "subscriber_id", "payer_id", "plan_name", "relationship", "start_date", "end_date"},
		rows: [][]string{
			{memberA, "S1", "7d4c0000-0000-4000-8000-000000000001", "Gold PPO", "self", "2026-01-01", "NULL"},
			{memberB, "S1", "7d4c0000-0000-4000-8000-000000000001", "Gold PPO", "spouse", "2026-01-01", "2026-06-30"},
		},
	},
	"ExplanationOfBenefit": {
		cols: []string{"claim_id", "line_number", "member_id", "claim_type", "service_from", "service_to", "procedure_code",
			"procedure_code_system", "units", "charge_amount", "paid_amount", "diagnosis_code_system", "diagnosis_1", "diagnosis_2"},
		rows: [][]string{
			{"c1", "1", memberA, "professional", "2026-02-01", "NULL", "99213", "CPT", "1", "120.00", "80.50", "ICD-10-CM", "E11.9", "I10"},
			{"c1", "2", memberA, "professional", "2026-02-03", "NULL", "85025", "CPT", "1", "30.10", "20.00", "ICD-10-CM", "E11.9", "I10"},
			{"c2", "1", memberB, "institutional", "2026-03-01", "2026-03-04", "NULL", "NULL", "NULL", "NULL", "NULL", "ICD-10-CM", "NULL", "NULL"},
			{"c3", "1", memberC, "professional", "2026-03-01", "NULL", "99213", "CPT", "1", "10", "5", "ICD-10-CM", "Z00.00", "NULL"},
		},
	},
	"Condition": {
		cols: []string{"condition_id", "member_id", "onset_date", "abatement_date", "code_system", "code", "description"},
		rows: [][]string{
			{"d1", memberA, "2020-05-01", "NULL", "ICD-10-CM", "E11.9", "Type 2 diabetes mellitus without complications"},
			{"d2", memberB, "2021-01-01", "2021-02-01", "SNOMED-CT", "444814009", "Viral sinusitis"},
			{"d3", memberC, "2021-01-01", "NULL", "ICD-10-CM", "I10", "Essential hypertension"},
		},
	},
	"Observation": {
		cols: []string{"observation_id", "member_id", "observed_at", "category", "code", "description", "value", "value_numeric", "units"},
		rows: [][]string{
			{"o1", memberA, "2026-02-01 10:15:00+00", "vital-signs", "8302-2", "Body Height", "172.5", "172.5", "cm"},
			{"o2", memberB, "2026-02-01 10:15:00.25+00", "survey", "72166-2", "Tobacco smoking status", "Never smoker", "NULL", "NULL"},
		},
	},
	"MedicationDispense": {
		cols: []string{"pharmacy_claim_id", "member_id", "fill_date", "ndc", "rxnorm_code", "drug_name", "quantity", "days_supply"},
		rows: [][]string{
			{"r1", memberA, "2026-02-05", "00002323230", "860975", "Metformin 500 MG Oral Tablet", "60", "30"},
			{"r2", memberC, "2026-02-05", "00002323230", "NULL", "NULL", "30", "30"},
		},
	},
}

func TestExportReferencesResolve(t *testing.T) {
	t.Parallel()
	f := newFormat(t, allOptions)
	parts := f.Parts()
	if len(parts) != 6 || parts[0].Name != "Patient" || parts[0].View != "members" {
		t.Fatalf("Parts = %v, want six with Patient first", parts)
	}
	files, counts := export(t, f, allTables)

	patients := map[string]bool{}
	for _, p := range resources(t, "Patient", files["Patient"]) {
		patients["Patient/"+p["id"].(string)] = true
	}
	if len(patients) != 2 {
		t.Fatalf("%d patients, want 2", len(patients))
	}
	want := map[string]int{"Coverage": 2, "ExplanationOfBenefit": 2, "Condition": 2, "Observation": 2, "MedicationDispense": 1}
	for name, n := range want {
		list := resources(t, name, files[name])
		if len(list) != n {
			t.Errorf("%s: %d resources, want %d", name, len(list), n)
		}
		for _, r := range list {
			var refs []string
			references(r, &refs)
			if len(refs) == 0 {
				t.Errorf("%s %v refers to no patient", name, r["id"])
			}
			for _, ref := range refs {
				if !patients[ref] {
					t.Errorf("%s %v refers to %s, which is not in the Patient file", name, r["id"], ref)
				}
			}
		}
	}
	for name, skipped := range map[string]int64{"ExplanationOfBenefit": 1, "Condition": 1, "MedicationDispense": 1, "Coverage": 0} {
		if got := counts[name]["unresolved_patient"]; got != skipped {
			t.Errorf("%s unresolved_patient = %d, want %d", name, got, skipped)
		}
	}
	want["Patient"] = 2
	for name, n := range want {
		if got := counts[name]["resources"]; got != int64(n) {
			t.Errorf("%s resources = %d, want %d", name, got, n)
		}
	}
}

// line returns the resource on line n (from 1) of data.
func line(t *testing.T, data []byte, n int) map[string]any {
	t.Helper()
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if n > len(lines) {
		t.Fatalf("file has %d lines, want at least %d", len(lines), n)
	}
	var r map[string]any
	if err := json.Unmarshal(lines[n-1], &r); err != nil {
		t.Fatalf("line %d: %v", n, err)
	}
	return r
}

// at walks r by keys and array indexes, as in at(r, "name", 0, "family").
func at(t *testing.T, r any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := r.(map[string]any)
			if !ok {
				t.Fatalf("path %v: %v is not an object", path, r)
			}
			r = m[k]
		case int:
			a, ok := r.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("path %v: %v is not an array with %d elements", path, r, k+1)
			}
			r = a[k]
		}
	}
	return r
}

func TestResourceContent(t *testing.T) {
	t.Parallel()
	files, _ := export(t, newFormat(t, allOptions), allTables)

	ann := line(t, files["Patient"], 1)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"Patient.id", at(t, ann, "id"), memberA},
		{"Patient.identifier.value", at(t, ann, "identifier", 0, "value"), memberA},
		{"Patient.name.family", at(t, ann, "name", 0, "family"), "Lee"},
		{"Patient.name.given", at(t, ann, "name", 0, "given", 0), "Ann"},
		{"Patient.gender", at(t, ann, "gender"), "female"},
		{"Patient.birthDate", at(t, ann, "birthDate"), "1970-01-02"},
		{"Patient.address.postalCode", at(t, ann, "address", 0, "postalCode"), "62701"},
		{"Patient.telecom.value", at(t, ann, "telecom", 0, "value"), "555-0100"},
		{"Patient race text", at(t, ann, "extension", 0, "extension", 0, "valueString"), "White"},
	}
	cov := line(t, files["Coverage"], 2)
	checks = append(checks, []struct {
		name string
		got  any
		want any
	}{
		{"Coverage.beneficiary", at(t, cov, "beneficiary", "reference"), "Patient/" + memberB},
		{"Coverage.period.end", at(t, cov, "period", "end"), "2026-06-30"},
		{"Coverage.relationship", at(t, cov, "relationship", "coding", 0, "code"), "spouse"},
		{"Coverage.payor", at(t, cov, "payor", 0, "display"), "Example Health Plan"},
		{"Coverage.status", at(t, cov, "status"), "active"},
	}...)
	eob := line(t, files["ExplanationOfBenefit"], 1)
	checks = append(checks, []struct {
		name string
		got  any
		want any
	}{
		{"EOB.id", at(t, eob, "id"), "c1"},
		{"EOB.patient", at(t, eob, "patient", "reference"), "Patient/" + memberA},
		{"EOB.billablePeriod.start", at(t, eob, "billablePeriod", "start"), "2026-02-01"},
		{"EOB.billablePeriod.end", at(t, eob, "billablePeriod", "end"), "2026-02-03"},
		{"EOB items", len(at(t, eob, "item").([]any)), 2},
		{"EOB.item.sequence", at(t, eob, "item", 1, "sequence"), 2.0},
		{"EOB.item.productOrService", at(t, eob, "item", 0, "productOrService", "coding", 0, "system"), "http://www.ama-assn.org/go/cpt"},
		{"EOB.total submitted", at(t, eob, "total", 0, "amount", "value"), 150.10},
		{"EOB.total benefit", at(t, eob, "total", 1, "amount", "value"), 100.50},
		{"EOB.diagnosis system", at(t, eob, "diagnosis", 1, "diagnosisCodeableConcept", "coding", 0, "system"), "http://hl7.org/fhir/sid/icd-10-cm"},
		{"EOB.created", at(t, eob, "created"), "2026-12-04T17:30:00Z"},
		{"EOB.type", at(t, eob, "type", "coding", 0, "code"), "professional"},
	}...)
	cond := line(t, files["Condition"], 1)
	cond2 := line(t, files["Condition"], 2)
	obs := line(t, files["Observation"], 1)
	obs2 := line(t, files["Observation"], 2)
	md := line(t, files["MedicationDispense"], 1)
	checks = append(checks, []struct {
		name string
		got  any
		want any
	}{
		{"Condition.code.system", at(t, cond, "code", "coding", 0, "system"), "http://hl7.org/fhir/sid/icd-10-cm"},
		{"Condition.code.code", at(t, cond, "code", "coding", 0, "code"), "E11.9"},
		{"Condition.clinicalStatus", at(t, cond, "clinicalStatus", "coding", 0, "code"), "active"},
		{"Condition SNOMED", at(t, cond2, "code", "coding", 0, "system"), "http://snomed.info/sct"},
		{"Condition resolved", at(t, cond2, "clinicalStatus", "coding", 0, "code"), "resolved"},
		{"Observation.code.system", at(t, obs, "code", "coding", 0, "system"), "http://loinc.org"},
		{"Observation.valueQuantity", at(t, obs, "valueQuantity", "value"), 172.5},
		{"Observation.effectiveDateTime", at(t, obs, "effectiveDateTime"), "2026-02-01T10:15:00+00:00"},
		{"Observation fraction", at(t, obs2, "effectiveDateTime"), "2026-02-01T10:15:00.25+00:00"},
		{"Observation.valueString", at(t, obs2, "valueString"), "Never smoker"},
		{"Observation.category", at(t, obs, "category", 0, "coding", 0, "code"), "vital-signs"},
		{"MedicationDispense RxNorm", at(t, md, "medicationCodeableConcept", "coding", 0, "system"), "http://www.nlm.nih.gov/research/umls/rxnorm"},
		{"MedicationDispense NDC", at(t, md, "medicationCodeableConcept", "coding", 1, "system"), "http://hl7.org/fhir/sid/ndc"},
		{"MedicationDispense NDC code", at(t, md, "medicationCodeableConcept", "coding", 1, "code"), "00002323230"},
		{"MedicationDispense.daysSupply", at(t, md, "daysSupply", "value"), 30.0},
		{"MedicationDispense.whenHandedOver", at(t, md, "whenHandedOver"), "2026-02-05"},
	}...)
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestTrickyStringsRoundTrip(t *testing.T) {
	t.Parallel()
	tricky := []string{
		`O'Neil, "Jr"`,
		`back\slash \\ and \n literal`,
		"two\nlines\r\nand\ttab",
		"Zoë Ångström 李小龙 🚑",
		"control \x01\x1f and \u2028 separators \u2029",
		"</script><!--",
	}
	tb := table{cols: []string{"member_id", "last_name", "city"}}
	for i, s := range tricky {
		tb.rows = append(tb.rows, []string{fmt.Sprintf("m%d", i), s, s})
	}
	f := newFormat(t, `{"resources": {"Patient": "members"}}`)
	files, _ := export(t, f, map[string]table{"Patient": tb})
	list := resources(t, "Patient", files["Patient"])
	if len(list) != len(tricky) {
		t.Fatalf("%d patients, want %d", len(list), len(tricky))
	}
	for i, s := range tricky {
		if got := at(t, list[i], "name", 0, "family"); got != s {
			t.Errorf("family %d = %q, want %q", i, got, s)
		}
		if got := at(t, list[i], "address", 0, "city"); got != s {
			t.Errorf("city %d = %q, want %q", i, got, s)
		}
	}
	if n := bytes.Count(files["Patient"], []byte("\n")); n != len(tricky) {
		t.Errorf("%d line feeds, want %d: raw line breaks leaked into the file", n, len(tricky))
	}
}

func TestInvalidUTF8Replaced(t *testing.T) {
	t.Parallel()
	tb := table{cols: []string{"member_id", "last_name"}, rows: [][]string{{"m1", "bad \xff\xfe byte"}}}
	files, _ := export(t, newFormat(t, `{"resources": {"Patient": "members"}}`), map[string]table{"Patient": tb})
	if got := at(t, line(t, files["Patient"], 1), "name", 0, "family"); got != "bad \ufffd\ufffd byte" {
		t.Errorf("family = %q", got)
	}
}

func TestDeidentifiedPatient(t *testing.T) {
	t.Parallel()
	// A research view: pseudonymous key, birth year, three-digit ZIP code.
	tb := table{cols: []string{"member_key", "birth_date", "gender", "zip"},
		rows: [][]string{{"a3c1e0f2-9d1b-4c5e-8f00-123456789abc", "1980", "F", "021"}, {"b0000000-0000-4000-8000-000000000000", "NULL", "U", "NULL"}}}
	cond := table{cols: []string{"member_key", "onset_date", "code"},
		rows: [][]string{{"a3c1e0f2-9d1b-4c5e-8f00-123456789abc", "2021", "E11.9"}}}
	f := newFormat(t, `{"resources": {"Patient": "members", "Condition": "conditions"}}`)
	files, _ := export(t, f, map[string]table{"Patient": tb, "Condition": cond})
	p := line(t, files["Patient"], 1)
	if got := at(t, p, "birthDate"); got != "1980" {
		t.Errorf("birthDate = %v, want 1980", got)
	}
	if got := at(t, p, "address", 0, "postalCode"); got != "021" {
		t.Errorf("postalCode = %v, want 021", got)
	}
	if got := at(t, p, "id"); got != "a3c1e0f2-9d1b-4c5e-8f00-123456789abc" {
		t.Errorf("id = %v", got)
	}
	if _, ok := line(t, files["Patient"], 2)["birthDate"]; ok {
		t.Error("a NULL birth date was written")
	}
	c := line(t, files["Condition"], 1)
	if got := at(t, c, "onsetDateTime"); got != "2021" {
		t.Errorf("onsetDateTime = %v, want 2021", got)
	}
	// Without a condition_id column the id is made of the run and the row.
	if got := at(t, c, "id"); got != "run9-1" {
		t.Errorf("Condition id = %v, want run9-1", got)
	}
}

func TestMemberKeyHashedToValidID(t *testing.T) {
	t.Parallel()
	key := "MRN:00123/ÜBER" // not a FHIR id
	long := strings.Repeat("k", 65)
	tb := table{cols: []string{"member_id"}, rows: [][]string{{key}, {long}}}
	obs := table{cols: []string{"member_id", "code"}, rows: [][]string{{key, "8302-2"}, {long, "8302-2"}}}
	files, _ := export(t, newFormat(t, `{"resources": {"Patient": "m", "Observation": "o"}}`),
		map[string]table{"Patient": tb, "Observation": obs})
	for n := 1; n <= 2; n++ {
		p := line(t, files["Patient"], n)
		id := p["id"].(string)
		if !strings.HasPrefix(id, "sha256-") || len(id) != 39 {
			t.Errorf("Patient %d id = %q, want sha256- and 32 hex digits", n, id)
		}
		if got := at(t, line(t, files["Observation"], n), "subject", "reference"); got != "Patient/"+id {
			t.Errorf("Observation %d subject = %v, want Patient/%s", n, got, id)
		}
		if got := at(t, p, "identifier", 0, "value"); got != []string{key, long}[n-1] {
			t.Errorf("Patient %d identifier = %v", n, got)
		}
	}
}

func TestUnresolvedError(t *testing.T) {
	t.Parallel()
	f := newFormat(t, `{"resources": {"Patient": "m", "Condition": "c"}, "unresolved": "error"}`)
	parts := f.Parts()
	pw, err := parts[0].Format.NewWriter(&bytes.Buffer{}, []format.Column{{Name: "member_id"}}, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.WriteRow(fields([]string{memberA})); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	cw, err := parts[1].Format.NewWriter(&bytes.Buffer{}, []format.Column{{Name: "member_id"}, {Name: "code"}}, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	if err := cw.WriteRow(fields([]string{memberA, "I10"})); err != nil {
		t.Fatal(err)
	}
	err = cw.WriteRow(fields([]string{memberC, "I10"}))
	if err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("WriteRow of an unknown patient = %v, want an error naming row 2", err)
	}
	if err != nil && strings.Contains(err.Error(), memberC) {
		t.Errorf("error %q contains the member key", err)
	}
}

func TestPatientPartFirst(t *testing.T) {
	t.Parallel()
	f := newFormat(t, `{"resources": {"Patient": "m", "Condition": "c"}}`)
	info := testInfo
	info.RunID = 99
	_, err := f.Parts()[1].Format.NewWriter(&bytes.Buffer{}, []format.Column{{Name: "member_id"}, {Name: "code"}}, info)
	if err == nil || !strings.Contains(err.Error(), "Patient part") {
		t.Errorf("NewWriter of Condition before Patient = %v, want an error about the Patient part", err)
	}
	if _, err := f.NewWriter(&bytes.Buffer{}, nil, info); err == nil {
		t.Error("NewWriter of the whole format succeeded; it writes one file per part")
	}
}

func TestOptionsRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, options, want string }{
		{"empty", `{}`, "resources"},
		{"no Patient", `{"resources": {"Condition": "c"}}`, "Patient"},
		{"unknown resource", `{"resources": {"Patient": "m", "Encounter": "e"}}`, "Encounter"},
		{"unknown field", `{"resources": {"Patient": {"view": "m", "columns": {"surname": "x"}}}}`, "surname"},
		{"no view", `{"resources": {"Patient": {"columns": {}}}}`, "view name is missing"},
		{"unresolved", `{"resources": {"Patient": "m"}, "unresolved": "keep"}`, "unresolved"},
		{"unknown option", `{"resources": {"Patient": "m"}, "profile": "x"}`, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fhir.New(json.RawMessage(tc.options))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%s) = %v, want an error naming %q", tc.options, err, tc.want)
			}
		})
	}
}

func TestColumnMapAndProfile(t *testing.T) {
	t.Parallel()
	f := newFormat(t, `{"resources": {"Patient": {"view": "m", "columns": {"last_name": "surname"},
		"profile": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"}}, "member_column": "key"}`)
	tb := table{cols: []string{"key", "surname", "member_id"}, rows: [][]string{{"k1", "Lee", "other"}}}
	files, _ := export(t, f, map[string]table{"Patient": tb})
	p := line(t, files["Patient"], 1)
	if got := at(t, p, "id"); got != "k1" {
		t.Errorf("id = %v, want k1 from member_column", got)
	}
	if got := at(t, p, "name", 0, "family"); got != "Lee" {
		t.Errorf("family = %v", got)
	}
	if got := at(t, p, "meta", "profile", 0); got != "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient" {
		t.Errorf("meta.profile = %v", got)
	}

	_, err := f.Parts()[0].Format.NewWriter(&bytes.Buffer{}, []format.Column{{Name: "key"}, {Name: "last_name"}}, testInfo)
	if err == nil || !strings.Contains(err.Error(), "surname") {
		t.Errorf("NewWriter without the mapped column = %v, want an error naming surname", err)
	}
}

func TestBadValueNamesColumn(t *testing.T) {
	t.Parallel()
	tb := table{cols: []string{"member_id", "birth_date"}, rows: [][]string{{"m1", "1980-01-01"}, {"m2", "sometime in 1980"}}}
	f := newFormat(t, `{"resources": {"Patient": "m"}}`)
	w, err := f.Parts()[0].Format.NewWriter(&bytes.Buffer{}, tb.columns(), testInfo)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRow(fields(tb.rows[0])); err != nil {
		t.Fatal(err)
	}
	err = w.WriteRow(fields(tb.rows[1]))
	if err == nil || !strings.Contains(err.Error(), "row 2 column birth_date") {
		t.Errorf("WriteRow of a bad date = %v, want an error naming row 2 and birth_date", err)
	}
	if err != nil && strings.Contains(err.Error(), "sometime") {
		t.Errorf("error %q contains the value", err)
	}
}

func TestManifestCounts(t *testing.T) {
	t.Parallel()
	f := newFormat(t, allOptions)
	files, _ := export(t, f, allTables)
	var outputs []fhir.Output
	for _, p := range f.Parts() {
		outputs = append(outputs, fhir.Output{Type: p.Name, URL: "research-fhir." + p.Name + ".ndjson",
			Count: int64(bytes.Count(files[p.Name], []byte("\n")))})
	}
	data, err := fhir.Manifest(testInfo.Now, "feed research-fhir", outputs)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		TransactionTime     string `json:"transactionTime"`
		Request             string `json:"request"`
		RequiresAccessToken *bool  `json:"requiresAccessToken"`
		Output              []struct {
			Type  string `json:"type"`
			URL   string `json:"url"`
			Count int    `json:"count"`
		} `json:"output"`
		Error []any `json:"error"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("manifest is not JSON: %v\n%s", err, data)
	}
	if m.TransactionTime != "2026-12-04T17:30:00.000Z" || m.Request != "feed research-fhir" {
		t.Errorf("transactionTime, request = %q, %q", m.TransactionTime, m.Request)
	}
	if m.RequiresAccessToken == nil || *m.RequiresAccessToken {
		t.Errorf("requiresAccessToken = %v, want false for delivered files", m.RequiresAccessToken)
	}
	if m.Error == nil || len(m.Error) != 0 {
		t.Errorf("error = %v, want an empty array", m.Error)
	}
	if len(m.Output) != len(outputs) {
		t.Fatalf("%d outputs, want %d", len(m.Output), len(outputs))
	}
	for _, o := range m.Output {
		lines := len(resources(t, o.Type, files[o.Type]))
		if o.Count != lines {
			t.Errorf("%s count = %d, but the file has %d lines", o.Type, o.Count, lines)
		}
	}

	data, err = fhir.Manifest(testInfo.Now, "https://axtract.example/fhir/$export",
		[]fhir.Output{{Type: "Patient", URL: "https://axtract.example/files/1", Count: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"requiresAccessToken": true`)) {
		t.Errorf("manifest with https URLs does not require a token:\n%s", data)
	}
	if _, err := fhir.Manifest(testInfo.Now, "r", []fhir.Output{{Type: "Claim", URL: "x", Count: 1}}); err == nil {
		t.Error("Manifest accepted resource type Claim")
	}
}

func TestClaimsPartSortedByClaim(t *testing.T) {
	for _, c := range []struct {
		options string
		want    []string
	}{
		{`{"resources": {"Patient": "members", "ExplanationOfBenefit": "claims"}}`, []string{"claim_id"}},
		{`{"resources": {"Patient": "members", "ExplanationOfBenefit": {"view": "claims", "columns": {"claim_id": "claim_key"}}}}`, []string{"claim_key"}},
	} {
		f, err := fhir.New([]byte(c.options))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.(format.MultiFormat).Parts() {
			switch p.Name {
			case "ExplanationOfBenefit":
				if !slices.Equal(p.OrderBy, c.want) {
					t.Errorf("ExplanationOfBenefit sorts by %v, want %v", p.OrderBy, c.want)
				}
			default:
				if len(p.OrderBy) != 0 {
					t.Errorf("%s sorts by %v, want no sort", p.Name, p.OrderBy)
				}
			}
		}
	}
}

// TestAssumedCodeSystemCounted checks that diagnoses written as ICD-10-CM
// because the view has no diagnosis_code_system column are counted, so the
// run warns, and that a view with the column counts none.
func TestAssumedCodeSystemCounted(t *testing.T) {
	t.Parallel()
	withSystem := allTables["ExplanationOfBenefit"]
	var without table
	drop := slices.Index(withSystem.cols, "diagnosis_code_system")
	without.cols = slices.Delete(slices.Clone(withSystem.cols), drop, drop+1)
	for _, r := range withSystem.rows {
		without.rows = append(without.rows, slices.Delete(slices.Clone(r), drop, drop+1))
	}
	tables := map[string]table{"Patient": allTables["Patient"]}
	options := `{"resources": {"Patient": "members", "ExplanationOfBenefit": "claims"}}`

	tables["ExplanationOfBenefit"] = withSystem
	_, counts := export(t, newFormat(t, options), tables)
	if n := counts["ExplanationOfBenefit"]["assumed_code_system"]; n != 0 {
		t.Errorf("with diagnosis_code_system: assumed_code_system = %d, want 0", n)
	}

	// Of the claims written, c1 has diagnoses and c2 none; c3's patient is
	// not in the Patient file, so c3 is left out.
	tables["ExplanationOfBenefit"] = without
	_, counts = export(t, newFormat(t, options), tables)
	if n := counts["ExplanationOfBenefit"]["assumed_code_system"]; n != 1 {
		t.Errorf("without diagnosis_code_system: assumed_code_system = %d, want 1, for claim c1", n)
	}
}

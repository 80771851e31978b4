package privacy_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/synthea"
)

// Safe Harbor views of the Synthea sample: every column of the members,
// medical_claims and conditions datasets that Safe Harbor allows, with the
// transforms it needs.
var syntheaSafeHarborViews = map[string]string{
	"members": `{"dataset": "members", "profile": "safe_harbor", "columns": [
		{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
		{"column": "birth_date", "as": "birth_year", "transform": "year"},
		{"column": "birth_date", "as": "age", "transform": "age"},
		{"column": "birth_date", "as": "age_band", "transform": "age_band", "width": 10},
		{"column": "death_date", "as": "death_year", "transform": "year"},
		"gender", "race", "ethnicity", "state",
		{"column": "zip", "as": "zip3", "transform": "zip3"},
		"attributed_org_id"]}`,
	"claims": `{"dataset": "medical_claims", "profile": "safe_harbor", "columns": [
		{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
		"line_number", "claim_type",
		{"column": "service_from", "as": "service_year", "transform": "year"},
		{"column": "service_to", "as": "service_to_year", "transform": "year"},
		"procedure_code", "procedure_code_system", "modifier_1", "place_of_service", "units",
		"charge_amount", "paid_amount", "diagnosis_code_system",
		"diagnosis_1", "diagnosis_2", "diagnosis_3", "diagnosis_4",
		"billing_provider_id", "rendering_provider_id", "payer_id",
		{"column": "member_birth_date", "as": "birth_year", "transform": "year"},
		"member_gender",
		{"column": "member_zip", "as": "zip3", "transform": "zip3"},
		"member_state", "attributed_org_id"]}`,
	"conditions": `{"dataset": "conditions", "profile": "safe_harbor", "columns": [
		{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
		{"column": "onset_date", "as": "onset_year", "transform": "year"},
		{"column": "abatement_date", "as": "abatement_year", "transform": "year"},
		"code_system", "code"]}`,
}

var (
	fullDate = regexp.MustCompile(`\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}`)
	ssnLike  = regexp.MustCompile(`\b\d{3}-\d{2}-\d{4}\b`)
	phoneNo  = regexp.MustCompile(`\(?\b\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b`)
)

func TestSafeHarborSyntheaOutput(t *testing.T) {
	t.Parallel()
	dir := synthea.SampleDir(t)
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := synthea.Import(ctx, db.Pool, dir, nil); err != nil {
		t.Fatal(err)
	}
	createPartner(t, db, "research", "research")
	mustExec(t, db, "SELECT axtract.consent_grant_all('research', 'SELECT member_id FROM mart.member', DATE '2000-01-01')")
	for _, category := range []string{"substance_use", "hiv", "mental_health", "reproductive_health"} {
		mustExec(t, db, "SELECT axtract.consent_grant_all('research', 'SELECT member_id FROM mart.member', DATE '2000-01-01', NULL, 'test', $1)", category)
	}
	for name, spec := range syntheaSafeHarborViews {
		defineView(t, db, "research", name, spec)
	}

	// Everything that identifies a member, read as the table owner.
	identifying := func(sql string) []string {
		t.Helper()
		values, err := collectText(ctx, db.Pool, sql)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range values {
			if v != "NULL" && len(v) >= 3 {
				out = append(out, strings.ToLower(v))
			}
		}
		return out
	}
	names := identifying(`SELECT unnest(ARRAY[prefix, first_name, last_name, suffix, maiden_name]) FROM mart.member`)
	addresses := identifying(`SELECT address FROM mart.member`)
	ssns := identifying(`SELECT ssn FROM mart.member`)
	phones := identifying(`SELECT phone FROM mart.member`)
	zips := identifying(`SELECT zip FROM mart.member`)
	ids := identifying(`SELECT member_id::text FROM mart.member`)
	if len(names) == 0 || len(addresses) == 0 || len(ssns) == 0 || len(zips) == 0 {
		t.Fatalf("the sample has %d names, %d addresses, %d SSNs and %d ZIP codes; want some of each",
			len(names), len(addresses), len(ssns), len(zips))
	}

	for name := range syntheaSafeHarborViews {
		values := queryAsPartner(t, db, "research",
			"SELECT coalesce(x.value, 'NULL') FROM partner_research."+name+" AS v, jsonb_each_text(to_jsonb(v)) AS x")
		if len(values) < 100 {
			t.Errorf("view %s returned %d values, want the sample's rows", name, len(values))
		}
		for _, value := range values {
			v := strings.ToLower(value)
			problem := ""
			switch {
			case containsAny(v, names):
				problem = "a name"
			case containsAny(v, addresses):
				problem = "a street address"
			case containsAny(v, ssns) || ssnLike.MatchString(v):
				problem = "an SSN"
			case containsAny(v, phones) || phoneNo.MatchString(v):
				problem = "a phone number"
			case fullDate.MatchString(v):
				problem = "a full date"
			case equalsAny(v, zips) || regexp.MustCompile(`^\d{5}(-\d{4})?$`).MatchString(v) && equalsAny(v[:5], zips):
				problem = "a five-digit ZIP code"
			case equalsAny(v, ids):
				problem = "a member id"
			}
			if problem != "" {
				// The value itself is synthetic, so printing it is safe.
				t.Errorf("view %s shows %s: %q", name, problem, value)
			}
		}
	}
}

func containsAny(v string, list []string) bool {
	for _, s := range list {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

func equalsAny(v string, list []string) bool {
	for _, s := range list {
		if v == s {
			return true
		}
	}
	return false
}

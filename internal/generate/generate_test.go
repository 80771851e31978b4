package generate_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/pgtest"
)

// martTables are the tables Generate fills.
var martTables = []string{
	"payer", "organization", "provider", "member", "enrollment", "condition",
	"claim", "claim_line", "pharmacy_claim", "observation",
}

// smallConfig is big enough that every kind of row appears and that the
// members fill three chunks, and small enough for a test.
var smallConfig = generate.Config{Members: 2500, ClaimLines: 4321, PharmacyClaims: 1500, Labs: 1200, Seed: 7}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sequential, parallel, inTx, otherSeed := pgtest.New(t), pgtest.New(t), pgtest.New(t), pgtest.New(t)

	oneWorker := smallConfig
	oneWorker.Workers = 1
	runGenerate(t, sequential.Pool, oneWorker)
	threeWorkers := smallConfig
	threeWorkers.Workers = 3
	runGenerate(t, parallel.Pool, threeWorkers)
	if err := pgx.BeginFunc(ctx, inTx.Pool, func(tx pgx.Tx) error {
		_, err := generate.GenerateTx(ctx, tx, smallConfig, nil)
		return err
	}); err != nil {
		t.Fatalf("GenerateTx: %v", err)
	}
	other := smallConfig
	other.Seed = 8
	runGenerate(t, otherSeed.Pool, other)

	for _, table := range martTables {
		want := tableDigest(t, sequential.Pool, table)
		if got := tableDigest(t, parallel.Pool, table); got != want {
			t.Errorf("mart.%s differs between one worker and three", table)
		}
		if got := tableDigest(t, inTx.Pool, table); got != want {
			t.Errorf("mart.%s differs between Generate and GenerateTx", table)
		}
	}
	if tableDigest(t, otherSeed.Pool, "claim_line") == tableDigest(t, sequential.Pool, "claim_line") {
		t.Errorf("mart.claim_line is the same for seeds 7 and 8")
	}
}

func TestGenerateFailureLeavesMartEmpty(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	// A trigger that rejects lab results makes every worker fail at its
	// last table, after the reference rows are committed.
	_, err := db.Pool.Exec(ctx, `
		CREATE FUNCTION public.reject_labs() RETURNS trigger LANGUAGE plpgsql AS
		    $$BEGIN RAISE EXCEPTION 'lab results rejected by the test'; END$$;
		CREATE TRIGGER reject_labs BEFORE INSERT ON mart.observation
		    FOR EACH ROW EXECUTE FUNCTION public.reject_labs()`)
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig
	cfg.Workers = 3

	_, err = generate.Generate(ctx, db.Pool, cfg, nil)

	if err == nil || !strings.Contains(err.Error(), "lab results rejected by the test") {
		t.Fatalf("Generate error = %v, want the trigger's error", err)
	}
	for _, table := range martTables {
		if n := countRows(t, db.Pool, table); n != 0 {
			t.Errorf("mart.%s rows = %d after a failed Generate, want 0", table, n)
		}
	}
}

func TestGenerateCountsAreExact(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	cfg := generate.Config{Members: 250, ClaimLines: 1999, PharmacyClaims: 777, Labs: 555, Seed: 3}

	result := runGenerate(t, db.Pool, cfg)

	want := map[string]int64{"member": 250, "claim_line": 1999, "pharmacy_claim": 777, "observation": 555}
	for table, n := range want {
		if got := countRows(t, db.Pool, table); got != n {
			t.Errorf("mart.%s rows = %d, want %d", table, got, n)
		}
		if got := result.Rows(table); got != n {
			t.Errorf("result rows of %s = %d, want %d", table, got, n)
		}
	}
	for _, table := range martTables {
		if got, stored := result.Rows(table), countRows(t, db.Pool, table); got != stored {
			t.Errorf("result rows of %s = %d, but the table has %d", table, got, stored)
		}
	}
}

func TestGenerateNegativeCountMeansNone(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)

	runGenerate(t, db.Pool, generate.Config{Members: 50, ClaimLines: -1, PharmacyClaims: -1, Labs: -1})

	for _, table := range []string{"claim", "claim_line", "pharmacy_claim", "observation"} {
		if got := countRows(t, db.Pool, table); got != 0 {
			t.Errorf("mart.%s rows = %d, want 0", table, got)
		}
	}
	if got := countRows(t, db.Pool, "member"); got != 50 {
		t.Errorf("mart.member rows = %d, want 50", got)
	}
}

func TestGenerateValues(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	runGenerate(t, db.Pool, smallConfig)

	t.Run("NPIs pass the Luhn check", func(t *testing.T) {
		for _, query := range []string{"SELECT npi FROM mart.provider", "SELECT npi FROM mart.organization"} {
			npis := queryStrings(t, db.Pool, query)
			if len(npis) == 0 {
				t.Fatalf("%s returned no rows", query)
			}
			seen := map[string]bool{}
			for _, npi := range npis {
				if !luhnValidNPI(npi) {
					t.Errorf("NPI %q fails the check digit test", npi)
				}
				if seen[npi] {
					t.Errorf("NPI %q is used twice", npi)
				}
				seen[npi] = true
			}
		}
	})

	t.Run("NDCs have 11 digits", func(t *testing.T) {
		ndc := regexp.MustCompile(`^[0-9]{11}$`)
		for _, code := range queryStrings(t, db.Pool, "SELECT DISTINCT ndc FROM mart.pharmacy_claim") {
			if !ndc.MatchString(code) {
				t.Errorf("NDC %q is not 11 digits", code)
			}
		}
	})

	t.Run("diagnoses are ICD-10-CM codes", func(t *testing.T) {
		icd10 := regexp.MustCompile(`^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$`)
		codes := queryStrings(t, db.Pool, `
			SELECT DISTINCT code FROM (
			    SELECT unnest(ARRAY[diagnosis_1, diagnosis_2, diagnosis_3, diagnosis_4]) AS code FROM mart.claim
			    UNION ALL SELECT code FROM mart.condition
			    UNION ALL SELECT reason_code FROM mart.pharmacy_claim
			) AS c WHERE code IS NOT NULL`)
		for _, code := range codes {
			if !icd10.MatchString(code) {
				t.Errorf("diagnosis %q is not shaped like an ICD-10-CM code", code)
			}
		}
		systems := queryStrings(t, db.Pool, "SELECT DISTINCT diagnosis_code_system FROM mart.claim")
		if len(systems) != 1 || systems[0] != "ICD-10-CM" {
			t.Errorf("claim diagnosis code systems = %v, want [ICD-10-CM]", systems)
		}
	})

	t.Run("sensitive diagnoses appear", func(t *testing.T) {
		substance := queryInt(t, db.Pool, "SELECT count(*) FROM mart.claim WHERE diagnosis_1 ~ '^F1[0-9]' OR diagnosis_2 ~ '^F1[0-9]' OR diagnosis_3 ~ '^F1[0-9]'")
		if substance == 0 {
			t.Errorf("no claim has a substance use diagnosis (F10-F19)")
		}
		hiv := queryInt(t, db.Pool, "SELECT count(*) FROM mart.claim WHERE 'B20' IN (diagnosis_1, diagnosis_2, diagnosis_3, diagnosis_4)")
		if hiv == 0 {
			t.Errorf("no claim has an HIV diagnosis (B20)")
		}
	})

	t.Run("procedure codes are CPT or HCPCS", func(t *testing.T) {
		bad := queryInt(t, db.Pool, `
			SELECT count(*) FROM mart.claim_line
			WHERE NOT (procedure_code_system = 'CPT' AND procedure_code ~ '^[0-9]{5}$')
			    AND NOT (procedure_code_system = 'HCPCS' AND procedure_code ~ '^[A-V][0-9]{4}$')`)
		if bad != 0 {
			t.Errorf("%d claim lines have a procedure code that is neither CPT nor HCPCS", bad)
		}
		for _, system := range []string{"CPT", "HCPCS"} {
			if queryInt(t, db.Pool, "SELECT count(*) FROM mart.claim_line WHERE procedure_code_system = $1", system) == 0 {
				t.Errorf("no claim line is coded in %s", system)
			}
		}
		pos := queryStrings(t, db.Pool, "SELECT DISTINCT place_of_service FROM mart.claim_line")
		known := map[string]bool{"10": true, "11": true, "12": true, "20": true, "21": true, "22": true, "23": true, "41": true, "81": true}
		for _, code := range pos {
			if !known[code] {
				t.Errorf("place of service %q is not one the generator uses", code)
			}
		}
	})

	t.Run("claims add up their lines", func(t *testing.T) {
		bad := queryInt(t, db.Pool, `
			SELECT count(*) FROM mart.claim AS c
			JOIN (SELECT claim_id, sum(charge_amount) AS charged, sum(paid_amount) AS paid, min(member_id::text) AS member
			      FROM mart.claim_line GROUP BY claim_id) AS l USING (claim_id)
			WHERE l.charged <> c.total_charge OR l.paid <> c.total_paid OR l.member <> c.member_id::text`)
		if bad != 0 {
			t.Errorf("%d claims disagree with their lines", bad)
		}
		headless := queryInt(t, db.Pool, "SELECT count(*) FROM mart.claim AS c WHERE NOT EXISTS (SELECT FROM mart.claim_line WHERE claim_id = c.claim_id)")
		if headless != 0 {
			t.Errorf("%d claims have no lines", headless)
		}
		types := queryStrings(t, db.Pool, "SELECT DISTINCT claim_type FROM mart.claim ORDER BY 1")
		if len(types) != 2 {
			t.Errorf("claim types = %v, want institutional and professional", types)
		}
	})

	t.Run("claims fall within coverage", func(t *testing.T) {
		uncovered := queryInt(t, db.Pool, `
			SELECT count(*) FROM mart.claim AS c
			WHERE NOT EXISTS (
			    SELECT FROM mart.enrollment AS e
			    WHERE e.member_id = c.member_id AND e.payer_id = c.primary_payer_id
			        AND c.service_date BETWEEN e.start_date AND coalesce(e.end_date, 'infinity'))`)
		if uncovered != 0 {
			t.Errorf("%d claims fall outside a coverage span of their payer", uncovered)
		}
	})

	t.Run("members are realistic", func(t *testing.T) {
		asOf := generate.DefaultLoadedAt
		var youngest, oldest, over89 int
		err := db.Pool.QueryRow(context.Background(), `
			SELECT min(age), max(age), count(*) FILTER (WHERE age > 89)
			FROM (SELECT extract(year FROM age($1::date, birth_date))::int AS age FROM mart.member) AS a`, asOf).Scan(&youngest, &oldest, &over89)
		if err != nil {
			t.Fatal(err)
		}
		if youngest != 0 || oldest < 95 || oldest > 104 {
			t.Errorf("ages range %d..%d, want 0 to between 95 and 104", youngest, oldest)
		}
		if over89 == 0 {
			t.Errorf("no member is over 89")
		}
		checks := map[string]string{
			"ZIP of 5 digits":       "zip !~ '^[0-9]{5}$'",
			"SSN in the 9XX range":  "ssn !~ '^9[0-9]{2}-[0-9]{2}-[0-9]{4}$'",
			"phone in 555-01XX":     "phone !~ '^\\([0-9]{3}\\) 555-01[0-9]{2}$'",
			"first and last names":  "first_name IS NULL OR last_name IS NULL",
			"gender M or F":         "gender NOT IN ('M', 'F')",
			"death after birth":     "death_date <= birth_date",
			"coordinates in the US": "latitude NOT BETWEEN 24 AND 50 OR longitude NOT BETWEEN -125 AND -66",
		}
		for name, violation := range checks {
			if n := queryInt(t, db.Pool, "SELECT count(*) FROM mart.member WHERE "+violation); n != 0 {
				t.Errorf("%s: %d members violate it", name, n)
			}
		}
	})

	t.Run("values that need quoting appear", func(t *testing.T) {
		checks := map[string]string{
			"apostrophe in a last name": "SELECT count(*) FROM mart.member WHERE last_name LIKE '%''%'",
			"comma in an address":       "SELECT count(*) FROM mart.member WHERE address LIKE '%,%'",
			"double quote in a drug":    `SELECT count(*) FROM mart.pharmacy_claim WHERE drug_name LIKE '%"%'`,
			"comma in a payer name":     "SELECT count(*) FROM mart.payer WHERE name LIKE '%,%'",
			"apostrophe in an org name": "SELECT count(*) FROM mart.organization WHERE name LIKE '%''%'",
		}
		for name, query := range checks {
			if queryInt(t, db.Pool, query) == 0 {
				t.Errorf("no %s", name)
			}
		}
	})

	t.Run("coverage and attribution", func(t *testing.T) {
		if queryInt(t, db.Pool, "SELECT count(*) FROM mart.enrollment WHERE end_date IS NULL") == 0 {
			t.Errorf("no open enrollment span")
		}
		if queryInt(t, db.Pool, "SELECT count(*) FROM mart.enrollment WHERE end_date IS NOT NULL") == 0 {
			t.Errorf("no ended enrollment span")
		}
		uncovered := queryInt(t, db.Pool, "SELECT count(*) FROM mart.member AS m WHERE NOT EXISTS (SELECT FROM mart.enrollment WHERE member_id = m.member_id)")
		if uncovered != 0 {
			t.Errorf("%d members have no enrollment", uncovered)
		}
		groups := queryInt(t, db.Pool, `
			SELECT count(DISTINCT attributed_org_id) FROM mart.member AS m
			JOIN mart.organization AS o ON o.organization_id = m.attributed_org_id
			WHERE o.npi IS NOT NULL`)
		if groups < 2 {
			t.Errorf("members are attributed to %d provider groups with an NPI, want at least 2", groups)
		}
	})

	t.Run("labs are LOINC-coded numbers", func(t *testing.T) {
		bad := queryInt(t, db.Pool, `
			SELECT count(*) FROM mart.observation
			WHERE code !~ '^[0-9]{1,5}-[0-9]$' OR code_system <> 'LOINC' OR value_numeric IS NULL
			    OR value_numeric <> value::numeric OR units IS NULL`)
		if bad != 0 {
			t.Errorf("%d lab results are not LOINC-coded numbers", bad)
		}
	})

	t.Run("pharmacy claims have a supply", func(t *testing.T) {
		bad := queryInt(t, db.Pool, "SELECT count(*) FROM mart.pharmacy_claim WHERE days_supply <= 0 OR quantity <= 0 OR end_date < fill_date OR payer_paid > total_cost")
		if bad != 0 {
			t.Errorf("%d pharmacy claims have an impossible supply or payment", bad)
		}
	})
}

func TestGenerateRejectsNonEmptyMart(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	cfg := generate.Config{Members: 20, ClaimLines: 50}
	runGenerate(t, db.Pool, cfg)
	before := tableDigest(t, db.Pool, "member")

	_, err := generate.Generate(context.Background(), db.Pool, cfg, nil)

	if !errors.Is(err, generate.ErrMartNotEmpty) {
		t.Errorf("second Generate error = %v, want ErrMartNotEmpty", err)
	}
	if tableDigest(t, db.Pool, "member") != before {
		t.Errorf("mart.member changed")
	}
}

func TestGenerateRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	for _, cfg := range []generate.Config{{Members: -1}, {Members: 10, Providers: 3}, {Members: 10, Workers: -2}} {
		if _, err := generate.Generate(context.Background(), db.Pool, cfg, nil); err == nil {
			t.Errorf("Generate(%+v) succeeded, want an error", cfg)
		}
	}
	if n := countRows(t, db.Pool, "member"); n != 0 {
		t.Errorf("mart.member rows = %d after invalid configs, want 0", n)
	}
}

// BenchmarkGenerate generates AXTRACT_BENCH_CLAIM_LINES claim lines
// (default 20000) with one member per ten lines, and the default numbers of
// the other rows, into a fresh database per iteration.
func BenchmarkGenerate(b *testing.B) {
	lines := 20_000
	if v := os.Getenv("AXTRACT_BENCH_CLAIM_LINES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("AXTRACT_BENCH_CLAIM_LINES: %v", err)
		}
		lines = n
	}
	cfg := generate.Config{Members: max(1, lines/10), ClaimLines: lines}
	for b.Loop() {
		b.StopTimer()
		db := pgtest.New(b)
		b.StartTimer()

		start := time.Now()
		if _, err := generate.Generate(context.Background(), db.Pool, cfg, nil); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(lines)/time.Since(start).Seconds(), "lines/s")
	}
}

func runGenerate(t *testing.T, pool *pgxpool.Pool, cfg generate.Config) *generate.Result {
	t.Helper()
	result, err := generate.Generate(context.Background(), pool, cfg, nil)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", cfg, err)
	}
	return result
}

// tableDigest returns the md5 of a table's rows in a fixed order.
func tableDigest(t *testing.T, pool *pgxpool.Pool, table string) string {
	t.Helper()
	var digest string
	err := pool.QueryRow(context.Background(),
		"SELECT coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM mart."+table+" AS t").Scan(&digest)
	if err != nil {
		t.Fatalf("digest mart.%s: %v", table, err)
	}
	return digest
}

func countRows(t *testing.T, pool *pgxpool.Pool, table string) int64 {
	t.Helper()
	return queryInt(t, pool, "SELECT count(*) FROM mart."+table)
}

func queryInt(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func queryStrings(t *testing.T, pool *pgxpool.Pool, query string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// luhnValidNPI checks an NPI the way CMS specifies, independently of the
// generator's code: the Luhn sum of 80840 and all ten digits is a multiple
// of 10.
func luhnValidNPI(npi string) bool {
	if !regexp.MustCompile(`^[12][0-9]{9}$`).MatchString(npi) {
		return false
	}
	digits := "80840" + npi
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

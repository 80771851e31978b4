package privacy_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/gpgtest"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/pipeline"
	"github.com/axtract/axtract/internal/privacy"
)

// safeHarborClaims is a Safe Harbor view of medical claims.
const safeHarborClaims = `{"dataset": "medical_claims", "profile": "safe_harbor", "columns": [
	{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
	{"column": "service_from", "as": "service_year", "transform": "year"},
	{"column": "member_birth_date", "as": "birth_year", "transform": "year"},
	{"column": "member_zip", "as": "zip3", "transform": "zip3"},
	"member_gender", "claim_type", "procedure_code", "diagnosis_1", "diagnosis_2", "paid_amount"]}`

// benchSetup generates a mart of claimLines claim lines, creates partner
// research (opt_in) with the Safe Harbor claims view, grants every member a
// general consent and every other member a category consent to each
// sensitive category, and vacuums and analyzes the tables, as autovacuum
// would have done to tables loaded earlier.
func benchSetup(tb testing.TB, claimLines int) *pgtest.DB {
	tb.Helper()
	ctx := context.Background()
	db := pgtest.New(tb)
	cfg := generate.Config{Members: max(claimLines/8, 100), ClaimLines: claimLines, PharmacyClaims: -1, Labs: -1, Workers: 2}
	if _, err := generate.Generate(ctx, db.Pool, cfg, nil); err != nil {
		tb.Fatal(err)
	}
	createPartner(tb, db, "research", "research")
	defineView(tb, db, "research", "claims", safeHarborClaims)
	mustExec(tb, db, "SELECT axtract.consent_grant_all('research', 'SELECT member_id FROM mart.member', DATE '2020-01-01')")
	for _, category := range []string{"substance_use", "hiv", "mental_health", "reproductive_health"} {
		mustExec(tb, db, `SELECT axtract.consent_grant_all('research',
			'SELECT member_id FROM mart.member WHERE get_byte(uuid_send(member_id), 15) % 2 = 0', DATE '2020-01-01', NULL, 'bench', $1)`, category)
	}
	mustExec(tb, db, "SELECT axtract.pseudonyms_refresh(partner_id) FROM axtract.partner WHERE slug = 'research'")
	mustExec(tb, db, "VACUUM ANALYZE")
	return db
}

// explainAsPartner returns the plan of sql run as partner slug's identity
// role.
func explainAsPartner(tb testing.TB, db *pgtest.DB, slug, sql string) string {
	tb.Helper()
	lines, err := tryQueryAsPartner(db, slug, "EXPLAIN (COSTS OFF) "+sql)
	if err != nil {
		tb.Fatal(err)
	}
	// collectText sorts; EXPLAIN's order does not matter for the checks.
	return strings.Join(lines, "\n")
}

func TestPolicyPlanIsHashed(t *testing.T) {
	t.Parallel()
	db := benchSetup(t, 4000)
	plan := explainAsPartner(t, db, "research", "SELECT * FROM partner_research.claims")

	// Each of the three tables has its policy's general consent test, and
	// the two with categories have their category test too. Each consent
	// subquery becomes a hash table built once.
	if got := strings.Count(plan, "hashed SubPlan"); got < 5 {
		t.Errorf("plan has %d hashed SubPlans, want at least 5:\n%s", got, plan)
	}
	if strings.Contains(plan, "Index Cond: (member_id = ") && strings.Contains(plan, "consent") {
		t.Errorf("plan probes axtract.consent per row:\n%s", plan)
	}
	// The start date of a grant is an index condition, so today is
	// computed once per set rather than once per grant.
	if !strings.Contains(plan, "(category IS NULL) AND (effective_from <= ") {
		t.Errorf("no grant scan tests the start date in its index condition:\n%s", plan)
	}
	if strings.Contains(plan, "Filter: ((effective_from <= ") {
		t.Errorf("a grant scan tests the start date per grant:\n%s", plan)
	}
	for _, fn := range []string{"consent_predicate", "consent_in_force", "categories_of"} {
		if strings.Contains(plan, fn) {
			t.Errorf("plan calls %s per row:\n%s", fn, plan)
		}
	}
	t.Logf("plan of the Safe Harbor claims view as the partner:\n%s", plan)
}

func benchSize(b *testing.B, env string, def int) int {
	b.Helper()
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q is not a positive whole number", env, v)
	}
	return n
}

// plainClaims selects the columns of safeHarborClaims as they are stored,
// with no transform and no profile.
const plainClaims = `{"dataset": "medical_claims", "columns": [
	"member_id", "service_from", "member_birth_date", "member_zip",
	"member_gender", "claim_type", "procedure_code", "diagnosis_1", "diagnosis_2", "paid_amount"]}`

// BenchmarkSafeHarborCopy compares COPY of the Safe Harbor claims view as
// the partner, with the consent policies, with COPY of the same SELECT as
// the table owner, whom the policies do not apply to, and with COPY of the
// same columns untransformed as the owner (the plain extract). The size is
// AXTRACT_BENCH_CLAIM_LINES claim lines (default 100000), and both copies
// run with work_mem AXTRACT_BENCH_WORK_MEM, jit AXTRACT_BENCH_JIT and
// max_parallel_workers_per_gather AXTRACT_BENCH_PARALLEL_WORKERS (default:
// the server's settings). With more than about 200,000 members,
// the policies need a work_mem larger than the default 4MB to be hashed,
// and JIT compiles the policies' expressions at length (docs/privacy.md).
func BenchmarkSafeHarborCopy(b *testing.B) {
	ctx := context.Background()
	lines := benchSize(b, "AXTRACT_BENCH_CLAIM_LINES", 100000)
	db := benchSetup(b, lines)
	var compiled string
	err := db.Pool.QueryRow(ctx, `SELECT compiled_sql FROM axtract.partner_view WHERE name = 'claims'`).Scan(&compiled)
	if err != nil {
		b.Fatal(err)
	}
	// The plain SELECT is compiled for a treatment partner, whose purpose
	// allows every column, and run as the owner, so neither transforms nor
	// policies apply.
	createPartner(b, db, "clinic", "treatment")
	var plain string
	err = db.Pool.QueryRow(ctx, `SELECT compiled_sql FROM axtract.view_compile(
		(SELECT partner_id FROM axtract.partner WHERE slug = 'clinic'), $1::jsonb)`, plainClaims).Scan(&plain)
	if err != nil {
		b.Fatal(err)
	}
	withPolicies := "COPY (SELECT * FROM partner_research.claims) TO STDOUT WITH (FORMAT csv, HEADER true)"
	withoutPolicies := "COPY (" + compiled + ") TO STDOUT WITH (FORMAT csv, HEADER true)"
	plainCopy := "COPY (" + plain + ") TO STDOUT WITH (FORMAT csv, HEADER true)"
	var plainRows int64

	var rlsRows, ownerRows int64
	run := func(b *testing.B, sql string, asPartner bool, rows *int64) time.Duration {
		b.Helper()
		start := time.Now()
		n := copyOnce(b, db, sql, asPartner)
		*rows = n
		return time.Since(start)
	}
	b.Run("policies", func(b *testing.B) {
		for b.Loop() {
			run(b, withPolicies, true, &rlsRows)
		}
		b.ReportMetric(float64(rlsRows), "rows")
	})
	b.Run("owner", func(b *testing.B) {
		for b.Loop() {
			run(b, withoutPolicies, false, &ownerRows)
		}
		b.ReportMetric(float64(ownerRows), "rows")
	})
	// Alternating runs, so that both see the same cache state.
	b.Run("ratio", func(b *testing.B) {
		var rls, owner time.Duration
		for b.Loop() {
			rls += run(b, withPolicies, true, &rlsRows)
			owner += run(b, withoutPolicies, false, &ownerRows)
		}
		b.ReportMetric(float64(rls.Milliseconds())/float64(b.N), "policies-ms/op")
		b.ReportMetric(float64(owner.Milliseconds())/float64(b.N), "owner-ms/op")
		b.ReportMetric(float64(rls)/float64(owner), "ratio")
	})
	// The whole cost of privacy: policies and transforms against the plain
	// extract of every row, which reads more rows than the partner may.
	b.Run("ratio-plain", func(b *testing.B) {
		var rls, base time.Duration
		for b.Loop() {
			rls += run(b, withPolicies, true, &rlsRows)
			base += run(b, plainCopy, false, &plainRows)
		}
		b.ReportMetric(float64(rls.Milliseconds())/float64(b.N), "policies-ms/op")
		b.ReportMetric(float64(base.Milliseconds())/float64(b.N), "plain-ms/op")
		b.ReportMetric(float64(rls)/float64(base), "ratio")
	})
	// The same two, each as a whole extract: COPY into zstd compression and
	// OpenPGP encryption, as a feed delivers it.
	home := gpgtest.New(b, "bench <bench@example.com>")
	recipient, err := pipeline.ParseRecipient(home.PublicKey, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	cfg := pipeline.Config{Compression: pipeline.CompressionZstd, Recipient: recipient}
	extract := func(b *testing.B, sql string, asPartner bool, rows *int64) time.Duration {
		b.Helper()
		start := time.Now()
		*rows = copyInto(b, db, sql, asPartner, cfg)
		return time.Since(start)
	}
	b.Run("ratio-plain-extract", func(b *testing.B) {
		var rls, base time.Duration
		for b.Loop() {
			rls += extract(b, withPolicies, true, &rlsRows)
			base += extract(b, plainCopy, false, &plainRows)
		}
		b.ReportMetric(float64(rls.Milliseconds())/float64(b.N), "policies-ms/op")
		b.ReportMetric(float64(base.Milliseconds())/float64(b.N), "plain-ms/op")
		b.ReportMetric(float64(rls)/float64(base), "ratio")
	})
	b.Logf("%d claim lines; the partner's COPY read %d rows, the owner's %d, the plain one %d", lines, rlsRows, ownerRows, plainRows)
}

// copyOnce runs a COPY TO STDOUT in a REPEATABLE READ transaction, as the
// partner's identity role when asPartner, and returns the rows copied.
func copyOnce(tb testing.TB, db *pgtest.DB, sql string, asPartner bool) int64 {
	tb.Helper()
	return copyTo(tb, db, sql, asPartner, io.Discard)
}

// copyInto is copyOnce through a pipeline of configuration cfg.
func copyInto(tb testing.TB, db *pgtest.DB, sql string, asPartner bool, cfg pipeline.Config) int64 {
	tb.Helper()
	pipe, err := pipeline.New(io.Discard, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	n := copyTo(tb, db, sql, asPartner, pipe)
	if err := pipe.Close(); err != nil {
		tb.Fatal(err)
	}
	return n
}

func copyTo(tb testing.TB, db *pgtest.DB, sql string, asPartner bool, w io.Writer) int64 {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback(ctx)
	settings := map[string]string{"work_mem": "AXTRACT_BENCH_WORK_MEM", "jit": "AXTRACT_BENCH_JIT",
		"max_parallel_workers_per_gather": "AXTRACT_BENCH_PARALLEL_WORKERS"}
	for setting, env := range settings {
		if v := os.Getenv(env); v != "" {
			if _, err := tx.Exec(ctx, "SELECT set_config($1, $2, true)", setting, v); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if asPartner {
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{db.Name + "_p_research"}.Sanitize()); err != nil {
			tb.Fatal(err)
		}
	}
	tag, err := tx.Conn().PgConn().CopyTo(ctx, w, sql)
	if err != nil {
		tb.Fatal(err)
	}
	return tag.RowsAffected()
}

// BenchmarkDisclosureStorage records the disclosures of one run of a view
// over AXTRACT_BENCH_DISCLOSURE_MEMBERS members (default 1000000) twice, and
// reports the bytes that disclosure_member (heap, TOAST and GIN index)
// takes per disclosed member after the first run and for the second.
func BenchmarkDisclosureStorage(b *testing.B) {
	ctx := context.Background()
	members := benchSize(b, "AXTRACT_BENCH_DISCLOSURE_MEMBERS", 1000000)
	db := pgtest.New(b)
	mustExec(b, db, `INSERT INTO mart.member (member_id, birth_date)
		SELECT gen_random_uuid(), DATE '1950-01-01' + (n % 20000) FROM generate_series(1, $1::integer) AS n`, members)
	createPartner(b, db, "pbm", "payment")
	mustExec(b, db, "SELECT axtract.partner_consent_default_set('pbm', 'opt_out')")
	defineView(b, db, "pbm", "roster", `{"dataset": "members", "columns": ["member_id", "birth_date"]}`)
	newDisclosureFeed(b, db, "pbm", "roster")

	size := func() int64 {
		var n int64
		if err := db.Pool.QueryRow(ctx, "SELECT pg_total_relation_size('axtract.disclosure_member')").Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	record := func() (int64, time.Duration) {
		run := newRun(b, db, "pbm-roster")
		tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{db.Name + "_p_pbm"}.Sanitize()); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		n, err := privacy.RecordDisclosures(ctx, tx, run, "pbm", "roster")
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		return n, time.Since(start)
	}

	b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
		for b.Loop() {
			mustExec(b, db, "TRUNCATE axtract.disclosure, axtract.disclosure_member")
			before := size()
			n, first := record()
			afterFirst := size()
			_, second := record()
			afterSecond := size()
			b.ReportMetric(float64(afterFirst-before)/float64(n), "first-run-B/member")
			b.ReportMetric(float64(afterSecond-afterFirst)/float64(n), "second-run-B/member")
			b.ReportMetric(float64(first.Milliseconds()), "first-run-ms")
			b.ReportMetric(float64(second.Milliseconds()), "second-run-ms")
		}
	})
}

package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

// today is the UTC date the policies and transforms use.
func today() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

func mustExec(t testing.TB, db *pgtest.DB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func createPartner(t testing.TB, db *pgtest.DB, slug, purpose string) {
	t.Helper()
	if _, err := partner.Create(context.Background(), db.Pool, partner.CreateParams{Slug: slug, Name: slug, Purpose: purpose}); err != nil {
		t.Fatal(err)
	}
}

func defineView(t testing.TB, db *pgtest.DB, slug, name, spec string) {
	t.Helper()
	if _, err := partner.DefineView(context.Background(), db.Pool, slug, name, []byte(spec)); err != nil {
		t.Fatalf("define view %s.%s: %v", slug, name, err)
	}
}

func grant(t testing.TB, db *pgtest.DB, p partner.ConsentParams) {
	t.Helper()
	if p.Source == "" {
		p.Source = "test"
	}
	if _, err := partner.RecordConsent(context.Background(), db.Pool, p); err != nil {
		t.Fatal(err)
	}
}

// member is a row of mart.member for tests.
type member struct {
	id, first, last, birth, zip string
}

func insertMembers(t testing.TB, db *pgtest.DB, members ...member) {
	t.Helper()
	for _, m := range members {
		mustExec(t, db, `INSERT INTO mart.member (member_id, first_name, last_name, birth_date, zip, gender, state)
			VALUES ($1, $2, $3, $4::date, nullif($5, ''), 'F', 'MA')`, m.id, m.first, m.last, m.birth, m.zip)
	}
}

// memberID returns the test member id number n.
func memberID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// claimID returns the test claim id number n.
func claimID(n int) string { return fmt.Sprintf("00000000-0000-4000-9000-%012d", n) }

// insertClaim inserts a claim with one line and the given ICD-10-CM
// diagnoses.
func insertClaim(t testing.TB, db *pgtest.DB, claim, member string, diagnoses ...string) {
	t.Helper()
	d := make([]any, 4)
	for i := range d {
		if i < len(diagnoses) {
			d[i] = diagnoses[i]
		}
	}
	mustExec(t, db, `INSERT INTO mart.claim (claim_id, member_id, claim_type, service_date, diagnosis_code_system,
			diagnosis_1, diagnosis_2, diagnosis_3, diagnosis_4)
		VALUES ($1, $2, 'professional', DATE '2025-03-01', 'ICD-10-CM', $3, $4, $5, $6)`, claim, member, d[0], d[1], d[2], d[3])
	mustExec(t, db, `INSERT INTO mart.claim_line (claim_id, line_number, member_id, service_from, procedure_code, procedure_code_system, paid_amount)
		VALUES ($1, 1, $2, DATE '2025-03-01', '99213', 'CPT', 80)`, claim, member)
}

// queryAsPartner runs sql in a transaction as partner slug's identity role,
// as the extract does, and returns the first column of each row as text.
func queryAsPartner(t testing.TB, db *pgtest.DB, slug, sql string) []string {
	t.Helper()
	got, err := tryQueryAsPartner(db, slug, sql)
	if err != nil {
		t.Fatalf("as partner %s: %s: %v", slug, sql, err)
	}
	return got
}

func tryQueryAsPartner(db *pgtest.DB, slug, sql string) ([]string, error) {
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{db.Name + "_p_" + slug}.Sanitize()); err != nil {
		return nil, err
	}
	return collectText(ctx, tx, sql)
}

type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// collectText returns the first column of every row of sql as text (NULL
// as "NULL"), sorted.
func collectText(ctx context.Context, q queryer, sql string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	values, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
		var v *string
		err := row.Scan(&v)
		if v == nil {
			return "NULL", err
		}
		return *v, err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(values)
	return values, nil
}

// connectLogin creates a reader login for partner slug and connects with it.
func connectLogin(t testing.TB, db *pgtest.DB, slug string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	login, err := partner.CreateLogin(ctx, db.Pool, slug, "reader")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = login.Role
	cfg.Password = login.Password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect as %s: %v", login.Role, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func requireSQLState(t testing.TB, err error, code, what string) *pgconn.PgError {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("%s: err = %v, want SQLSTATE %s", what, err, code)
	}
	if pgErr.Code != code {
		t.Fatalf("%s: SQLSTATE %s (%s), want %s", what, pgErr.Code, pgErr.Message, code)
	}
	return pgErr
}

func requireContains(t testing.TB, got, want, what string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s = %q, want it to contain %q", what, got, want)
	}
}

func equalSets(t testing.TB, what string, got, want []string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// queryInt returns the integer that sql selects.
func queryInt(t testing.TB, db *pgtest.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

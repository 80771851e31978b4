package extract_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/quality"
)

// qualitySetup creates three members, a partner with a roster view, a
// local destination and a csv feed without compression or encryption, and
// returns the database and the destination's folder.
func qualitySetup(t *testing.T) (*pgtest.DB, string) {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO mart.member (member_id, first_name, zip, birth_date) VALUES
		($1, 'Ann', '01970', '1970-01-02'), ($2, NULL, '01971', '1980-03-04'), ($3, 'Cy', NULL, '1990-05-06')`,
		memberA, memberB, memberC)
	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "treatment"}); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "roster", []byte(`{"dataset": "members", "columns": ["member_id", "first_name", "zip"]}`)); err != nil {
		t.Fatal(err)
	}
	exec(`SELECT axtract.consent_grant_all('acme', 'SELECT member_id FROM mart.member', DATE '2020-01-01')`)
	dir := t.TempDir()
	exec(`SELECT axtract.destination_define('acme', 'drop', 'local', jsonb_build_object('dir', $1::text))`, dir)
	exec(`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop', '{"encrypt": false, "compression": "none", "manifest": false}')`)
	return db, dir
}

func manualRunID(t *testing.T, db *pgtest.DB) int64 {
	t.Helper()
	var runID int64
	err := db.Pool.QueryRow(context.Background(), `INSERT INTO axtract.run (feed_id, slot, trigger)
		SELECT feed_id, clock_timestamp(), 'manual' FROM axtract.feed WHERE name = 'acme-roster' RETURNING run_id`).Scan(&runID)
	if err != nil {
		t.Fatal(err)
	}
	return runID
}

func runState(t *testing.T, db *pgtest.DB, runID int64) (status, outcome string) {
	t.Helper()
	err := db.Pool.QueryRow(context.Background(), `SELECT r.status, coalesce(q.outcome, '')
		FROM axtract.run r LEFT JOIN axtract.run_quality q USING (run_id) WHERE r.run_id = $1`, runID).Scan(&status, &outcome)
	if err != nil {
		t.Fatal(err)
	}
	return status, outcome
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestQualityHoldThenRelease(t *testing.T) {
	t.Parallel()
	db, dir := qualitySetup(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `SELECT axtract.feed_quality_set('acme-roster', '{"required_columns": ["first_name"], "on_fail": "hold"}')`); err != nil {
		t.Fatal(err)
	}
	runner := &extract.Runner{Pool: db.Pool}
	runID := manualRunID(t, db)

	_, err := runner.Run(ctx, runID, false)
	if !quality.IsHeld(err) {
		t.Fatalf("run with a NULL first name = %v, expected it held", err)
	}
	if status, outcome := runState(t, db, runID); status != "held" || outcome != "held" {
		t.Errorf("held run: status %s, outcome %s; expected held and held", status, outcome)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("held run left files %v, expected none", got)
	}

	if _, err := db.Pool.Exec(ctx, "SELECT axtract.run_release($1)", runID); err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(ctx, runID, false)
	if err != nil {
		t.Fatalf("released run: %v", err)
	}
	if res.Quality == nil || res.Quality.Outcome != quality.OutcomeReleased {
		t.Errorf("released run quality = %+v, expected released", res.Quality)
	}
	if status, outcome := runState(t, db, runID); status != "succeeded" || outcome != "released" {
		t.Errorf("released run: status %s, outcome %s; expected succeeded and released", status, outcome)
	}
	body, err := os.ReadFile(filepath.Join(dir, res.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if want := "member_id,first_name,zip\n"; len(body) < len(want) || string(body[:len(want)]) != want {
		t.Errorf("released file starts %q, expected the csv header %q", body, want)
	}
}

func TestQualityFail(t *testing.T) {
	t.Parallel()
	db, dir := qualitySetup(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `SELECT axtract.feed_quality_set('acme-roster', '{"min_rows": 4}')`); err != nil {
		t.Fatal(err)
	}
	runID := manualRunID(t, db)
	_, err := (&extract.Runner{Pool: db.Pool}).Run(ctx, runID, false)
	var check *quality.CheckError
	if !errors.As(err, &check) || check.Held() || !extract.IsPermanent(err) {
		t.Fatalf("run of 3 rows under min_rows 4 = %v, expected a permanent CheckError", err)
	}
	if status, outcome := runState(t, db, runID); status != "failed" || outcome != "failed" {
		t.Errorf("failed run: status %s, outcome %s; expected failed and failed", status, outcome)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("failed run left files %v, expected none", got)
	}
}

func TestQualityPassSameBytes(t *testing.T) {
	t.Parallel()
	db, dir := qualitySetup(t)
	ctx := context.Background()
	runner := &extract.Runner{Pool: db.Pool}

	bare, err := runner.Run(ctx, manualRunID(t, db), false)
	if err != nil {
		t.Fatal(err)
	}
	if bare.Quality != nil {
		t.Errorf("run without rules has quality %+v, expected none", bare.Quality)
	}
	if _, err := db.Pool.Exec(ctx, `SELECT axtract.feed_quality_set('acme-roster',
		'{"min_rows": 3, "max_null_pct": {"zip": 50}, "unique_columns": ["member_id"], "max_row_change_pct": 0}')`); err != nil {
		t.Fatal(err)
	}
	checked, err := runner.Run(ctx, manualRunID(t, db), false)
	if err != nil {
		t.Fatalf("run that passes its rules: %v", err)
	}
	if checked.Quality == nil || checked.Quality.Outcome != quality.OutcomePassed || checked.Quality.PreviousRows == nil {
		t.Errorf("checked run quality = %+v, expected passed against the previous run", checked.Quality)
	}
	a, _ := os.ReadFile(filepath.Join(dir, bare.FileName))
	b, _ := os.ReadFile(filepath.Join(dir, checked.FileName))
	if string(a) != string(b) || len(a) == 0 {
		t.Errorf("checked csv =\n%s\nexpected the bytes of the unchecked run\n%s", b, a)
	}
}

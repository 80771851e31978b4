package quality_test

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestMigrationDownAndUp runs the Down and Up sections of the quality
// migration by hand on a database with a held run, then the repeatable SQL
// twice, as axtract migrate would after a rollback.
func TestMigrationDownAndUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	body, err := os.ReadFile("../../migrations/00010_quality.sql")
	if err != nil {
		t.Fatal(err)
	}
	up, down, found := strings.Cut(string(body), "-- +goose Down")
	if !found {
		t.Fatal("migration has no -- +goose Down section")
	}
	b.setRules(t, `{"min_rows": 11, "on_fail": "hold"}`)
	runID := b.newRun(t, slot0)
	exec(t, b.db, "UPDATE axtract.run SET status = 'held' WHERE run_id = $1", runID)

	if _, err := b.db.Pool.Exec(ctx, down); err != nil {
		t.Fatalf("migrate down: %v", err)
	}
	if got := b.runStatus(t, runID); got != "failed" {
		t.Errorf("held run after migrating down = %s, expected failed", got)
	}
	var disabled int
	err = b.db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_trigger
		WHERE tgrelid = 'axtract.run'::regclass AND NOT tgisinternal AND tgenabled = 'D'`).Scan(&disabled)
	if err != nil {
		t.Fatal(err)
	}
	if disabled != 0 {
		t.Errorf("%d triggers of axtract.run are disabled after migrating down, expected none", disabled)
	}

	if _, err := b.db.Pool.Exec(ctx, strings.TrimPrefix(up, "-- +goose Up")); err != nil {
		t.Fatalf("migrate up again: %v", err)
	}
	functions, err := os.ReadFile("../../sql/57_quality.sql")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := b.db.Pool.Exec(ctx, string(functions)); err != nil {
			t.Fatalf("apply sql/57_quality.sql, time %d: %v", i+1, err)
		}
	}
	b.setRules(t, `{"min_rows": 1}`)
}

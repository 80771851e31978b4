package migrate_test

import (
	"context"
	"testing"

	"github.com/axtract/axtract/internal/migrate"
	"github.com/axtract/axtract/internal/pgtest"
)

func TestUpIsRepeatable(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()

	// The template was migrated already; a second Up must find nothing to do
	// and re-create the repeatable objects without error.
	if err := migrate.Up(ctx, db.Pool, migrate.Config{}); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	var tables int
	err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'river' AND tablename = 'river_job'").Scan(&tables)
	if err != nil {
		t.Fatal(err)
	}
	if tables != 1 {
		t.Errorf("river.river_job tables = %d, want 1", tables)
	}
	var prefix string
	if err := db.Pool.QueryRow(ctx, "SELECT axtract.role_prefix()").Scan(&prefix); err != nil {
		t.Fatal(err)
	}
	if prefix != db.Name {
		t.Errorf("role prefix = %q, want %q", prefix, db.Name)
	}
}

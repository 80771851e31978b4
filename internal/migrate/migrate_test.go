package migrate_test

import (
	"context"
	"strings"
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

func TestUpRejectsRolePrefixInUse(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	// The test database's own prefix has a role once access rules applied;
	// a second database must not take that prefix.
	other := pgtest.New(t)
	if _, err := other.Pool.Exec(ctx, "DELETE FROM axtract.instance"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "SELECT axtract.access_apply()"); err != nil {
		t.Fatal(err)
	}
	err := migrate.Up(ctx, other.Pool, migrate.Config{RolePrefix: db.Name})
	if err == nil {
		t.Fatalf("migrate took role prefix %s, which database %s uses", db.Name, db.Name)
	}
	if !strings.Contains(err.Error(), "AXTRACT_ROLE_PREFIX") {
		t.Errorf("error %q does not say how to choose another prefix", err)
	}
}

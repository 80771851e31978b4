// Package pgtest gives each test a fresh, fully migrated database on a real
// PostgreSQL server, and drops it, with the roles it created, when the test
// ends.
//
// The server is found like the product finds it: DATABASE_URL (which must
// allow CREATE DATABASE and CREATE ROLE), else a server on localhost, else a
// private cluster started from the installed server binaries. A template
// database is migrated once per migration set and cloned for every test.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/database"
	"github.com/axtract/axtract/internal/migrate"
	"github.com/axtract/axtract/migrations"
	sqlobjects "github.com/axtract/axtract/sql"
)

var (
	serverOnce sync.Once
	serverDSN  string
	serverErr  error
)

// AdminDSN returns a DSN with superuser rights on the test server, starting
// a private cluster when no server answers.
func AdminDSN(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var res *database.Resolved
		res, serverErr = database.Resolve(ctx, database.ResolveConfig{Name: "postgres"})
		if serverErr == nil {
			serverDSN = res.AdminURL
		}
	})
	if serverErr != nil {
		t.Fatalf("find a PostgreSQL server for tests: %v", serverErr)
	}
	return serverDSN
}

// DB is one test's database.
type DB struct {
	Name     string
	DSN      string
	AdminDSN string
	Pool     *pgxpool.Pool
}

// New creates a database cloned from the migrated template, opens a pool on
// it and registers cleanup that drops the database and its roles.
func New(t testing.TB) *DB {
	t.Helper()
	ctx := context.Background()
	admin := AdminDSN(t)
	template := ensureTemplate(t, admin)

	name := "axt_" + randomHex(6)
	conn := connect(t, admin)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize())); err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	dsn, err := database.WithDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	db := &DB{Name: name, DSN: dsn, AdminDSN: admin}
	t.Cleanup(func() { db.drop(t) })

	pool, err := database.OpenPool(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.Pool = pool
	// Roles are cluster-wide: the database name keeps this test's roles apart.
	if _, err := pool.Exec(ctx, "UPDATE axtract.instance SET role_prefix = $1", name); err != nil {
		t.Fatalf("set role prefix: %v", err)
	}
	// A clone does not inherit the template's database-level privileges, so
	// PUBLIC would hold CONNECT and TEMP again; take them away as migrate does.
	if _, err := pool.Exec(ctx, "SELECT axtract.access_apply()"); err != nil {
		t.Fatalf("apply access rules: %v", err)
	}
	return db
}

func (db *DB) drop(t testing.TB) {
	ctx := context.Background()
	if db.Pool != nil {
		db.Pool.Close()
	}
	conn, err := pgx.Connect(ctx, db.AdminDSN)
	if err != nil {
		t.Errorf("connect to drop %s: %v", db.Name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("drop test database %s: %v", db.Name, err)
	}
	rows, err := conn.Query(ctx, "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY length(rolname) DESC", db.Name+"_")
	if err != nil {
		t.Errorf("list roles of %s: %v", db.Name, err)
		return
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Errorf("list roles of %s: %v", db.Name, err)
		return
	}
	for _, role := range roles {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	}
}

// ensureTemplate migrates a template database named after the hash of the
// embedded SQL, once per server, under an advisory lock that serialises
// test binaries running in parallel.
func ensureTemplate(t testing.TB, admin string) string {
	t.Helper()
	ctx := context.Background()
	hash := schemaHash()[:12]
	name := "axt_template_" + hash

	conn := connect(t, admin)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext('axtract.pgtest.template'))"); err != nil {
		t.Fatalf("lock template: %v", err)
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(hashtext('axtract.pgtest.template'))")

	var ready bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&ready)
	if err != nil {
		t.Fatalf("look up template: %v", err)
	}
	if ready {
		return name
	}

	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatalf("drop stale template: %v", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create template: %v", err)
	}
	dsn, err := database.WithDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := database.OpenPool(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	// A prefix per template, because a prefix whose roles exist is rejected.
	err = migrate.Up(ctx, pool, migrate.Config{RolePrefix: "axt_t" + hash})
	pool.Close()
	if err != nil {
		t.Fatalf("migrate template: %v", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH IS_TEMPLATE true"); err != nil {
		t.Fatalf("mark template: %v", err)
	}
	return name
}

func schemaHash() string {
	h := sha256.New()
	for _, fsys := range []fs.FS{migrations.FS, sqlobjects.FS} {
		names, _ := fs.Glob(fsys, "*.sql")
		sort.Strings(names)
		for _, n := range names {
			body, _ := fs.ReadFile(fsys, n)
			h.Write([]byte(n))
			h.Write(body)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", database.Redact(dsn), err)
	}
	return conn
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

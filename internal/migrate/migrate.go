// Package migrate brings a database to the schema this binary expects: the
// embedded goose migrations, River's own migrations in schema river, and the
// repeatable objects of sql/, in that order.
package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/axtract/axtract/internal/logging"
	"github.com/axtract/axtract/migrations"
	sqlobjects "github.com/axtract/axtract/sql"
)

// RiverSchema is the schema that holds River's tables.
const RiverSchema = "river"

// Config tunes Up.
type Config struct {
	// RolePrefix is the prefix of the roles AxTract creates in this database.
	// It is set once, on the first migrate. Default: the database name, when
	// it is a valid prefix.
	RolePrefix string
	Logger     *slog.Logger
}

var rolePrefixRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,23}$`)

// Up applies every pending migration and re-creates the repeatable objects.
// It is safe to run from several processes at once: goose holds an advisory
// lock, and the repeatable objects are created under another.
func Up(ctx context.Context, pool *pgxpool.Pool, cfg Config) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	if err := gooseUp(ctx, pool, logger); err != nil {
		return err
	}
	if err := riverUp(ctx, pool, logger); err != nil {
		return err
	}
	if err := ensureInstance(ctx, pool, cfg.RolePrefix); err != nil {
		return err
	}
	return applyRepeatable(ctx, pool, logger)
}

func gooseUp(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()

	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("create migration lock: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("load embedded migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		logger.Info("applied migration", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

func riverUp(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+RiverSchema); err != nil {
		return fmt.Errorf("create schema %s: %w", RiverSchema, err)
	}
	// River's migrator logs each step itself at info; only its warnings are
	// passed on, and the versions applied are logged below.
	quiet := logging.WarnOnly(logger)
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: RiverSchema, Logger: quiet})
	if err != nil {
		return fmt.Errorf("create River migrator: %w", err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("apply River migrations: %w", err)
	}
	for _, v := range res.Versions {
		logger.Info("applied River migration", "version", v.Version, "name", v.Name)
	}
	return nil
}

// ensureInstance records the role prefix on the first migrate. Later calls
// leave it alone, because roles already carry it.
func ensureInstance(ctx context.Context, pool *pgxpool.Pool, prefix string) error {
	var current string
	err := pool.QueryRow(ctx, "SELECT role_prefix FROM axtract.instance").Scan(&current)
	if err == nil {
		if prefix != "" && prefix != current {
			return fmt.Errorf("role prefix is already %q in this database; AXTRACT_ROLE_PREFIX=%q cannot change it", current, prefix)
		}
		return nil
	}
	if err != pgx.ErrNoRows {
		return fmt.Errorf("read axtract.instance: %w", err)
	}
	if prefix == "" {
		if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&prefix); err != nil {
			return fmt.Errorf("read database name: %w", err)
		}
		if !rolePrefixRE.MatchString(prefix) {
			return fmt.Errorf("database name %q is not a valid role prefix (lowercase letters, digits and _, at most 24 characters); set AXTRACT_ROLE_PREFIX", prefix)
		}
	}
	if !rolePrefixRE.MatchString(prefix) {
		return fmt.Errorf("role prefix %q is invalid: use lowercase letters, digits and _, starting with a letter, at most 24 characters", prefix)
	}
	// Roles are shared by every database of the cluster: a prefix whose roles
	// exist already belongs to another AxTract database.
	var taken string
	err = pool.QueryRow(ctx, "SELECT coalesce(min(rolname), '') FROM pg_roles WHERE starts_with(rolname, $1)", prefix+"_").Scan(&taken)
	if err != nil {
		return fmt.Errorf("check role prefix %q: %w", prefix, err)
	}
	if taken != "" {
		return fmt.Errorf("role prefix %q is in use by another database of this cluster (role %s exists); set AXTRACT_ROLE_PREFIX to another prefix", prefix, taken)
	}
	_, err = pool.Exec(ctx, "INSERT INTO axtract.instance (role_prefix) VALUES ($1) ON CONFLICT DO NOTHING", prefix)
	if err != nil {
		return fmt.Errorf("record role prefix: %w", err)
	}
	return nil
}

// applyRepeatable runs every file of sql/ in one transaction.
func applyRepeatable(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	names, err := fs.Glob(sqlobjects.FS, "*.sql")
	if err != nil {
		return fmt.Errorf("list repeatable SQL: %w", err)
	}
	sort.Strings(names)

	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin repeatable SQL: %w", err)
	}
	defer tx.Rollback(ctx)

	// One key for every AxTract process: two migrates never interleave here.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('axtract.repeatable'))"); err != nil {
		return fmt.Errorf("lock repeatable SQL: %w", err)
	}
	for _, name := range names {
		body, err := fs.ReadFile(sqlobjects.FS, name)
		if err != nil {
			return fmt.Errorf("read sql/%s: %w", name, err)
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return fmt.Errorf("apply sql/%s: %w", name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit repeatable SQL: %w", err)
	}
	logger.Info("applied repeatable SQL", "files", strings.Join(names, ","))
	return nil
}

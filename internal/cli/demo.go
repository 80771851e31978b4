package cli

import (
	"context"
	"flag"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/database"
	"github.com/axtract/axtract/internal/demo"
	"github.com/axtract/axtract/internal/migrate"
)

// demoDatabase is the scratch database the demo creates and replaces on
// each run; its name is also the prefix of the roles it creates.
const demoDatabase = "axtract_demo"

func runDemo(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "demo", "demo [--synthea DIR] [flags]")
	syntheaDir := fs.String("synthea", "", "load this Synthea CSV export instead of generated data")
	members := fs.Int("members", 5000, "members to generate")
	claimLines := fs.Int("claim-lines", 100000, "medical claim lines to generate")
	outDir := fs.String("out", "axtract-demo", "folder for keys, the local destination and the SFTP server's files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The demo prints its own summary; logs below warn would bury it.
	levelSet := env.Getenv("AXTRACT_LOG_LEVEL") != ""
	fs.Visit(func(f *flag.Flag) { levelSet = levelSet || f.Name == "log-level" })
	if !levelSet {
		g.logLevel = "warn"
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := g.logger(env)

	res, err := database.Resolve(ctx, database.ResolveConfig{URL: g.url(), Name: demoDatabase, Logger: logger})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "using PostgreSQL from %s; the demo works in database %s, replaced on every run\n", res.Source, demoDatabase)
	dsn, err := resetDemoDatabase(ctx, res.AdminURL)
	if err != nil {
		return err
	}
	pool, err := database.OpenPool(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrate.Up(ctx, pool, migrate.Config{RolePrefix: demoDatabase, Logger: logger}); err != nil {
		return err
	}

	load := func(ctx context.Context, pool *pgxpool.Pool) (string, error) {
		if *syntheaDir != "" {
			return importSynthea(ctx, pool, *syntheaDir, logger)
		}
		return generateMart(ctx, pool, generateOptions{members: *members, claimLines: *claimLines, seed: 1}, logger)
	}
	_, err = demo.Run(ctx, demo.Config{Pool: pool, Logger: logger, OutDir: *outDir, Load: load, Out: env.Stdout})
	return err
}

// resetDemoDatabase drops the demo database and its roles, creates it
// again and returns its DSN.
func resetDemoDatabase(ctx context.Context, adminDSN string) (string, error) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", database.Redact(adminDSN), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+demoDatabase+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop previous demo database: %w", err)
	}
	rows, err := conn.Query(ctx, "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", demoDatabase+"_")
	if err != nil {
		return "", err
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	for _, r := range roles {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
			return "", fmt.Errorf("drop previous demo role %s: %w", r, err)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+demoDatabase); err != nil {
		return "", fmt.Errorf("create demo database: %w", err)
	}
	return database.WithDatabase(adminDSN, demoDatabase)
}

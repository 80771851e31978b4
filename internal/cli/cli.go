// Package cli implements the axtract command: it parses arguments, calls
// into the domain packages and returns an exit code.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/database"
	"github.com/axtract/axtract/internal/migrate"
)

// Env holds the process's standard streams and environment, so tests can
// run commands in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "start or find a database, load data, set up three partners and deliver their feeds", runDemo},
		{"migrate", "apply migrations and re-create the repeatable SQL objects", runMigrate},
		{"import", "load source data: import synthea DIR", runImport},
		{"generate", "write a deterministic synthetic mart", runGenerate},
		{"partner", "manage partners: create, list, key add, view define, login create|rotate|revoke|list, access check", runPartner},
		{"consent", "record consents: grant, deny, revoke, load from CSV, set the default", runConsent},
		{"disclosures", "accounting of disclosures: member, partner", runDisclosures},
		{"destination", "define where a partner's files go: define", runDestination},
		{"feed", "manage feeds: define, list, next, run, runs, retry, rerun, backfill, pause, resume, signal", runFeed},
		{"quality", "feed quality rules and held runs: set, show, held, result, release, discard", runQuality},
		{"serve", "run the workers, the scheduler, the portal, the APIs and the health and metrics endpoints", runServe},
		{"user", "portal accounts: add, passwd, role, list, disable, enable, unlock", runUser},
		{"token", "partner API tokens: create, list, revoke", runToken},
		{"webhook", "partner webhooks: define, list", runWebhook},
	}
}

// usageError is a mistake in the command line; it prints usage, not a stack of causes.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// Run executes the command line args and returns the exit code: 0 on
// success, 1 on failure, 2 on a usage error.
func Run(ctx context.Context, args []string, env *Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.Stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		if len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") && c.name != "migrate" && c.name != "serve" && c.name != "demo" && c.name != "generate" {
			fmt.Fprintf(env.Stdout, "axtract %s: %s\nRun axtract %s SUBCOMMAND -h for its flags.\n", c.name, c.summary, c.name)
			return 0
		}
		err := c.run(ctx, env, args[1:])
		if err == nil {
			return 0
		}
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(env.Stderr, "axtract %s: %v\n", c.name, err)
		// The control-schema functions put the valid values in the hint,
		// which some callers already added to the message.
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Hint != "" && !strings.Contains(err.Error(), pgErr.Hint) {
			fmt.Fprintf(env.Stderr, "hint: %s\n", pgErr.Hint)
		}
		var ue *usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	fmt.Fprintf(env.Stderr, "axtract: unknown command %q; run axtract help for the list\n", args[0])
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "axtract: partner data feeds from a PostgreSQL data mart.")
	fmt.Fprintln(w, "\nUsage: axtract COMMAND [flags]\n\nCommands:")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --database-url (default: $DATABASE_URL; when unset, a server on")
	fmt.Fprintln(w, "localhost, else a private cluster started from the installed PostgreSQL binaries).")
	fmt.Fprintln(w, "Run axtract COMMAND -h for its flags.")
}

// globalFlags are the flags every database command takes.
type globalFlags struct {
	databaseURL string
	logFormat   string
	logLevel    string
	env         *Env
}

// url returns --database-url, or DATABASE_URL when the flag is not given.
func (g *globalFlags) url() string {
	if g.databaseURL != "" {
		return g.databaseURL
	}
	return g.env.Getenv("DATABASE_URL")
}

func newFlagSet(env *Env, name, usage string) (*flag.FlagSet, *globalFlags) {
	fs := flag.NewFlagSet("axtract "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	g := &globalFlags{}
	// The default is read after parsing, not shown in -h, because the URL
	// may hold a password.
	fs.StringVar(&g.databaseURL, "database-url", "", "PostgreSQL connection string (default: env DATABASE_URL)")
	g.env = env
	fs.StringVar(&g.logFormat, "log-format", envOr(env, "AXTRACT_LOG_FORMAT", "text"), "log format: text or json (env AXTRACT_LOG_FORMAT)")
	fs.StringVar(&g.logLevel, "log-level", envOr(env, "AXTRACT_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env AXTRACT_LOG_LEVEL)")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: axtract %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs, g
}

func envOr(env *Env, key, def string) string {
	if v := env.Getenv(key); v != "" {
		return v
	}
	return def
}

func (g *globalFlags) logger(env *Env) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(g.logFormat, "json") {
		return slog.New(slog.NewJSONHandler(env.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(env.Stderr, opts))
}

// session is an open database for one command.
type session struct {
	pool     *pgxpool.Pool
	resolved *database.Resolved
	logger   *slog.Logger
}

func (s *session) Close() {
	s.pool.Close()
}

// open resolves and connects to the database. With doMigrate, it brings the
// schema up to date first; without, it checks that migrate has run.
func (g *globalFlags) open(ctx context.Context, env *Env, doMigrate bool) (*session, error) {
	logger := g.logger(env)
	res, err := database.Resolve(ctx, database.ResolveConfig{URL: g.url(), Logger: logger})
	if err != nil {
		return nil, err
	}
	pool, err := database.OpenPool(ctx, res.URL)
	if err != nil {
		return nil, err
	}
	s := &session{pool: pool, resolved: res, logger: logger}
	if doMigrate {
		if err := migrate.Up(ctx, pool, migrate.Config{RolePrefix: env.Getenv("AXTRACT_ROLE_PREFIX"), Logger: logger}); err != nil {
			pool.Close()
			return nil, err
		}
		return s, nil
	}
	var ready bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('axtract.instance') IS NOT NULL").Scan(&ready); err != nil {
		pool.Close()
		return nil, fmt.Errorf("check schema: %w", err)
	}
	if !ready {
		pool.Close()
		return nil, fmt.Errorf("database %s has no AxTract schema; run axtract migrate first", database.Redact(res.URL))
	}
	return s, nil
}

func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "migrate", "migrate [flags]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := g.open(ctx, env, true)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(env.Stdout, "database %s is up to date\n", database.Redact(s.resolved.URL))
	return nil
}

// positional returns the flag set's arguments after checking their count.
func positional(fs *flag.FlagSet, names ...string) ([]string, error) {
	if fs.NArg() != len(names) {
		return nil, usagef("want %d argument(s) (%s), got %d; run with -h for usage", len(names), strings.Join(names, " "), fs.NArg())
	}
	return fs.Args(), nil
}

// parseAndOpen parses args with fs, checks that the positional arguments
// are the ones names lists, and opens the database. The caller closes the
// session.
func (g *globalFlags) parseAndOpen(ctx context.Context, env *Env, fs *flag.FlagSet, args []string, names ...string) (*session, []string, error) {
	if err := parseInterspersed(fs, args); err != nil {
		return nil, nil, err
	}
	pos, err := positional(fs, names...)
	if err != nil {
		return nil, nil, err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return nil, nil, err
	}
	return s, pos, nil
}

// parseInterspersed parses flags that may come after positional arguments,
// as in "feed run NAME --enqueue".
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(append([]string{"--"}, rest...))
}

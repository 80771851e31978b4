// Package database finds the PostgreSQL server AxTract uses and opens pools on it.
//
// The order is: an explicit URL (flag or DATABASE_URL), then a server on
// localhost reached with libpq defaults, then a private cluster that AxTract
// initialises and starts from the installed PostgreSQL server binaries.
package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultName is the database AxTract creates and uses on a discovered server.
const DefaultName = "axtract"

// ResolveConfig selects the places Resolve looks for a server.
type ResolveConfig struct {
	// URL is a libpq connection string or URL. Empty means DATABASE_URL, and
	// when that is empty too, discovery.
	URL string
	// Name is the database to use on a discovered server or private cluster.
	// Default: DefaultName.
	Name string
	// DataDir is the directory of a private cluster. Default: PrivateClusterDir().
	DataDir string
	// Logger receives one line saying which server was chosen.
	Logger *slog.Logger
}

// Resolved is the outcome of Resolve: a URL for the AxTract database, an
// admin URL on the same server, and a Stop function for a private cluster.
type Resolved struct {
	URL      string
	AdminURL string
	Source   string
	Stop     func() error
}

// Resolve returns a connection URL for an AxTract database, creating the
// database on a discovered server or private cluster when it is missing.
func Resolve(ctx context.Context, cfg ResolveConfig) (*Resolved, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.URL == "" {
		cfg.URL = os.Getenv("DATABASE_URL")
	}
	if cfg.URL != "" {
		if err := Ping(ctx, cfg.URL); err != nil {
			return nil, fmt.Errorf("connect to %s: %w; check the URL or unset DATABASE_URL to let AxTract find or start a server", Redact(cfg.URL), err)
		}
		logger.Debug("using database", "url", Redact(cfg.URL), "source", "url")
		return &Resolved{URL: cfg.URL, AdminURL: cfg.URL, Source: "url", Stop: func() error { return nil }}, nil
	}

	if admin, ok := localServer(ctx); ok {
		target, err := ensureDatabase(ctx, admin, cfg.Name)
		if err != nil {
			return nil, err
		}
		logger.Debug("using database", "url", Redact(target), "source", "localhost")
		return &Resolved{URL: target, AdminURL: admin, Source: "localhost", Stop: func() error { return nil }}, nil
	}

	dir := cfg.DataDir
	if dir == "" {
		dir = PrivateClusterDir()
	}
	cluster, err := StartPrivateCluster(ctx, dir, logger)
	if err != nil {
		return nil, err
	}
	target, err := ensureDatabase(ctx, cluster.AdminURL, cfg.Name)
	if err != nil {
		_ = cluster.Stop()
		return nil, err
	}
	logger.Debug("using database", "url", Redact(target), "source", "private cluster", "data_dir", dir)
	return &Resolved{URL: target, AdminURL: cluster.AdminURL, Source: "private cluster", Stop: cluster.Stop}, nil
}

// localServer tries a server on localhost with libpq defaults (PGHOST,
// PGPORT, PGUSER and the rest) and returns an admin URL when one accepts a connection.
func localServer(ctx context.Context) (string, bool) {
	candidates := []string{"dbname=postgres"}
	if os.Getenv("PGHOST") == "" {
		candidates = append(candidates, "host=127.0.0.1 dbname=postgres", "host=127.0.0.1 dbname=postgres user=postgres")
	}
	for _, dsn := range candidates {
		pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := Ping(pingCtx, dsn)
		cancel()
		if err == nil {
			return dsn, true
		}
	}
	return "", false
}

// Ping opens one connection to dsn and closes it.
func Ping(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// ensureDatabase creates database name on the server of adminDSN when it is
// missing and returns a DSN for it.
func ensureDatabase(ctx context.Context, adminDSN, name string) (string, error) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", Redact(adminDSN), err)
	}
	defer conn.Close(ctx)

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up database %q: %w", name, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			var already bool
			_ = conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&already)
			if !already {
				return "", fmt.Errorf("create database %q: %w", name, err)
			}
		}
	}
	return WithDatabase(adminDSN, name)
}

// WithDatabase returns dsn with its database replaced by name. It accepts
// both URL and keyword/value forms.
func WithDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse database URL: %w", err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	var kept []string
	for _, field := range strings.Fields(dsn) {
		if !strings.HasPrefix(field, "dbname=") {
			kept = append(kept, field)
		}
	}
	kept = append(kept, "dbname="+quoteKeywordValue(name))
	return strings.Join(kept, " "), nil
}

func quoteKeywordValue(v string) string {
	if v != "" && !strings.ContainsAny(v, ` '\`) {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// Redact returns dsn with any password removed, for logs and errors.
func Redact(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "(unparseable connection string)"
	}
	host := cfg.Host
	if strings.HasPrefix(host, "/") {
		host = "socket " + host
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, host, cfg.Port, cfg.Database)
}

// OpenPool opens a pool and checks that it reaches the server.
func OpenPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse connection string: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool on %s: %w", Redact(dsn), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(dsn), err)
	}
	return pool, nil
}

// ErrNoServerBinaries is returned when no server accepts a connection and no PostgreSQL
// server binaries are installed to start a private cluster.
var ErrNoServerBinaries = errors.New("no PostgreSQL server accepted a connection and no PostgreSQL server binaries (initdb, pg_ctl) were found; " +
	"install them (Debian and Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16), " +
	"or set DATABASE_URL to a PostgreSQL 15 or newer server")

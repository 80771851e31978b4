// Package generate fills an empty mart with synthetic, realistic and fully
// deterministic data: payers, organizations, providers, members with their
// coverage and chronic conditions, medical claims with lines, pharmacy
// claims and lab results.
//
// The same Config produces the same rows, byte for byte, on every run. Every
// value comes from a PCG generator seeded from Config.Seed and the row's
// entity and index, and every id is a UUID derived from the same. loaded_at
// is Config.LoadedAt rather than the clock. Rows stream to PostgreSQL through
// COPY while they are generated, so memory stays flat however many claim
// lines are requested. Only the organizations, the providers and one chunk
// of 1000 members per worker are held in memory.
//
// Generate writes into a mart without members and fails with
// ErrMartNotEmpty otherwise, because the ids of two runs of one Config
// would collide.
//
// Generated people are invented. SSNs use area numbers 900-999, which are
// never issued, phone numbers the 555-01XX range reserved for fiction, and
// provider and organization NPIs pass the CMS check-digit test but are drawn
// at random, so some may belong to real providers.
package generate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config sizes and seeds the generated data. Counts that are 0 take their
// default, and for ClaimLines, PharmacyClaims and Labs a negative count
// means none.
type Config struct {
	// Members is the number of members. Default 1000.
	Members int

	// ClaimLines is the exact number of medical claim lines. They are spread
	// over claims of 1 to 10 lines, most of 1 to 4, and over members by age
	// and chronic conditions. About 15% of healthy members have none.
	// Default 8 per member.
	ClaimLines int

	// PharmacyClaims is the exact number of pharmacy claims. Default 4 per
	// member.
	PharmacyClaims int

	// Labs is the exact number of lab results (mart.observation). Default 3
	// per member.
	Labs int

	// Providers is the number of providers, at least 10. Default one per 50
	// members, and at least 20. The number of hospitals, clinics and
	// provider groups grows with it, and the number of pharmacies with
	// Members.
	Providers int

	// Seed selects the data set. Every value, 0 included, is a different
	// seed.
	Seed int64

	// LoadedAt is the loaded_at of every row and the as-of date of the
	// data: ages are measured on its UTC date, and claims, fills and labs
	// fall in the three years before it. Default 2025-01-01T00:00:00Z.
	LoadedAt time.Time

	// Workers is the number of connections Generate copies on at once,
	// capped by the pool's MaxConns. Each worker holds its connection until
	// all have finished, so the pool needs that many free connections. The
	// data does not depend on it. Default GOMAXPROCS.
	Workers int
}

// DefaultLoadedAt is the LoadedAt of a Config that sets none.
var DefaultLoadedAt = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// withDefaults returns cfg with its zero fields set to their defaults, or
// an error naming the first invalid field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Members < 0 {
		return cfg, fmt.Errorf("config field Members is %d, want 1 or more (0 for the default of 1000)", cfg.Members)
	}
	if cfg.Members == 0 {
		cfg.Members = 1000
	}
	cfg.ClaimLines = countOrDefault(cfg.ClaimLines, 8*cfg.Members)
	cfg.PharmacyClaims = countOrDefault(cfg.PharmacyClaims, 4*cfg.Members)
	cfg.Labs = countOrDefault(cfg.Labs, 3*cfg.Members)
	if cfg.Providers == 0 {
		cfg.Providers = max(20, cfg.Members/50)
	}
	if cfg.Providers < 10 {
		return cfg, fmt.Errorf("config field Providers is %d, want 10 or more (0 for the default)", cfg.Providers)
	}
	if cfg.Workers < 0 {
		return cfg, fmt.Errorf("config field Workers is %d, want 1 or more (0 for the default)", cfg.Workers)
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.LoadedAt.IsZero() {
		cfg.LoadedAt = DefaultLoadedAt
	}
	cfg.LoadedAt = cfg.LoadedAt.UTC()
	return cfg, nil
}

func countOrDefault(n, def int) int {
	switch {
	case n < 0:
		return 0
	case n == 0:
		return def
	}
	return n
}

// Result counts the generated rows per mart table.
type Result struct {
	// Tables lists the tables in the order they were filled.
	Tables []TableCount
}

// TableCount is the number of rows generated into one mart table.
type TableCount struct {
	Table string
	Rows  int64
}

// Rows returns the number of rows generated into table, or 0.
func (r *Result) Rows(table string) int64 {
	for _, t := range r.Tables {
		if t.Table == table {
			return t.Rows
		}
	}
	return 0
}

// ErrMartNotEmpty is returned when the mart already has members. Generated
// ids depend only on the Config, so generating twice into one mart would
// collide; generate into a freshly migrated database instead.
var ErrMartNotEmpty = errors.New("mart.member already has rows; generate into a freshly migrated database")

// Generate fills the empty mart on up to cfg.Workers connections of pool at
// once, each copying the rows of its own range of members in its own
// transaction. The workers commit only when all of them have succeeded, and
// on error Generate deletes the payers, organizations and providers it
// committed first, so the mart is left as it was.
//
// NOTE: if one worker's COMMIT fails after another's succeeded, the mart
// keeps part of the data. The error then reports how many member ranges
// were committed, and the database should be recreated.
func Generate(ctx context.Context, pool *pgxpool.Pool, cfg Config, logger *slog.Logger) (*Result, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	start := time.Now()
	g := newGenerator(cfg)
	runs := g.ranges(min(cfg.Workers, int(pool.Config().MaxConns)))

	counts := &tableCounts{}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := checkEmpty(ctx, tx); err != nil {
			return err
		}
		return g.copyReference(ctx, tx, counts)
	}); err != nil {
		return nil, err
	}

	if committed, err := g.runWorkers(ctx, pool, runs, counts); err != nil {
		if committed {
			return nil, err
		}
		if cleanupErr := g.deleteReference(pool); cleanupErr != nil {
			return nil, fmt.Errorf("%w (and deleting the payers, organizations and providers it copied failed: %v)", err, cleanupErr)
		}
		return nil, err
	}

	result := &Result{Tables: counts.tables}
	logResult(ctx, logger, cfg, len(runs), result, start)
	return result, nil
}

// GenerateTx fills the mart within tx on its one connection, so the caller
// can commit other work with it; it ignores cfg.Workers. It fails with
// ErrMartNotEmpty if mart.member has rows, and with an error naming the
// field if cfg is invalid. On error the transaction is unusable and must be
// rolled back. A nil logger discards the log.
func GenerateTx(ctx context.Context, tx pgx.Tx, cfg Config, logger *slog.Logger) (*Result, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if err := checkEmpty(ctx, tx); err != nil {
		return nil, err
	}

	start := time.Now()
	g := newGenerator(cfg)
	counts := &tableCounts{}
	if err := g.copyReference(ctx, tx, counts); err != nil {
		return nil, err
	}
	run := g.ranges(1)[0]
	if err := g.newWorker(run[0]).run(ctx, tx, run[0], run[1], counts); err != nil {
		return nil, err
	}

	result := &Result{Tables: counts.tables}
	logResult(ctx, logger, cfg, 1, result, start)
	return result, nil
}

func checkEmpty(ctx context.Context, tx pgx.Tx) error {
	var hasMembers bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM mart.member)").Scan(&hasMembers); err != nil {
		return fmt.Errorf("generate: check that the mart is empty: %w", err)
	}
	if hasMembers {
		return fmt.Errorf("generate: %w", ErrMartNotEmpty)
	}
	return nil
}

func logResult(ctx context.Context, logger *slog.Logger, cfg Config, workers int, result *Result, start time.Time) {
	for _, t := range result.Tables {
		logger.DebugContext(ctx, "generated mart table", "table", t.Table, "rows", t.Rows)
	}
	logger.InfoContext(ctx, "generated synthetic mart",
		"seed", cfg.Seed, "members", cfg.Members, "claim_lines", result.Rows("claim_line"),
		"workers", workers, "elapsed", time.Since(start).Round(time.Millisecond))
}

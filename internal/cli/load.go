package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/synthea"
	"github.com/axtract/axtract/worker"
)

// importEvent is the event an import signals when it commits.
const importEvent = "mart_loaded"

func runImport(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "synthea" {
		return usagef("want: import synthea DIR")
	}
	fs, g := newFlagSet(env, "import synthea", "import synthea DIR [flags]")
	event := fs.String("signal", importEvent, "event signalled in the import's transaction, which enqueues the feeds waiting for it; empty for none")
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return err
	}
	pos, err := positional(fs, "DIR")
	if err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	summary, err := importSyntheaSignal(ctx, s.pool, pos[0], *event, s.logger)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, summary)
	return nil
}

// importSynthea imports dir, signals importEvent, and returns a table of
// what changed.
func importSynthea(ctx context.Context, pool *pgxpool.Pool, dir string, logger *slog.Logger) (string, error) {
	return importSyntheaSignal(ctx, pool, dir, importEvent, logger)
}

// importSyntheaSignal imports dir and signals event (unless it is empty) in
// the same transaction, so the feeds waiting for the event are enqueued
// exactly when the import commits. Returns a table of what changed.
func importSyntheaSignal(ctx context.Context, pool *pgxpool.Pool, dir, event string, logger *slog.Logger) (string, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("begin import: %w", err)
	}
	defer tx.Rollback(ctx)
	res, err := synthea.ImportTx(ctx, tx, dir, logger)
	if err != nil {
		return "", err
	}
	runs := 0
	if event != "" {
		if runs, err = worker.SignalTx(ctx, tx, event); err != nil {
			return "", err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("commit import: %w", err)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "imported Synthea export %s:\n", dir)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TABLE\tREAD\tINSERTED\tUPDATED\tUNCHANGED\t")
	for _, t := range res.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", t.Table, t.Read, t.Inserted, t.Updated, t.Unchanged)
	}
	tw.Flush()
	if event != "" {
		fmt.Fprintf(&b, "signalled %s: enqueued %d runs\n", event, runs)
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

type generateOptions struct {
	members, claimLines int
	seed                int64
}

func runGenerate(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "generate", "generate [flags]")
	members := fs.Int("members", 10000, "members to generate")
	claimLines := fs.Int("claim-lines", 0, "medical claim lines to generate (default 8 per member)")
	seed := fs.Int64("seed", 1, "seed; the same seed and sizes give the same data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *members < 1 || *claimLines < 0 {
		return usagef("--members must be at least 1, and --claim-lines at least 0 (0 means 8 per member)")
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	summary, err := generateMart(ctx, s.pool, generateOptions{members: *members, claimLines: *claimLines, seed: *seed}, s.logger)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, summary)
	return nil
}

// generateMart writes a synthetic mart and returns a line saying what it wrote.
func generateMart(ctx context.Context, pool *pgxpool.Pool, o generateOptions, logger *slog.Logger) (string, error) {
	res, err := generate.Generate(ctx, pool, generate.Config{Members: o.members, ClaimLines: o.claimLines, Seed: o.seed}, logger)
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, len(res.Tables))
	for _, t := range res.Tables {
		parts = append(parts, fmt.Sprintf("%s %d", t.Table, t.Rows))
	}
	return fmt.Sprintf("generated a synthetic mart (seed %d): %s", o.seed, strings.Join(parts, ", ")), nil
}

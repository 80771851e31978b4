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
)

func runImport(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "synthea" {
		return usagef("want: import synthea DIR")
	}
	fs, g := newFlagSet(env, "import synthea", "import synthea DIR [flags]")
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
	summary, err := importSynthea(ctx, s.pool, pos[0], s.logger)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, summary)
	return nil
}

// importSynthea imports dir and returns a table of what changed.
func importSynthea(ctx context.Context, pool *pgxpool.Pool, dir string, logger *slog.Logger) (string, error) {
	res, err := synthea.Import(ctx, pool, dir, logger)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "imported Synthea export %s:\n", dir)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TABLE\tREAD\tINSERTED\tUPDATED\tUNCHANGED\t")
	for _, t := range res.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", t.Table, t.Read, t.Inserted, t.Updated, t.Unchanged)
	}
	tw.Flush()
	return strings.TrimRight(b.String(), "\n"), nil
}

type generateOptions struct {
	members, claimLines int
	seed                int64
}

func runGenerate(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "generate", "generate [flags]")
	members := fs.Int("members", 10000, "members to generate")
	claimLines := fs.Int("claim-lines", 200000, "medical claim lines to generate")
	seed := fs.Int64("seed", 1, "seed; the same seed and sizes give the same data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *members < 1 || *claimLines < 0 {
		return usagef("--members must be at least 1 and --claim-lines at least 0")
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

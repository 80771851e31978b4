package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/quality"
	"github.com/axtract/axtract/internal/store"
)

const qualitySubcommands = "set, show, held, result, release or discard"

// runQuality manages the quality rules of feeds and the runs they hold
// (docs/quality.md). Each subcommand calls one control-schema function, so
// it checks and audits exactly what the portal does.
func runQuality(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: %s", qualitySubcommands)
	}
	switch args[0] {
	case "set":
		return qualitySet(ctx, env, args[1:])
	case "show":
		return qualityShow(ctx, env, args[1:])
	case "held":
		return qualityHeld(ctx, env, args[1:])
	case "result":
		return qualityResult(ctx, env, args[1:])
	case "release":
		return qualityRelease(ctx, env, args[1:])
	case "discard":
		return qualityDiscard(ctx, env, args[1:])
	}
	return usagef("unknown quality subcommand %q; use %s", args[0], qualitySubcommands)
}

func qualitySet(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "quality set", "quality set FEED (--rules JSON | --rules-file PATH) [flags]")
	rulesFlag := fs.String("rules", "", `JSON object of rules, e.g. '{"min_rows": 1000, "required_columns": ["member_id"], "on_fail": "hold"}'; '{}' removes them`)
	rulesFile := fs.String("rules-file", "", "file holding the JSON rules; - reads standard input")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "FEED")
	if err != nil {
		return err
	}
	rules, err := readRules(env, *rulesFlag, *rulesFile)
	if err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	var stored []byte
	if err := s.pool.QueryRow(ctx, `SELECT axtract.feed_quality_set($1, $2::jsonb)`, pos[0], rules).Scan(&stored); err != nil {
		return fmt.Errorf("set quality rules of feed %s: %w", pos[0], err)
	}
	if string(stored) == "{}" {
		fmt.Fprintf(env.Stdout, "removed the quality rules of feed %s\n", pos[0])
		return nil
	}
	fmt.Fprintf(env.Stdout, "set the quality rules of feed %s: %s\n", pos[0], stored)
	return nil
}

// readRules returns the rules of exactly one of --rules and --rules-file,
// checked to be JSON.
func readRules(env *Env, inline, file string) ([]byte, error) {
	if (inline == "") == (file == "") {
		return nil, usagef("give the rules with either --rules or --rules-file")
	}
	rules := []byte(inline)
	if file != "" {
		var err error
		if file == "-" {
			rules, err = io.ReadAll(env.Stdin)
		} else {
			rules, err = os.ReadFile(file)
		}
		if err != nil {
			return nil, fmt.Errorf("read quality rules: %w", err)
		}
	}
	if err := partner.CheckJSON("the quality rules", rules); err != nil {
		return nil, usagef("%v; docs/quality.md lists the rules", err)
	}
	return rules, nil
}

func qualityShow(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "quality show", "quality show FEED [flags]")
	s, pos, err := g.parseAndOpen(ctx, env, fs, args, "FEED")
	if err != nil {
		return err
	}
	defer s.Close()
	var rules []byte
	err = s.pool.QueryRow(ctx, `
		SELECT q.rules FROM axtract.feed f LEFT JOIN axtract.feed_quality q USING (feed_id)
		WHERE f.name = $1`, pos[0]).Scan(&rules)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("feed %s not found; axtract feed list lists the feeds", pos[0])
	}
	if err != nil {
		return fmt.Errorf("read quality rules of feed %s: %w", pos[0], err)
	}
	if rules == nil {
		fmt.Fprintf(env.Stdout, "feed %s has no quality rules, so its runs are not checked\n", pos[0])
		return nil
	}
	fmt.Fprintf(env.Stdout, "%s\n", rules)
	return nil
}

func qualityHeld(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "quality held", "quality held [flags]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	rows, err := s.pool.Query(ctx, `
		SELECT r.run_id, f.name, r.slot, r.finished_at, coalesce(r.error, '')
		FROM axtract.run r JOIN axtract.feed f USING (feed_id)
		WHERE r.status = 'held'
		ORDER BY r.run_id`)
	if err != nil {
		return fmt.Errorf("list held runs: %w", err)
	}
	defer rows.Close()
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tFEED\tSLOT\tHELD AT\tVIOLATIONS")
	for rows.Next() {
		var id int64
		var feed, reason string
		var slot time.Time
		var heldAt *time.Time
		if err := rows.Scan(&id, &feed, &slot, &heldAt, &reason); err != nil {
			return fmt.Errorf("list held runs: %w", err)
		}
		at := "-"
		if heldAt != nil {
			at = heldAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", id, feed, slot.UTC().Format(time.RFC3339), at, reason)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list held runs: %w", err)
	}
	return tw.Flush()
}

func qualityResult(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "quality result", "quality result RUN_ID [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	runID, err := runIDArg(fs)
	if err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := store.New(s.pool).RunQualityGet(ctx, runID)
	if errors.Is(err, pgx.ErrNoRows) {
		fmt.Fprintf(env.Stdout, "run %d has no quality result: its feed had no rules when it ran, or the run does not exist\n", runID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read quality result of run %d: %w", runID, err)
	}
	return printQualityResult(env.Stdout, res)
}

// printQualityResult writes the outcome, the row counts and each violation
// of res on its own line.
func printQualityResult(w io.Writer, res store.AxtractRunQuality) error {
	var violations []quality.Violation
	if err := json.Unmarshal(res.Violations, &violations); err != nil {
		return fmt.Errorf("decode quality violations of run %d: %w", res.RunID, err)
	}
	fmt.Fprintf(w, "run %d: %s, %d rows", res.RunID, res.Outcome, res.Rows)
	if res.PreviousRows != nil {
		fmt.Fprintf(w, " (previous succeeded run: %d)", *res.PreviousRows)
	}
	fmt.Fprintf(w, ", checked %s\n", res.CheckedAt.UTC().Format(time.RFC3339))
	for _, v := range violations {
		fmt.Fprintf(w, "  %s: %s\n", v.Check, v.Message)
	}
	if res.ReleasedAt != nil {
		fmt.Fprintf(w, "released %s by %s\n", res.ReleasedAt.UTC().Format(time.RFC3339), deref(res.ReleasedBy))
	}
	if res.DiscardedAt != nil {
		fmt.Fprintf(w, "discarded %s by %s\n", res.DiscardedAt.UTC().Format(time.RFC3339), deref(res.DiscardedBy))
	}
	return nil
}

func qualityRelease(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "quality release", "quality release RUN_ID [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	runID, err := runIDArg(fs)
	if err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	var jobID int64
	if err := s.pool.QueryRow(ctx, `SELECT axtract.run_release($1)`, runID).Scan(&jobID); err != nil {
		return fmt.Errorf("release run %d: %w", runID, err)
	}
	fmt.Fprintf(env.Stdout, "released run %d (job %d); axtract serve delivers it even if its data breaks the rules again\n", runID, jobID)
	return nil
}

func qualityDiscard(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "quality discard", "quality discard RUN_ID --reason TEXT [flags]")
	reason := fs.String("reason", "", "why the run is dropped, kept in the audit event (required)")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	runID, err := runIDArg(fs)
	if err != nil {
		return err
	}
	if *reason == "" {
		return usagef("--reason is required: say why the held run is dropped")
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.pool.Exec(ctx, `SELECT axtract.run_discard($1, $2)`, runID, *reason); err != nil {
		return fmt.Errorf("discard run %d: %w", runID, err)
	}
	fmt.Fprintf(env.Stdout, "discarded run %d; it delivers nothing\n", runID)
	return nil
}

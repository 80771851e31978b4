package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/schedule"
	"github.com/axtract/axtract/internal/store"
	"github.com/axtract/axtract/worker"
)

func runDestination(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "define" {
		return usagef("want: destination define SLUG NAME --kind sftp|local --config JSON")
	}
	fs, g := newFlagSet(env, "destination define", "destination define SLUG NAME --kind sftp|local --config JSON [flags]")
	kind := fs.String("kind", "", "sftp or local (required)")
	config := fs.String("config", "", `JSON config: local {"dir": ...}; sftp {"host", "port", "user", "dir", "host_key", "private_key_file" or "password_file"} (required)`)
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG", "NAME")
	if err != nil {
		return err
	}
	if *kind == "" || *config == "" {
		return usagef("--kind and --config are required")
	}
	if !json.Valid([]byte(*config)) {
		return usagef("--config is not valid JSON")
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	var id int64
	if err := s.pool.QueryRow(ctx, "SELECT axtract.destination_define($1, $2, $3, $4::jsonb)", pos[0], pos[1], *kind, *config).Scan(&id); err != nil {
		return fmt.Errorf("define destination %s: %w", pos[1], err)
	}
	fmt.Fprintf(env.Stdout, "defined destination %s (id %d) for partner %s\n", pos[1], id, pos[0])
	return nil
}

func runFeed(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: define, list, run, runs")
	}
	switch args[0] {
	case "define":
		return feedDefine(ctx, env, args[1:])
	case "list":
		return feedList(ctx, env, args[1:])
	case "run":
		return feedRun(ctx, env, args[1:])
	case "runs":
		return feedRuns(ctx, env, args[1:])
	}
	return usagef("unknown feed subcommand %q; use define, list, run or runs", args[0])
}

func feedDefine(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed define", "feed define NAME --partner SLUG --view VIEW --destination DEST [flags]")
	slug := fs.String("partner", "", "partner slug (required)")
	view := fs.String("view", "", "partner view to deliver (required)")
	dest := fs.String("destination", "", "destination name (required)")
	compression := fs.String("compression", "zstd", "none, gzip or zstd")
	encrypt := fs.Bool("encrypt", true, "encrypt to the partner's newest OpenPGP key")
	fileName := fs.String("file-name", "{feed}_{slot}.csv", "file name template with {feed}, {partner}, {slot}, {run}")
	sched := fs.String("schedule", "", "five-field cron expression, e.g. '0 6 * * 1-5'; empty for on-demand only")
	tz := fs.String("time-zone", "UTC", "IANA time zone of the schedule")
	attempts := fs.Int("max-attempts", 5, "attempts before a run is marked failed")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "NAME")
	if err != nil {
		return err
	}
	if *slug == "" || *view == "" || *dest == "" {
		return usagef("--partner, --view and --destination are required")
	}
	if *sched != "" {
		if _, err := schedule.Parse(*sched, *tz); err != nil {
			return usagef("%v", err)
		}
	}
	opts, _ := json.Marshal(map[string]any{
		"compression": *compression, "encrypt": *encrypt, "file_name": *fileName,
		"schedule": *sched, "time_zone": *tz, "max_attempts": *attempts,
	})
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	var id int64
	err = s.pool.QueryRow(ctx, "SELECT axtract.feed_define($1, $2, $3, $4, $5::jsonb)", pos[0], *slug, *view, *dest, string(opts)).Scan(&id)
	if err != nil {
		return fmt.Errorf("define feed %s: %w", pos[0], err)
	}
	fmt.Fprintf(env.Stdout, "defined feed %s (id %d)\n", pos[0], id)
	if *sched != "" {
		parsed, _ := schedule.Parse(*sched, *tz)
		fmt.Fprintln(env.Stdout, "next runs:")
		for _, t := range parsed.Upcoming(time.Now(), 5) {
			fmt.Fprintf(env.Stdout, "  %s\n", t.In(mustLocation(*tz)).Format("2006-01-02 15:04 MST"))
		}
	}
	return nil
}

func mustLocation(tz string) *time.Location {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

func feedList(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed list", "feed list [flags]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	feeds, err := store.New(s.pool).FeedList(ctx)
	if err != nil {
		return fmt.Errorf("list feeds: %w", err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tPARTNER\tSCHEDULE\tLAST RUN\tSTATUS")
	for _, f := range feeds {
		sched := "on demand"
		if f.Schedule != nil {
			sched = *f.Schedule + " " + f.TimeZone
		}
		if f.Paused {
			sched += " (paused)"
		}
		last, status := "-", "-"
		if f.LastRunID != 0 {
			last = fmt.Sprint(f.LastRunID)
			status = f.LastStatus
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, f.PartnerSlug, sched, last, status)
	}
	return tw.Flush()
}

func feedRuns(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed runs", "feed runs [NAME] [flags]")
	limit := fs.Int("limit", 20, "number of runs to show")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	var name *string
	if fs.NArg() > 0 {
		name = &fs.Args()[0]
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	runs, err := store.New(s.pool).RunList(ctx, store.RunListParams{FeedName: name, MaxRows: int32(*limit)})
	if err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tFEED\tSLOT\tSTATUS\tATTEMPTS\tROWS\tBYTES\tFILE\tERROR")
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.RunID, r.FeedName, r.Slot.UTC().Format(time.RFC3339),
			r.Status, r.Attempts, num(r.Rows), num(r.Bytes), deref(r.FileName), deref(r.Error))
	}
	return tw.Flush()
}

func feedRun(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed run", "feed run NAME [flags]")
	enqueue := fs.Bool("enqueue", false, "hand the run to the workers of axtract serve instead of running it here")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "NAME")
	if err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()

	res, runID, err := runFeedNow(ctx, s, pos[0], *enqueue, progressPrinter(env))
	if err != nil {
		return err
	}
	if *enqueue {
		fmt.Fprintf(env.Stdout, "enqueued run %d of feed %s\n", runID, pos[0])
		return nil
	}
	fmt.Fprintf(env.Stdout, "delivered run %d of feed %s: %s to %s, %d rows, %d bytes, sha256 %s\n",
		res.RunID, res.Feed, res.FileName, res.Destination, res.Rows, res.Bytes, res.SHA256)
	for _, w := range res.Warnings {
		fmt.Fprintf(env.Stdout, "warning: %s\n", w)
	}
	return nil
}

// runFeedNow creates a manual run of feed name and either delivers it in
// this process, as one attempt, or enqueues it for the workers.
func runFeedNow(ctx context.Context, s *session, name string, enqueue bool, progress func(extract.Progress)) (*extract.Result, int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback(ctx)
	runID, maxAttempts, err := worker.CreateManualRunTx(ctx, tx, name, time.Now())
	if err != nil {
		return nil, 0, err
	}
	if enqueue {
		client, err := worker.NewClient(worker.Config{Pool: s.pool, Logger: s.logger})
		if err != nil {
			return nil, 0, err
		}
		if err := worker.EnqueueRunTx(ctx, client, tx, runID, maxAttempts); err != nil {
			return nil, 0, fmt.Errorf("enqueue run %d: %w", runID, err)
		}
		return nil, runID, tx.Commit(ctx)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, 0, err
	}
	runner := &extract.Runner{Pool: s.pool, Logger: s.logger, Progress: progress}
	res, err := runner.Run(ctx, runID, true)
	if progress != nil {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return nil, runID, fmt.Errorf("run %d of feed %s: %w", runID, name, err)
	}
	return res, runID, nil
}

func progressPrinter(env *Env) func(extract.Progress) {
	f, ok := env.Stderr.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(p extract.Progress) {
		rate := 0.0
		if p.Elapsed > 0 {
			rate = float64(p.InputBytes) / p.Elapsed.Seconds() / (1 << 20)
		}
		fmt.Fprintf(f, "\rrun %d: %8.1f MiB read, %8.1f MiB written, %6.1f MiB/s, %s   ",
			p.RunID, float64(p.InputBytes)/(1<<20), float64(p.OutputBytes)/(1<<20), rate, p.Elapsed.Round(time.Second))
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func num(n *int64) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprint(*n)
}

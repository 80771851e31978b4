package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/format/formats"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/schedule"
	"github.com/axtract/axtract/internal/store"
	"github.com/axtract/axtract/worker"
)

func runDestination(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "define" {
		return usagef("want: destination define SLUG NAME --kind sftp|local|portal --config JSON")
	}
	fs, g := newFlagSet(env, "destination define", "destination define SLUG NAME --kind sftp|local|portal --config JSON [flags]")
	kind := fs.String("kind", "", "sftp, local or portal (required)")
	config := fs.String("config", "", `JSON config: local {"dir": ...}; sftp {"host", "port", "user", "dir", "host_key", "private_key_file" or "password_file"}; `+
		`portal {} or {"dir": ...}, default the folder AXTRACT_FILES_DIR names (required)`)
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
	if err := partner.CheckJSON("--config", []byte(*config)); err != nil {
		return usagef("%v", err)
	}
	warnings, err := extract.CheckDestination(*kind, []byte(*config))
	if err != nil {
		return usagef("--config: %v", err)
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
	for _, w := range warnings {
		fmt.Fprintf(env.Stdout, "warning: %s\n", w)
	}
	return nil
}

const feedSubcommands = "define, list, next, run, runs, retry, rerun, backfill, pause, resume or signal"

func runFeed(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: %s", feedSubcommands)
	}
	switch args[0] {
	case "define":
		return feedDefine(ctx, env, args[1:])
	case "list":
		return feedList(ctx, env, args[1:])
	case "next":
		return feedNext(ctx, env, args[1:])
	case "run":
		return feedRun(ctx, env, args[1:])
	case "runs":
		return feedRuns(ctx, env, args[1:])
	case "retry":
		return feedRetry(ctx, env, args[1:])
	case "rerun":
		return feedRerun(ctx, env, args[1:])
	case "backfill":
		return feedBackfill(ctx, env, args[1:])
	case "pause":
		return feedPause(ctx, env, args[1:])
	case "resume":
		return feedResume(ctx, env, args[1:])
	case "signal":
		return feedSignal(ctx, env, args[1:])
	}
	return usagef("unknown feed subcommand %q; use %s", args[0], feedSubcommands)
}

func feedDefine(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed define", "feed define NAME --partner SLUG --view VIEW --destination DEST [flags]")
	slug := fs.String("partner", "", "partner slug (required)")
	view := fs.String("view", "", "partner view to deliver (required)")
	dest := fs.String("destination", "", "destination name (required)")
	formatKind := fs.String("format", "csv", "file format: "+strings.Join(formats.Kinds(), ", "))
	formatOptions := fs.String("format-options", "{}", "JSON object of the format's options, e.g. '{\"delimiter\": \"|\"}' for delimited")
	compression := fs.String("compression", "", "none, gzip, zstd or zip (default zstd; none for parquet, which compresses inside the file)")
	encrypt := fs.Bool("encrypt", true, "encrypt to the partner's newest OpenPGP key")
	sign := fs.Bool("sign", false, "also sign files with the instance's OpenPGP key, from the file "+extract.SigningKeyFileEnv+" names; needs --encrypt")
	manifest := fs.Bool("manifest", true, "deliver a JSON manifest of each run's files after them")
	triggerSuffix := fs.String("trigger-suffix", "", "deliver an empty file named after the data file plus .done or .ok last; empty for none")
	fileName := fs.String("file-name", "{feed}_{slot}.csv", "file name template with {feed}, {partner}, {slot}, {run}, {part}; "+
		"a trailing .csv becomes the format's extension")
	sched := fs.String("schedule", "", "cron expression ('0 6 * * 1-5') or preset ('daily 06:00', 'weekly mon,thu 06:00', "+
		"'monthly 15 06:00', 'monthly last 06:00', 'monthly last-business-day 06:00'); empty for on demand only")
	tz := fs.String("time-zone", "UTC", "IANA time zone of the schedule and the deadline")
	calendar := fs.String("calendar", "", "business calendar for --holiday-rule and last-business-day, e.g. us_federal")
	holidayRule := fs.String("holiday-rule", "none", "a slot on a non-business day: none, skip, next or previous (business day)")
	catchUp := fs.String("catch-up", "latest", "slots missed while no scheduler ran: latest (only the newest) or all (each)")
	deadline := fs.String("deadline", "", "local time HH:MM a scheduled run must be delivered by; a late run raises an alert")
	attempts := fs.Int("max-attempts", 5, "attempts before a run is marked failed")
	retryBase := fs.Duration("retry-base", 0, "wait before the second attempt, doubling each attempt; 0 uses axtract serve --retry-base")
	contacts := fs.String("contacts", "", "comma-separated email addresses told of failed and late runs (default: the partner's contact)")
	watermark := fs.String("watermark-column", "", "view column that makes the feed incremental, e.g. loaded_at; empty for full refresh")
	emptyWindow := fs.String("empty-window", "file", "what an incremental run with no new rows delivers: file (header only) or skip")
	events := fs.String("events", "", "comma-separated events that enqueue a run once all are signalled, e.g. claims_loaded")
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
	if *retryBase < 0 {
		return usagef("--retry-base must not be negative")
	}
	// The format packages check the options in full; SQL checks only the
	// format name and that the options are an object.
	if err := partner.CheckJSON("--format-options", []byte(*formatOptions)); err != nil {
		return usagef("%v", err)
	}
	if _, err := formats.New(*formatKind, json.RawMessage(*formatOptions)); err != nil {
		return usagef("--format %s --format-options %s: %v", *formatKind, *formatOptions, err)
	}
	opts := map[string]any{
		"format": *formatKind, "format_options": json.RawMessage(*formatOptions),
		"sign": *sign, "manifest": *manifest, "trigger_suffix": *triggerSuffix,
		"compression": *compression, "encrypt": *encrypt, "file_name": *fileName,
		"schedule": *sched, "time_zone": *tz, "max_attempts": *attempts,
		"calendar": *calendar, "holiday_rule": *holidayRule, "catch_up": *catchUp, "deadline": *deadline,
		"contacts": splitList(*contacts), "watermark_column": *watermark, "empty_window": *emptyWindow,
		"events": splitList(*events),
	}
	if *compression == "" {
		// feed_define picks the format's default.
		delete(opts, "compression")
	}
	if *retryBase > 0 {
		opts["retry_base"] = retryBase.Seconds()
	}
	body, _ := json.Marshal(opts)
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	var id int64
	err = s.pool.QueryRow(ctx, "SELECT axtract.feed_define($1, $2, $3, $4, $5::jsonb)", pos[0], *slug, *view, *dest, string(body)).Scan(&id)
	if err != nil {
		return fmt.Errorf("define feed %s: %w", pos[0], schedule.Explain(err))
	}
	fmt.Fprintf(env.Stdout, "defined feed %s (id %d)\n", pos[0], id)
	if *encrypt {
		var hasKey bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM axtract.partner_key k JOIN axtract.partner p USING (partner_id) WHERE p.slug = $1)`, *slug).Scan(&hasKey)
		if err == nil && !hasKey {
			fmt.Fprintf(env.Stdout, "warning: partner %s has no OpenPGP key yet, so runs fail until you add one (axtract partner key add %s FILE) or define the feed with --encrypt=false\n", *slug, *slug)
		}
	}
	if *sched == "" {
		return nil
	}
	slots, loc, err := schedule.FeedNext(ctx, s.pool, pos[0], 5)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "next runs:")
	for _, t := range slots {
		fmt.Fprintf(env.Stdout, "  %s\n", t.In(loc).Format("Mon 2006-01-02 15:04 MST"))
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	items := []string{}
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func feedNext(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed next", "feed next NAME [-n COUNT] [flags]")
	count := fs.Int("n", 10, "number of slots to show")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "NAME")
	if err != nil {
		return err
	}
	if *count < 1 {
		return usagef("-n must be at least 1")
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	slots, loc, err := schedule.FeedNext(ctx, s.pool, pos[0], *count)
	if err != nil {
		return err
	}
	if len(slots) == 0 {
		fmt.Fprintf(env.Stdout, "feed %s has no scheduled runs\n", pos[0])
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "LOCAL (%s)\tUTC\n", loc)
	for _, t := range slots {
		fmt.Fprintf(tw, "%s\t%s\n", t.In(loc).Format("Mon 2006-01-02 15:04 MST"), t.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// runIDArg parses the single RUN_ID argument of a subcommand.
func runIDArg(fs *flag.FlagSet) (int64, error) {
	pos, err := positional(fs, "RUN_ID")
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id < 1 {
		return 0, usagef("RUN_ID %q is not a run id; axtract feed runs lists them", pos[0])
	}
	return id, nil
}

// inTx runs fn in a transaction on the session's database and commits it.
func inTx(ctx context.Context, s *session, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func feedRetry(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed retry", "feed retry RUN_ID [flags]")
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
	jobID, err := worker.RetryRun(ctx, s.pool, runID)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "enqueued run %d again (job %d); axtract serve delivers it\n", runID, jobID)
	return nil
}

func feedRerun(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed rerun", "feed rerun RUN_ID [flags]")
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
	var newID int64
	err = inTx(ctx, s, func(tx pgx.Tx) error {
		newID, err = worker.RerunTx(ctx, tx, runID)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "enqueued run %d for the slot and window of run %d; axtract serve delivers it, reading the rows and consents as they are then\n", newID, runID)
	return nil
}

func feedBackfill(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed backfill", "feed backfill NAME --from YYYY-MM-DD --to YYYY-MM-DD [flags]")
	fromFlag := fs.String("from", "", "first local date of the range (required)")
	toFlag := fs.String("to", "", "last local date of the range, included (required)")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "NAME")
	if err != nil {
		return err
	}
	from, err := time.Parse(time.DateOnly, *fromFlag)
	if err != nil {
		return usagef("--from %q is not a date; use YYYY-MM-DD", *fromFlag)
	}
	to, err := time.Parse(time.DateOnly, *toFlag)
	if err != nil {
		return usagef("--to %q is not a date; use YYYY-MM-DD", *toFlag)
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	var n int
	err = inTx(ctx, s, func(tx pgx.Tx) error {
		n, err = worker.BackfillTx(ctx, tx, pos[0], from, to)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "enqueued %d runs of feed %s from %s to %s; slots that had a run were left alone\n",
		n, pos[0], *fromFlag, *toFlag)
	return nil
}

func feedPause(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed pause", "feed pause NAME [flags]")
	s, pos, err := g.parseAndOpen(ctx, env, fs, args, "NAME")
	if err != nil {
		return err
	}
	defer s.Close()
	changed, err := worker.Pause(ctx, s.pool, pos[0])
	if err != nil {
		return err
	}
	if !changed {
		fmt.Fprintf(env.Stdout, "feed %s was already paused\n", pos[0])
		return nil
	}
	fmt.Fprintf(env.Stdout, "paused feed %s; its queued runs wait until axtract feed resume %s\n", pos[0], pos[0])
	return nil
}

func feedResume(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed resume", "feed resume NAME [--skip-missed] [flags]")
	skipMissed := fs.Bool("skip-missed", false, "drop the slots that passed while the feed was paused instead of catching up")
	s, pos, err := g.parseAndOpen(ctx, env, fs, args, "NAME")
	if err != nil {
		return err
	}
	defer s.Close()
	changed, err := worker.Resume(ctx, s.pool, pos[0], *skipMissed)
	if err != nil {
		return err
	}
	if !changed {
		fmt.Fprintf(env.Stdout, "feed %s was not paused\n", pos[0])
		return nil
	}
	fmt.Fprintf(env.Stdout, "resumed feed %s\n", pos[0])
	return nil
}

func feedSignal(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "feed signal", "feed signal EVENT [flags]")
	s, pos, err := g.parseAndOpen(ctx, env, fs, args, "EVENT")
	if err != nil {
		return err
	}
	defer s.Close()
	var n int
	err = inTx(ctx, s, func(tx pgx.Tx) error {
		n, err = worker.SignalTx(ctx, tx, pos[0])
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "signalled %s: enqueued %d runs\n", pos[0], n)
	return nil
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
	fmt.Fprintln(tw, "FEED\tPARTNER\tSCHEDULE\tNEXT SLOT\tLAST RUN\tSTATUS")
	for _, f := range feeds {
		sched, next := "on demand", "-"
		if f.Schedule != nil {
			sched = *f.Schedule + " " + f.TimeZone
		}
		if f.Paused {
			sched += " (paused)"
		}
		if f.NextSlot != nil && !f.NextSlot.IsZero() {
			next = f.NextSlot.UTC().Format(time.RFC3339)
		}
		last, status := "-", "-"
		if f.LastRunID != 0 {
			last = fmt.Sprint(f.LastRunID)
			status = f.LastStatus
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, f.PartnerSlug, sched, next, last, status)
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
	if name != nil && len(runs) == 0 {
		var exists bool
		if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM axtract.feed WHERE name = $1)", *name).Scan(&exists); err != nil {
			return fmt.Errorf("look up feed %s: %w", *name, err)
		}
		if !exists {
			return fmt.Errorf("feed %q not found; axtract feed list shows the feeds", *name)
		}
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
	// Ctrl-C or a TERM cancels the COPY and records the run as failed, with
	// its temporary file removed, so feed retry can start it again. Without
	// this the process would die and leave the run running.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
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
	if res.FileName == "" {
		fmt.Fprintf(env.Stdout, "run %d of feed %s had no new rows; delivered nothing\n", res.RunID, res.Feed)
		return nil
	}
	if len(res.Files) == 1 {
		fmt.Fprintf(env.Stdout, "delivered run %d of feed %s: %s to %s, %d rows, %d bytes, sha256 %s\n",
			res.RunID, res.Feed, res.FileName, res.Destination, res.Rows, res.Bytes, res.SHA256)
	} else {
		// Each file with its own counts: the run's totals add up the data
		// files of every part.
		fmt.Fprintf(env.Stdout, "delivered run %d of feed %s to %s: %d rows, %d bytes in %d data file(s)\n",
			res.RunID, res.Feed, res.Destination, res.Rows, res.Bytes, dataFiles(res.Files))
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		for _, f := range res.Files {
			rows := "-"
			if f.Kind == extract.FileData {
				rows = fmt.Sprintf("%d rows", f.Rows)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d bytes\tsha256 %s\n", f.Name, f.Kind, rows, f.Bytes, f.SHA256)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(env.Stdout, "warning: %s\n", w)
	}
	return nil
}

func dataFiles(files []extract.File) int {
	n := 0
	for _, f := range files {
		if f.Kind == extract.FileData {
			n++
		}
	}
	return n
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
	var wait *extract.WaitError
	if errors.As(err, &wait) {
		// Leave the run to the workers rather than queued without a job.
		if _, enqErr := s.pool.Exec(ctx, "SELECT axtract.run_enqueue($1, $2)", runID, maxAttempts); enqErr != nil {
			return nil, runID, fmt.Errorf("run %d of feed %s must wait (%s), and enqueueing it failed: %w", runID, name, wait.Reason, enqErr)
		}
		return nil, runID, fmt.Errorf("run %d of feed %s cannot start now (%s); it is enqueued, and axtract serve delivers it when it can",
			runID, name, wait.Reason)
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

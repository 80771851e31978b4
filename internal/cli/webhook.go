package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/axtract/axtract/internal/notify"
)

func runWebhook(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: define or list")
	}
	switch args[0] {
	case "define":
		return webhookDefine(ctx, env, args[1:])
	case "list":
		return webhookList(ctx, env, args[1:])
	}
	return usagef("unknown webhook subcommand %q; use define or list", args[0])
}

func webhookDefine(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "webhook define", "webhook define PARTNER URL --secret-file FILE [--events run.delivered,run.failed] [--feed NAME] [--timeout 10s] [flags]")
	secretFile := fs.String("secret-file", "", "file whose content, without a trailing newline, is the HMAC secret shared with the receiver; at least 16 bytes (required)")
	events := fs.String("events", notify.EventDelivered+","+notify.EventFailed, "comma-separated events: run.delivered, run.failed")
	feed := fs.String("feed", "", "send only this feed's runs; empty for every feed of the partner")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit of one attempt, at most 5m")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "PARTNER", "URL")
	if err != nil {
		return err
	}
	if *secretFile == "" {
		return usagef("--secret-file is required; create one with: openssl rand -hex 32 > FILE")
	}
	raw, err := os.ReadFile(*secretFile)
	if err != nil {
		return fmt.Errorf("read webhook secret: %w", err)
	}
	secret := []byte(strings.TrimRight(string(raw), "\r\n"))
	var list []string
	for _, e := range strings.Split(*events, ",") {
		if e = strings.TrimSpace(e); e != "" {
			list = append(list, e)
		}
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := notify.DefineWebhook(ctx, s.pool, notify.WebhookParams{
		Partner: pos[0], Feed: *feed, URL: pos[1], Secret: secret, Events: list, Timeout: *timeout,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "defined webhook %d for partner %s: %s on %s\n", id, pos[0], strings.Join(list, ","), redactedURL(pos[1]))
	return nil
}

func webhookList(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "webhook list", "webhook list [PARTNER] [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("want at most one argument (PARTNER), got %d", fs.NArg())
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	hooks, err := notify.ListWebhooks(ctx, s.pool, fs.Arg(0))
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPARTNER\tFEED\tURL\tEVENTS\tTIMEOUT\tPENDING\tFAILING")
	for _, h := range hooks {
		feed := "(all)"
		if h.Feed != nil {
			feed = *h.Feed
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", h.ID, h.Partner, feed, redactedURL(h.URL),
			strings.Join(h.Events, ","), h.Timeout, h.Pending, h.Failing)
	}
	return tw.Flush()
}

// redactedURL hides the user information and query of a URL, where
// receivers sometimes put credentials.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "..."
	}
	return u.String()
}

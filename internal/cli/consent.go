package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/axtract/axtract/internal/partner"
)

func runConsent(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: grant or revoke")
	}
	switch args[0] {
	case "grant":
		return consentGrant(ctx, env, args[1:])
	case "revoke":
		return consentRevoke(ctx, env, args[1:])
	}
	return usagef("unknown consent subcommand %q; use grant or revoke", args[0])
}

func consentGrant(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "consent grant", "consent grant SLUG MEMBER_ID --from DATE [--to DATE] [flags]")
	from := fs.String("from", time.Now().UTC().Format(time.DateOnly), "first day the consent is in force, YYYY-MM-DD (UTC)")
	to := fs.String("to", "", "last day the consent is in force, YYYY-MM-DD (UTC); empty for open-ended")
	source := fs.String("source", "cli", "where the consent was recorded, e.g. a form or a portal")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG", "MEMBER_ID")
	if err != nil {
		return err
	}
	fromDate, err := time.Parse(time.DateOnly, *from)
	if err != nil {
		return usagef("--from %q is not a date in YYYY-MM-DD form", *from)
	}
	var toDate *time.Time
	if *to != "" {
		d, err := time.Parse(time.DateOnly, *to)
		if err != nil {
			return usagef("--to %q is not a date in YYYY-MM-DD form", *to)
		}
		toDate = &d
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := partner.GrantConsent(ctx, s.pool, pos[0], pos[1], fromDate, toDate, *source)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "recorded consent %d\n", id)
	return nil
}

func consentRevoke(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "consent revoke", "consent revoke SLUG MEMBER_ID [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG", "MEMBER_ID")
	if err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := partner.RevokeConsent(ctx, s.pool, pos[0], pos[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "revoked %d consent(s); the next run and the next query exclude the member\n", n)
	return nil
}

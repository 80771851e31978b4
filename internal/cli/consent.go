package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/privacy"
)

func runConsent(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: grant, deny, revoke, load or default")
	}
	switch args[0] {
	case "grant":
		return consentRecord(ctx, env, args[1:], false)
	case "deny":
		return consentRecord(ctx, env, args[1:], true)
	case "revoke":
		return consentRevoke(ctx, env, args[1:])
	case "load":
		return consentLoad(ctx, env, args[1:])
	case "default":
		return consentDefault(ctx, env, args[1:])
	}
	return usagef("unknown consent subcommand %q; use grant, deny, revoke, load or default", args[0])
}

// consentRecord records a grant, or a denial when deny is set.
func consentRecord(ctx context.Context, env *Env, args []string, deny bool) error {
	verb := "grant"
	if deny {
		verb = "deny"
	}
	fs, g := newFlagSet(env, "consent "+verb,
		"consent "+verb+" SLUG MEMBER_ID [--from DATE] [--to DATE] [--category CATEGORY] [flags]\n"+
			"   or: axtract consent "+verb+" --purpose PURPOSE MEMBER_ID [flags]")
	from := fs.String("from", time.Now().UTC().Format(time.DateOnly), "first day in force, YYYY-MM-DD (UTC)")
	to := fs.String("to", "", "last day in force, YYYY-MM-DD (UTC); empty for open-ended")
	category := fs.String("category", "", "sensitive category the decision covers (substance_use, hiv, mental_health, reproductive_health, ...); empty for the member's records in general")
	purpose := fs.String("purpose", "", "purpose of use whose partners the decision covers, instead of SLUG: "+strings.Join(partner.Purposes, ", "))
	source := fs.String("source", "cli", "where the decision was recorded, e.g. a form or a portal")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	p := partner.ConsentParams{Deny: deny, Category: *category, Purpose: *purpose, Source: *source}
	if *purpose != "" {
		pos, err := positional(fs, "MEMBER_ID")
		if err != nil {
			return err
		}
		p.MemberID = pos[0]
	} else {
		pos, err := positional(fs, "SLUG", "MEMBER_ID")
		if err != nil {
			return err
		}
		p.Partner, p.MemberID = pos[0], pos[1]
	}
	var err error
	if p.From, err = time.Parse(time.DateOnly, *from); err != nil {
		return usagef("--from %q is not a date in YYYY-MM-DD form", *from)
	}
	if *to != "" {
		d, err := time.Parse(time.DateOnly, *to)
		if err != nil {
			return usagef("--to %q is not a date in YYYY-MM-DD form", *to)
		}
		p.To = &d
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := partner.RecordConsent(ctx, s.pool, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "recorded consent %d (%s)\n", id, verb)
	return nil
}

func consentRevoke(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "consent revoke", "consent revoke SLUG MEMBER_ID [--category CATEGORY] [flags]")
	category := fs.String("category", "", "revoke only the grants of this sensitive category; empty for all of the member's grants to the partner")
	s, pos, err := g.parseAndOpen(ctx, env, fs, args, "SLUG", "MEMBER_ID")
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := partner.RevokeCategoryConsent(ctx, s.pool, pos[0], pos[1], *category)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "revoked %d grant(s) and recorded a denial; the next run and the next query exclude the member's records\n", n)
	return nil
}

func consentLoad(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "consent load", "consent load FILE [--partner SLUG] [--source SOURCE] [flags]")
	fs.Usage = consentLoadUsage(env, fs)
	slug := fs.String("partner", "", "partner of the rows that name neither a partner nor a purpose_of_use")
	source := fs.String("source", "", "source of the rows without one (default: the file name)")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "FILE")
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	name := filepath.Base(pos[0])
	if *source == "" {
		*source = name
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	result, err := privacy.LoadConsents(ctx, s.pool, f, privacy.LoadParams{Name: name, Partner: *slug, Source: *source})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "loaded %d consent(s) from %s; %d earlier decision(s) superseded\n", result.Consents, name, result.Superseded)
	return nil
}

func consentLoadUsage(env *Env, fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprint(env.Stderr, `Usage: axtract consent load FILE [--partner SLUG] [--source SOURCE] [flags]

Loads consent decisions from a CSV file in one transaction: all rows or none.
The header names the columns, in any order:

  member_id       required; the member's mart id
  effective_from  required; first day in force, YYYY-MM-DD (UTC)
  effective_to    last day in force; empty for open-ended
  category        sensitive category; empty for the member's records in general
  kind            grant or deny (default grant)
  partner         partner slug; or
  purpose_of_use  a purpose of use, for all of its partners
  source          where the decision was recorded

An invalid row fails the load with its line and column.

Flags:
`)
		fs.PrintDefaults()
	}
}

func consentDefault(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "consent default", "consent default SLUG opt_in|opt_out [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG", "DEFAULT")
	if err != nil {
		return err
	}
	if pos[1] != partner.ConsentOptIn && pos[1] != partner.ConsentOptOut {
		return usagef("consent default %q is not opt_in or opt_out", pos[1])
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := partner.SetConsentDefault(ctx, s.pool, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "partner %s shares %s\n", pos[0], map[string]string{
		partner.ConsentOptIn:  "only the records of members with a grant in force",
		partner.ConsentOptOut: "the records of every member without a denial in force",
	}[pos[1]])
	return nil
}

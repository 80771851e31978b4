package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/axtract/axtract/internal/privacy"
)

func runDisclosures(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: member or partner")
	}
	switch args[0] {
	case "member":
		return disclosuresMember(ctx, env, args[1:])
	case "partner":
		return disclosuresPartner(ctx, env, args[1:])
	}
	return usagef("unknown disclosures subcommand %q; use member or partner", args[0])
}

func disclosuresMember(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "disclosures member", "disclosures member MEMBER_ID [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "MEMBER_ID")
	if err != nil {
		return err
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := privacy.MemberDisclosures(ctx, s.pool, pos[0])
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(env.Stdout, "no recorded disclosures of this member")
		return nil
	}

	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "DISCLOSED (UTC)\tPARTNER\tPURPOSE\tVIEW\tFEED\tRUN")
	for _, d := range list {
		partnerName := d.Partner
		if d.PartnerName != "" && d.PartnerName != d.Partner {
			partnerName += " (" + d.PartnerName + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s v%d\t%s\t%d\n", d.DisclosedAt.UTC().Format(time.DateTime), partnerName, d.Purpose,
			d.View, d.ViewVersion, dashIfEmpty(d.Feed), d.RunID)
	}
	return w.Flush()
}

func disclosuresPartner(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "disclosures partner", "disclosures partner SLUG --from DATE --to DATE [flags]")
	today := time.Now().UTC().Format(time.DateOnly)
	from := fs.String("from", today, "first UTC day of the range, YYYY-MM-DD")
	to := fs.String("to", today, "last UTC day of the range, YYYY-MM-DD")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG")
	if err != nil {
		return err
	}
	fromDate, err := time.Parse(time.DateOnly, *from)
	if err != nil {
		return usagef("--from %q is not a date in YYYY-MM-DD form", *from)
	}
	toDate, err := time.Parse(time.DateOnly, *to)
	if err != nil {
		return usagef("--to %q is not a date in YYYY-MM-DD form", *to)
	}
	if toDate.Before(fromDate) {
		return usagef("--to %s is before --from %s", *to, *from)
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := privacy.PartnerDisclosures(ctx, s.pool, pos[0], fromDate, toDate)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(env.Stdout, "no recorded disclosures to %s from %s through %s\n", pos[0], *from, *to)
		return nil
	}

	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "DISCLOSED (UTC)\tRUN\tFEED\tVIEW\tPURPOSE\tMEMBERS")
	var members int64
	runs := map[int64]bool{}
	for _, d := range list {
		members += d.Members
		runs[d.RunID] = true
		fmt.Fprintf(w, "%s\t%d\t%s\t%s v%d\t%s\t%d\n", d.DisclosedAt.UTC().Format(time.DateTime), d.RunID, dashIfEmpty(d.Feed),
			d.View, d.ViewVersion, d.Purpose, d.Members)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// A run that read several views, as a FHIR feed does, has a row per view.
	fmt.Fprintf(env.Stdout, "%d run(s), %d view record(s), %d member disclosures\n", len(runs), len(list), members)
	return nil
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

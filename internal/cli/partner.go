package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pipeline"
)

func runPartner(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: create, list, key add, login create, view define")
	}
	switch args[0] {
	case "create":
		return partnerCreate(ctx, env, args[1:])
	case "list":
		return partnerList(ctx, env, args[1:])
	case "key":
		if len(args) < 2 || args[1] != "add" {
			return usagef("want: partner key add SLUG FILE")
		}
		return partnerKeyAdd(ctx, env, args[2:])
	case "login":
		if len(args) < 2 || args[1] != "create" {
			return usagef("want: partner login create SLUG LOGIN")
		}
		return partnerLoginCreate(ctx, env, args[2:])
	case "view":
		if len(args) < 2 || args[1] != "define" {
			return usagef("want: partner view define SLUG NAME --spec FILE")
		}
		return partnerViewDefine(ctx, env, args[2:])
	}
	return usagef("unknown partner subcommand %q; use create, list, key add, login create or view define", args[0])
}

func partnerCreate(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "partner create", "partner create SLUG --name NAME --purpose PURPOSE [flags]")
	name := fs.String("name", "", "partner's display name (required)")
	purpose := fs.String("purpose", "", "purpose of use: "+strings.Join(partner.Purposes, ", ")+" (required)")
	email := fs.String("email", "", "contact e-mail for notices")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG")
	if err != nil {
		return err
	}
	if *name == "" || *purpose == "" {
		return usagef("--name and --purpose are required")
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := partner.Create(ctx, s.pool, partner.CreateParams{Slug: pos[0], Name: *name, Purpose: *purpose, ContactEmail: *email})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created partner %s (id %d) with schema partner_%s\n", pos[0], id, pos[0])
	return nil
}

func partnerList(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "partner list", "partner list [flags]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	rows, err := s.pool.Query(ctx, `SELECT p.slug, p.name, p.purpose_of_use,
		(SELECT count(*) FROM axtract.partner_view v WHERE v.partner_id = p.partner_id),
		(SELECT count(*) FROM axtract.consent c WHERE c.partner_id = p.partner_id AND c.revoked_at IS NULL)
		FROM axtract.partner p ORDER BY p.slug`)
	if err != nil {
		return fmt.Errorf("list partners: %w", err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tPURPOSE\tVIEWS\tCONSENTS")
	var slug, pname, purpose string
	var views, consents int64
	_, err = pgx.ForEachRow(rows, []any{&slug, &pname, &purpose, &views, &consents}, func() error {
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", slug, pname, purpose, views, consents)
		return err
	})
	if err != nil {
		return fmt.Errorf("list partners: %w", err)
	}
	return tw.Flush()
}

func partnerKeyAdd(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "partner key add", "partner key add SLUG FILE [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG", "FILE")
	if err != nil {
		return err
	}
	armored, err := readFileOrStdin(env, pos[1])
	if err != nil {
		return err
	}
	recipient, err := pipeline.ParseRecipient(string(armored), time.Now())
	if err != nil {
		return fmt.Errorf("key in %s: %w", pos[1], err)
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.pool.Exec(ctx, "SELECT axtract.partner_key_add($1, $2, $3)", pos[0], recipient.Fingerprint(), string(armored)); err != nil {
		return fmt.Errorf("add key for %s: %w", pos[0], err)
	}
	fmt.Fprintf(env.Stdout, "added key %s for partner %s\n", recipient.Fingerprint(), pos[0])
	if soon, at := recipient.ExpiresSoon(time.Now()); soon {
		fmt.Fprintf(env.Stdout, "warning: the key expires on %s\n", at.Format(time.DateOnly))
	}
	return nil
}

func partnerLoginCreate(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "partner login create", "partner login create SLUG LOGIN [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG", "LOGIN")
	if err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	login, err := partner.CreateLogin(ctx, s.pool, pos[0], pos[1])
	if err != nil {
		return err
	}
	cfg := s.pool.Config().ConnConfig
	host := cfg.Host
	if strings.HasPrefix(host, "/") {
		host = "localhost"
	}
	fmt.Fprintf(env.Stdout, "created login %s for partner %s\n\n", login.Role, pos[0])
	fmt.Fprintf(env.Stdout, "password (shown once, store it in a password manager): %s\n\n", login.Password)
	fmt.Fprintf(env.Stdout, "psql:  psql \"host=%s port=%d dbname=%s user=%s sslmode=prefer\"\n", host, cfg.Port, cfg.Database, login.Role)
	fmt.Fprintf(env.Stdout, "JDBC:  jdbc:postgresql://%s:%d/%s?user=%s&sslmode=prefer\n", host, cfg.Port, cfg.Database, login.Role)
	fmt.Fprintf(env.Stdout, "\nThe login reads only the views in schema partner_%s, which is its search_path.\n", pos[0])
	return nil
}

func partnerViewDefine(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "partner view define", "partner view define SLUG NAME --spec FILE [flags]")
	specFile := fs.String("spec", "", "file with the JSON view spec, or - for standard input (required)")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG", "NAME")
	if err != nil {
		return err
	}
	if *specFile == "" {
		return usagef("--spec is required")
	}
	spec, err := readFileOrStdin(env, *specFile)
	if err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	compiled, err := partner.DefineView(ctx, s.pool, pos[0], pos[1], spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "defined view partner_%s.%s:\n%s\n", pos[0], pos[1], compiled)
	return nil
}

func readFileOrStdin(env *Env, name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(env.Stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}

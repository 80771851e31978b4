package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/axtract/axtract/internal/pullapi"
)

func runToken(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: create, list or revoke")
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, env, args[1:])
	case "list":
		return tokenList(ctx, env, args[1:])
	case "revoke":
		return tokenRevoke(ctx, env, args[1:])
	}
	return usagef("unknown token subcommand %q; use create, list or revoke", args[0])
}

func tokenCreate(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "token create", "token create PARTNER [--scope list,download] [--expires 720h] [--note TEXT] [flags]")
	scope := fs.String("scope", "list,download", "comma-separated scopes: list (GET /api/v1/deliveries), download (GET /api/v1/files/ID)")
	expires := fs.Duration("expires", 720*time.Hour, "lifetime of the token, such as 720h for 30 days")
	note := fs.String("note", "", "what the token is for, shown by token list")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "PARTNER")
	if err != nil {
		return err
	}
	var scopes []string
	for _, s := range strings.Split(*scope, ",") {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	if *expires <= 0 {
		return usagef("--expires %s is not positive; give a duration such as 720h", *expires)
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	id, token, err := pullapi.CreateToken(ctx, s.pool, pullapi.CreateTokenParams{Partner: pos[0], Scopes: scopes, TTL: *expires, Note: *note})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "created API token %d for partner %s (scopes %s, expires %s); it is shown once, so store it now:\n",
		id, pos[0], strings.Join(scopes, ","), time.Now().Add(*expires).UTC().Format(time.RFC3339))
	fmt.Fprintln(env.Stdout, token)
	return nil
}

func tokenList(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "token list", "token list PARTNER [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "PARTNER")
	if err != nil {
		return err
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	tokens, err := pullapi.ListTokens(ctx, s.pool, pos[0])
	if err != nil {
		return err
	}

	now := time.Now()
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tSCOPES\tEXPIRES\tLAST USED\tSTATE\tNOTE")
	for _, t := range tokens {
		state := "active"
		switch {
		case t.RevokedAt != nil:
			state = "revoked " + t.RevokedAt.UTC().Format(time.RFC3339)
		case !now.Before(t.ExpiresAt):
			state = "expired"
		}
		used := "-"
		if t.LastUsedAt != nil {
			used = t.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s...\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Prefix, strings.Join(t.Scopes, ","),
			t.ExpiresAt.UTC().Format(time.RFC3339), used, state, t.Note)
	}
	return tw.Flush()
}

func tokenRevoke(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "token revoke", "token revoke ID [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "ID")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return usagef("token id %q is not a number; token list PARTNER shows the ids", pos[0])
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	revoked, err := pullapi.RevokeToken(ctx, s.pool, id)
	if err != nil {
		return err
	}
	if !revoked {
		fmt.Fprintf(env.Stdout, "API token %d was already revoked\n", id)
		return nil
	}
	fmt.Fprintf(env.Stdout, "revoked API token %d; requests with it now get 401\n", id)
	return nil
}

package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/axtract/axtract/internal/auth"
)

func runUser(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: add, passwd, role, list, disable, enable or unlock")
	}
	switch args[0] {
	case "add":
		return userAdd(ctx, env, args[1:])
	case "passwd":
		return userPasswd(ctx, env, args[1:])
	case "role":
		return userRole(ctx, env, args[1:])
	case "list":
		return userList(ctx, env, args[1:])
	case "disable":
		return userDisabled(ctx, env, args[1:], true)
	case "enable":
		return userDisabled(ctx, env, args[1:], false)
	case "unlock":
		return userUnlock(ctx, env, args[1:])
	}
	return usagef("unknown user subcommand %q; use add, passwd, role, list, disable, enable or unlock", args[0])
}

// passwordSource is the help text of the password flags. Passwords never
// come from the command line, because other users of the machine can read
// it.
const passwordSource = "file holding the password on its first line; without it, the first line of standard input"

func userAdd(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "user add", "user add LOGIN --role ROLE [--partner SLUG] [--password-file FILE] [flags]")
	role := fs.String("role", "", "role: admin, analyst, privacy_officer, operator or partner")
	slug := fs.String("partner", "", "partner slug of a partner account (role partner only)")
	file := fs.String("password-file", "", passwordSource)
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "LOGIN")
	if err != nil {
		return err
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return usagef("--role: %v", err)
	}
	password, err := readPassword(env, *file)
	if err != nil {
		return err
	}
	if err := auth.CheckPassword(password); err != nil {
		return err
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := auth.CreateAccount(ctx, s.pool, auth.NewAccount{Login: pos[0], Role: r, Partner: *slug, Password: password}, auth.DefaultArgon2Params)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created account %s (id %d, role %s)\n", strings.ToLower(pos[0]), id, r)
	return nil
}

func userPasswd(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "user passwd", "user passwd LOGIN [--password-file FILE] [flags]")
	file := fs.String("password-file", "", passwordSource)
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "LOGIN")
	if err != nil {
		return err
	}
	password, err := readPassword(env, *file)
	if err != nil {
		return err
	}
	if err := auth.CheckPassword(password); err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := auth.SetPassword(ctx, s.pool, pos[0], password, "", auth.DefaultArgon2Params); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "changed the password of %s; its sessions have ended and any lockout is lifted\n", strings.ToLower(pos[0]))
	return nil
}

func userRole(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "user role", "user role LOGIN ROLE [--partner SLUG] [flags]")
	slug := fs.String("partner", "", "partner slug, for role partner")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "LOGIN", "ROLE")
	if err != nil {
		return err
	}
	r, err := auth.ParseRole(pos[1])
	if err != nil {
		return usagef("%v", err)
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := auth.SetRole(ctx, s.pool, pos[0], r, *slug, ""); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "account %s now has role %s; it applies from the account's next request\n", strings.ToLower(pos[0]), r)
	return nil
}

func userList(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "user list", "user list [flags]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := positional(fs); err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	accounts, err := auth.ListAccounts(ctx, s.pool)
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOGIN\tROLE\tPARTNER\tSTATUS\tSIGN-IN\tCREATED")
	for _, a := range accounts {
		status := "enabled"
		switch {
		case a.Disabled:
			status = "disabled"
		case a.LockedUntil != nil && a.LockedUntil.After(time.Now()):
			status = "locked until " + a.LockedUntil.UTC().Format(time.RFC3339)
		}
		signIn := "password"
		if !a.HasPassword {
			signIn = "oidc"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Login, a.Role, dashIfEmpty(a.Partner), status, signIn, a.CreatedAt.UTC().Format(time.DateOnly))
	}
	return tw.Flush()
}

func userDisabled(ctx context.Context, env *Env, args []string, disabled bool) error {
	verb := "enable"
	if disabled {
		verb = "disable"
	}
	fs, g := newFlagSet(env, "user "+verb, "user "+verb+" LOGIN [flags]")
	s, pos, err := g.parseAndOpen(ctx, env, fs, args, "LOGIN")
	if err != nil {
		return err
	}
	defer s.Close()
	if err := auth.SetDisabled(ctx, s.pool, pos[0], disabled, ""); err != nil {
		return err
	}
	if disabled {
		fmt.Fprintf(env.Stdout, "disabled account %s and ended its sessions\n", strings.ToLower(pos[0]))
	} else {
		fmt.Fprintf(env.Stdout, "enabled account %s\n", strings.ToLower(pos[0]))
	}
	return nil
}

func userUnlock(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "user unlock", "user unlock LOGIN [flags]")
	s, pos, err := g.parseAndOpen(ctx, env, fs, args, "LOGIN")
	if err != nil {
		return err
	}
	defer s.Close()
	if err := auth.Unlock(ctx, s.pool, pos[0], ""); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "unlocked account %s\n", strings.ToLower(pos[0]))
	return nil
}

// readPassword returns the first line of file, or of standard input when
// file is empty, without its line ending.
func readPassword(env *Env, file string) (string, error) {
	var r io.Reader = env.Stdin
	name := "standard input"
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		defer f.Close()
		r, name = f, file
	}
	if r == nil {
		return "", usagef("no password: give --password-file or write it to standard input")
	}
	line, err := bufio.NewReader(io.LimitReader(r, auth.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password from %s: %w", name, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("no password on the first line of %s; write it there, e.g. read -rs PW; printf '%%s\\n' \"$PW\" | axtract user ...", name)
	}
	return line, nil
}

package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/access"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pipeline"
)

func runPartner(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: create, list, key add, login create|rotate|revoke|list, access check, view define")
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
		return runPartnerLogin(ctx, env, args[1:])
	case "access":
		if len(args) < 2 || args[1] != "check" {
			return usagef("want: partner access check")
		}
		return partnerAccessCheck(ctx, env, args[2:])
	case "view":
		if len(args) < 2 || args[1] != "define" {
			return usagef("want: partner view define SLUG NAME --spec FILE")
		}
		return partnerViewDefine(ctx, env, args[2:])
	}
	return usagef("unknown partner subcommand %q; use create, list, key add, login, access check or view define", args[0])
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
	// Members with a general grant and no general denial in force today,
	// and members with a general denial in force, are counted apart: the
	// first are the members an opt_in partner reads, the second those an
	// opt_out partner does not. Consents to the partner's purpose count, as in the
	// policies; category consents do not.
	inForce := func(a string) string {
		return strings.NewReplacer("x.", a+".").Replace(`(x.partner_id = p.partner_id OR x.purpose_of_use = p.purpose_of_use)
			AND x.category IS NULL AND x.revoked_at IS NULL AND x.effective_from <= (now() AT TIME ZONE 'UTC')::date
			AND (x.effective_to IS NULL OR x.effective_to >= (now() AT TIME ZONE 'UTC')::date)`)
	}
	rows, err := s.pool.Query(ctx, `SELECT p.slug, p.name, p.purpose_of_use, p.consent_default,
		(SELECT count(*) FROM axtract.partner_view v WHERE v.partner_id = p.partner_id),
		(SELECT count(DISTINCT g.member_id) FROM axtract.consent g WHERE g.kind = 'grant' AND `+inForce("g")+`
		   AND NOT EXISTS (SELECT FROM axtract.consent d WHERE d.member_id = g.member_id AND d.kind = 'deny' AND `+inForce("d")+`)),
		(SELECT count(DISTINCT d.member_id) FROM axtract.consent d WHERE d.kind = 'deny' AND `+inForce("d")+`)
		FROM axtract.partner p ORDER BY p.slug`)
	if err != nil {
		return fmt.Errorf("list partners: %w", err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tPURPOSE\tDEFAULT\tVIEWS\tGRANTED\tDENIED")
	var slug, pname, purpose, consentDefault string
	var views, granted, denied int64
	_, err = pgx.ForEachRow(rows, []any{&slug, &pname, &purpose, &consentDefault, &views, &granted, &denied}, func() error {
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", slug, pname, purpose, consentDefault, views, granted, denied)
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

func runPartnerLogin(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want: partner login create|rotate|revoke|list")
	}
	switch args[0] {
	case "create":
		return partnerLoginCreate(ctx, env, args[1:])
	case "rotate":
		return partnerLoginRotate(ctx, env, args[1:])
	case "revoke":
		return partnerLoginRevoke(ctx, env, args[1:])
	case "list":
		return partnerLoginList(ctx, env, args[1:])
	}
	return usagef("unknown partner login subcommand %q; use create, rotate, revoke or list", args[0])
}

// guideFlags are the flags of the connection guide printed for a new
// password.
type guideFlags struct {
	host string
	port int
}

func addGuideFlags(env *Env, fs *flag.FlagSet) *guideFlags {
	g := &guideFlags{}
	fs.StringVar(&g.host, "host", env.Getenv("AXTRACT_PARTNER_HOST"),
		"host name partners connect to, as in the server's TLS certificate (env AXTRACT_PARTNER_HOST; default: the host of --database-url)")
	fs.IntVar(&g.port, "port", 0, "port partners connect to (default: the port of --database-url)")
	return g
}

func partnerLoginCreate(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "partner login create", "partner login create SLUG LOGIN [flags]")
	expires := fs.String("expires", "", "when the login expires: a date (the login ends at 00:00 UTC that day) or an RFC 3339 time; default: never")
	connLimit := fs.Int("connection-limit", access.DefaultConnectionLimit, "most sessions the login may open at once")
	statement := fs.Duration("statement-timeout", access.DefaultStatementTimeout, "longest a statement may run; 0 for no limit")
	idleTx := fs.Duration("idle-in-transaction-timeout", access.DefaultIdleInTransactionTimeout, "longest a session may stay idle in a transaction; 0 for no limit")
	idle := fs.Duration("idle-session-timeout", access.DefaultIdleSessionTimeout, "longest a session may stay idle; 0 for no limit")
	guide := addGuideFlags(env, fs)
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG", "LOGIN")
	if err != nil {
		return err
	}

	p := access.NewLoginParams(pos[0], pos[1])
	p.ConnectionLimit = *connLimit
	p.StatementTimeout = *statement
	p.IdleInTransactionTimeout = *idleTx
	p.IdleSessionTimeout = *idle
	if *expires != "" {
		if p.ValidUntil, err = parseExpiry(*expires); err != nil {
			return err
		}
	}

	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	cred, err := access.CreateLogin(ctx, s.pool, p)
	if err != nil {
		return err
	}

	fmt.Fprintf(env.Stdout, "created login %s of partner %s as role %s\n\n", pos[1], pos[0], cred.Role)
	printConnectionGuide(env.Stdout, s, guide, pos[0], cred)
	expiry := "never"
	if !p.ValidUntil.IsZero() {
		expiry = p.ValidUntil.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(env.Stdout, "Limits: %d sessions; statements %s; idle in a transaction %s; idle %s; expires %s.\n",
		p.ConnectionLimit, limitText(p.StatementTimeout), limitText(p.IdleInTransactionTimeout), limitText(p.IdleSessionTimeout), expiry)
	fmt.Fprintln(env.Stdout, "The session guard cancels statements and ends sessions past these limits, even if the session changes its own settings.")
	return nil
}

func partnerLoginRotate(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "partner login rotate", "partner login rotate SLUG LOGIN [flags]")
	grace := fs.Duration("grace", access.DefaultGrace, "how long the current password keeps working; 0 ends it now")
	guide := addGuideFlags(env, fs)
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	pos, err := positional(fs, "SLUG", "LOGIN")
	if err != nil {
		return err
	}
	if *grace < 0 {
		return usagef("--grace must be zero or positive")
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	cred, err := access.RotateLogin(ctx, s.pool, pos[0], pos[1], *grace)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "rotated login %s of partner %s: the new password belongs to the new role %s\n", pos[1], pos[0], cred.Role)
	fmt.Fprintf(env.Stdout, "The previous role and password keep working until %s; then the session guard ends their sessions and drops the role.\n\n",
		time.Now().Add(*grace).UTC().Format(time.RFC3339))
	printConnectionGuide(env.Stdout, s, guide, pos[0], cred)
	return nil
}

func partnerLoginRevoke(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "partner login revoke", "partner login revoke SLUG LOGIN [flags]")
	s, pos, err := g.parseAndOpen(ctx, env, fs, args, "SLUG", "LOGIN")
	if err != nil {
		return err
	}
	defer s.Close()
	ended, err := access.RevokeLogin(ctx, s.pool, pos[0], pos[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "revoked login %s of partner %s: dropped its roles and ended %d open session(s)\n", pos[1], pos[0], ended)
	return nil
}

func partnerLoginList(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "partner login list", "partner login list [SLUG] [flags]")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("want at most one argument (SLUG), got %d", fs.NArg())
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	logins, err := access.ListLogins(ctx, s.pool, fs.Arg(0))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTNER\tLOGIN\tROLE\tSTATUS\tVALID UNTIL\tSESSIONS\tLIMIT\tSTATEMENT\tIDLE IN TX\tIDLE")
	for _, l := range logins {
		validUntil := "-"
		if l.ValidUntil != nil {
			validUntil = l.ValidUntil.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", l.Slug, l.Login, l.Role, l.Status, validUntil,
			l.Sessions, l.ConnectionLimit, limitText(l.StatementTimeout), limitText(l.IdleInTransactionTimeout), limitText(l.IdleSessionTimeout))
	}
	return tw.Flush()
}

func partnerAccessCheck(ctx context.Context, env *Env, args []string) error {
	fs, g := newFlagSet(env, "partner access check", "partner access check [flags]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := g.open(ctx, env, false)
	if err != nil {
		return err
	}
	defer s.Close()
	findings, err := access.Check(ctx, s.pool)
	if err != nil {
		return err
	}
	if len(findings) > 0 {
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tROLE\tOBJECT\tPROBLEM")
		for _, f := range findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Severity, f.Role, f.Object, f.Problem)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	drift := access.CountDrift(findings)
	fmt.Fprintf(env.Stdout, "partner access: %d drift, %d warning(s)\n", drift, len(findings)-drift)
	if drift > 0 {
		return fmt.Errorf("found %d drift finding(s): revoke the grants added by hand; axtract migrate restores role settings and PUBLIC's privileges", drift)
	}
	return nil
}

// printConnectionGuide prints the password once and how to connect with
// psql and JDBC over TLS that verifies the server's certificate.
func printConnectionGuide(w io.Writer, s *session, guide *guideFlags, slug string, cred *access.Credential) {
	cfg := s.pool.Config().ConnConfig
	host, port := guide.host, guide.port
	if host == "" {
		host = cfg.Host
		if strings.HasPrefix(host, "/") {
			host = "localhost"
		}
	}
	if port == 0 {
		port = int(cfg.Port)
	}
	fmt.Fprintf(w, "password (shown once; AxTract keeps only its SCRAM-SHA-256 verifier): %s\n\n", cred.Password)
	fmt.Fprintln(w, "Connect over TLS that verifies the server's certificate; ca.crt is the certificate of the CA that signed it:")
	fmt.Fprintf(w, "  psql \"host=%s port=%d dbname=%s user=%s sslmode=verify-full sslrootcert=ca.crt\"\n", host, port, cfg.Database, cred.Role)
	fmt.Fprintf(w, "  jdbc:postgresql://%s:%d/%s?user=%s&sslmode=verify-full&sslrootcert=ca.crt\n", host, port, cfg.Database, cred.Role)
	fmt.Fprintln(w, "Give the password at psql's prompt, in ~/.pgpass or in JDBC's password property, never in the URL.")
	fmt.Fprintf(w, "The login reads only the views in schema partner_%s, which is its search_path.\n", slug)
}

// parseExpiry reads --expires: a date, meaning 00:00 UTC of that day, or
// an RFC 3339 time.
func parseExpiry(v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usagef("--expires %q is neither a date (2027-01-31) nor an RFC 3339 time (2027-01-31T17:00:00Z)", v)
	}
	return t, nil
}

func limitText(d time.Duration) string {
	if d == 0 {
		return "no limit"
	}
	return d.String()
}

package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/cli"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

func TestDefineRejectsSettingsThatFailLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	acmeWithDrop(t, db)
	cases := []struct{ name, sql string }{
		{"relative local dir", `SELECT axtract.destination_define('acme', 'rel', 'local', '{"dir": "relative/dir"}')`},
		{"unknown kind", `SELECT axtract.destination_define('acme', 's3', 's3', '{}')`},
		{"bad destination name", `SELECT axtract.destination_define('acme', 'Bad Name', 'local', '{"dir": "/tmp"}')`},
		{"bad feed name", `SELECT axtract.feed_define('Bad Name', 'acme', 'roster', 'drop', '{}')`},
		{"unknown compression", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"compression": "lz4"}')`},
		{"folder in file name", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"file_name": "{partner}/{feed}.csv"}')`},
		{"parent in file name", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"file_name": "../../etc/x.csv"}')`},
		{"hidden file name", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"file_name": ".x.csv"}')`},
		{"unknown format", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"format": "xlsx"}')`},
		{"format options not an object", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"format": "jsonl", "format_options": [1]}')`},
		{"options for csv", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"format_options": {"delimiter": "|"}}')`},
		{"unknown trigger suffix", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"trigger_suffix": ".ready"}')`},
		{"signing without encryption", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"sign": true, "encrypt": false}')`},
		{"relative portal dir", `SELECT axtract.destination_define('acme', 'web', 'portal', '{"dir": "files"}')`},
		{"portal with other settings", `SELECT axtract.destination_define('acme', 'web', 'portal', '{"host": "example.test"}')`},
		{"misspelt local key", `SELECT axtract.destination_define('acme', 'd2', 'local', '{"directory": "/tmp"}')`},
		{"misspelt sftp key", `SELECT axtract.destination_define('acme', 's', 'sftp', '{"host": "h", "user": "u", "host_key": "ssh-ed25519 AAAA", "private_key_fle": "/k"}')`},
		{"sftp without credentials", `SELECT axtract.destination_define('acme', 's', 'sftp', '{"host": "h", "user": "u", "host_key": "ssh-ed25519 AAAA"}')`},
		{"unknown file name placeholder", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"file_name": "{feed}_{date}.csv"}')`},
		{"empty file name", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"file_name": ""}')`},
	}
	for _, c := range cases {
		_, err := db.Pool.Exec(ctx, c.sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "22023" {
			t.Errorf("%s: err = %v, want SQLSTATE 22023 invalid_parameter_value", c.name, err)
		}
	}
	if _, err := db.Pool.Exec(ctx, `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"file_name": "{feed}_{slot}.csv", "encrypt": false}')`); err != nil {
		t.Errorf("valid feed rejected: %v", err)
	}
	for _, sql := range []string{
		`SELECT axtract.destination_define('acme', 'web', 'portal', '{}')`,
		`SELECT axtract.destination_define('acme', 'web2', 'portal', '{"dir": "/srv/axtract/files"}')`,
		`SELECT axtract.feed_define('g', 'acme', 'roster', 'web', '{"format": "parquet", "compression": "zip", "trigger_suffix": ".done", "manifest": false, "encrypt": false}')`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
	var format, compression, trigger string
	var manifest bool
	err := db.Pool.QueryRow(ctx, `SELECT format, compression, trigger_suffix, manifest FROM axtract.feed WHERE name = 'g'`).Scan(&format, &compression, &trigger, &manifest)
	if err != nil {
		t.Fatal(err)
	}
	if format != "parquet" || compression != "zip" || trigger != ".done" || manifest {
		t.Errorf("feed g stored format %s, compression %s, trigger %s, manifest %t; want parquet, zip, .done, false", format, compression, trigger, manifest)
	}

	// Without a compression, a parquet feed gets none, since the file is
	// compressed inside, and every other format zstd.
	for _, c := range []struct{ name, options, want string }{
		{"pq", `{"format": "parquet", "encrypt": false}`, "none"},
		{"js", `{"format": "jsonl", "encrypt": false}`, "zstd"},
	} {
		if _, err := db.Pool.Exec(ctx, `SELECT axtract.feed_define($1, 'acme', 'roster', 'web', $2::jsonb)`, c.name, c.options); err != nil {
			t.Fatalf("define %s: %v", c.name, err)
		}
		if err := db.Pool.QueryRow(ctx, `SELECT compression FROM axtract.feed WHERE name = $1`, c.name).Scan(&compression); err != nil {
			t.Fatal(err)
		}
		if compression != c.want {
			t.Errorf("feed %s (%s) has compression %s, want %s", c.name, c.options, compression, c.want)
		}
	}
}

// TestFeedDefineChecksFormatOptions checks that the feed command runs the
// format's own validation, which checks more than SQL, before it defines
// anything.
func TestFeedDefineChecksFormatOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	acmeWithDrop(t, db)
	run := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
		code := cli.Run(ctx, append(args, "--database-url", db.DSN), env)
		return code, stdout.String() + stderr.String()
	}

	code, out := run("feed", "define", "f", "--partner", "acme", "--view", "roster", "--destination", "drop",
		"--encrypt=false", "--format", "fhir", "--format-options", `{"resources": {"Patient": "roster"}, "colour": 1}`)
	if code == 0 {
		t.Fatalf("feed define with an unknown fhir option succeeded: %s", out)
	}
	if !strings.Contains(out, "colour") {
		t.Errorf("error does not name the invalid option colour: %s", out)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.feed").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d feeds defined after the rejected command, want 0", n)
	}

	code, out = run("feed", "define", "f", "--partner", "acme", "--view", "roster", "--destination", "drop",
		"--encrypt=false", "--format", "csv", "--compression", "zip", "--trigger-suffix", ".ok")
	if code != 0 {
		t.Fatalf("valid feed define failed: %s", out)
	}

	// A local folder that does not exist yet is defined, with a warning.
	missing := filepath.Join(t.TempDir(), "later")
	code, out = run("destination", "define", "acme", "later", "--kind", "local", "--config", `{"dir": "`+missing+`"}`)
	if code != 0 || !strings.Contains(out, "warning: folder "+missing+" does not exist") {
		t.Errorf("destination define with a missing folder: exit %d, output %q; want success with a warning", code, out)
	}
	code, out = run("destination", "define", "acme", "bad", "--kind", "local", "--config", `{"dir": `)
	if code == 0 || !strings.Contains(out, "line 1, column") {
		t.Errorf("destination define with malformed JSON: exit %d, output %q; want an error with its position", code, out)
	}

	// An SFTP host key that does not parse fails every run, so it is
	// rejected. A key file missing here may exist where the workers run.
	code, out = run("destination", "define", "acme", "sftp-bad", "--kind", "sftp", "--config",
		`{"host": "sftp.example.test", "user": "u", "host_key": "ssh-ed25519 AAAA...", "private_key_file": "/nonexistent/id"}`)
	if code == 0 || !strings.Contains(out, "HostKey") || !strings.Contains(out, "ssh-keyscan") {
		t.Errorf("destination define with an invalid host key: exit %d, output %q; want an error naming the host key", code, out)
	}
	const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	code, out = run("destination", "define", "acme", "sftp-later", "--kind", "sftp", "--config",
		`{"host": "sftp.example.test", "user": "u", "host_key": "`+hostKey+`", "private_key_file": "/nonexistent/id"}`)
	if code != 0 || !strings.Contains(out, "warning: private key file /nonexistent/id cannot be read") {
		t.Errorf("destination define with a missing key file: exit %d, output %q; want success with a warning", code, out)
	}
	for _, name := range []string{"sftp-bad", "sftp-later"} {
		var defined bool
		if err := db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM axtract.destination WHERE name = $1)", name).Scan(&defined); err != nil {
			t.Fatal(err)
		}
		if defined != (name == "sftp-later") {
			t.Errorf("destination %s defined = %v", name, defined)
		}
	}
}

func TestFeedDefineKeepsFeedsWithTheirPartner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	for _, slug := range []string{"acme", "beta"} {
		if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: slug, Name: slug, Purpose: "operations"}); err != nil {
			t.Fatal(err)
		}
		if _, err := partner.DefineView(ctx, db.Pool, slug, "roster", []byte(`{"dataset": "members", "columns": ["member_id"]}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `SELECT axtract.destination_define($1, 'drop', 'local', '{"dir": "/tmp"}')`, slug); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Pool.Exec(ctx, `SELECT axtract.feed_define('roster', 'acme', 'roster', 'drop', '{"encrypt": false}')`); err != nil {
		t.Fatal(err)
	}
	// Another partner cannot take the name, and with it acme's runs.
	_, err := db.Pool.Exec(ctx, `SELECT axtract.feed_define('roster', 'beta', 'roster', 'drop', '{"encrypt": false}')`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || !strings.Contains(pgErr.Message, "belongs to partner acme") {
		t.Errorf("redefining acme's feed for beta: err = %v, want SQLSTATE 23505 naming acme", err)
	}
	var owner string
	if err := db.Pool.QueryRow(ctx, `SELECT p.slug FROM axtract.feed f JOIN axtract.partner p USING (partner_id) WHERE f.name = 'roster'`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	if owner != "acme" {
		t.Errorf("feed roster belongs to %s, want acme", owner)
	}
	// acme may still redefine its own feed.
	if _, err := db.Pool.Exec(ctx, `SELECT axtract.feed_define('roster', 'acme', 'roster', 'drop', '{"encrypt": false, "compression": "gzip"}')`); err != nil {
		t.Errorf("acme redefining its feed: %v", err)
	}

	// A FHIR feed names views that exist.
	_, err = db.Pool.Exec(ctx, `SELECT axtract.feed_define('fhir', 'acme', 'roster', 'drop',
		'{"encrypt": false, "format": "fhir", "format_options": {"resources": {"Patient": "roster", "Condition": "nosuch"}}}')`)
	if !errors.As(err, &pgErr) || pgErr.Code != "P0002" || !strings.Contains(pgErr.Message, "Condition (nosuch)") {
		t.Errorf("fhir feed with a missing view: err = %v, want SQLSTATE P0002 naming Condition (nosuch)", err)
	}
}

func TestHelpHidesDatabasePassword(t *testing.T) {
	var out bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(key string) string {
		if key == "DATABASE_URL" {
			return "postgres://postgres:s3cretpw@db.example.test/axtract"
		}
		return ""
	}}
	for _, args := range [][]string{{"feed", "run", "-h"}, {"migrate", "-h"}, {"serve", "-h"}} {
		out.Reset()
		cli.Run(context.Background(), args, env)
		if strings.Contains(out.String(), "s3cretpw") {
			t.Errorf("axtract %s prints the password of DATABASE_URL:\n%s", strings.Join(args, " "), out.String())
		}
		if !strings.Contains(out.String(), "database-url") {
			t.Errorf("axtract %s help does not list --database-url:\n%s", strings.Join(args, " "), out.String())
		}
	}
}

func TestFeedListShowsRunOfLatestSlot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	acmeWithDrop(t, db)
	for _, sql := range []string{
		`SELECT axtract.feed_define('roster', 'acme', 'roster', 'drop', '{"encrypt": false, "schedule": "0 6 * * *"}')`,
		// Today's run first, then a backfilled run of last week's slot,
		// which gets the higher run id.
		`INSERT INTO axtract.run (feed_id, slot, trigger, status) SELECT feed_id, now() - interval '1 hour', 'schedule', 'succeeded' FROM axtract.feed`,
		`INSERT INTO axtract.run (feed_id, slot, trigger, status) SELECT feed_id, now() - interval '7 days', 'backfill', 'failed' FROM axtract.feed`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	var today int64
	if err := db.Pool.QueryRow(ctx, `SELECT min(run_id) FROM axtract.run`).Scan(&today); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	if code := cli.Run(ctx, []string{"feed", "list", "--database-url", db.DSN}, env); code != 0 {
		t.Fatalf("feed list: exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("feed list printed %q, want a header and one feed", stdout.String())
	}
	fields := strings.Fields(lines[1])
	if !slices.Contains(fields, fmt.Sprint(today)) || !slices.Contains(fields, "succeeded") {
		t.Errorf("feed list row %q, want today's run %d, succeeded", lines[1], today)
	}
}

// acmeWithDrop creates partner acme with a roster view of member ids and
// a local destination drop.
func acmeWithDrop(t *testing.T, db *pgtest.DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "roster", []byte(`{"dataset": "members", "columns": ["member_id"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `SELECT axtract.destination_define('acme', 'drop', 'local', '{"dir": "/tmp"}')`); err != nil {
		t.Fatal(err)
	}
}

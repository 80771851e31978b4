package cli_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/cli"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

func TestQualityCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "roster", []byte(`{"dataset": "members", "columns": ["member_id", "zip"]}`)); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`SELECT axtract.destination_define('acme', 'drop', 'local', '{"dir": "/tmp"}')`,
		`SELECT axtract.feed_define('roster', 'acme', 'roster', 'drop', '{"encrypt": false}')`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	run := func(stdin string, args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
		code := cli.Run(ctx, append(args, "--database-url", db.DSN), env)
		return code, stdout.String() + stderr.String()
	}
	status := func(runID int64) string {
		var s string
		if err := db.Pool.QueryRow(ctx, `SELECT status FROM axtract.run WHERE run_id = $1`, runID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	code, out := run("", "quality", "set", "roster", "--rules", `{"min_rows": 5, "required_columns": ["ssn"]}`)
	if code != 1 || !strings.Contains(out, "ssn") || !strings.Contains(out, "hint: Columns of the view: member_id, zip") {
		t.Errorf("rules naming a missing column: exit %d, output %q; want 1 naming ssn and the view's columns", code, out)
	}
	if code, out = run("", "quality", "set", "roster"); code != 2 {
		t.Errorf("set without rules: exit %d, want 2: %s", code, out)
	}
	code, out = run(`{"min_rows": 5, "required_columns": ["zip"], "on_fail": "hold"}`, "quality", "set", "roster", "--rules-file", "-")
	if code != 0 || !strings.Contains(out, `"on_fail": "hold"`) {
		t.Fatalf("set from standard input: exit %d, output %q", code, out)
	}
	if code, out = run("", "quality", "show", "roster"); code != 0 || !strings.Contains(out, `"min_rows": 5`) {
		t.Errorf("show: exit %d, output %q; want the stored rules", code, out)
	}

	hold := func() int64 {
		t.Helper()
		var id int64
		err := db.Pool.QueryRow(ctx, `
			INSERT INTO axtract.run (feed_id, slot, trigger, status, attempts, started_at)
			SELECT feed_id, clock_timestamp(), 'manual', 'running', 1, now() FROM axtract.feed WHERE name = 'roster'
			RETURNING run_id`).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		for _, sql := range []string{
			`INSERT INTO axtract.run_quality (run_id, feed_id, rules, outcome, rows, measures, violations)
			 SELECT $1, feed_id, rules, 'held', 3, '{}', '[{"check": "min_rows", "message": "3 rows, expected at least 5"}]'
			 FROM axtract.feed_quality`,
			`SELECT axtract.run_hold($1, 'min_rows: 3 rows, expected at least 5')`,
		} {
			if _, err := db.Pool.Exec(ctx, sql, id); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		return id
	}
	first, second := hold(), hold()

	code, out = run("", "quality", "held")
	if code != 0 || strings.Count(out, "min_rows: 3 rows, expected at least 5") != 2 {
		t.Errorf("held: exit %d, output %q; want both held runs", code, out)
	}
	code, out = run("", "quality", "result", itoa(first))
	if code != 0 || !strings.Contains(out, "held, 3 rows") || !strings.Contains(out, "min_rows: 3 rows, expected at least 5") {
		t.Errorf("result: exit %d, output %q; want the outcome and the violation", code, out)
	}

	if code, out = run("", "quality", "release", itoa(first)); code != 0 {
		t.Fatalf("release: exit %d: %s", code, out)
	}
	if s := status(first); s != "queued" {
		t.Errorf("released run is %s, want queued", s)
	}
	code, out = run("", "quality", "release", itoa(first))
	if code != 1 || !strings.Contains(out, "not held") {
		t.Errorf("second release: exit %d, output %q; want 1 saying the run is not held", code, out)
	}

	if code, out = run("", "quality", "discard", itoa(second)); code != 2 {
		t.Errorf("discard without --reason: exit %d, want 2: %s", code, out)
	}
	if s := status(second); s != "held" {
		t.Errorf("run is %s after a rejected discard, want held", s)
	}
	if code, out = run("", "quality", "discard", itoa(second), "--reason", "claims load was incomplete"); code != 0 {
		t.Fatalf("discard: exit %d: %s", code, out)
	}
	if s := status(second); s != "discarded" {
		t.Errorf("discarded run is %s, want discarded", s)
	}

	if code, out = run("", "quality", "set", "roster", "--rules", "{}"); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("set {}: exit %d, output %q; want the rules removed", code, out)
	}
	if code, out = run("", "quality", "show", "roster"); code != 0 || !strings.Contains(out, "has no quality rules") {
		t.Errorf("show after removal: exit %d, output %q", code, out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

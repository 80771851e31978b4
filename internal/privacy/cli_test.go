package privacy_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/cli"
	"github.com/axtract/axtract/internal/pgtest"
)

// runCLI runs the axtract command in-process against db and returns its
// exit code, standard output and standard error.
func runCLI(t *testing.T, db *pgtest.DB, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{
		Stdin:  strings.NewReader(""),
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(string) string { return "" },
	}
	code := cli.Run(context.Background(), append(args, "--database-url", db.DSN), env)
	return code, stdout.String(), stderr.String()
}

func TestCLIConsentAndDisclosures(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	insertMembers(t, db, member{id: memberID(1), birth: "1970-01-01"}, member{id: memberID(2), birth: "1980-01-01"},
		member{id: memberID(3), birth: "1990-01-01"})
	createPartner(t, db, "acme", "operations")
	defineView(t, db, "acme", "roster", `{"dataset": "members", "columns": ["member_id"]}`)
	newDisclosureFeed(t, db, "acme", "roster")

	file := filepath.Join(t.TempDir(), "consents.csv")
	csv := "member_id,effective_from,kind\n" + memberID(1) + ",2020-01-01,grant\n" + memberID(2) + ",2020-01-01,deny\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, db, "consent", "load", file, "--partner", "acme")
	if code != 0 {
		t.Fatalf("consent load: exit %d: %s", code, stderr)
	}
	requireContains(t, out, "loaded 2 consent(s) from consents.csv", "consent load output")

	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("member_id,effective_from\n"+memberID(1)+",yesterday\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, db, "consent", "load", bad, "--partner", "acme")
	if code != 1 {
		t.Errorf("consent load of an invalid file: exit %d, want 1", code)
	}
	requireContains(t, stderr, "bad.csv line 2, column effective_from", "consent load error")

	code, _, stderr = runCLI(t, db, "consent", "grant", "acme", memberID(2), "--category", "hiv", "--from", "2020-01-01")
	if code != 0 {
		t.Fatalf("consent grant: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI(t, db, "feed", "runs", "nosuch")
	if code == 0 {
		t.Error("feed runs of an unknown feed: exit 0, want an error")
	}
	requireContains(t, stderr, `feed "nosuch" not found`, "feed runs error")

	// Member 3 has a grant to the partner and a denial to its purpose,
	// which overrides it.
	for _, args := range [][]string{{"grant", "acme", memberID(3), "--from", "2020-01-01"},
		{"deny", "--purpose", "operations", memberID(3), "--from", "2020-01-01"}} {
		if code, _, stderr := runCLI(t, db, append([]string{"consent"}, args...)...); code != 0 {
			t.Fatalf("consent %v: exit %d: %s", args, code, stderr)
		}
	}
	// One member granted and two denied; the category grant is no general
	// one.
	code, out, stderr = runCLI(t, db, "partner", "list")
	if code != 0 {
		t.Fatalf("partner list: exit %d: %s", code, stderr)
	}
	if fields := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1]); len(fields) < 7 ||
		fields[0] != "acme" || fields[len(fields)-2] != "1" || fields[len(fields)-1] != "2" {
		t.Errorf("partner list row = %q, want acme with 1 granted and 2 denied members", fields)
	}

	code, out, stderr = runCLI(t, db, "consent", "default", "acme", "opt_out")
	if code != 0 {
		t.Fatalf("consent default: exit %d: %s", code, stderr)
	}
	requireContains(t, out, "without a denial in force", "consent default output")

	run := newRun(t, db, "acme-roster")
	extractRun(t, db, run, "acme", "roster")

	code, out, stderr = runCLI(t, db, "disclosures", "member", memberID(1))
	if code != 0 {
		t.Fatalf("disclosures member: exit %d: %s", code, stderr)
	}
	requireContains(t, out, "acme", "disclosures member output")
	requireContains(t, out, "roster v1", "disclosures member output")
	code, out, _ = runCLI(t, db, "disclosures", "member", memberID(2))
	if code != 0 {
		t.Fatalf("disclosures member of a denied member: exit %d", code)
	}
	requireContains(t, out, "no recorded disclosures", "disclosures member output for a denied member")

	day := today().Format("2006-01-02")
	code, out, stderr = runCLI(t, db, "disclosures", "partner", "acme", "--from", day, "--to", day)
	if code != 0 {
		t.Fatalf("disclosures partner: exit %d: %s", code, stderr)
	}
	requireContains(t, out, "1 run(s), 1 view record(s), 1 member disclosures", "disclosures partner output")

	code, _, _ = runCLI(t, db, "disclosures", "partner", "acme", "--from", day, "--to", "2000-01-01")
	if code != 2 {
		t.Errorf("disclosures partner with --to before --from: exit %d, want 2", code)
	}

	// A mistyped slug or member id is an error, not an empty accounting.
	code, _, stderr = runCLI(t, db, "disclosures", "partner", "acmee")
	if code == 0 {
		t.Errorf("disclosures partner of an unknown slug: exit 0")
	}
	requireContains(t, stderr, "partner acmee not found", "disclosures partner error")
	code, _, stderr = runCLI(t, db, "disclosures", "member", "00000000-0000-4000-8000-999999999999")
	if code == 0 {
		t.Errorf("disclosures member of an unknown member: exit 0")
	}
	requireContains(t, stderr, "not found", "disclosures member error")
}

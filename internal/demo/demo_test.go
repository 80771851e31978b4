package demo_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/demo"
	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/sshd/sshdtest"
)

func TestDemoDeliversThreeReadableFeeds(t *testing.T) {
	t.Parallel()
	sshdtest.RequireSSHD(t)
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Skip("gpg not found")
	}
	db := pgtest.New(t)
	var out bytes.Buffer
	load := func(ctx context.Context, pool *pgxpool.Pool) (string, error) {
		_, err := generate.Generate(ctx, pool, generate.Config{Members: 300, ClaimLines: 3000, Seed: 7}, nil)
		return "generated", err
	}
	deliveries, err := demo.Run(context.Background(), demo.Config{Pool: db.Pool, OutDir: t.TempDir(), Load: load, Out: &out})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if len(deliveries) != 3 {
		t.Fatalf("deliveries = %d, want 3", len(deliveries))
	}

	home, err := os.MkdirTemp("", "axdemo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	for _, d := range deliveries {
		if d.Rows == 0 {
			t.Errorf("feed %s delivered no rows", d.Feed)
		}
		if err := exec.Command("gpg", "--homedir", home, "--batch", "--import", d.SecretKey).Run(); err != nil {
			t.Fatalf("import %s: %v", d.SecretKey, err)
		}
		// The printed command is what a user runs; run it the same way.
		script := "gpg --homedir " + home + " --batch --decrypt " + d.Path + " 2>/dev/null | " + d.Decompress
		plain, err := exec.Command("sh", "-c", script).Output()
		if err != nil {
			t.Fatalf("%s: %v", script, err)
		}
		records, err := csv.NewReader(bytes.NewReader(plain)).ReadAll()
		if err != nil && err != io.EOF {
			t.Fatalf("feed %s is not CSV: %v", d.Feed, err)
		}
		if int64(len(records)-1) != d.Rows {
			t.Errorf("feed %s: file has %d rows, run recorded %d", d.Feed, len(records)-1, d.Rows)
		}
		if d.Feed == "research-claims_deidentified" {
			checkSafeHarbor(t, records)
		}
		if !strings.Contains(out.String(), d.Path) {
			t.Errorf("summary does not name %s", d.Path)
		}
	}
}

// checkSafeHarbor fails when the research file shows the birth year of a
// member aged 90 or older, or a ZIP code longer than three digits.
func checkSafeHarbor(t *testing.T, records [][]string) {
	t.Helper()
	header := records[0]
	year, zip := slices.Index(header, "birth_year"), slices.Index(header, "zip3")
	if year < 0 || zip < 0 {
		t.Fatalf("research file header %v lacks birth_year or zip3", header)
	}
	oldest := time.Now().UTC().Year() - 90
	for i, r := range records[1:] {
		if r[year] != "" {
			if y, err := strconv.Atoi(r[year]); err != nil || y < oldest {
				t.Errorf("row %d: birth_year %q, want empty or %d and later", i+1, r[year], oldest)
			}
		}
		if len(r[zip]) > 3 {
			t.Errorf("row %d: zip3 %q has more than three digits", i+1, r[zip])
		}
	}
}

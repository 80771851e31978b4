package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/worker"
)

// execAll runs each statement and fails the test on the first error.
func execAll(t *testing.T, db *pgtest.DB, statements ...string) {
	t.Helper()
	for _, sql := range statements {
		if _, err := db.Pool.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// queryInt returns the integer the query returns.
func queryInt(t *testing.T, db *pgtest.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// manualRun creates a manual run of feed and commits it, without a job.
func manualRun(t *testing.T, db *pgtest.DB, feed string) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	runID, _, err := worker.CreateManualRunTx(ctx, tx, feed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return runID
}

// runNow runs one final attempt of run runID in this process.
func runNow(t *testing.T, db *pgtest.DB, runID int64) *extract.Result {
	t.Helper()
	res, err := (&extract.Runner{Pool: db.Pool}).Run(context.Background(), runID, true)
	if err != nil {
		t.Fatalf("run %d: %v", runID, err)
	}
	return res
}

// fileLines returns the lines of a delivered, uncompressed file in dir.
func fileLines(t *testing.T, dir, name string) []string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(body), "\n"), "\n")
}

// finalFiles lists the data files in dir: not temporary uploads, and not
// the manifest each run delivers beside its data file.
func finalFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && !strings.HasSuffix(e.Name(), ".manifest.json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// runSlots returns the slots of feed's runs in order.
func runSlots(t *testing.T, db *pgtest.DB, feed string) []time.Time {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT r.slot FROM axtract.run r
		JOIN axtract.feed f ON f.feed_id = r.feed_id WHERE f.name = $1 ORDER BY r.slot`, feed)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var slots []time.Time
	for rows.Next() {
		var s time.Time
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		slots = append(slots, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return slots
}

package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/worker"
)

// setupIncremental adds view roster_inc (member_id, loaded_at) and feed
// acme-inc, incremental on loaded_at, to setup's partner.
func setupIncremental(t *testing.T, emptyWindow string) (*pgtest.DB, string) {
	t.Helper()
	db, dir := setup(t)
	execAll(t, db,
		`SELECT axtract.view_define('acme', 'roster_inc', '{"dataset": "members", "columns": ["member_id", "loaded_at"]}')`,
		`SELECT axtract.feed_define('acme-inc', 'acme', 'roster_inc', 'drop', '{"encrypt": false, "compression": "none",
			"file_name": "{feed}_{run}.csv", "watermark_column": "loaded_at", "empty_window": "`+emptyWindow+`"}')`,
	)
	return db, dir
}

// addMembers inserts n members in one transaction, so they share loaded_at.
func addMembers(t *testing.T, db *pgtest.DB, n int) {
	t.Helper()
	// now() of a later transaction is later; make sure of it.
	time.Sleep(2 * time.Millisecond)
	_, err := db.Pool.Exec(context.Background(), `INSERT INTO mart.member (member_id, first_name, birth_date)
		SELECT gen_random_uuid(), 'N' || i, DATE '1990-01-01' + i FROM generate_series(1, $1::int) i`, n)
	if err != nil {
		t.Fatal(err)
	}
	execAll(t, db, "SELECT axtract.consent_grant_all('acme', 'SELECT member_id FROM mart.member', DATE '2020-01-01')")
}

func watermark(t *testing.T, db *pgtest.DB) *string {
	t.Helper()
	var w *string
	if err := db.Pool.QueryRow(context.Background(), "SELECT watermark FROM axtract.feed WHERE name = 'acme-inc'").Scan(&w); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestIncrementalEmptyWindowDeliversHeader(t *testing.T) {
	t.Parallel()
	db, dir := setupIncremental(t, "file")

	first := runNow(t, db, manualRun(t, db, "acme-inc"))
	if first.Rows != 20 {
		t.Errorf("first run delivered %d rows, want all 20", first.Rows)
	}
	if first.Window == nil || first.Window.From != nil || first.Window.To == nil {
		t.Fatalf("first run window = %+v, want from the start to the newest loaded_at", first.Window)
	}
	if w := watermark(t, db); w == nil || *w != *first.Window.To {
		t.Errorf("watermark after the first run = %v, want %s", w, *first.Window.To)
	}

	addMembers(t, db, 5)
	second := runNow(t, db, manualRun(t, db, "acme-inc"))
	if second.Rows != 5 {
		t.Errorf("second run delivered %d rows, want the 5 new ones", second.Rows)
	}
	if lines := fileLines(t, dir, second.FileName); len(lines) != 6 || lines[0] != "member_id,loaded_at" {
		t.Errorf("second file has lines %q, want a header and 5 rows", lines)
	}

	// Nothing new: a file with the header only, and the watermark stays.
	before := watermark(t, db)
	third := runNow(t, db, manualRun(t, db, "acme-inc"))
	if third.Rows != 0 || third.FileName == "" {
		t.Fatalf("third run: %d rows in file %q, want 0 rows in a file", third.Rows, third.FileName)
	}
	if lines := fileLines(t, dir, third.FileName); !slices.Equal(lines, []string{"member_id,loaded_at"}) {
		t.Errorf("empty-window file = %q, want the header only", lines)
	}
	if after := watermark(t, db); *after != *before {
		t.Errorf("watermark moved from %s to %s on an empty window", *before, *after)
	}
}

func TestIncrementalEmptyWindowSkips(t *testing.T) {
	t.Parallel()
	db, dir := setupIncremental(t, "skip")

	runNow(t, db, manualRun(t, db, "acme-inc"))
	runID := manualRun(t, db, "acme-inc")
	res := runNow(t, db, runID)
	if res.FileName != "" || res.Rows != 0 {
		t.Errorf("run with nothing new delivered %q with %d rows, want nothing", res.FileName, res.Rows)
	}
	if files := finalFiles(t, dir); len(files) != 1 {
		t.Errorf("files = %v, want only the first run's", files)
	}
	var status string
	var fileName *string
	if err := db.Pool.QueryRow(context.Background(), "SELECT status, file_name FROM axtract.run WHERE run_id = $1", runID).
		Scan(&status, &fileName); err != nil {
		t.Fatal(err)
	}
	if status != "succeeded" || fileName != nil {
		t.Errorf("skipped run: status %s, file %v; want succeeded with no file", status, fileName)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.audit_event WHERE action = 'run.empty' AND run_id = $1", runID); n != 1 {
		t.Errorf("run.empty audit events = %d, want 1", n)
	}
}

func TestRerunDeliversSameRows(t *testing.T) {
	t.Parallel()
	db, dir := setupIncremental(t, "file")
	ctx := context.Background()

	first := runNow(t, db, manualRun(t, db, "acme-inc"))
	addMembers(t, db, 5)
	second := runNow(t, db, manualRun(t, db, "acme-inc"))
	addMembers(t, db, 3)
	mark := watermark(t, db)

	for _, original := range []*extract.Result{first, second} {
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rerunID, err := worker.RerunTx(ctx, tx, original.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		again := runNow(t, db, rerunID)
		want := fileLines(t, dir, original.FileName)
		got := fileLines(t, dir, again.FileName)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("re-run of run %d delivered %d lines, want the same %d lines", original.RunID, len(got), len(want))
		}
		if *again.Window.To != *original.Window.To {
			t.Errorf("re-run window ends at %s, want %s", *again.Window.To, *original.Window.To)
		}
	}
	if after := watermark(t, db); *after != *mark {
		t.Errorf("watermark moved from %s to %s on re-runs", *mark, *after)
	}
	// The 3 members added later are still ahead of the watermark.
	if next := runNow(t, db, manualRun(t, db, "acme-inc")); next.Rows != 3 {
		t.Errorf("next run delivered %d rows, want the 3 newest", next.Rows)
	}
}

func TestWatermarkAdvancesOnlyOnSuccess(t *testing.T) {
	t.Parallel()
	db, _ := setupIncremental(t, "file")
	ctx := context.Background()
	runID := manualRun(t, db, "acme-inc")

	failing := &extract.Runner{Pool: db.Pool, OpenDestination: func(ctx context.Context, kind string, config []byte) (deliver.Destination, error) {
		return nil, errors.New("connection reset by peer")
	}}
	if _, err := failing.Run(ctx, runID, false); err == nil {
		t.Fatal("run with a failing destination succeeded")
	}
	if w := watermark(t, db); w != nil {
		t.Fatalf("watermark = %s after a failed run, want none", *w)
	}
	var stored []byte
	if err := db.Pool.QueryRow(ctx, "SELECT watermark_window FROM axtract.run WHERE run_id = $1", runID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var window extract.Window
	if err := json.Unmarshal(stored, &window); err != nil || window.To == nil {
		t.Fatalf("stored window %s, err %v; want one with an end", stored, err)
	}

	// Rows loaded after the failed attempt are not in its window.
	addMembers(t, db, 5)
	retried := runNow(t, db, runID)
	if retried.Rows != 20 {
		t.Errorf("retry delivered %d rows, want the window's 20", retried.Rows)
	}
	if w := watermark(t, db); w == nil || *w != *window.To {
		t.Errorf("watermark after the retry = %v, want the window's end %s", w, *window.To)
	}
	if next := runNow(t, db, manualRun(t, db, "acme-inc")); next.Rows != 5 {
		t.Errorf("next run delivered %d rows, want 5", next.Rows)
	}
}

func TestIncrementalWaitsForOpenTransactions(t *testing.T) {
	t.Parallel()
	db, _ := setupIncremental(t, "file")
	ctx := context.Background()
	runNow(t, db, manualRun(t, db, "acme-inc"))

	// A load that started first but commits last: its rows carry the earlier
	// loaded_at, below what a later, committed load wrote.
	slow, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	if _, err := slow.Exec(ctx, `INSERT INTO mart.member (member_id, first_name, birth_date)
		SELECT gen_random_uuid(), 'S' || i, DATE '1970-01-01' + i FROM generate_series(1, 4) i`); err != nil {
		t.Fatal(err)
	}
	addMembers(t, db, 2)

	held := runNow(t, db, manualRun(t, db, "acme-inc"))
	if held.Rows != 0 {
		t.Errorf("run during the open load delivered %d rows, want 0: its window must stop before the open load", held.Rows)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	execAll(t, db, "SELECT axtract.consent_grant_all('acme', 'SELECT member_id FROM mart.member', DATE '2020-01-01')")
	if after := runNow(t, db, manualRun(t, db, "acme-inc")); after.Rows != 6 {
		t.Errorf("run after the load committed delivered %d rows, want 6 (4 from the slow load, 2 from the other)", after.Rows)
	}
}

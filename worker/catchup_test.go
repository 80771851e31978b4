package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/worker"
)

// hourlyFeed makes acme-roster an hourly feed created at 2026-12-04 00:30 UTC
// with catch-up policy policy.
func hourlyFeed(t *testing.T, db *pgtest.DB, policy string) {
	t.Helper()
	execAll(t, db,
		`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop',
			'{"encrypt": false, "compression": "none", "schedule": "0 * * * *", "catch_up": "`+policy+`"}')`,
		"UPDATE axtract.feed SET created_at = '2026-12-04T00:30:00Z', schedule_cursor = NULL WHERE name = 'acme-roster'",
	)
}

func tick(t *testing.T, db *pgtest.DB, now time.Time) worker.TickResult {
	t.Helper()
	res, err := worker.Tick(context.Background(), db.Pool, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestTickCatchUpAll(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	hourlyFeed(t, db, "all")

	// Down from 00:30 to 00:10 the next day: 24 hourly slots were missed.
	now := time.Date(2026, 12, 5, 0, 10, 0, 0, time.UTC)
	var counts []int
	for range 5 {
		counts = append(counts, tick(t, db, now).Enqueued)
	}
	want := []int{worker.MaxSlotsPerFeed, worker.MaxSlotsPerFeed, 24 - 2*worker.MaxSlotsPerFeed, 0, 0}
	for i := range want {
		if counts[i] != want[i] {
			t.Errorf("tick %d enqueued %d runs, want %d (all: %v)", i+1, counts[i], want[i], counts)
		}
	}
	slots := runSlots(t, db, "acme-roster")
	if len(slots) != 24 {
		t.Fatalf("runs = %d, want 24", len(slots))
	}
	for i, s := range slots {
		if want := time.Date(2026, 12, 4, 1+i, 0, 0, 0, time.UTC); !s.Equal(want) {
			t.Errorf("run %d slot = %s, want %s", i, s.UTC(), want)
		}
	}
	if n := queryInt(t, db, "SELECT count(*) FROM river.river_job WHERE kind = 'axtract.extract'"); n != 24 {
		t.Errorf("extract jobs = %d, want 24", n)
	}
	if n := tick(t, db, now.Add(time.Hour)).Enqueued; n != 1 {
		t.Errorf("an hour later: enqueued %d, want 1", n)
	}
}

func TestTickCatchUpLatest(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	hourlyFeed(t, db, "latest")

	now := time.Date(2026, 12, 5, 0, 10, 0, 0, time.UTC)
	res := tick(t, db, now)
	if res.Enqueued != 1 || res.Collapsed != 1 {
		t.Errorf("tick after downtime: %+v, want 1 run enqueued and 1 feed collapsed", res)
	}
	if res := tick(t, db, now); res.Enqueued != 0 {
		t.Errorf("second tick enqueued %d, want 0", res.Enqueued)
	}
	slots := runSlots(t, db, "acme-roster")
	if len(slots) != 1 || !slots[0].Equal(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("slots = %v, want only the newest, 2026-12-05 00:00 UTC", slots)
	}
	var first, before time.Time
	err := db.Pool.QueryRow(context.Background(), `SELECT (detail->>'first')::timestamptz, (detail->>'before')::timestamptz
		FROM axtract.audit_event WHERE action = 'schedule.skipped'`).Scan(&first, &before)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Equal(time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)) || !before.Equal(slots[0]) {
		t.Errorf("skipped range = %s before %s, want 2026-12-04 01:00 before the enqueued slot", first.UTC(), before.UTC())
	}
	if res := tick(t, db, now.Add(time.Hour)); res.Enqueued != 1 || res.Collapsed != 0 {
		t.Errorf("an hour later: %+v, want 1 run and nothing collapsed", res)
	}
}

func TestConcurrentTicksEnqueueEachSlotOnce(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	hourlyFeed(t, db, "all")
	execAll(t, db, `INSERT INTO axtract.feed (name, partner_id, view_id, destination_id, encrypt, compression, schedule, catch_up, created_at)
		SELECT 'copy-' || i, partner_id, view_id, destination_id, false, 'none', schedule, catch_up, created_at
		FROM axtract.feed, generate_series(1, 20) i WHERE name = 'acme-roster'`)

	// Four schedulers tick at once, several times, as processes would.
	now := time.Date(2026, 12, 5, 0, 10, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if _, err := worker.Tick(context.Background(), db.Pool, now, nil); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for tick(t, db, now).Enqueued > 0 {
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.run"); n != 21*24 {
		t.Errorf("runs = %d, want %d: 21 feeds with 24 slots each", n, 21*24)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM (SELECT DISTINCT feed_id, slot FROM axtract.run) s"); n != 21*24 {
		t.Errorf("distinct (feed, slot) = %d, want %d", n, 21*24)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM river.river_job WHERE kind = 'axtract.extract'"); n != 21*24 {
		t.Errorf("extract jobs = %d, want one per run", n)
	}
}

func TestPausedFeedIsNotScheduled(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	hourlyFeed(t, db, "latest")
	ctx := context.Background()

	if changed, err := worker.Pause(ctx, db.Pool, "acme-roster"); err != nil || !changed {
		t.Fatalf("Pause = %t, %v", changed, err)
	}
	now := time.Date(2026, 12, 4, 5, 10, 0, 0, time.UTC)
	if res := tick(t, db, now); res.Enqueued != 0 {
		t.Errorf("tick of a paused feed enqueued %d runs", res.Enqueued)
	}
	if _, _, err := worker.CreateManualRunTx(ctx, mustBegin(t, db), "acme-roster", now); err == nil {
		t.Error("manual run of a paused feed accepted")
	}
	// Resumed without skipping, the newest missed slot runs.
	if _, err := worker.Resume(ctx, db.Pool, "acme-roster", false); err != nil {
		t.Fatal(err)
	}
	if res := tick(t, db, now); res.Enqueued != 1 {
		t.Errorf("tick after resume enqueued %d, want 1", res.Enqueued)
	}

	// Resumed skipping missed slots, nothing runs until the next slot.
	execAll(t, db, "UPDATE axtract.feed SET schedule_cursor = '2026-12-04T05:00:00Z'")
	if _, err := worker.Pause(ctx, db.Pool, "acme-roster"); err != nil {
		t.Fatal(err)
	}
	if _, err := worker.Resume(ctx, db.Pool, "acme-roster", true); err != nil {
		t.Fatal(err)
	}
	var next time.Time
	if err := db.Pool.QueryRow(ctx, "SELECT next_slot FROM axtract.feed WHERE name = 'acme-roster'").Scan(&next); err != nil {
		t.Fatal(err)
	}
	if !next.After(time.Now()) {
		t.Errorf("next slot after resume --skip-missed = %s, want after now", next)
	}
}

func mustBegin(t *testing.T, db *pgtest.DB) pgx.Tx {
	t.Helper()
	tx, err := db.Pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	return tx
}

func TestBackfillEnqueuesEachSlotOnce(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	ctx := context.Background()
	execAll(t, db, `SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop',
		'{"encrypt": false, "compression": "none", "schedule": "daily 06:00", "time_zone": "America/Chicago"}')`)
	backfill := func(from, to string) (int, error) {
		tx := mustBegin(t, db)
		n, err := worker.BackfillTx(ctx, tx, "acme-roster", day(t, from), day(t, to))
		if err != nil {
			return 0, err
		}
		return n, tx.Commit(ctx)
	}

	// 2026-11-01 is the fall-back day in Chicago; 06:00 is there once.
	if n, err := backfill("2026-10-30", "2026-11-02"); err != nil || n != 4 {
		t.Fatalf("backfill = %d, %v; want 4 runs", n, err)
	}
	if n, err := backfill("2026-10-30", "2026-11-02"); err != nil || n != 0 {
		t.Errorf("same backfill again = %d, %v; want 0", n, err)
	}
	if n, err := backfill("2026-11-02", "2026-11-04"); err != nil || n != 2 {
		t.Errorf("overlapping backfill = %d, %v; want 2 new runs", n, err)
	}
	slots := runSlots(t, db, "acme-roster")
	want := []string{"2026-10-30T11:00:00Z", "2026-10-31T11:00:00Z", "2026-11-01T12:00:00Z", "2026-11-02T12:00:00Z",
		"2026-11-03T12:00:00Z", "2026-11-04T12:00:00Z"}
	if len(slots) != len(want) {
		t.Fatalf("slots = %v, want %v", slots, want)
	}
	for i := range want {
		if w, _ := time.Parse(time.RFC3339, want[i]); !slots[i].Equal(w) {
			t.Errorf("slot %d = %s, want %s", i, slots[i].UTC().Format(time.RFC3339), want[i])
		}
	}
	if n := queryInt(t, db, "SELECT count(*) FROM axtract.run WHERE trigger = 'backfill' AND job_id IS NOT NULL"); n != 6 {
		t.Errorf("backfill runs with a job = %d, want 6", n)
	}
	if _, err := backfill("2026-11-04", "2026-11-01"); err == nil {
		t.Error("backfill with from after to accepted")
	}
	// Slots in the future are the scheduler's.
	future := time.Now().AddDate(0, 0, 5).Format(time.DateOnly)
	if n, err := backfill(future, future); err != nil || n != 0 {
		t.Errorf("backfill of a future day = %d, %v; want 0", n, err)
	}
}

func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/worker"
)

// benchFeeds creates a database with n feeds, daily at 06:00 Chicago time
// (12:00 UTC in December) and created the day before slotDay.
func benchFeeds(b *testing.B, n int) *pgtest.DB {
	b.Helper()
	db := pgtest.New(b)
	ctx := context.Background()
	for _, sql := range []string{
		"SELECT axtract.partner_create('acme', 'Acme', 'operations', NULL)",
		`SELECT axtract.view_define('acme', 'roster', '{"dataset": "members", "columns": ["member_id"]}')`,
		`SELECT axtract.destination_define('acme', 'drop', 'local', '{"dir": "/nonexistent"}')`,
		`SELECT axtract.feed_define('feed-0', 'acme', 'roster', 'drop', '{"schedule": "daily 06:00", "time_zone": "America/Chicago"}')`,
		fmt.Sprintf(`INSERT INTO axtract.feed (name, partner_id, view_id, destination_id, schedule, time_zone)
			SELECT 'feed-' || i, partner_id, view_id, destination_id, schedule, time_zone
			FROM axtract.feed, generate_series(1, %d) i WHERE name = 'feed-0'`, n-1),
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	return db
}

// BenchmarkTick measures one scheduling pass in which every feed has a due
// slot, and one in which none has. In the first, ns/op is the pass and
// runs/s counts runs created with their River jobs.
func BenchmarkTick(b *testing.B) {
	slot := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("due/feeds=%d", n), func(b *testing.B) {
			db := benchFeeds(b, n)
			ctx := context.Background()
			var total time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for _, sql := range []string{
					"DELETE FROM axtract.run",
					"DELETE FROM river.river_job",
					"UPDATE axtract.feed SET created_at = '2026-12-02T18:00:00Z', schedule_cursor = NULL, next_slot = NULL",
					"VACUUM ANALYZE axtract.feed, axtract.run, river.river_job",
				} {
					if _, err := db.Pool.Exec(ctx, sql); err != nil {
						b.Fatalf("%s: %v", sql, err)
					}
				}
				b.StartTimer()
				start := time.Now()
				res, err := worker.Tick(ctx, db.Pool, slot.Add(time.Minute), nil)
				total += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if res.Enqueued != n {
					b.Fatalf("tick enqueued %d runs, want %d", res.Enqueued, n)
				}
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "runs/s")
		})
		b.Run(fmt.Sprintf("idle/feeds=%d", n), func(b *testing.B) {
			db := benchFeeds(b, n)
			ctx := context.Background()
			if _, err := worker.Tick(ctx, db.Pool, slot.Add(time.Minute), nil); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				res, err := worker.Tick(ctx, db.Pool, slot.Add(2*time.Minute), nil)
				if err != nil {
					b.Fatal(err)
				}
				if res.Enqueued != 0 {
					b.Fatalf("idle tick enqueued %d runs", res.Enqueued)
				}
			}
		})
	}
}

package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/auth"
	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/pgtest"
)

// The benchmarks measure the latency a portal gets: 50 clients send
// requests at once to an httptest server on 127.0.0.1, over a database
// seeded by internal/generate with 2,000 members and 16,000 claim lines, 6
// partners, 12 feeds and 1,200 runs. They report p50 and p99 in ms.
//
//	go test -run '^$' -bench . -benchtime 2000x ./graph/

const benchClients = 50

const dashboardQuery = `{ dashboard {
	runsByStatus { status count }
	lateRuns
	attention { state feed { name partner { slug } } lastRun { id status finishedAt } }
	recentRuns(first: 50) { id status rows bytes durationMs slot feed { name } }
	running { run { id feed { name } } rowsCopied bytesCopied }
} }`

func BenchmarkDashboard(b *testing.B) {
	srv := benchServer(b)
	body, _ := json.Marshal(map[string]any{"query": dashboardQuery})
	runClients(b, srv, body, benchClients)
}

// BenchmarkDashboardOneClient sends the same requests one at a time, for
// the latency without queueing.
func BenchmarkDashboardOneClient(b *testing.B) {
	srv := benchServer(b)
	body, _ := json.Marshal(map[string]any{"query": dashboardQuery})
	runClients(b, srv, body, 1)
}

// BenchmarkDashboardUncached reads the database on every request
// (DashboardMaxAge < 0), for comparison.
func BenchmarkDashboardUncached(b *testing.B) {
	srv := benchServer(b)
	body, _ := json.Marshal(map[string]any{"query": dashboardQuery})
	runClients(b, srv+"/uncached", body, benchClients)
}

// BenchmarkViewPreview sends the same spec in every request, as a
// designer page does while it waits for a change.
func BenchmarkViewPreview(b *testing.B) {
	runClients(b, benchServer(b), previewBody("10"), benchClients)
}

// BenchmarkViewPreviewOneClient sends the previews one at a time.
func BenchmarkViewPreviewOneClient(b *testing.B) {
	runClients(b, benchServer(b), previewBody("10"), 1)
}

// BenchmarkViewPreviewDistinct sends a spec with another filter value in
// every request, so no preview finds its plan prepared (previewplan.go).
// The values differ only below a cent, so every spec selects the same rows.
func BenchmarkViewPreviewDistinct(b *testing.B) {
	runClientsEach(b, benchServer(b), func(i int) []byte {
		return previewBody(fmt.Sprintf("10.%06d", i+benchClients))
	}, benchClients)
}

// previewBody previews a claims view of partner p0 with the filter
// paid_amount > minPaid, over columns its live view already reads.
func previewBody(minPaid string) []byte {
	body, _ := json.Marshal(map[string]any{"query": previewQuery, "variables": map[string]any{
		"p": "p0",
		"s": map[string]any{"dataset": "medical_claims",
			"columns": []string{"member_id", "service_from", "procedure_code", "paid_amount"},
			"filters": []any{map[string]any{"column": "paid_amount", "op": ">", "value": minPaid}}},
		"n": 20,
	}})
	return body
}

var (
	benchOnce sync.Once
	benchURL  string
)

// benchServer returns the URL of the benchmark server, which is set up
// once per process and shared by the benchmarks: setting it up takes longer
// than a benchmark runs. It stays up until the test binary exits.
func benchServer(b *testing.B) string {
	benchOnce.Do(func() { benchURL = startBenchServer(b) })
	if benchURL == "" {
		b.Fatal("benchmark server failed to start")
	}
	return benchURL
}

func startBenchServer(b *testing.B) string {
	ctx := context.Background()
	db := pgtest.New(processTB{TB: b})
	if _, err := generate.Generate(ctx, db.Pool, generate.Config{Members: 2000, ClaimLines: 16000, Seed: 5}, nil); err != nil {
		b.Fatal(err)
	}
	bb := &bundle{db: db, runs: map[string]int64{}}
	for i := range 6 {
		slug := fmt.Sprintf("p%d", i)
		mustExec(b, bb, `SELECT axtract.partner_create($1, $1, 'payment')`, slug)
		mustExec(b, bb, `SELECT axtract.consent_grant_all($1, 'SELECT member_id FROM mart.member WHERE random() < 0.5', '2020-01-01')`, slug)
		mustExec(b, bb, `SELECT axtract.view_define($1, 'claims', $2)`, slug,
			`{"dataset": "medical_claims", "columns": ["member_id", "service_from", "procedure_code", "paid_amount"]}`)
		mustExec(b, bb, `SELECT axtract.destination_define($1, 'portal', 'portal', '{}')`, slug)
		for f := range 2 {
			mustExec(b, bb, `SELECT axtract.feed_define($1, $2, 'claims', 'portal', '{"schedule": "0 6 * * *", "encrypt": false}')`,
				fmt.Sprintf("%s-f%d", slug, f), slug)
		}
	}
	mustExec(b, bb, `
		INSERT INTO axtract.run (feed_id, slot, trigger, status, attempts, rows, bytes, error, started_at, finished_at, deadline_at)
		SELECT f.feed_id, now() - make_interval(hours => n), 'schedule',
		       CASE WHEN n = 1 AND f.feed_id % 3 = 0 THEN 'running'
		            WHEN n % 10 = 3 THEN 'failed' ELSE 'succeeded' END, 1,
		       1000 + n, 100000 + n, CASE WHEN n % 10 = 3 THEN 'timed out' END,
		       now() - make_interval(hours => n), now() - make_interval(hours => n) + interval '30 seconds',
		       now() - make_interval(hours => n) + interval '1 hour'
		FROM axtract.feed f, generate_series(1, 100) AS n`)
	mustExec(b, bb, `ANALYZE`)

	cfg, err := pgxpool.ParseConfig(db.DSN)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	atExit(pool.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cached := NewHandler(pool, Options{Logger: logger})
	uncached := NewHandler(pool, Options{Logger: logger, DashboardMaxAge: -1})
	principal := &auth.Principal{AccountID: 1, Login: "bench", Role: auth.RoleAnalyst}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := cached
		if r.URL.Path == "/uncached" {
			h = uncached
		}
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), principal)))
	}))
	atExit(srv.Close)
	return srv.URL
}

// processTB lets a database outlive the benchmark that creates it: its
// cleanups run when the test binary exits (TestMain), and its errors then
// go to standard error.
type processTB struct{ testing.TB }

func (p processTB) Cleanup(f func()) { atExit(f) }

func (p processTB) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

// runClients sends b.N requests with body from clients goroutines and
// reports the latency percentiles.
func runClients(b *testing.B, url string, body []byte, clients int) {
	runClientsEach(b, url, func(int) []byte { return body }, clients)
}

// runClientsEach is runClients with request i sending body(i).
func runClientsEach(b *testing.B, url string, body func(i int) []byte, clients int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}, Timeout: 30 * time.Second}
	send := func(i int) error {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body(i)))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		// The client shares the machine with the server, so it only looks
		// for errors rather than decoding every response.
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || bytes.Contains(data, []byte(`"errors"`)) {
			return fmt.Errorf("status %d: %s", resp.StatusCode, data)
		}
		return nil
	}
	// Warm the connections and the query cache.
	for i := range clients {
		if err := send(-1 - i); err != nil {
			b.Fatal(err)
		}
	}

	latencies := make([]time.Duration, b.N)
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failure error
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= b.N {
					return
				}
				start := time.Now()
				err := send(i)
				latencies[i] = time.Since(start)
				if err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if failure != nil {
		b.Fatal(failure)
	}
	slices.Sort(latencies)
	ms := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(ms(0.50), "p50_ms")
	b.ReportMetric(ms(0.99), "p99_ms")
	b.ReportMetric(0, "ns/op")
}

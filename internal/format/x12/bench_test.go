package x12_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/x12"
	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/pgtest"
)

// csvWriter is the baseline writer: each row as one CSV record.
type csvWriter struct{ w *csv.Writer }

func (c *csvWriter) WriteRow(fields [][]byte) error {
	record := make([]string, len(fields))
	for i, f := range fields {
		record[i] = string(f)
	}
	return c.w.Write(record)
}

func (c *csvWriter) Close() error { c.w.Flush(); return c.w.Error() }

// BenchmarkWriters measures the 834 writer against the CSV baseline on
// the same rows in memory.
func BenchmarkWriters(b *testing.B) {
	const n = 100_000
	rows := make([][][]byte, n)
	for i := range rows {
		rows[i] = threeMembers[i%len(threeMembers)]
	}
	f, err := x12.New(json.RawMessage(baseOptions))
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		make func() (format.Writer, error)
	}{
		{"csv", func() (format.Writer, error) { return &csvWriter{csv.NewWriter(io.Discard)}, nil }},
		{"x12-834", func() (format.Writer, error) { return f.NewWriter(io.Discard, enrollmentColumns, testInfo) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				w, err := tc.make()
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range rows {
					if err := w.WriteRow(r); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkCopyX12 compares an 834 of generated enrollment spans with a
// bare COPY of the same rows in CSV to a discarding sink, on one
// connection. AXTRACT_BENCH_MEMBERS sets the number of members (default
// 100,000). It reports the rows per second of each and their ratio.
func BenchmarkCopyX12(b *testing.B) {
	members := 100_000
	if s := os.Getenv("AXTRACT_BENCH_MEMBERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("AXTRACT_BENCH_MEMBERS=%q is invalid; set a positive number of members", s)
		}
		members = n
	}
	ctx := context.Background()
	db := pgtest.New(b)
	cfg := generate.Config{Members: members, ClaimLines: -1, PharmacyClaims: -1, Labs: -1}
	if _, err := generate.Generate(ctx, db.Pool, cfg, nil); err != nil {
		b.Fatalf("generate: %v", err)
	}
	conn, err := pgx.Connect(ctx, db.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		"SET TimeZone = 'UTC'", "SET DateStyle = 'ISO'",
		`CREATE VIEW public.bench_roster AS SELECT e.member_id, e.subscriber_id, e.relationship, e.plan_name, e.start_date,
			e.end_date, m.first_name, m.last_name, m.birth_date, m.gender, m.address, m.city, m.state, m.zip
			FROM mart.enrollment e JOIN mart.member m ON m.member_id = e.member_id`,
		"VACUUM ANALYZE mart.member", "VACUUM ANALYZE mart.enrollment",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
	}
	f, err := x12.New(json.RawMessage(baseOptions))
	if err != nil {
		b.Fatal(err)
	}
	cols, err := format.ColumnsOf(ctx, conn, "bench_roster")
	if err != nil {
		b.Fatal(err)
	}

	bare := func() time.Duration {
		start := time.Now()
		if _, err := conn.PgConn().CopyTo(ctx, io.Discard, "COPY (SELECT * FROM bench_roster) TO STDOUT WITH (FORMAT csv, HEADER)"); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	export := func() (time.Duration, int64) {
		start := time.Now()
		w, err := f.NewWriter(io.Discard, cols, testInfo)
		if err != nil {
			b.Fatal(err)
		}
		d := format.NewDecoder(w, len(cols))
		if _, err := conn.PgConn().CopyTo(ctx, d, "COPY (SELECT * FROM bench_roster) TO STDOUT"); err != nil {
			b.Fatal(err)
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start), d.Rows()
	}

	bare() // warm the cache
	var bareTime, x12Time time.Duration
	var rows int64
	for b.Loop() {
		bareTime += bare()
		d, n := export()
		x12Time += d
		rows = n
	}
	runs := float64(b.N)
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(rows)*runs/bareTime.Seconds(), "csv_rows/s")
	b.ReportMetric(float64(rows)*runs/x12Time.Seconds(), "x12_rows/s")
	b.ReportMetric(x12Time.Seconds()/bareTime.Seconds(), "x12/csv")
}

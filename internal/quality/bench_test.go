package quality_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/formats"
	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/quality"
)

// BenchmarkChecker measures the cost of a Checker over the csv writer, on
// generated claim lines that a real COPY printed in text format and that the
// benchmark keeps in memory: decode, measure and write to io.Discard. csv is
// the bare writer. counts adds NULL counts with max_null_pct and
// required_columns rules, and unique adds unique_columns on a key unique per
// line. They report cpu_ns/row, this process's CPU time per row, which other
// processes on a busy machine inflate less than wall time, and overhead_pct
// against a bare write made in the same iteration.
// AXTRACT_QUALITY_BENCH_LINES sets the number of claim lines (default 50000).
func BenchmarkChecker(b *testing.B) {
	lines := 50000
	if s := os.Getenv("AXTRACT_QUALITY_BENCH_LINES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("AXTRACT_QUALITY_BENCH_LINES is %q, expected a positive number of claim lines", s)
		}
		lines = n
	}
	ctx := context.Background()
	db := pgtest.New(b)
	cfg := generate.Config{Members: max(lines/8, 100), ClaimLines: lines, PharmacyClaims: -1, Labs: -1, Workers: 2}
	if _, err := generate.Generate(ctx, db.Pool, cfg, nil); err != nil {
		b.Fatal(err)
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	const query = "SELECT claim_id::text || '-' || line_number AS line_key, * FROM mart.claim_line"
	if _, err := conn.Exec(ctx, "CREATE TEMP VIEW bench_lines AS "+query); err != nil {
		b.Fatal(err)
	}
	cols, err := format.ColumnsOf(ctx, conn, "bench_lines")
	if err != nil {
		b.Fatal(err)
	}
	var text bytes.Buffer
	tag, err := conn.Conn().PgConn().CopyTo(ctx, &text, "COPY (SELECT * FROM bench_lines) TO STDOUT")
	if err != nil {
		b.Fatal(err)
	}
	if tag.RowsAffected() != int64(lines) {
		b.Fatalf("COPY printed %d rows, expected %d", tag.RowsAffected(), lines)
	}
	csv, err := formats.New("csv", nil)
	if err != nil {
		b.Fatal(err)
	}

	counts := quality.Rules{
		MaxNullPct:      map[string]float64{"modifier_1": 100, "modifier_2": 100, "rendering_provider_id": 100},
		RequiredColumns: []string{"claim_id", "member_id", "service_from"},
	}
	unique := counts
	unique.UniqueColumns = []string{"line_key"}

	// write decodes the COPY text into the csv writer, under a Checker for
	// rules unless they are nil, and returns the CPU time it took.
	write := func(b *testing.B, rules *quality.Rules) time.Duration {
		start := cpuTime(b)
		w, err := csv.NewWriter(io.Discard, cols, format.Info{})
		if err != nil {
			b.Fatal(err)
		}
		var chk *quality.Checker
		if rules != nil {
			if chk, err = quality.NewChecker(w, cols, rules); err != nil {
				b.Fatal(err)
			}
			w = chk
		}
		dec := format.NewDecoder(w, len(cols))
		for chunk := text.Bytes(); len(chunk) > 0; {
			n := min(len(chunk), 64<<10)
			if _, err := dec.Write(chunk[:n]); err != nil {
				b.Fatal(err)
			}
			chunk = chunk[n:]
		}
		if err := dec.Close(); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if chk != nil {
			if res := chk.Evaluate(nil); !res.Passed() {
				b.Fatalf("generated lines broke the rules: %s", res.Summary())
			}
		}
		return cpuTime(b) - start
	}

	b.Run("csv", func(b *testing.B) {
		b.SetBytes(int64(text.Len()))
		var spent time.Duration
		for b.Loop() {
			spent += write(b, nil)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/row")
		b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N)/float64(lines), "cpu_ns/row")
	})
	// Each iteration of the checked cases also writes the bare csv, so that
	// overhead_pct compares runs made under the same load.
	for _, c := range []struct {
		name  string
		rules *quality.Rules
	}{{"counts", &counts}, {"unique", &unique}} {
		b.Run(c.name, func(b *testing.B) {
			var bare, checked time.Duration
			for b.Loop() {
				bare += write(b, nil)
				checked += write(b, c.rules)
			}
			b.ReportMetric(float64(checked.Nanoseconds())/float64(b.N)/float64(lines), "cpu_ns/row")
			b.ReportMetric(float64((checked-bare).Nanoseconds())/float64(b.N)/float64(lines), "overhead_cpu_ns/row")
			b.ReportMetric(100*(float64(checked)/float64(bare)-1), "overhead_pct")
		})
	}
}

// cpuTime returns the CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

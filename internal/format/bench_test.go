package format_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/delimited"
	"github.com/axtract/axtract/internal/format/fixed"
	"github.com/axtract/axtract/internal/format/jsonl"
	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/pgtest"
)

// claimLineLayout is a fixed-width layout of every mart.claim_line column.
const claimLineLayout = `{"fields": [
	{"name": "claim_id", "start": 1, "length": 36},
	{"name": "line_number", "start": 37, "length": 4, "type": "integer"},
	{"name": "member_id", "start": 41, "length": 36},
	{"name": "service_from", "start": 77, "length": 8, "type": "date"},
	{"name": "service_to", "start": 85, "length": 8, "type": "date"},
	{"name": "procedure_code", "start": 93, "length": 10},
	{"name": "procedure_code_system", "start": 103, "length": 9},
	{"name": "modifier_1", "start": 112, "length": 2},
	{"name": "modifier_2", "start": 114, "length": 2},
	{"name": "diagnosis_pointer", "start": 116, "length": 8},
	{"name": "place_of_service", "start": 124, "length": 36},
	{"name": "units", "start": 160, "length": 8, "type": "decimal", "decimals": 2, "implied_decimal": true},
	{"name": "charge_amount", "start": 168, "length": 12, "type": "decimal", "decimals": 2, "implied_decimal": true},
	{"name": "paid_amount", "start": 180, "length": 12, "type": "decimal", "decimals": 2, "implied_decimal": true},
	{"name": "rendering_provider_id", "start": 192, "length": 36},
	{"name": "loaded_at", "start": 228, "length": 14, "type": "timestamp"}
],
"trailer": [{"literal": "TRL"}, {"value": "record_count", "length": 9}, {"value": "sum", "column": "paid_amount", "length": 16}],
"overflow": "truncate"}`

// BenchmarkFormats measures each format on generated claim lines against
// the floor of a bare COPY in CSV format into a discarding sink. Each
// format sub-benchmark reports rows/s and x_bare_csv, its time divided by
// the floor's. Its ns/op counts the paired bare COPY too. The memory_
// sub-benchmarks run the same writers on COPY output held in memory and
// report the CPU time per row. AXTRACT_BENCH_CLAIM_LINES sets the number
// of claim lines (default 20000).
func BenchmarkFormats(b *testing.B) {
	lines := 20000
	if s := os.Getenv("AXTRACT_BENCH_CLAIM_LINES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("AXTRACT_BENCH_CLAIM_LINES is %q, want a positive number of claim lines", s)
		}
		lines = n
	}
	ctx := context.Background()
	db := pgtest.New(b)
	cfg := generate.Config{Members: max(lines/8, 100), ClaimLines: lines, PharmacyClaims: -1, Labs: -1, Workers: 2}
	if _, err := generate.Generate(ctx, db.Pool, cfg, nil); err != nil {
		b.Fatal(err)
	}
	conn := session(b, db)
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE mart.claim_line"); err != nil {
		b.Fatal(err)
	}
	cols, err := format.ColumnsOf(ctx, conn, "mart.claim_line")
	if err != nil {
		b.Fatal(err)
	}
	const query = "SELECT * FROM mart.claim_line"

	b.Run("bare_copy_csv", func(b *testing.B) {
		for b.Loop() {
			copyRows(b, conn, io.Discard, "COPY ("+query+") TO STDOUT (FORMAT csv)", int64(lines))
		}
		b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})

	// Each run of a format is paired with a run of the bare COPY, so the
	// ratio compares runs made under the same load of the machine.
	run := func(name string, newWriter func() format.Writer) {
		b.Run(name, func(b *testing.B) {
			var spent, floor time.Duration
			for b.Loop() {
				start := time.Now()
				copyRows(b, conn, io.Discard, "COPY ("+query+") TO STDOUT (FORMAT csv)", int64(lines))
				floor += time.Since(start)

				start = time.Now()
				w := newWriter()
				dec := format.NewDecoder(w, len(cols))
				copyRows(b, conn, dec, "COPY ("+query+") TO STDOUT", int64(lines))
				if err := dec.Close(); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				spent += time.Since(start)
			}
			b.ReportMetric(float64(lines)*float64(b.N)/spent.Seconds(), "rows/s")
			b.ReportMetric(float64(spent)/float64(floor), "x_bare_csv")
		})
	}
	writerOf := func(f format.Format, err error) func() format.Writer {
		if err != nil {
			b.Fatal(err)
		}
		return func() format.Writer {
			w, err := f.NewWriter(io.Discard, cols, format.Info{Now: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
			return w
		}
	}

	writers := []struct {
		name      string
		newWriter func() format.Writer
	}{
		{"decode_only", func() format.Writer { return discard{} }},
		{"delimited", writerOf(delimited.New(nil))},
		{"delimited_converted", writerOf(delimited.New(json.RawMessage(
			`{"delimiter": "|", "date_format": "%m/%d/%Y", "timestamp_format": "%Y%m%d%H%M%S", "decimal_separator": ",", "quote_mode": "always"}`)))},
		{"fixed", writerOf(fixed.New(json.RawMessage(claimLineLayout)))},
		{"jsonl", writerOf(jsonl.New(nil))},
	}
	for _, w := range writers {
		run(w.name, w.newWriter)
	}

	// The same writers on COPY output held in memory measure the CPU time
	// this process spends per row, which a loaded machine takes from the
	// database server in the runs above.
	var text bytes.Buffer
	copyRows(b, conn, &text, "COPY ("+query+") TO STDOUT", int64(lines))
	for _, w := range writers {
		b.Run("memory_"+w.name, func(b *testing.B) {
			b.SetBytes(int64(text.Len()))
			start := cpuTime(b)
			for b.Loop() {
				wr := w.newWriter()
				dec := format.NewDecoder(wr, len(cols))
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
				if err := wr.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/row")
			b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N)/float64(lines), "cpu_ns/row")
		})
	}
}

func copyRows(b *testing.B, conn *pgx.Conn, w io.Writer, sql string, want int64) {
	tag, err := conn.PgConn().CopyTo(context.Background(), w, sql)
	if err != nil {
		b.Fatal(err)
	}
	if tag.RowsAffected() != want {
		b.Fatalf("copied %d rows, want %d", tag.RowsAffected(), want)
	}
}

// cpuTime returns the CPU time this process has used, which unlike wall
// time does not grow when other processes hold the cores.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discard is a Writer that drops rows, to measure the Decoder alone.
type discard struct{}

func (discard) WriteRow([][]byte) error { return nil }
func (discard) Close() error            { return nil }

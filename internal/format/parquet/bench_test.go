package parquet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/pgtest"
)

// claimColumns mirror mart.claim_line.
var claimColumns = []format.Column{
	{Name: "claim_id", Type: "uuid", OID: 2950},
	{Name: "line_number", Type: "integer", OID: oidInt4},
	{Name: "member_id", Type: "uuid", OID: 2950},
	{Name: "service_from", Type: "date", OID: oidDate},
	{Name: "service_to", Type: "date", OID: oidDate},
	{Name: "procedure_code", Type: "text", OID: 25},
	{Name: "procedure_code_system", Type: "text", OID: 25},
	{Name: "modifier_1", Type: "text", OID: 25},
	{Name: "modifier_2", Type: "text", OID: 25},
	{Name: "diagnosis_pointer", Type: "text", OID: 25},
	{Name: "place_of_service", Type: "text", OID: 25},
	{Name: "units", Type: "numeric(10,2)", OID: oidNumeric},
	{Name: "charge_amount", Type: "numeric(14,2)", OID: oidNumeric},
	{Name: "paid_amount", Type: "numeric(14,2)", OID: oidNumeric},
	{Name: "rendering_provider_id", Type: "uuid", OID: 2950},
	{Name: "loaded_at", Type: "timestamp with time zone", OID: oidTimestampTZ},
}

// claimRows produces rows shaped like mart.claim_line as COPY prints them:
// members, providers and codes repeat from fixed pools, amounts vary, and
// some modifiers are NULL.
type claimRows struct {
	rng       *rand.Rand
	members   []string
	providers []string
	codes     []string
	buf       []byte
	fields    [][]byte
	claim     string
	line      int
	lines     int
}

func newClaimRows(seed uint64) *claimRows {
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff,
			rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
	}
	g := &claimRows{rng: rng, fields: make([][]byte, len(claimColumns))}
	for range 5000 {
		g.members = append(g.members, uuid())
	}
	for range 500 {
		g.providers = append(g.providers, uuid())
	}
	for range 300 {
		g.codes = append(g.codes, strconv.Itoa(10000+rng.IntN(89999)))
	}
	g.claim = uuid()
	return g
}

// next returns the fields of the next row; they stay valid until the next
// call.
func (g *claimRows) next() [][]byte {
	r := g.rng
	if g.line == g.lines {
		g.claim = fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()&0xffffffffffff)
		g.line, g.lines = 0, 1+r.IntN(6)
	}
	g.line++
	b := g.buf[:0]
	var ends [16]int
	add := func(i int, s string) {
		b = append(b, s...)
		ends[i] = len(b)
	}
	cents := func(i int, n int) {
		b = strconv.AppendInt(b, int64(n/100), 10)
		b = append(b, '.', byte('0'+n/10%10), byte('0'+n%10))
		ends[i] = len(b)
	}
	day := fmt.Sprintf("2024-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28))
	add(0, g.claim)
	add(1, strconv.Itoa(g.line))
	add(2, g.members[r.IntN(len(g.members))])
	add(3, day)
	add(4, day)
	add(5, g.codes[r.IntN(len(g.codes))])
	add(6, "CPT")
	add(7, "25")
	add(8, "")
	add(9, "1")
	add(10, "11")
	cents(11, 100*(1+r.IntN(4)))
	charge := 2000 + r.IntN(90000)
	cents(12, charge)
	cents(13, charge*(50+r.IntN(50))/100)
	add(14, g.providers[r.IntN(len(g.providers))])
	add(15, "2025-01-01 00:00:00+00")
	g.buf = b

	start := 0
	for i := range g.fields {
		g.fields[i] = b[start:ends[i]:ends[i]]
		start = ends[i]
	}
	if r.IntN(3) > 0 {
		g.fields[7] = nil
	}
	g.fields[8] = nil
	return g.fields
}

// heapPeak samples the live heap every 5 ms until the returned function is
// called, which returns the largest sample in bytes.
func heapPeak() (stop func() uint64) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak uint64
	wg.Go(func() {
		ticker := time.NewTicker(5 * time.Millisecond)
		defer ticker.Stop()
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-ticker.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

func writeClaims(tb testing.TB, w io.Writer, options string, rows int) {
	tb.Helper()
	f, err := New([]byte(options))
	if err != nil {
		tb.Fatalf("New(%s): %v", options, err)
	}
	pw, err := f.NewWriter(w, claimColumns, format.Info{})
	if err != nil {
		tb.Fatalf("NewWriter: %v", err)
	}
	g := newClaimRows(7)
	for range rows {
		if err := pw.WriteRow(g.next()); err != nil {
			tb.Fatalf("WriteRow: %v", err)
		}
	}
	if err := pw.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
}

// countingWriter counts the bytes written to it and discards them.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// TestWriterMemoryBounded writes 50 thousand and 500 thousand claim rows
// in row groups of 4 MiB of values. The live heap must stay near one row
// group and must not grow with the file. The test is not parallel, so that
// the heap holds only this writer.
func TestWriterMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 500 thousand rows; skipped with -short")
	}
	const options = `{"row_group_bytes": 4194304, "page_bytes": 65536}`
	peak := func(rows int) (uint64, int64) {
		runtime.GC()
		stop := heapPeak()
		var out countingWriter
		writeClaims(t, &out, options, rows)
		return stop(), out.n
	}
	small, smallSize := peak(50_000)
	large, largeSize := peak(500_000)
	t.Logf("peak live heap %.1f MiB for %.1f MiB of Parquet, %.1f MiB for %.1f MiB",
		mebibytes(small), mebibytes(uint64(smallSize)), mebibytes(large), mebibytes(uint64(largeSize)))

	// One row group holds at most 4 MiB of values, compressed as its pages
	// fill, plus one 64 KiB page buffer per column.
	const maxLive = 16 << 20
	if large > maxLive {
		t.Errorf("peak live heap = %d bytes for 500 thousand rows, want at most %d", large, maxLive)
	}
	// A heap that grew with the file would be tens of MiB larger at ten
	// times the rows.
	const maxGrowth = 4 << 20
	if large > small+maxGrowth {
		t.Errorf("peak live heap grew from %d to %d bytes with ten times the rows, want at most %d more",
			small, large, maxGrowth)
	}
	if largeSize < 5*smallSize {
		t.Errorf("the large file has %d bytes and the small one %d; want the large one about ten times larger", largeSize, smallSize)
	}
}

func mebibytes(n uint64) float64 { return float64(n) / (1 << 20) }

// BenchmarkWriter measures the writer alone on 200,000 generated claim
// rows, into a discarding sink, with several options.
func BenchmarkWriter(b *testing.B) {
	const rows = 200_000
	for _, options := range []string{
		`{}`,
		`{"compression_level": 3}`,
		`{"page_bytes": 1048576}`,
		`{"compression": "snappy"}`,
		`{"compression": "none"}`,
	} {
		b.Run(options, func(b *testing.B) {
			var out countingWriter
			var peak uint64
			for b.Loop() {
				out.n = 0
				runtime.GC()
				stop := heapPeak()
				writeClaims(b, &out, options, rows)
				peak = max(peak, stop())
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(out.n)/rows, "bytes/row")
			b.ReportMetric(mebibytes(peak), "peak_live_MiB")
		})
	}
}

// BenchmarkCopyParquet compares a Parquet export of generated claim lines
// with a bare COPY of the same rows in CSV to a discarding sink, on one
// connection. AXTRACT_BENCH_CLAIM_LINES sets the number of claim lines
// (default 200,000) and AXTRACT_BENCH_PARQUET_OPTIONS the format_options
// (default {}). It reports the rows per second of each, their ratio
// and the peak live heap of the Parquet export.
func BenchmarkCopyParquet(b *testing.B) {
	lines := 200_000
	if s := os.Getenv("AXTRACT_BENCH_CLAIM_LINES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("AXTRACT_BENCH_CLAIM_LINES=%q is invalid; set a positive number of claim lines", s)
		}
		lines = n
	}
	ctx := context.Background()
	db := pgtest.New(b)
	cfg := generate.Config{Members: max(100, lines/8), ClaimLines: lines, PharmacyClaims: -1, Labs: -1}
	if _, err := generate.Generate(ctx, db.Pool, cfg, nil); err != nil {
		b.Fatalf("generate: %v", err)
	}
	conn, err := pgx.Connect(ctx, db.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sessionSettings); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE mart.claim_line"); err != nil {
		b.Fatal(err)
	}
	cols, err := format.ColumnsOf(ctx, conn, "mart.claim_line")
	if err != nil {
		b.Fatal(err)
	}
	f, err := New([]byte(os.Getenv("AXTRACT_BENCH_PARQUET_OPTIONS")))
	if err != nil {
		b.Fatalf("AXTRACT_BENCH_PARQUET_OPTIONS: %v", err)
	}

	copyCSV := func() time.Duration {
		start := time.Now()
		tag, err := conn.PgConn().CopyTo(ctx, io.Discard, "COPY (SELECT * FROM mart.claim_line) TO STDOUT WITH (FORMAT csv, HEADER)")
		if err != nil {
			b.Fatal(err)
		}
		if tag.RowsAffected() != int64(lines) {
			b.Fatalf("COPY copied %d rows, want %d", tag.RowsAffected(), lines)
		}
		return time.Since(start)
	}
	var size countingWriter
	copyParquet := func() time.Duration {
		start := time.Now()
		size.n = 0
		w, err := f.NewWriter(&size, cols, format.Info{})
		if err != nil {
			b.Fatal(err)
		}
		d := format.NewDecoder(w, len(cols))
		if _, err := conn.PgConn().CopyTo(ctx, d, "COPY (SELECT * FROM mart.claim_line) TO STDOUT"); err != nil {
			b.Fatal(err)
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if d.Rows() != int64(lines) {
			b.Fatalf("the Decoder wrote %d rows, want %d", d.Rows(), lines)
		}
		return time.Since(start)
	}

	var backend uint32
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		b.Fatal(err)
	}

	copyCSV() // warm the cache
	var csvTime, parquetTime time.Duration
	var csvServer, parquetServer, parquetClient time.Duration
	var peak uint64
	for b.Loop() {
		server := processCPU(b, int(backend))
		csvTime += copyCSV()
		csvServer += processCPU(b, int(backend)) - server

		runtime.GC()
		stop := heapPeak()
		server, client := processCPU(b, int(backend)), processCPU(b, os.Getpid())
		parquetTime += copyParquet()
		parquetServer += processCPU(b, int(backend)) - server
		parquetClient += processCPU(b, os.Getpid()) - client
		peak = max(peak, stop())
	}
	rows := float64(lines) * float64(b.N)
	b.ReportMetric(rows/csvTime.Seconds(), "csv_rows/s")
	b.ReportMetric(rows/parquetTime.Seconds(), "parquet_rows/s")
	b.ReportMetric(parquetTime.Seconds()/csvTime.Seconds(), "parquet/csv")
	// On a busy machine the wall-clock ratio mostly measures the wait for a
	// core. The CPU times do not: the server's for each COPY and this
	// process's for decoding and writing Parquet. With a core for each,
	// the two processes overlap and the slower one sets the pace.
	b.ReportMetric(float64(csvServer.Microseconds())/rows, "csv_server_cpu_us/row")
	b.ReportMetric(float64(parquetServer.Microseconds())/rows, "text_server_cpu_us/row")
	b.ReportMetric(float64(parquetClient.Microseconds())/rows, "parquet_client_cpu_us/row")
	b.ReportMetric(max(parquetServer, parquetClient).Seconds()/csvServer.Seconds(), "cpu_parquet/csv")
	b.ReportMetric(mebibytes(peak), "peak_live_MiB")
	b.ReportMetric(float64(size.n)/float64(lines), "parquet_bytes/row")
}

// processCPU returns the user and system CPU time a process has used, from
// /proc/PID/stat. The server runs on this machine in the benchmarks.
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Skipf("read the CPU time of process %d: %v", pid, err)
	}
	// The command name in parentheses may contain spaces; the fields
	// after it are numbered from 3.
	end := bytes.LastIndexByte(data, ')')
	fields := strings.Fields(string(data[end+1:]))
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("unexpected /proc/%d/stat: %s", pid, data)
	}
	// Linux reports these in clock ticks of 1/100 s (USER_HZ).
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

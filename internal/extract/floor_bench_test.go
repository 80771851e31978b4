package extract_test

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BenchmarkBareCopy measures the floor a feed is compared with: COPY of a
// partner view, as the partner's role, into a discarding sink, with nothing
// between the socket and the sink. scripts/bench.sh sets the database, role
// and view; without them the benchmark is skipped.
func BenchmarkBareCopy(b *testing.B) {
	dsn, role, view := os.Getenv("AXTRACT_BENCH_DATABASE_URL"), os.Getenv("AXTRACT_BENCH_ROLE"), os.Getenv("AXTRACT_BENCH_VIEW")
	if dsn == "" || role == "" || view == "" {
		b.Skip("set AXTRACT_BENCH_DATABASE_URL, AXTRACT_BENCH_ROLE and AXTRACT_BENCH_VIEW (scripts/bench.sh does)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	sql := "COPY (SELECT * FROM " + pgx.Identifier{"partner_" + view, "claims"}.Sanitize() + ") TO STDOUT WITH (FORMAT csv, HEADER true)"
	if _, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		b.Fatal(err)
	}
	var rows int64
	for b.Loop() {
		tag, err := conn.PgConn().CopyTo(ctx, io.Discard, sql)
		if err != nil {
			b.Fatal(err)
		}
		rows = tag.RowsAffected()
	}
	b.ReportMetric(float64(rows), "rows")
}

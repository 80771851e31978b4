package parquet

import (
	"bytes"
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/pgtest"
)

// sessionSettings are the settings an extract fixes before its COPY.
const sessionSettings = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET extra_float_digits = 1"

// exportRelation writes relation as Parquet the way an extract does: its
// columns from the catalog, then COPY TO STDOUT in text format through the
// Decoder into the writer. It returns the file and the rows COPY reported.
func exportRelation(t *testing.T, conn *pgx.Conn, relation, orderBy, options string) ([]byte, int64) {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, sessionSettings); err != nil {
		t.Fatalf("set session: %v", err)
	}

	cols, err := format.ColumnsOf(ctx, conn, relation)
	if err != nil {
		t.Fatalf("ColumnsOf(%s): %v", relation, err)
	}
	f, err := New([]byte(options))
	if err != nil {
		t.Fatalf("New(%s): %v", options, err)
	}
	var buf bytes.Buffer
	w, err := f.NewWriter(&buf, cols, format.Info{RunID: 1, Feed: "test", Partner: "test"})
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}

	d := format.NewDecoder(w, len(cols))
	tag, err := conn.PgConn().CopyTo(ctx, d, "COPY (SELECT * FROM "+relation+" ORDER BY "+orderBy+") TO STDOUT")
	if err != nil {
		t.Fatalf("COPY %s: %v", relation, err)
	}

	if err := d.Close(); err != nil {
		t.Fatalf("Decoder.Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Writer.Close: %v", err)
	}
	if d.Rows() != tag.RowsAffected() {
		t.Fatalf("Decoder wrote %d rows, COPY reported %d", d.Rows(), tag.RowsAffected())
	}
	return buf.Bytes(), tag.RowsAffected()
}

// TestWriterCopyOfClaimsView writes a view over generated claim lines, with
// an added text column of awkward values, in row groups of 500 rows and
// compares the file's row count with SELECT count(*).
func TestWriterCopyOfClaimsView(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	cfg := generate.Config{Members: 60, ClaimLines: 1500, PharmacyClaims: -1, Labs: -1, Workers: 1}
	if _, err := generate.Generate(ctx, db.Pool, cfg, nil); err != nil {
		t.Fatalf("generate: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `
CREATE VIEW public.claim_export AS
SELECT cl.*,
       CASE cl.line_number % 4
           WHEN 0 THEN NULL
           WHEN 1 THEN ''
           WHEN 2 THEN E'tab\there\nnew line, back\\slash "quoted" \u00e9\u6f22'
           ELSE cl.procedure_code
       END AS note
FROM mart.claim_line AS cl`); err != nil {
		t.Fatalf("create view: %v", err)
	}

	conn, err := pgx.Connect(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	data, copied := exportRelation(t, conn, "public.claim_export", "claim_id, line_number", `{"row_group_rows": 500}`)

	var want int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM public.claim_export").Scan(&want); err != nil {
		t.Fatal(err)
	}
	if want != 1500 {
		t.Fatalf("the view has %d rows, want the 1500 generated", want)
	}
	if copied != want {
		t.Errorf("COPY reported %d rows, count(*) = %d", copied, want)
	}
	if got := countRows(t, data); got != want {
		t.Errorf("the Parquet file has %d rows, count(*) = %d", got, want)
	}
}

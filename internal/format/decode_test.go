package format_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/pgtest"
)

// trickyValues is a query over values that stress every escape of COPY's
// text format and every type the writers reformat.
const trickyValues = `
SELECT *
FROM (VALUES
    (1, 'plain', 12.50::numeric(12,2), DATE '2024-01-02', TIMESTAMPTZ '2024-01-02 03:04:05.123456+00', true,
     ARRAY['a','b c']::text[], ARRAY[1,2]::int[], '{"k": "v\\n"}'::jsonb, 1.5::float8, TIMESTAMP '2024-01-02 03:04:05'),
    (2, E'comma, "quote"; tab\there', -0.01, DATE '1999-12-31', TIMESTAMPTZ '1999-12-31 23:59:59+00', false,
     ARRAY['x,y','"q"',NULL,'back\slash','']::text[], ARRAY[]::int[], '[1, 2.50, null]'::jsonb, 1e300::float8, TIMESTAMP '2000-01-01 00:00:00.5'),
    (3, E'line\nbreak\r\nand CR', 123456789012345678901234567890.123456789, DATE 'infinity', TIMESTAMPTZ '-infinity', NULL,
     NULL, ARRAY[NULL, -3]::int[], NULL, 'NaN'::float8, NULL),
    (4, E'back\\slash \\N and \\t', 'NaN'::numeric, DATE '0044-03-15 BC', TIMESTAMPTZ '2024-06-30 12:00:00-05', true,
     ARRAY[E'tab\t', E'nl\n', '{}']::text[], ARRAY[[1,2],[3,4]]::int[], '"just a string"'::jsonb, '-Infinity'::float8, TIMESTAMP '2024-02-29 23:59:59.999999'),
    (5, 'Zoë 日本 🙂', 0, DATE '2024-02-29', TIMESTAMPTZ '2024-02-29 00:00:00+00', false,
     ARRAY['NULL', 'null']::text[], ARRAY[0]::int[], '{}'::jsonb, -0.0::float8, TIMESTAMP '10000-01-01 00:00:00'),
    (6, '', NULL, NULL, NULL, NULL, ARRAY['']::text[], NULL, 'null'::jsonb, 1.0e-7::float8, NULL),
    (7, NULL, 1e-20, DATE '2024-03-01', TIMESTAMPTZ '2024-03-01 00:00:00.000001+00', true, NULL, NULL, NULL, NULL, NULL),
    (8, E'\\N', 10, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (9, E'\x01\x1f\x7f ctrl', 10, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS v (id, label, amount, day, at, flag, tags, counts, doc, ratio, local_at)`

// trickyColumns is the number of columns of trickyValues.
const trickyColumns = 11

// session sets the settings the extract runs with, so values print alike
// in tests and in production.
func session(t testing.TB, db *pgtest.DB) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	for _, stmt := range []string{
		"SET TimeZone = 'UTC'",
		"SET DateStyle = 'ISO, YMD'",
		"SET IntervalStyle = 'iso_8601'",
		"SET extra_float_digits = 1",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// copyText returns the COPY text output of query.
func copyText(t testing.TB, conn *pgx.Conn, query string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := conn.PgConn().CopyTo(context.Background(), &buf, "COPY ("+query+") TO STDOUT"); err != nil {
		t.Fatalf("copy: %v", err)
	}
	return buf.Bytes()
}

// selectText reads query as pgx receives it in text result format: the
// values of the types' output functions, nil for NULL.
func selectText(t testing.TB, conn *pgx.Conn, query string) [][]*string {
	t.Helper()
	rows, err := conn.Query(context.Background(), query, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]*string
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]*string, len(raw))
		for i, v := range raw {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// recorder is a Writer that keeps copies of the rows it is given.
type recorder struct {
	rows   [][]*string
	closed bool
}

func (r *recorder) WriteRow(fields [][]byte) error {
	row := make([]*string, len(fields))
	for i, f := range fields {
		if f != nil {
			s := string(f)
			row[i] = &s
		}
	}
	r.rows = append(r.rows, row)
	return nil
}

func (r *recorder) Close() error { r.closed = true; return nil }

// decodeChunks feeds data to a Decoder in chunks of size bytes.
func decodeChunks(t *testing.T, data []byte, ncols, size int) *recorder {
	t.Helper()
	rec := &recorder{}
	dec := format.NewDecoder(rec, ncols)
	for len(data) > 0 {
		n := min(size, len(data))
		written, err := dec.Write(data[:n])
		if err != nil {
			t.Fatalf("chunk size %d: write: %v", size, err)
		}
		if written != n {
			t.Fatalf("chunk size %d: wrote %d of %d bytes", size, written, n)
		}
		data = data[n:]
	}
	if err := dec.Close(); err != nil {
		t.Fatalf("chunk size %d: close: %v", size, err)
	}
	if dec.Rows() != int64(len(rec.rows)) {
		t.Fatalf("chunk size %d: Rows() = %d, writer got %d", size, dec.Rows(), len(rec.rows))
	}
	return rec
}

func TestDecoderMatchesSelect(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	conn := session(t, db)

	data := copyText(t, conn, trickyValues)
	want := selectText(t, conn, trickyValues)
	if len(want) != 9 {
		t.Fatalf("select returned %d rows, want 9", len(want))
	}

	for _, size := range []int{1, 2, 3, 7, 64, len(data)} {
		got := decodeChunks(t, data, trickyColumns, size)
		if len(got.rows) != len(want) {
			t.Fatalf("chunk size %d: decoded %d rows, want %d", size, len(got.rows), len(want))
		}
		for r := range want {
			for c := range want[r] {
				if g, w := show(got.rows[r][c]), show(want[r][c]); g != w {
					t.Errorf("chunk size %d: row %d column %d = %s, want %s", size, r+1, c+1, g, w)
				}
			}
		}
	}
}

func show(s *string) string {
	if s == nil {
		return "NULL"
	}
	return fmt.Sprintf("%q", *s)
}

func TestDecoderEscapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string
	}{
		{`a\tb`, "a\tb"},
		{`\b\f\n\r\t\v\\`, "\b\f\n\r\t\v\\"},
		{`\101\60x\0`, "A0x\x00"},
		{`\x41\x4a\x4\xg`, "AJ\x04xg"},
		{`\q\N`, "qN"},
		{`end\`, `end\`},
		{`\\N`, `\N`},
	}
	for _, tc := range cases {
		rec := decodeChunks(t, []byte(tc.in+"\n"), 1, 1)
		if got := show(rec.rows[0][0]); got != show(&tc.want) {
			t.Errorf("decode %q = %s, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecoderNullAndEmpty(t *testing.T) {
	t.Parallel()
	rec := decodeChunks(t, []byte("\\N\t\t\n\t\\N\t\n"), 3, 4)
	want := []string{"NULL", `""`, `""`, `""`, "NULL", `""`}
	var got []string
	for _, row := range rec.rows {
		for _, f := range row {
			got = append(got, show(f))
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("fields = %v, want %v", got, want)
	}
}

func TestDecoderPartialLastRow(t *testing.T) {
	t.Parallel()
	dec := format.NewDecoder(&recorder{}, 2)
	if _, err := dec.Write([]byte("a\tb\nc\t")); err != nil {
		t.Fatal(err)
	}
	err := dec.Close()
	if err == nil {
		t.Fatal("Close accepted a stream that ended inside a row")
	}
	if !strings.Contains(err.Error(), "row 2") {
		t.Errorf("error %q does not name row 2", err)
	}
}

func TestDecoderWrongFieldCount(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"a\tb\nsecret\n", "a\tb\nsecret\tb\tc\n"} {
		dec := format.NewDecoder(&recorder{}, 2)
		_, err := dec.Write([]byte(in))
		if err == nil {
			t.Fatalf("Write accepted %q", in)
		}
		if !strings.Contains(err.Error(), "row 2") {
			t.Errorf("error %q does not name row 2", err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q contains the value", err)
		}
		if _, again := dec.Write([]byte("a\tb\n")); again == nil {
			t.Error("Write after an error succeeded")
		}
		if dec.Close() == nil {
			t.Error("Close after an error succeeded")
		}
	}
}

// referenceDecode is a plain, byte-at-a-time decoder of COPY text that the
// fuzz test compares the Decoder with.
func referenceDecode(data []byte, ncols int) ([][]*string, error) {
	var rows [][]*string
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] != "" {
		return nil, fmt.Errorf("partial")
	}
	for _, line := range lines[:len(lines)-1] {
		var row []*string
		if !(ncols == 0 && line == "") {
			for _, raw := range strings.Split(line, "\t") {
				if raw == `\N` {
					row = append(row, nil)
					continue
				}
				var b []byte
				for i := 0; i < len(raw); i++ {
					if raw[i] != '\\' || i == len(raw)-1 {
						b = append(b, raw[i])
						continue
					}
					i++
					switch c := raw[i]; {
					case strings.IndexByte("bfnrtv", c) >= 0:
						b = append(b, "\b\f\n\r\t\v"[strings.IndexByte("bfnrtv", c)])
					case c >= '0' && c <= '7':
						v := int(c - '0')
						for k := 0; k < 2 && i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '7'; k++ {
							i++
							v = v*8 + int(raw[i]-'0')
						}
						b = append(b, byte(v))
					case c == 'x' && i+1 < len(raw) && strings.IndexByte("0123456789abcdefABCDEF", raw[i+1]) >= 0:
						var v int
						for k := 0; k < 2 && i+1 < len(raw) && strings.IndexByte("0123456789abcdefABCDEF", raw[i+1]) >= 0; k++ {
							i++
							d, _ := strconv.ParseUint(raw[i:i+1], 16, 8)
							v = v*16 + int(d)
						}
						b = append(b, byte(v))
					default:
						b = append(b, c)
					}
				}
				s := string(b)
				row = append(row, &s)
			}
		}
		if len(row) != ncols {
			return nil, fmt.Errorf("count")
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func FuzzDecoder(f *testing.F) {
	f.Add([]byte("a\tb\n\\N\t\\\\\n"), 2, 3)
	f.Add([]byte("\\x41\\101\\n\t\\t\n"), 2, 1)
	f.Add([]byte("x\n"), 1, 5)
	f.Add([]byte("\n"), 0, 1)
	f.Fuzz(func(t *testing.T, data []byte, ncols, size int) {
		if ncols < 0 || ncols > 8 || size < 1 {
			return
		}
		want, wantErr := referenceDecode(data, ncols)

		rec := &recorder{}
		dec := format.NewDecoder(rec, ncols)
		var err error
		for rest := data; len(rest) > 0 && err == nil; {
			n := min(size, len(rest))
			_, err = dec.Write(rest[:n])
			rest = rest[n:]
		}
		if err == nil {
			err = dec.Close()
		}

		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decoder error %v, reference error %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if len(rec.rows) != len(want) {
			t.Fatalf("decoded %d rows, reference %d", len(rec.rows), len(want))
		}
		for r := range want {
			for c := range want[r] {
				if g, w := show(rec.rows[r][c]), show(want[r][c]); g != w {
					t.Fatalf("row %d column %d = %s, reference %s", r+1, c+1, g, w)
				}
			}
		}
	})
}

func TestColumnsOf(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for _, stmt := range []string{
		"CREATE SCHEMA \"Odd Schema\"",
		"CREATE DOMAIN public.money_amount AS numeric(12,2)",
		"CREATE DOMAIN public.positive_amount AS public.money_amount CHECK (VALUE > 0)",
		`CREATE TABLE "Odd Schema".t (id bigint, dropped int, label varchar(10), amount public.positive_amount,
			at timestamptz, tags text[], flag boolean)`,
		`ALTER TABLE "Odd Schema".t DROP COLUMN dropped`,
		`CREATE VIEW "Odd Schema"."My View" AS SELECT id, label, amount, at, tags, flag FROM "Odd Schema".t`,
	} {
		if _, err := db.Pool.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}

	for _, rel := range []string{pgx.Identifier{"Odd Schema", "t"}.Sanitize(), pgx.Identifier{"Odd Schema", "My View"}.Sanitize()} {
		cols, err := format.ColumnsOf(ctx, db.Pool, rel)
		if err != nil {
			t.Fatal(err)
		}
		want := []format.Column{
			{Name: "id", Type: "bigint", OID: 20},
			{Name: "label", Type: "character varying(10)", OID: 1043},
			{Name: "amount", Type: "numeric(12,2)", OID: 1700},
			{Name: "at", Type: "timestamp with time zone", OID: 1184},
			{Name: "tags", Type: "text[]", OID: 1009},
			{Name: "flag", Type: "boolean", OID: 16},
		}
		if fmt.Sprint(cols) != fmt.Sprint(want) {
			t.Errorf("ColumnsOf(%s) = %v, want %v", rel, cols, want)
		}
	}

	if _, err := format.ColumnsOf(ctx, db.Pool, "public.missing"); err == nil {
		t.Error("ColumnsOf accepted a missing relation")
	}
}

func TestDecoderSteadyStateAllocatesNothing(t *testing.T) {
	chunk := []byte(strings.Repeat("a\\tb\t\\N\t12.50\t\tZoë\n", 50) + "x\ty\t1\t\tz\n")
	dec := format.NewDecoder(discard{}, 5)
	if _, err := dec.Write(chunk); err != nil {
		t.Fatal(err)
	}
	// The second half of a row cut across chunks goes through the carry
	// buffer, which has grown by then too.
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := dec.Write(chunk[:7]); err != nil {
			t.Fatal(err)
		}
		if _, err := dec.Write(chunk[7:]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Write allocates %.1f times per call, want 0", allocs)
	}
}

// The extract reads columns inside its snapshot transaction.
var _ format.Querier = pgx.Tx(nil)

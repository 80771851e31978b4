package delimited_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/delimited"
	"github.com/axtract/axtract/internal/pgtest"
)

// source holds values that stress quoting, escaping and NULL handling.
const source = `
CREATE TABLE public.src AS
SELECT *
FROM (VALUES
    (1, 'plain', 12.50::numeric(12,2), DATE '2024-01-02', TIMESTAMPTZ '2024-01-02 03:04:05.123456+00', true,
     ARRAY['a','b c']::text[], '{"k": "v\\n"}'::jsonb, 1.5::float8),
    (2, E'comma, "quote"; tab\there|pipe', -0.01, DATE '1999-12-31', TIMESTAMPTZ '1999-12-31 23:59:59+00', false,
     ARRAY['x,y','"q"',NULL,'back\slash','']::text[], '[1, 2.50, null]'::jsonb, 1e300::float8),
    (3, E'line\nbreak\r\nand CR\r', 123456789012345678901234567890.123456789, DATE 'infinity', TIMESTAMPTZ '-infinity', NULL,
     NULL, NULL, 'NaN'::float8),
    (4, E'back\\slash \\N and \\t', 'NaN'::numeric, DATE '0044-03-15 BC', TIMESTAMPTZ '2024-06-30 12:00:00-05', true,
     ARRAY[E'tab\t', E'nl\n', '{}']::text[], '"just a string"'::jsonb, '-Infinity'::float8),
    (5, 'Zoë 日本 🙂 ''single''', 0, DATE '2024-02-29', TIMESTAMPTZ '2024-02-29 00:00:00+00', false,
     ARRAY['NULL', 'null']::text[], '{}'::jsonb, -0.0::float8),
    (6, '', NULL, NULL, NULL, NULL, ARRAY['']::text[], 'null'::jsonb, 1.0e-7::float8),
    (7, NULL, 1e-20, DATE '2024-03-01', TIMESTAMPTZ '2024-03-01 00:00:00.000001+00', true, NULL, NULL, NULL),
    (8, E'\\.', 10, NULL, NULL, NULL, NULL, NULL, NULL),
    (9, 'NULL', 10, NULL, NULL, NULL, NULL, NULL, NULL),
    (10, ' padded ', 10, NULL, NULL, NULL, NULL, NULL, NULL)
) AS v (id, label, amount, day, at, flag, tags, doc, ratio)`

const sourceRows = 10

type bundle struct {
	db   *pgtest.DB
	conn *pgx.Conn
	cols []format.Column
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	for _, stmt := range []string{
		"SET TimeZone = 'UTC'",
		"SET DateStyle = 'ISO, YMD'",
		"SET extra_float_digits = 1",
		source,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	cols, err := format.ColumnsOf(ctx, conn, "public.src")
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{db: db, conn: conn, cols: cols}
}

// write runs the source table through COPY, the Decoder and f.
func (b *bundle) write(t *testing.T, f format.Format, query string) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := f.NewWriter(&out, b.cols, format.Info{})
	if err != nil {
		t.Fatal(err)
	}
	dec := format.NewDecoder(w, len(b.cols))
	if _, err := b.conn.PgConn().CopyTo(context.Background(), dec, "COPY ("+query+") TO STDOUT"); err != nil {
		t.Fatalf("copy: %v", err)
	}
	if err := dec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func parse(t *testing.T, options string) format.Format {
	t.Helper()
	f, err := delimited.New(json.RawMessage(options))
	if err != nil {
		t.Fatalf("New(%s): %v", options, err)
	}
	return f
}

func TestRoundTripThroughCopyFrom(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	cases := []struct {
		options string
		copy    string
	}{
		{`{}`, `FORMAT csv, HEADER true`},
		{`{"delimiter": "|", "null": "NULL", "quote_mode": "always", "line_ending": "crlf", "bom": true}`,
			`FORMAT csv, HEADER true, DELIMITER '|', NULL 'NULL'`},
		{`{"delimiter": "\t", "quote": "'", "null": "\\N"}`, `FORMAT csv, HEADER true, DELIMITER E'\t', QUOTE '''', NULL '\N'`},
		{`{"header": false, "delimiter": ";", "null": "<null>"}`, `FORMAT csv, DELIMITER ';', NULL '<null>'`},
	}
	for i, tc := range cases {
		data := b.write(t, parse(t, tc.options), "SELECT * FROM public.src ORDER BY id")
		table := fmt.Sprintf("public.back%d", i)
		if _, err := b.conn.Exec(ctx, "CREATE TABLE "+table+" (LIKE public.src)"); err != nil {
			t.Fatal(err)
		}
		tag, err := b.conn.PgConn().CopyFrom(ctx, bytes.NewReader(data), "COPY "+table+" FROM STDIN ("+tc.copy+")")
		if err != nil {
			t.Fatalf("options %s: copy back: %v\n%s", tc.options, err, data)
		}
		if tag.RowsAffected() != sourceRows {
			t.Errorf("options %s: copied back %d rows, want %d", tc.options, tag.RowsAffected(), sourceRows)
		}
		var missing, extra int
		err = b.conn.QueryRow(ctx, fmt.Sprintf(`SELECT
			(SELECT count(*) FROM (SELECT * FROM public.src EXCEPT ALL SELECT * FROM %[1]s) AS m),
			(SELECT count(*) FROM (SELECT * FROM %[1]s EXCEPT ALL SELECT * FROM public.src) AS e)`, table)).Scan(&missing, &extra)
		if err != nil {
			t.Fatal(err)
		}
		if missing != 0 || extra != 0 {
			t.Errorf("options %s: %d source rows missing and %d extra after the round trip\n%s", tc.options, missing, extra, data)
		}
	}
}

func TestQuotingRules(t *testing.T) {
	t.Parallel()
	b := setup(t)

	data := string(b.write(t, parse(t, `{}`), "SELECT * FROM public.src WHERE id IN (6, 7, 8, 10) ORDER BY id"))
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	want := []string{
		"id,label,amount,day,at,flag,tags,doc,ratio",
		`6,"",,,,,"{""""}",null,1e-07`,
		"7,,0.00000000000000000001,2024-03-01,2024-03-01 00:00:00.000001+00,t,,,",
		`8,"\.",10,,,,,,`,
		"10, padded ,10,,,,,,",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), data)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], want[i])
		}
	}

	withNull := string(b.write(t, parse(t, `{"null": "NULL", "header": false}`), "SELECT * FROM public.src WHERE id IN (6, 9) ORDER BY id"))
	wantNull := "6,,NULL,NULL,NULL,NULL,\"{\"\"\"\"}\",null,1e-07\n9,\"NULL\",10,NULL,NULL,NULL,NULL,NULL,NULL\n"
	if withNull != wantNull {
		t.Errorf("null NULL output = %q, want %q", withNull, wantNull)
	}
}

func TestConversions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := parse(t, `{"date_format": "%m/%d/%Y", "timestamp_format": "%Y%m%d %H:%M:%S.%L", "decimal_separator": ",",
		"true": "Y", "false": "N", "delimiter": ";", "header": false}`)
	data := string(b.write(t, f, "SELECT id, label, amount, day, at, flag, tags, doc, ratio FROM public.src WHERE id IN (1, 3, 4) ORDER BY id"))
	want := strings.Join([]string{
		`1;plain;12,50;01/02/2024;20240102 03:04:05.123;Y;"{a,""b c""}";"{""k"": ""v\\n""}";1,5`,
		"3;\"line\nbreak\r\nand CR\r\";123456789012345678901234567890,123456789;infinity;-infinity;;;;NaN",
		`4;back\slash \N and \t;NaN;03/15/-0043;20240630 17:00:00.000;Y;"{""tab	"",""nl` + "\n" + `"",""{}""}";"""just a string""";-Infinity`,
	}, "\n") + "\n"
	if data != want {
		t.Errorf("output =\n%q\nwant\n%q", data, want)
	}
}

func TestMultiByteDelimiter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := b.write(t, parse(t, `{"delimiter": "¦"}`), "SELECT * FROM public.src ORDER BY id")
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = '¦'
	records, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != sourceRows+1 {
		t.Fatalf("read %d records, want %d", len(records), sourceRows+1)
	}
	// encoding/csv turns CRLF inside quotes into LF, so compare the row
	// without carriage returns.
	if got, want := records[2][1], "comma, \"quote\"; tab\there|pipe"; got != want {
		t.Errorf("row 2 label = %q, want %q", got, want)
	}
	if got, want := records[5][1], "Zoë 日本 🙂 'single'"; got != want {
		t.Errorf("row 5 label = %q, want %q", got, want)
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		options string
		message string
	}{
		{`{"delimeter": ";"}`, `unknown option "delimeter"; valid options are bom, date_format, decimal_separator, delimiter`},
		{`{"delimiter": ";;"}`, "exactly one character"},
		{`{"delimiter": "\n"}`, "line ending"},
		{`{"quote": ","}`, "delimiter and quote"},
		{`{"quote_mode": "never"}`, "as_needed or always"},
		{`{"line_ending": "cr"}`, "lf or crlf"},
		{`{"decimal_separator": ";"}`, `decimal_separator ";"`},
		{`{"null": "a,b"}`, "cannot contain the delimiter"},
		{`{"date_format": "%Q"}`, "unknown conversion %Q"},
		{`{"header": "yes"}`, `option "header": expected a JSON boolean`},
		{`{"true": "x", "false": "x"}`, "choose different texts"},
		{`{"extension": "csv"}`, "must start with a point"},
		{`[1]`, "invalid delimited format options"},
	}
	for _, tc := range cases {
		_, err := delimited.New(json.RawMessage(tc.options))
		if err == nil {
			t.Errorf("New(%s) succeeded", tc.options)
			continue
		}
		if !strings.Contains(err.Error(), tc.message) {
			t.Errorf("New(%s) error %q does not contain %q", tc.options, err, tc.message)
		}
	}
}

func TestExtension(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`{}`:                              ".csv",
		`{"delimiter": "\t"}`:             ".tsv",
		`{"delimiter": "|"}`:              ".txt",
		`{"extension": ".dat"}`:           ".dat",
		`null`:                            ".csv",
		`{"delimiter": ",", "bom": true}`: ".csv",
	}
	for options, want := range cases {
		if got := parse(t, options).Extension(); got != want {
			t.Errorf("Extension of %s = %q, want %q", options, got, want)
		}
	}
}

func TestWriteRowAllocatesNothing(t *testing.T) {
	cols := []format.Column{
		{Name: "id", Type: "bigint", OID: 20}, {Name: "label", Type: "text", OID: 25},
		{Name: "amount", Type: "numeric(12,2)", OID: 1700}, {Name: "day", Type: "date", OID: 1082},
		{Name: "at", Type: "timestamp with time zone", OID: 1184}, {Name: "flag", Type: "boolean", OID: 16},
	}
	row := [][]byte{[]byte("42"), []byte("Zoë, \"q\"\n"), []byte("12.50"), []byte("2024-01-02"),
		[]byte("2024-01-02 03:04:05.123456+00"), []byte("t")}
	for _, options := range []string{`{}`, `{"date_format": "%d/%m/%Y", "timestamp_format": "%Y%m%d%H%M%S", "decimal_separator": ",", "true": "Y", "false": "N", "delimiter": "¦"}`} {
		w, err := parse(t, options).NewWriter(io.Discard, cols, format.Info{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteRow(row); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			if err := w.WriteRow(row); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("options %s: WriteRow allocates %.2f times per row, want 0", options, allocs)
		}
	}
}

func TestQuotesSpecialAtEveryPosition(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "v", Type: "text", OID: 25}}
	for _, options := range []string{`{"header": false}`, `{"header": false, "delimiter": "¦"}`} {
		f := parse(t, options)
		delimiter := ","
		if strings.Contains(options, "¦") {
			delimiter = "¦"
		}
		for _, special := range []string{delimiter, `"`, "\r", "\n"} {
			for pos := 0; pos < 20; pos++ {
				value := strings.Repeat("x", pos) + special + strings.Repeat("y", 19-pos)
				var out bytes.Buffer
				w, err := f.NewWriter(&out, cols, format.Info{})
				if err != nil {
					t.Fatal(err)
				}
				if err := w.WriteRow([][]byte{[]byte(value)}); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				want := `"` + strings.ReplaceAll(value, `"`, `""`) + "\"\n"
				if out.String() != want {
					t.Errorf("options %s: %q written as %q, want %q", options, value, out.String(), want)
				}
			}
		}
		var out bytes.Buffer
		w, _ := f.NewWriter(&out, cols, format.Info{})
		plain := "abcdefghijklmnopqrstuvwxyz é 123"
		if err := w.WriteRow([][]byte{[]byte(plain)}); err != nil {
			t.Fatal(err)
		}
		_ = w.Close()
		if out.String() != plain+"\n" {
			t.Errorf("options %s: %q written as %q, want it unquoted", options, plain, out.String())
		}
	}
}

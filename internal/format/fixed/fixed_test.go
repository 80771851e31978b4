package fixed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/fixed"
	"github.com/axtract/axtract/internal/pgtest"
)

const source = `
CREATE TABLE public.claims AS
SELECT *
FROM (VALUES
    ('C001', 'Ann Lee', 12.50::numeric(12,2), 1, DATE '2024-01-02', TIMESTAMPTZ '2024-01-02 03:04:05+00', 'short'),
    ('C002', 'Zoë Müller-日本', -7.25, 12, DATE '1999-12-31', TIMESTAMPTZ '1999-12-31 23:59:59.999+00', 'a note that is long'),
    ('C003', 'Bob', 0.005, 0, DATE '2024-02-29', TIMESTAMPTZ '2024-06-30 12:00:00-05', NULL),
    ('C004', '', 99999999.99, -3, NULL, NULL, 'ééééééééééé'),
    ('C005', NULL, NULL, NULL, DATE '2024-03-01', TIMESTAMPTZ '2024-03-01 00:00:00+00', '')
) AS v (claim_id, member, amount, units, service_date, paid_at, note)`

// layout is a claim record with a record type code, numbers with an
// implied point and signs, dates, and a header and trailer.
const layout = `{
  "fields": [
    {"literal": "D", "start": 1, "length": 1},
    {"name": "claim_id", "start": 2, "length": 10},
    {"name": "member", "start": 12, "length": 20},
    {"name": "amount", "start": 32, "length": 11, "type": "decimal", "decimals": 2, "implied_decimal": true},
    {"name": "units", "start": 43, "length": 5, "type": "integer", "pad": " "},
    {"name": "service_date", "start": 48, "length": 8, "type": "date"},
    {"name": "paid_at", "start": 56, "length": 19, "type": "timestamp", "format": "%Y-%m-%d %H:%M:%S"},
    {"name": "note", "start": 75, "length": 10, "justify": "right", "pad": "."}
  ],
  "header": [
    {"literal": "HDR"},
    {"value": "run_date", "length": 8},
    {"value": "feed", "length": 10},
    {"value": "control_number", "length": 6}
  ],
  "trailer": [
    {"literal": "TRL"},
    {"value": "record_count", "length": 9},
    {"value": "sum", "column": "amount", "length": 15, "implied_decimal": true},
    {"value": "total_records", "length": 9},
    {"value": "sum", "column": "units", "length": 6, "justify": "left", "pad": " "}
  ],
  "overflow": "truncate"
}`

var info = format.Info{
	RunID:         42,
	Feed:          "claims",
	Partner:       "acme",
	Now:           time.Date(2024, 5, 6, 23, 30, 0, 0, time.FixedZone("EST", -5*3600)),
	ControlNumber: 17,
}

type bundle struct {
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
	for _, stmt := range []string{"SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'", source} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	cols, err := format.ColumnsOf(ctx, conn, "public.claims")
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{conn: conn, cols: cols}
}

// write runs the claims through COPY, the Decoder and a fixed-width
// writer configured by options. It returns the file, the writer's counts
// and the first error.
func (b *bundle) write(t *testing.T, options string) ([]byte, map[string]int64, error) {
	t.Helper()
	f, err := fixed.New(json.RawMessage(options))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := f.NewWriter(&out, b.cols, info)
	if err != nil {
		return nil, nil, err
	}
	dec := format.NewDecoder(w, len(b.cols))
	_, err = b.conn.PgConn().CopyTo(context.Background(), dec, "COPY (SELECT * FROM public.claims ORDER BY claim_id) TO STDOUT")
	if err == nil {
		err = dec.Close()
	}
	if err == nil {
		err = w.Close()
	}
	return out.Bytes(), w.(format.Counter).Counts(), err
}

// slice returns the field at 1-based start and length of a record,
// counting characters when chars is set.
func slice(record string, start, length int, chars bool) string {
	if !chars {
		return record[start-1 : start-1+length]
	}
	r := []rune(record)
	return string(r[start-1 : start-1+length])
}

func TestLayoutParsesBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, unit := range []string{"bytes", "characters"} {
		options := strings.Replace(layout, `"overflow": "truncate"`, `"overflow": "truncate", "length_unit": "`+unit+`"`, 1)
		data, counts, err := b.write(t, options)
		if err != nil {
			t.Fatalf("%s: %v", unit, err)
		}
		chars := unit == "characters"
		records := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if len(records) != 7 {
			t.Fatalf("%s: %d records, want 7:\n%s", unit, len(records), data)
		}
		for i, r := range records {
			n := len(r)
			if chars {
				n = utf8.RuneCountInString(r)
			}
			if n != 84 {
				t.Errorf("%s: record %d is %d long, want 84: %q", unit, i+1, n, r)
			}
		}

		// PostgreSQL computes what each field must hold.
		rows, err := b.conn.Query(context.Background(), `
SELECT coalesce(rpad(claim_id, 10), repeat(' ', 10)),
       CASE WHEN member IS NULL THEN repeat(' ', 20) ELSE rpad(member, 20) END,
       CASE WHEN amount IS NULL THEN repeat(' ', 11)
            WHEN amount < 0 THEN '-' || lpad((abs(round(amount, 2)) * 100)::bigint::text, 10, '0')
            ELSE lpad((round(amount, 2) * 100)::bigint::text, 11, '0') END,
       coalesce(lpad(units::text, 5), repeat(' ', 5)),
       coalesce(to_char(service_date, 'YYYYMMDD'), repeat(' ', 8)),
       coalesce(to_char(paid_at, 'YYYY-MM-DD HH24:MI:SS'), repeat(' ', 19)),
       CASE WHEN note IS NULL THEN repeat(' ', 10) ELSE lpad(left(note, 10), 10, '.') END
FROM public.claims ORDER BY claim_id`)
		if err != nil {
			t.Fatal(err)
		}
		want, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) ([]string, error) {
			v := make([]string, 7)
			err := row.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6])
			return v, err
		})
		if err != nil {
			t.Fatal(err)
		}
		positions := [][2]int{{2, 10}, {12, 20}, {32, 11}, {43, 5}, {48, 8}, {56, 19}, {75, 10}}
		for i, w := range want {
			r := records[i+1]
			if got := slice(r, 1, 1, chars); got != "D" {
				t.Errorf("%s: record %d type %q, want D", unit, i+2, got)
			}
			for k, p := range positions {
				got := slice(r, p[0], p[1], chars)
				if unit == "bytes" && !utf8.ValidString(w[k]) {
					continue
				}
				if unit == "bytes" && (k == 1 || k == 6) && len(w[k]) != p[1] {
					// rpad and left count characters; byte mode is checked below.
					continue
				}
				if got != w[k] {
					t.Errorf("%s: record %d field %d = %q, want %q", unit, i+2, k+1, got, w[k])
				}
			}
		}

		header := records[0]
		if got, want := strings.TrimRight(header, " "), "HDR20240507claims    000017"; got != want {
			t.Errorf("%s: header = %q, want %q", unit, got, want)
		}
		var sum, units string
		if err := b.conn.QueryRow(context.Background(),
			"SELECT lpad((sum(round(amount, 2)) * 100)::bigint::text, 15, '0'), rpad(sum(units)::text, 6) FROM public.claims").Scan(&sum, &units); err != nil {
			t.Fatal(err)
		}
		trailer := records[6]
		if got, want := strings.TrimRight(trailer, " "), "TRL000000005"+sum+"000000007"+strings.TrimRight(units, " "); got != want {
			t.Errorf("%s: trailer = %q, want %q", unit, got, want)
		}

		// C002's note is cut in both units, and so are C004's eleven é,
		// which are 22 bytes.
		if counts["truncated_values"] != 2 {
			t.Errorf("%s: truncated_values = %d, want 2", unit, counts["truncated_values"])
		}
		if !chars {
			if got := slice(records[4], 75, 10, false); got != strings.Repeat("é", 5) {
				t.Errorf("bytes: cut note of C004 = %q, want five é", got)
			}
			if got := slice(records[2], 12, 20, false); got != "Zoë Müller-日本"+strings.Repeat(" ", 20-len("Zoë Müller-日本")) {
				t.Errorf("bytes: member of C002 = %q", got)
			}
		}
	}
}

func TestOverflowError(t *testing.T) {
	t.Parallel()
	b := setup(t)
	options := strings.Replace(layout, `"overflow": "truncate"`, `"overflow": "error"`, 1)
	_, _, err := b.write(t, options)
	if err == nil {
		t.Fatal("a value longer than its field was accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, "row 2 column note") {
		t.Errorf("error %q does not name row 2 and column note", msg)
	}
	if strings.Contains(msg, "a note") {
		t.Errorf("error %q contains the value", msg)
	}
}

func TestNumberNeverTruncated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	options := strings.Replace(layout, `"start": 32, "length": 11`, `"start": 32, "length": 6`, 1)
	options = strings.Replace(options, `"start": 43`, `"start": 38`, 1)
	options = strings.NewReplacer(`"start": 48`, `"start": 43`, `"start": 56`, `"start": 51`, `"start": 75`, `"start": 70`).Replace(options)
	_, _, err := b.write(t, options)
	if err == nil {
		t.Fatal("a number longer than its field was accepted")
	}
	if !strings.Contains(err.Error(), "row 4 column amount") || !strings.Contains(err.Error(), "numbers are never truncated") {
		t.Errorf("error %q does not name row 4, column amount and the rule", err)
	}
}

func TestNewRejectsInvalidLayouts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		options string
		message string
	}{
		{`{}`, "fields is missing"},
		{`{"fields": [{"name": "a", "start": 2, "length": 3}]}`, "starts at 2, leaving positions 1 to 1 empty"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3}, {"name": "b", "start": 5, "length": 1}]}`,
			`positions 4 to 4 between field "a" and field "b" are not covered`},
		{`{"fields": [{"name": "a", "start": 1, "length": 3}, {"name": "b", "start": 3, "length": 1}]}`,
			`field "b" starts at 3, inside field "a", which ends at 3`},
		{`{"fields": [{"name": "a", "start": 1, "length": 3, "lenght": 2}]}`,
			`fields[0]: unknown option "lenght"; valid options are decimals, format, implied_decimal, justify, length, literal, name, pad, start, type`},
		{`{"fields": [{"name": "a", "start": 1, "length": 0}]}`, "length 0 must be from 1 to 65536"},
		{`{"fields": [{"name": "a", "start": 1, "length": 2000000000}]}`, "length 2000000000 must be from 1 to 65536"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3, "type": "money"}]}`, `type "money"`},
		{`{"fields": [{"name": "a", "start": 1, "length": 3, "pad": "é"}]}`, "several bytes long"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3, "format": "%Y"}]}`, "date and timestamp fields only"},
		{`{"fields": [{"name": "a", "start": 1, "length": 8, "type": "date", "format": "%Y-%m-%d"}]}`,
			`format "%Y-%m-%d" prints 10 bytes, more than length 8`},
		{`{"fields": [{"name": "a", "start": 1, "length": 8, "type": "timestamp"}]}`, "prints 14 bytes, more than length 8"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3, "decimals": 2}]}`, "decimal fields only"},
		{`{"fields": [{"literal": "ABCD", "start": 1, "length": 3}]}`, "literal is longer than length 3"},
		{`{"fields": [{"start": 1, "length": 3}]}`, "needs a name"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3}], "header": [{"value": "record_count", "length": 3}]}`,
			"trailer only"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3}], "trailer": [{"value": "sum", "column": "a", "length": 3}]}`,
			"not an integer or decimal field"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3}], "trailer": [{"value": "sum", "column": "b", "length": 3}]}`,
			"not a field of the layout"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3}], "trailer": [{"literal": "TRAILER"}]}`,
			"more than the detail record's 3"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3}], "trailer": [{"value": "today", "length": 3}]}`, `value "today"`},
		{`{"fields": [{"name": "a", "start": 1, "length": 3}], "overflow": "wrap"}`, "use error or truncate"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3}], "length_unit": "runes"}`, "use bytes or characters"},
		{`{"fields": [{"name": "a", "start": 1, "length": 3}], "line_ending": "cr"}`, "use lf, crlf or none"},
	}
	for _, tc := range cases {
		_, err := fixed.New(json.RawMessage(tc.options))
		if err == nil {
			t.Errorf("New(%s) succeeded", tc.options)
			continue
		}
		if !strings.Contains(err.Error(), tc.message) {
			t.Errorf("New(%s) error %q does not contain %q", tc.options, err, tc.message)
		}
	}
}

func TestNewWriterChecksColumns(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "label", Type: "text", OID: 25}}
	cases := map[string]string{
		`{"fields": [{"name": "missing", "start": 1, "length": 3}]}`:                                           `field "missing" names no column of the view; the view has "label"`,
		`{"fields": [{"name": "label", "start": 1, "length": 3, "type": "integer"}]}`:                          "is a number field but column \"label\" is text",
		`{"fields": [{"name": "label", "start": 1, "length": 8, "type": "date"}]}`:                             "is a date field",
		`{"fields": [{"name": "label", "start": 1, "length": 3}], "header": [{"value": "feed", "length": 2}]}`: "value too long",
	}
	for options, message := range cases {
		f, err := fixed.New(json.RawMessage(options))
		if err != nil {
			t.Fatalf("New(%s): %v", options, err)
		}
		_, err = f.NewWriter(&bytes.Buffer{}, cols, info)
		if err == nil || !strings.Contains(err.Error(), message) {
			t.Errorf("NewWriter with %s: error %v, want it to contain %q", options, err, message)
		}
	}
}

func TestInfiniteAndNaNRejected(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "day", Type: "date", OID: 1082}, {Name: "amount", Type: "numeric", OID: 1700}}
	f, err := fixed.New(json.RawMessage(`{"fields": [{"name": "day", "start": 1, "length": 8, "type": "date"},
		{"name": "amount", "start": 9, "length": 8, "type": "decimal"}], "line_ending": "none"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range [][][]byte{{[]byte("infinity"), []byte("1")}, {[]byte("2024-01-02"), []byte("NaN")}} {
		w, err := f.NewWriter(&bytes.Buffer{}, cols, info)
		if err != nil {
			t.Fatal(err)
		}
		err = w.WriteRow(row)
		if !errors.Is(err, format.ErrInfinite) && !errors.Is(err, format.ErrNotFinite) {
			t.Errorf("WriteRow(%q) error %v, want an infinite or NaN error", row, err)
		}
	}

	var out bytes.Buffer
	w, _ := f.NewWriter(&out, cols, info)
	if err := w.WriteRow([][]byte{[]byte("2024-01-02"), []byte("-1.005")}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRow([][]byte{nil, nil}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "20240102-0001.01"+strings.Repeat(" ", 16); got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestByteTruncationKeepsCharacters(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "name", Type: "text", OID: 25}}
	f, err := fixed.New(json.RawMessage(`{"fields": [{"name": "name", "start": 1, "length": 9}], "overflow": "truncate"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := f.NewWriter(&out, cols, info)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"ééééééé", "abc", "abcdefghijk"} {
		if err := w.WriteRow([][]byte{[]byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "éééé \nabc      \nabcdefghi\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
	if got := w.(format.Counter).Counts()["truncated_values"]; got != 2 {
		t.Errorf("truncated_values = %d, want 2", got)
	}
}

func TestFillerAndNegativeAmount(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "paid_amount", Type: "numeric(14,2)", OID: 1700}}
	_, err := fixed.New(json.RawMessage(`{"fields": [
		{"literal": "D", "start": 1, "length": 1},
		{"name": "paid_amount", "start": 2, "length": 12, "type": "decimal", "implied_decimal": true},
		{"literal": "", "start": 14, "length": 3}],
		"header": [{"literal": "H"}, {"literal": ""}],
		"trailer": [{"literal": "T"}, {"value": "sum", "column": "paid_amount", "length": 15, "implied_decimal": true}]}`))
	if err == nil {
		t.Fatal("a literal segment without length or text was accepted")
	}

	f, err := fixed.New(json.RawMessage(`{"fields": [
		{"literal": "D", "start": 1, "length": 1},
		{"name": "paid_amount", "start": 2, "length": 12, "type": "decimal", "implied_decimal": true},
		{"literal": "", "start": 14, "length": 3}],
		"header": [{"literal": "H"}, {"literal": "", "length": 2}, {"literal": "X"}],
		"trailer": [{"literal": "T"}, {"value": "sum", "column": "paid_amount", "length": 15, "implied_decimal": true}]}`))
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	w, err := f.NewWriter(&out, cols, info)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"-7.25", "12.50"} {
		if err := w.WriteRow([][]byte{[]byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "H  X            \n" +
		"D-00000000725   \n" +
		"D000000001250   \n" +
		"T000000000000525\n"
	if out.String() != want {
		t.Errorf("output =\n%q\nwant\n%q", out.String(), want)
	}
}

func TestWriteRowAllocatesNothing(t *testing.T) {
	b := &bundle{cols: []format.Column{
		{Name: "claim_id", Type: "text", OID: 25}, {Name: "member", Type: "text", OID: 25},
		{Name: "amount", Type: "numeric(12,2)", OID: 1700}, {Name: "units", Type: "integer", OID: 23},
		{Name: "service_date", Type: "date", OID: 1082}, {Name: "paid_at", Type: "timestamp with time zone", OID: 1184},
		{Name: "note", Type: "text", OID: 25},
	}}
	row := [][]byte{[]byte("C001"), []byte("Zoë"), []byte("-12.505"), []byte("3"), []byte("2024-01-02"),
		[]byte("2024-01-02 03:04:05.123456+00"), []byte("a note that is long")}
	f, err := fixed.New(json.RawMessage(layout))
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.NewWriter(io.Discard, b.cols, info)
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
		t.Errorf("WriteRow allocates %.2f times per row, want 0", allocs)
	}
}

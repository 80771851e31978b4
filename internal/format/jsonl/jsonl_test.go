package jsonl_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/jsonl"
	"github.com/axtract/axtract/internal/pgtest"
)

const source = `
CREATE TABLE public.src AS
SELECT *
FROM (VALUES
    (1, 'plain', 12.50::numeric(12,2), DATE '2024-01-02', TIMESTAMPTZ '2024-01-02 03:04:05.123456+00', true,
     ARRAY['a','b c']::text[], ARRAY[1,2]::int[], '{"k": "v\\n", "n": 1.50}'::jsonb, 1.5::float8,
     TIMESTAMP '2024-01-02 03:04:05', E'{\n  "pretty": [1,\n 2]\n}'::json, 7::bigint),
    (2, E'comma, "quote"; tab\there', -0.01, DATE '1999-12-31', TIMESTAMPTZ '1999-12-31 23:59:59+00', false,
     ARRAY['x,y','"q"',NULL,'back\slash','']::text[], ARRAY[]::int[], '[1, 2.50, null]'::jsonb, 1e300::float8,
     TIMESTAMP '2000-01-01 00:00:00.5', '[]'::json, '-9223372036854775808'::bigint),
    (3, E'line\nbreak\r\nand CR\x01\x1f', 123456789012345678901234567890.123456789, DATE 'infinity', TIMESTAMPTZ '-infinity', NULL,
     NULL, ARRAY[NULL, -3]::int[], NULL, 'NaN'::float8, TIMESTAMP 'infinity', NULL, NULL),
    (4, E'back\\slash \\N and \\t \\u0041', 'NaN'::numeric, DATE '0044-03-15 BC', TIMESTAMPTZ '2024-06-30 12:00:00-05', true,
     ARRAY[E'tab\t', E'nl\n', '{}']::text[], ARRAY[[1,2],[3,4]]::int[], '"just a string"'::jsonb, '-Infinity'::float8,
     TIMESTAMP '2024-02-29 23:59:59.999999', '"s"'::json, 0::bigint),
    (5, 'Zoë 日本 🙂', 0, DATE '2024-02-29', TIMESTAMPTZ '2024-02-29 00:00:00+00', false,
     ARRAY['NULL', 'null']::text[], ARRAY[0]::int[], '{}'::jsonb, -0.0::float8, TIMESTAMP '1999-01-01 00:00:00', 'null'::json, 1::bigint),
    (6, '', NULL, NULL, NULL, NULL, ARRAY['']::text[], NULL, 'null'::jsonb, 1.0e-7::float8, NULL, NULL, NULL),
    (7, NULL, 1e-20, DATE '2024-03-01', TIMESTAMPTZ '2024-03-01 00:00:00.000001+00', true, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS v (id, label, amount, day, at, flag, tags, counts, doc, ratio, local_at, raw, big)`

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
	for _, stmt := range []string{"SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'", "SET extra_float_digits = 1", source} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	cols, err := format.ColumnsOf(ctx, conn, "public.src")
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{conn: conn, cols: cols}
}

func (b *bundle) write(t *testing.T, options string) []byte {
	t.Helper()
	f, err := jsonl.New(json.RawMessage(options))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := f.NewWriter(&out, b.cols, format.Info{})
	if err != nil {
		t.Fatal(err)
	}
	dec := format.NewDecoder(w, len(b.cols))
	if _, err := b.conn.PgConn().CopyTo(context.Background(), dec, "COPY (SELECT * FROM public.src ORDER BY id) TO STDOUT"); err != nil {
		t.Fatal(err)
	}
	if err := dec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// lines parses each line of data as one JSON object with numbers kept as
// text.
func lines(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		out = append(out, decode(t, sc.Bytes()))
	}
	return out
}

func decode(t *testing.T, line []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		t.Fatalf("line %s is not a JSON object: %v", line, err)
	}
	return obj
}

// TestMatchesRowToJSON compares every value with PostgreSQL's own JSON
// rendering of the row, which differs only in how it writes UTC and the
// years before 1, which PostgreSQL 15 writes as 0044-03-15 BC and ISO
// 8601 as -0043-03-15.
func TestMatchesRowToJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := lines(t, b.write(t, `{}`))

	rows, err := b.conn.Query(context.Background(), "SELECT row_to_json(s)::text FROM public.src AS s ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("wrote %d lines, want %d", len(got), len(texts))
	}
	for i, text := range texts {
		want := decode(t, []byte(text))
		for key, w := range want {
			g, ok := got[i][key]
			if !ok {
				t.Errorf("row %d: key %s missing", i+1, key)
				continue
			}
			if key == "at" && w != nil && w != "-infinity" {
				wt, _ := time.Parse(time.RFC3339Nano, w.(string))
				gt, err := time.Parse(time.RFC3339Nano, g.(string))
				if err != nil || !gt.Equal(wt) || !strings.HasSuffix(g.(string), "Z") {
					t.Errorf("row %d: at = %v, want %v in UTC with Z", i+1, g, w)
				}
				continue
			}
			if key == "day" && w == "0044-03-15 BC" {
				w = "-0043-03-15"
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("row %d: %s = %#v, want %#v", i+1, key, g, w)
			}
		}
		if len(got[i]) != len(want) {
			t.Errorf("row %d has %d keys, want %d", i+1, len(got[i]), len(want))
		}
	}
}

func TestKeysInColumnOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first, _, _ := bytes.Cut(b.write(t, `{}`), []byte("\n"))
	d := json.NewDecoder(bytes.NewReader(first))
	var keys []string
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	want := "id label amount day at flag tags counts doc ratio local_at raw big"
	if strings.Join(keys, " ") != want {
		t.Errorf("keys = %v, want %s", keys, want)
	}
}

func TestValueDetails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := b.write(t, `{}`)
	if n := bytes.Count(data, []byte("\n")); n != 7 {
		t.Fatalf("wrote %d lines, want 7", n)
	}
	got := lines(t, data)
	checks := []struct {
		row   int
		key   string
		value any
	}{
		{1, "at", "2024-01-02T03:04:05.123456Z"},
		{1, "local_at", "2024-01-02T03:04:05"},
		{1, "raw", map[string]any{"pretty": []any{json.Number("1"), json.Number("2")}}},
		{1, "doc", map[string]any{"k": `v\n`, "n": json.Number("1.50")}},
		{2, "big", json.Number("-9223372036854775808")},
		{2, "ratio", json.Number("1e+300")},
		{3, "amount", json.Number("123456789012345678901234567890.123456789")},
		{3, "day", "infinity"},
		{3, "local_at", "infinity"},
		{3, "ratio", "NaN"},
		{3, "label", "line\nbreak\r\nand CR\x01\x1f"},
		{4, "label", `back\slash \N and \t \u0041`},
		{4, "day", "-0043-03-15"},
		{4, "at", "2024-06-30T17:00:00Z"},
		{4, "counts", []any{[]any{json.Number("1"), json.Number("2")}, []any{json.Number("3"), json.Number("4")}}},
		{4, "amount", "NaN"},
		{5, "ratio", json.Number("-0")},
		{5, "label", "Zoë 日本 🙂"},
		{6, "label", ""},
		{6, "tags", []any{""}},
		{7, "label", nil},
		{7, "amount", json.Number("0.00000000000000000001")},
		{7, "at", "2024-03-01T00:00:00.000001Z"},
	}
	for _, c := range checks {
		if g := got[c.row-1][c.key]; !reflect.DeepEqual(g, c.value) {
			t.Errorf("row %d %s = %#v, want %#v", c.row, c.key, g, c.value)
		}
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := lines(t, b.write(t, `{"non_finite": "null", "omit_nulls": true}`))
	if v, ok := got[2]["ratio"]; !ok || v != nil {
		t.Errorf("NaN with non_finite null = %#v (present %v), want null", v, ok)
	}
	if _, ok := got[6]["label"]; ok {
		t.Error("omit_nulls kept the key of a NULL")
	}
	if len(got[6]) != 5 {
		t.Errorf("row 7 has keys %v, want id, amount, day, at and flag only", got[6])
	}

	for options, message := range map[string]string{
		`{"nonfinite": "null"}`:   `unknown option "nonfinite"; valid options are extension, non_finite, omit_nulls`,
		`{"non_finite": "zero"}`:  "use string or null",
		`{"extension": "ndjson"}`: "must start with a point",
		`{"omit_nulls": "yes"}`:   "expected a JSON boolean",
	} {
		_, err := jsonl.New(json.RawMessage(options))
		if err == nil || !strings.Contains(err.Error(), message) {
			t.Errorf("New(%s) error %v, want it to contain %q", options, err, message)
		}
	}
}

func TestInvalidUTF8AndControlBytes(t *testing.T) {
	t.Parallel()
	f, err := jsonl.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := f.NewWriter(&out, []format.Column{{Name: `we"ird\key`, Type: "text", OID: 25}}, format.Info{})
	if err != nil {
		t.Fatal(err)
	}
	value := []byte("a\xffb\x00c\x7f\u2028")
	if err := w.WriteRow([][]byte{value}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(bytes.TrimSpace(out.Bytes())) {
		t.Fatalf("output %q is not valid JSON", out.Bytes())
	}
	obj := decode(t, out.Bytes())
	if got, want := obj[`we"ird\key`], "a\ufffdb\x00c\x7f\u2028"; got != want {
		t.Errorf("value = %q, want %q", got, want)
	}
}

func FuzzTextValues(f *testing.F) {
	f.Add([]byte("plain"), []byte("{a,\"b c\",NULL}"))
	f.Add([]byte("\x00\x1f\"\\\u2028\xff"), []byte("{{1,2},{3,4}}"))
	f.Add([]byte(""), []byte("{}"))
	cols := []format.Column{{Name: "text", Type: "text", OID: 25}, {Name: "tags", Type: "text[]", OID: 1009}}
	jf, err := jsonl.New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, tags []byte) {
		var out bytes.Buffer
		w, err := jf.NewWriter(&out, cols, format.Info{})
		if err != nil {
			t.Fatal(err)
		}
		var a format.Array
		arrayErr := a.Parse(tags)
		err = w.WriteRow([][]byte{text, tags})
		if (err != nil) != (arrayErr != nil) {
			t.Fatalf("WriteRow error %v, array parse error %v", err, arrayErr)
		}
		if err != nil {
			return
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		line := out.Bytes()
		if bytes.Count(line, []byte("\n")) != 1 || !json.Valid(line) {
			t.Fatalf("output %q is not one line of valid JSON", line)
		}
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			t.Fatal(err)
		}
		if utf8.Valid(text) && obj["text"] != string(text) {
			t.Fatalf("text = %q, want %q", obj["text"], text)
		}
	})
}

func TestWriteRowAllocatesNothing(t *testing.T) {
	cols := []format.Column{
		{Name: "id", Type: "bigint", OID: 20}, {Name: "label", Type: "text", OID: 25},
		{Name: "amount", Type: "numeric(12,2)", OID: 1700}, {Name: "day", Type: "date", OID: 1082},
		{Name: "at", Type: "timestamp with time zone", OID: 1184}, {Name: "flag", Type: "boolean", OID: 16},
		{Name: "tags", Type: "text[]", OID: 1009}, {Name: "doc", Type: "jsonb", OID: 3802},
		{Name: "raw", Type: "json", OID: 114},
	}
	row := [][]byte{[]byte("42"), []byte("Zoë \"q\"\n"), []byte("12.50"), []byte("2024-01-02"),
		[]byte("2024-01-02 03:04:05.123456+00"), []byte("t"), []byte(`{a,"b c",NULL}`), []byte(`{"k": 1}`), []byte("{\n\"a\": 1}")}
	f, err := jsonl.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.NewWriter(io.Discard, cols, format.Info{})
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

func TestArraysOfEveryKind(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, err := b.conn.Exec(ctx, `CREATE VIEW public.arrays AS SELECT
		ARRAY[TIMESTAMPTZ '2024-01-02 03:04:05+00', TIMESTAMPTZ '2024-06-30 12:00:00.5-05', NULL] AS stamps,
		ARRAY[true, false, NULL] AS flags,
		ARRAY[1.50, 'NaN', -2]::numeric[] AS amounts,
		ARRAY['{"a": [1, "x,y"]}', 'null']::jsonb[] AS docs,
		ARRAY[DATE '2024-01-02', 'infinity'] AS days,
		ARRAY['6ecd8c99-4036-403d-bf84-cf8400f67836']::uuid[] AS ids,
		ARRAY[1.5, 'Infinity']::float8[] AS ratios`); err != nil {
		t.Fatal(err)
	}
	cols, err := format.ColumnsOf(ctx, b.conn, "public.arrays")
	if err != nil {
		t.Fatal(err)
	}
	f, err := jsonl.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := f.NewWriter(&out, cols, format.Info{})
	if err != nil {
		t.Fatal(err)
	}
	dec := format.NewDecoder(w, len(cols))
	if _, err := b.conn.PgConn().CopyTo(ctx, dec, "COPY (SELECT * FROM public.arrays) TO STDOUT"); err != nil {
		t.Fatal(err)
	}
	if err := dec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := `{"stamps":["2024-01-02T03:04:05Z","2024-06-30T17:00:00.5Z",null],"flags":[true,false,null],` +
		`"amounts":[1.50,"NaN",-2],"docs":[{"a": [1, "x,y"]},null],"days":["2024-01-02","infinity"],` +
		`"ids":["6ecd8c99-4036-403d-bf84-cf8400f67836"],"ratios":[1.5,"Infinity"]}` + "\n"
	if out.String() != want {
		t.Errorf("output =\n%s\nwant\n%s", out.String(), want)
	}
	if !json.Valid(bytes.TrimSpace(out.Bytes())) {
		t.Error("output is not valid JSON")
	}
}

package parquet

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/pgtest"
)

// arrowFile is a Parquet file as Apache Arrow's Go reader reads it: an
// implementation independent of the writer's.
type arrowFile struct {
	reader *file.Reader
	// columns holds each column's values as Go values: nil for NULL,
	// string, bool, int16, int32, int64, float32, float64, a decimal as
	// its text, a date as "2006-01-02", a timestamp as time.Time and a
	// UUID as "uuid " and its text.
	columns [][]any
}

func readArrow(t *testing.T, data []byte) *arrowFile {
	t.Helper()
	reader, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("open the file with arrow: %v", err)
	}
	t.Cleanup(func() { reader.Close() })
	fr, err := pqarrow.NewFileReader(reader, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("arrow file reader: %v", err)
	}
	table, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read the table with arrow: %v", err)
	}
	defer table.Release()

	f := &arrowFile{reader: reader}
	for i := range int(table.NumCols()) {
		var values []any
		for _, chunk := range table.Column(i).Data().Chunks() {
			for j := range chunk.Len() {
				values = append(values, arrowValue(t, chunk, j))
			}
		}
		f.columns = append(f.columns, values)
	}
	return f
}

func arrowValue(t *testing.T, a arrow.Array, i int) any {
	t.Helper()
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Int16:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal256Type).Scale)
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		return a.Value(i).ToTime(typ.Unit)
	case array.ExtensionArray:
		if name := a.ExtensionType().ExtensionName(); name != "arrow.uuid" {
			t.Fatalf("unexpected arrow extension type %s", name)
		}
		return "uuid " + a.ValueStr(i)
	}
	t.Fatalf("unexpected arrow array type %s", a.DataType())
	return nil
}

// logicalTypes returns each column's Parquet logical type as arrow prints
// it, with its physical type.
func (f *arrowFile) logicalTypes() []string {
	s := f.reader.MetaData().Schema
	types := make([]string, s.NumColumns())
	for i := range types {
		c := s.Column(i)
		types[i] = fmt.Sprintf("%s %s", c.PhysicalType(), c.LogicalType())
	}
	return types
}

// writeFile writes rows with the given options and returns the file.
func writeFile(t *testing.T, options string, cols []format.Column, rows [][][]byte) []byte {
	t.Helper()
	f, err := New([]byte(options))
	if err != nil {
		t.Fatalf("New(%s): %v", options, err)
	}
	var buf bytes.Buffer
	w, err := f.NewWriter(&buf, cols, format.Info{RunID: 42, Feed: "claims-weekly", Partner: "acme"})
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	for i, row := range rows {
		if err := w.WriteRow(row); err != nil {
			t.Fatalf("WriteRow(row %d): %v", i+1, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func text(values ...any) [][]byte {
	row := make([][]byte, len(values))
	for i, v := range values {
		if v != nil {
			row[i] = []byte(v.(string))
		}
	}
	return row
}

func TestWriterTypesRoundTrip(t *testing.T) {
	t.Parallel()
	cols := []format.Column{
		{Name: "note", Type: "text", OID: 25},
		{Name: "code", Type: "character varying(10)", OID: 1043},
		{Name: "flag", Type: "boolean", OID: 16},
		{Name: "small", Type: "smallint", OID: 21},
		{Name: "count", Type: "integer", OID: 23},
		{Name: "big", Type: "bigint", OID: 20},
		{Name: "amount", Type: "numeric(14,2)", OID: 1700},
		{Name: "rate", Type: "numeric(5,4)", OID: 1700},
		{Name: "wide", Type: "numeric(38,10)", OID: 1700},
		{Name: "free", Type: "numeric", OID: 1700},
		{Name: "ratio", Type: "real", OID: 700},
		{Name: "latitude", Type: "double precision", OID: 701},
		{Name: "service_date", Type: "date", OID: 1082},
		{Name: "seen_at", Type: "timestamp without time zone", OID: 1114},
		{Name: "loaded_at", Type: "timestamp with time zone", OID: 1184},
		{Name: "member_id", Type: "uuid", OID: 2950},
		{Name: "tags", Type: "text[]", OID: 1009},
	}
	rows := [][][]byte{
		text("a, \"quoted\"\nline\\two\ttab", "ÄÖü-漢字", "t", "-32768", "2147483647", "-9223372036854775808",
			"-123456789012.34", "0.0001", "-1234567890123456789012345678.1234567890", "3.140000000000",
			"1.5", "-33.868820", "2024-02-29", "2024-03-10 02:30:00.000001", "1999-12-31 23:59:59.999999+00",
			"3edac2e3-d223-6fae-d515-daf96ef6bc76", `{a,"b c",NULL}`),
		text("", "", "f", "32767", "-2147483648", "9223372036854775807",
			"0.00", "-9.9999", "0.0000000001", "-0", "-Infinity", "NaN", "0044-03-15 BC", "1970-01-01 00:00:00",
			"2024-06-01 12:00:00+05:30", "00000000-0000-0000-0000-000000000000", "{}"),
		text(nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil),
	}
	got := readArrow(t, writeFile(t, `{"row_group_rows": 2}`, cols, rows))

	wantTypes := []string{
		"BYTE_ARRAY String", "BYTE_ARRAY String", "BOOLEAN None", "INT32 Int(bitWidth=16, isSigned=true)",
		"INT32 Int(bitWidth=32, isSigned=true)", "INT64 Int(bitWidth=64, isSigned=true)",
		"INT64 Decimal(precision=14, scale=2)", "INT32 Decimal(precision=5, scale=4)",
		"FIXED_LEN_BYTE_ARRAY Decimal(precision=38, scale=10)", "FIXED_LEN_BYTE_ARRAY Decimal(precision=38, scale=9)",
		"FLOAT None", "DOUBLE None", "INT32 Date",
		"INT64 Timestamp(isAdjustedToUTC=false, timeUnit=microseconds, is_from_converted_type=false, force_set_converted_type=false)",
		"INT64 Timestamp(isAdjustedToUTC=true, timeUnit=microseconds, is_from_converted_type=false, force_set_converted_type=false)",
		"FIXED_LEN_BYTE_ARRAY UUID", "BYTE_ARRAY String",
	}
	for i, typ := range got.logicalTypes() {
		if typ != wantTypes[i] {
			t.Errorf("column %s type = %q, want %q", cols[i].Name, typ, wantTypes[i])
		}
	}

	bc := time.Date(-43, time.March, 15, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	want := [][]any{
		{"a, \"quoted\"\nline\\two\ttab", "", nil},
		{"ÄÖü-漢字", "", nil},
		{true, false, nil},
		{int16(-32768), int16(32767), nil},
		{int32(2147483647), int32(-2147483648), nil},
		{int64(-9223372036854775808), int64(9223372036854775807), nil},
		{"-123456789012.34", "0.00", nil},
		{"0.0001", "-9.9999", nil},
		{"-1234567890123456789012345678.1234567890", "0.0000000001", nil},
		{"3.140000000", "0.000000000", nil},
		{float32(1.5), float32(negInf()), nil},
		{-33.868820, nanValue, nil},
		{"2024-02-29", bc, nil},
		{time.Date(2024, 3, 10, 2, 30, 0, 1000, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(2024, 6, 1, 6, 30, 0, 0, time.UTC), nil},
		{"uuid 3edac2e3-d223-6fae-d515-daf96ef6bc76", "uuid 00000000-0000-0000-0000-000000000000", nil},
		{`{a,"b c",NULL}`, "{}", nil},
	}
	if len(got.columns) != len(want) {
		t.Fatalf("arrow read %d columns, want %d", len(got.columns), len(want))
	}
	for i, values := range got.columns {
		if len(values) != len(rows) {
			t.Errorf("column %s has %d values, want %d", cols[i].Name, len(values), len(rows))
			continue
		}
		for j, v := range values {
			if !sameValue(v, want[i][j]) {
				t.Errorf("column %s row %d = %#v, want %#v", cols[i].Name, j+1, v, want[i][j])
			}
		}
	}

	if n := got.reader.NumRows(); n != 3 {
		t.Errorf("NumRows() = %d, want 3", n)
	}
	if n := got.reader.NumRowGroups(); n != 2 {
		t.Errorf("NumRowGroups() = %d with row_group_rows 2, want 2", n)
	}
	for i := range cols {
		chunk, err := got.reader.MetaData().RowGroup(0).ColumnChunk(i)
		if err != nil {
			t.Fatalf("column chunk %d: %v", i, err)
		}
		if set, err := chunk.StatsSet(); err != nil || !set {
			t.Errorf("column %s has no statistics (%v)", cols[i].Name, err)
		}
		if chunk.GetColumnIndexLocation() == nil || chunk.GetOffsetIndexLocation() == nil {
			t.Errorf("column %s has no page index", cols[i].Name)
		}
	}
	meta := got.reader.MetaData().KeyValueMetadata()
	for key, value := range map[string]string{"axtract.feed": "claims-weekly", "axtract.partner": "acme", "axtract.run_id": "42"} {
		if v := meta.FindValue(key); v == nil || *v != value {
			t.Errorf("key-value metadata %s = %v, want %q", key, v, value)
		}
	}
}

// nanValue marks an expected NaN, which is not equal to itself.
var nanValue = struct{ nan bool }{true}

func negInf() float64 { return -1 / zero }

var zero = 0.0

func sameValue(got, want any) bool {
	if want == nanValue {
		x, ok := got.(float64)
		return ok && x != x
	}
	if w, ok := want.(time.Time); ok {
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	}
	return got == want
}

func TestWriterCompression(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "id", Type: "integer", OID: 23}, {Name: "name", Type: "text", OID: 25}}
	rows := [][][]byte{text("1", "one"), text("2", "two")}
	for options, want := range map[string]string{
		`{}`:                        "ZSTD",
		`{"compression": "zstd"}`:   "ZSTD",
		`{"compression": "snappy"}`: "SNAPPY",
		`{"compression": "gzip"}`:   "GZIP",
		`{"compression": "none"}`:   "UNCOMPRESSED",
	} {
		got := readArrow(t, writeFile(t, options, cols, rows))
		rg := got.reader.MetaData().RowGroup(0)
		for i := range 2 {
			chunk, err := rg.ColumnChunk(i)
			if err != nil {
				t.Fatalf("column chunk %d: %v", i, err)
			}
			if codec := chunk.Compression().String(); codec != want {
				t.Errorf("%s: column %d codec = %s, want %s", options, i, codec, want)
			}
		}
		if got.columns[1][1] != "two" {
			t.Errorf("%s: name of row 2 = %v, want two", options, got.columns[1][1])
		}
	}
}

func TestWriterRowGroups(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "id", Type: "bigint", OID: 20}, {Name: "note", Type: "text", OID: 25}}
	var rows [][][]byte
	for i := range 1000 {
		rows = append(rows, text(fmt.Sprint(i), fmt.Sprintf("note %d", i)))
	}

	byRows := readArrow(t, writeFile(t, `{"row_group_rows": 300}`, cols, rows))
	if n := byRows.reader.NumRowGroups(); n != 4 {
		t.Errorf("row groups with row_group_rows 300 = %d, want 4", n)
	}
	for i, want := range []int64{300, 300, 300, 100} {
		if n := byRows.reader.MetaData().RowGroup(i).NumRows(); n != want {
			t.Errorf("row group %d has %d rows, want %d", i, n, want)
		}
	}

	// Each row holds 8 bytes of bigint and 4 plus 5 to 8 bytes of text.
	bySize := readArrow(t, writeFile(t, `{"row_group_bytes": 2048, "page_bytes": 1024}`, cols, rows))
	if n := bySize.reader.NumRowGroups(); n < 5 || n > 20 {
		t.Errorf("row groups with row_group_bytes 2048 = %d, want 5 to 20", n)
	}
	for _, f := range []*arrowFile{byRows, bySize} {
		if n := f.reader.NumRows(); n != 1000 {
			t.Errorf("NumRows() = %d, want 1000", n)
		}
		for i, v := range f.columns[0] {
			if v != int64(i) {
				t.Fatalf("id of row %d = %v, want %d", i+1, v, i)
			}
		}
		for i, v := range f.columns[1] {
			if want := fmt.Sprintf("note %d", i); v != want {
				t.Fatalf("note of row %d = %v, want %q", i+1, v, want)
			}
		}
	}
}

func TestWriterEmptyFile(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "id", Type: "integer", OID: 23}}
	got := readArrow(t, writeFile(t, `{}`, cols, nil))
	if n := got.reader.NumRows(); n != 0 {
		t.Errorf("NumRows() = %d, want 0", n)
	}
	if name := got.reader.MetaData().Schema.Column(0).Name(); name != "id" {
		t.Errorf("column name = %q, want id", name)
	}
}

func TestWriterUnconstrainedNumericString(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "value", Type: "numeric", OID: 1700}}
	rows := [][][]byte{text("NaN"), text("1.23456789012345678901234567890"), text("-Infinity")}
	got := readArrow(t, writeFile(t, `{"unconstrained_numeric": "string"}`, cols, rows))
	if typ := got.logicalTypes()[0]; typ != "BYTE_ARRAY String" {
		t.Errorf("type = %q, want BYTE_ARRAY String", typ)
	}
	for i, row := range rows {
		if got.columns[0][i] != string(row[0]) {
			t.Errorf("row %d = %v, want %s", i+1, got.columns[0][i], row[0])
		}
	}
}

func TestWriterColumnOrder(t *testing.T) {
	t.Parallel()
	cols := []format.Column{
		{Name: "zeta", Type: "text", OID: 25},
		{Name: "alpha", Type: "integer", OID: 23},
		{Name: "Mid Name", Type: "text", OID: 25},
	}
	got := readArrow(t, writeFile(t, `{}`, cols, [][][]byte{text("z", "1", "m")}))
	s := got.reader.MetaData().Schema
	for i, c := range cols {
		if name := s.Column(i).Name(); name != c.Name {
			t.Errorf("column %d name = %q, want %q", i, name, c.Name)
		}
	}
	if got.columns[0][0] != "z" || got.columns[1][0] != int32(1) || got.columns[2][0] != "m" {
		t.Errorf("row = %v %v %v, want z 1 m", got.columns[0][0], got.columns[1][0], got.columns[2][0])
	}
}

// countRows returns the number of rows in a Parquet file as Arrow reads
// them.
func countRows(t *testing.T, data []byte) int64 {
	t.Helper()
	f := readArrow(t, data)
	if len(f.columns) > 0 && int64(len(f.columns[0])) != f.reader.NumRows() {
		t.Fatalf("arrow read %d values of column 1 but the footer counts %d rows", len(f.columns[0]), f.reader.NumRows())
	}
	return f.reader.NumRows()
}

// TestWriterCopyMatchesSelect writes a real view through COPY and the
// Decoder, reads the file with Arrow and compares every value with what
// PostgreSQL returns for the same view over pgx.
func TestWriterCopyMatchesSelect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := db.Pool.Exec(ctx, `
CREATE DOMAIN public.amount3 AS numeric(12,3);
CREATE TABLE public.all_types (
    id           integer PRIMARY KEY,
    note         text,
    code         character varying(10),
    letter       character(3),
    flag         boolean,
    small        smallint,
    count        integer,
    big          bigint,
    amount       numeric(14,2),
    rate         numeric(5,4),
    wide         numeric(38,10),
    free         numeric,
    dom          public.amount3,
    ratio        real,
    latitude     double precision,
    service_date date,
    seen_at      timestamp,
    loaded_at    timestamptz,
    member_id    uuid,
    tags         text[],
    payload      jsonb
);
INSERT INTO public.all_types VALUES
    (1, E'a,b "c"\n\\d\te \u00e9\u6f22 \U0001F600', 'X1', 'ab', true, -32768, 2147483647, -9223372036854775808,
     -123456789012.34, 0.0001, -1234567890123456789012345678.1234567890, 3.14, -123456789.123,
     1.5, -33.86882, '2024-02-29', '2024-03-10 02:30:00.000001', '1999-12-31 23:59:59.999999+00',
     '3edac2e3-d223-6fae-d515-daf96ef6bc76', '{a,"b c",NULL}', '{"k": "v\"q", "n": [1, 2]}'),
    (2, '', '', '', false, 32767, -2147483648, 9223372036854775807,
     0, -9.9999, 0.0000000001, -0.000000001, 0,
     'Infinity', 'NaN', '0044-03-15 BC', '1970-01-01 00:00:00', '2024-06-01 12:00:00+05:30',
     '00000000-0000-0000-0000-000000000000', '{}', 'null'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, E'\\N', 'NULL', 'x', true, 0, 0, 0, 99999999.99, 0, 0, 12345678901234567890123456789.5, 999999999.999,
     -0.1, 1e300, '9999-12-31', '0001-01-01 00:00:00', '2262-04-11 23:47:16.854775+00',
     'ffffffff-ffff-ffff-ffff-ffffffffffff', '{"\\\\"}', '[]');
CREATE VIEW public.all_types_view AS SELECT * FROM public.all_types;`); err != nil {
		t.Fatalf("create the view: %v", err)
	}
	conn, err := pgx.Connect(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	data, _ := exportRelation(t, conn, "public.all_types_view", "id", `{"row_group_rows": 3}`)
	got := readArrow(t, data)

	rows, err := conn.Query(ctx, `
SELECT id, note, code, letter, flag, small, count, big,
       amount::text, rate::text, wide::text, free::numeric(38,9)::text, dom::text,
       ratio, latitude, service_date, seen_at, loaded_at,
       'uuid ' || member_id::text, tags::text, payload::text
FROM public.all_types_view ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) ([]any, error) { return row.Values() })
	if err != nil {
		t.Fatal(err)
	}

	if n := got.reader.NumRows(); n != int64(len(want)) {
		t.Fatalf("the file has %d rows, the view %d", n, len(want))
	}
	if n := got.reader.NumRowGroups(); n != 2 {
		t.Errorf("row groups = %d with row_group_rows 3, want 2", n)
	}
	names := []string{"id", "note", "code", "letter", "flag", "small", "count", "big", "amount", "rate", "wide",
		"free", "dom", "ratio", "latitude", "service_date", "seen_at", "loaded_at", "member_id", "tags", "payload"}
	for i, name := range names {
		if n := got.reader.MetaData().Schema.Column(i).Name(); n != name {
			t.Errorf("column %d is %q, want %q", i, n, name)
		}
	}
	if typ := got.logicalTypes()[12]; typ != "INT64 Decimal(precision=12, scale=3)" {
		t.Errorf("type of the domain column = %q, want INT64 Decimal(precision=12, scale=3)", typ)
	}
	for r, row := range want {
		for c, w := range row {
			g := got.columns[c][r]
			if day, ok := w.(time.Time); ok && names[c] == "service_date" {
				// pgx returns a date as midnight UTC; arrow's values are
				// formatted as dates.
				w = day.Format(time.DateOnly)
			}
			if !sameAsPostgres(g, w) {
				t.Errorf("row %d column %s = %#v, PostgreSQL has %#v", r+1, names[c], g, w)
			}
		}
	}
}

// sameAsPostgres compares a value arrow read with the value pgx returned.
func sameAsPostgres(got, want any) bool {
	switch w := want.(type) {
	case float32:
		g, ok := got.(float32)
		return ok && (g == w || g != g && w != w)
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || g != g && w != w)
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	}
	return got == want
}

func TestWriterUUIDString(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "member_id", Type: "uuid", OID: 2950}}
	rows := [][][]byte{text("3edac2e3-d223-6fae-d515-daf96ef6bc76"), text(nil)}
	got := readArrow(t, writeFile(t, `{"uuid": "string"}`, cols, rows))
	if typ := got.logicalTypes()[0]; typ != "BYTE_ARRAY String" {
		t.Errorf("type = %q, want BYTE_ARRAY String", typ)
	}
	if got.columns[0][0] != "3edac2e3-d223-6fae-d515-daf96ef6bc76" || got.columns[0][1] != nil {
		t.Errorf("values = %v, want the uuid's text and NULL", got.columns[0])
	}
}

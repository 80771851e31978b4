package parquet

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/format"
)

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	for _, options := range []string{"", "null", "{}", "  {} "} {
		f, err := New(json.RawMessage(options))
		if err != nil {
			t.Fatalf("New(%q): %v", options, err)
		}
		want := Options{
			Compression:          CompressionZstd,
			CompressionLevel:     DefaultZstdLevel,
			RowGroupRows:         DefaultRowGroupRows,
			RowGroupBytes:        DefaultRowGroupBytes,
			PageBytes:            DefaultPageBytes,
			UnconstrainedNumeric: NumericDecimal,
			UUID:                 UUIDLogical,
		}
		if got := f.(*Format).Options(); got != want {
			t.Errorf("New(%q) options = %+v, want %+v", options, got, want)
		}
		if f.Kind() != "parquet" || f.Extension() != ".parquet" {
			t.Errorf("Kind, Extension = %q, %q, want parquet, .parquet", f.Kind(), f.Extension())
		}
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	for options, want := range map[string]Options{
		`{"compression": "snappy", "row_group_rows": 5000, "row_group_bytes": 1048576, "page_bytes": 65536,
		  "unconstrained_numeric": "string"}`: {Compression: "snappy", RowGroupRows: 5000, RowGroupBytes: 1 << 20,
			PageBytes: 65536, UnconstrainedNumeric: "string", UUID: "uuid"},
		`{"compression_level": 1}`: {Compression: "zstd", CompressionLevel: 1, RowGroupRows: DefaultRowGroupRows,
			RowGroupBytes: DefaultRowGroupBytes, PageBytes: DefaultPageBytes, UnconstrainedNumeric: "decimal", UUID: "uuid"},
		`{"uuid": "string"}`: {Compression: "zstd", CompressionLevel: 1, RowGroupRows: DefaultRowGroupRows,
			RowGroupBytes: DefaultRowGroupBytes, PageBytes: DefaultPageBytes, UnconstrainedNumeric: "decimal", UUID: "string"},
	} {
		f, err := New(json.RawMessage(options))
		if err != nil {
			t.Fatalf("New(%s): %v", options, err)
		}
		if got := f.(*Format).Options(); got != want {
			t.Errorf("New(%s) options = %+v, want %+v", options, got, want)
		}
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		options string
		want    []string // parts of the error message
	}{
		{`{"row_groups": 10}`, []string{`unknown key "row_groups"`,
			"compression, compression_level, page_bytes, row_group_bytes, row_group_rows, unconstrained_numeric"}},
		{`{"compression": "lz4"}`, []string{`compression "lz4" is invalid`, "gzip, none, snappy, zstd"}},
		{`{"compression": 1}`, []string{"compression"}},
		{`{"compression_level": 23}`, []string{"compression_level 23 is invalid", "1 to 22"}},
		{`{"compression": "snappy", "compression_level": 1}`, []string{"compression_level applies only to zstd"}},
		{`{"row_group_rows": -1}`, []string{"row_group_rows -1 is invalid"}},
		{`{"row_group_bytes": -5}`, []string{"row_group_bytes -5 is invalid"}},
		{`{"page_bytes": 10}`, []string{"page_bytes 10 is invalid"}},
		{`{"row_group_bytes": 4096, "page_bytes": 8192}`, []string{"page_bytes 8192 is invalid"}},
		{`{"unconstrained_numeric": "float"}`, []string{`unconstrained_numeric "float" is invalid`}},
		{`{"uuid": "binary"}`, []string{`uuid "binary" is invalid`}},
		{`[1]`, []string{"must be a JSON object"}},
	} {
		_, err := New(json.RawMessage(tc.options))
		if err == nil {
			t.Errorf("New(%s) succeeded, want an error", tc.options)
			continue
		}
		for _, part := range tc.want {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("New(%s) error = %q, want it to contain %q", tc.options, err, part)
			}
		}
	}
}

func TestNewWriterRejectsBadNumericType(t *testing.T) {
	t.Parallel()
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.NewWriter(&bytes.Buffer{}, []format.Column{{Name: "n", Type: "numeric(x,2)", OID: oidNumeric}}, format.Info{})
	if err == nil || !strings.Contains(err.Error(), `column "n"`) {
		t.Errorf("NewWriter error = %v, want one naming column \"n\"", err)
	}
	if _, err := f.NewWriter(&bytes.Buffer{}, nil, format.Info{}); err == nil {
		t.Error("NewWriter without columns succeeded, want an error")
	}
}

func TestWriterRejectsInvalidValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		col          format.Column
		valid, value string
		want         string
	}{
		{format.Column{Name: "flag", Type: "boolean", OID: oidBool}, "t", "yes", "invalid boolean"},
		{format.Column{Name: "small", Type: "smallint", OID: oidInt2}, "1", "40000", "out of range"},
		{format.Column{Name: "n", Type: "integer", OID: oidInt4}, "1", "1.5", "invalid integer"},
		{format.Column{Name: "amount", Type: "numeric(5,2)", OID: oidNumeric}, "123.45", "1234.56", "DECIMAL(5,2)"},
		{format.Column{Name: "amount", Type: "numeric(5,2)", OID: oidNumeric}, "1.00", "NaN", "NaN and infinity have no"},
		{format.Column{Name: "free", Type: "numeric", OID: oidNumeric}, "1.5", "0.0000000001", "scale"},
		{format.Column{Name: "free", Type: "numeric", OID: oidNumeric}, "1.5", "123456789012345678901234567890", "DECIMAL(38,9)"},
		{format.Column{Name: "day", Type: "date", OID: oidDate}, "2024-01-01", "infinity", "infinite"},
		{format.Column{Name: "at", Type: "timestamp with time zone", OID: oidTimestampTZ},
			"2024-01-01 00:00:00+00", "2024-01-01T00:00:00Z", "invalid"},
		{format.Column{Name: "ratio", Type: "real", OID: oidFloat4}, "1.5", "1,5", "invalid real"},
		{format.Column{Name: "member_id", Type: "uuid", OID: oidUUID},
			"3edac2e3-d223-6fae-d515-daf96ef6bc76", "3edac2e3d2236faed515daf96ef6bc76", "invalid uuid"},
	} {
		f, err := New(nil)
		if err != nil {
			t.Fatal(err)
		}
		w, err := f.NewWriter(&bytes.Buffer{}, []format.Column{{Name: "id", Type: "integer", OID: oidInt4}, tc.col}, format.Info{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteRow([][]byte{[]byte("1"), []byte(tc.valid)}); err != nil {
			t.Fatalf("%s %q: WriteRow of a valid row: %v", tc.col.Type, tc.valid, err)
		}
		err = w.WriteRow([][]byte{[]byte("2"), []byte(tc.value)})
		if err == nil {
			t.Errorf("%s %q: WriteRow succeeded, want an error", tc.col.Type, tc.value)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s %q: error = %q, want it to contain %q", tc.col.Type, tc.value, msg, tc.want)
		}
		if !strings.Contains(msg, `column "`+tc.col.Name+`", row 2`) {
			t.Errorf("%s %q: error = %q, want it to name the column and row 2", tc.col.Type, tc.value, msg)
		}
		// NaN and infinity are not member data, and the messages name them.
		if tc.value != "NaN" && tc.value != "infinity" && strings.Contains(msg, tc.value) {
			t.Errorf("%s %q: error = %q contains the value, which may be member data", tc.col.Type, tc.value, msg)
		}
		if again := w.WriteRow([][]byte{[]byte("3"), nil}); !errors.Is(again, err) {
			t.Errorf("%s %q: WriteRow after an error = %v, want the first error %v", tc.col.Type, tc.value, again, err)
		}
		if closeErr := w.Close(); !errors.Is(closeErr, err) {
			t.Errorf("%s %q: Close after a failed row = %v, want the first error", tc.col.Type, tc.value, closeErr)
		}
	}
}

func TestWriterRejectsWrongFieldCount(t *testing.T) {
	t.Parallel()
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.NewWriter(&bytes.Buffer{}, []format.Column{{Name: "id", Type: "integer", OID: oidInt4}}, format.Info{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRow([][]byte{[]byte("1"), []byte("2")}); err == nil || !strings.Contains(err.Error(), "2 fields, expected 1") {
		t.Errorf("WriteRow with 2 fields error = %v, want one about the field count", err)
	}
}

func TestMapColumnDecimalPrecision(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ                    string
		kind                   kind
		precision, scale, size int
	}{
		{"numeric(9,2)", kindDecimal32, 9, 2, 0},
		{"numeric(10,0)", kindDecimal64, 10, 0, 0},
		{"numeric(18,4)", kindDecimal64, 18, 4, 0},
		{"numeric(19,4)", kindDecimalFixed, 19, 4, 9},
		{"numeric(1000,500)", kindDecimalFixed, 1000, 500, 416},
		{"numeric(3,-2)", kindDecimal32, 5, 0, 0},
		{"numeric(2,5)", kindDecimal32, 5, 5, 0},
		{"numeric", kindDecimalFixed, 38, 9, 16},
	} {
		c, err := mapColumn(format.Column{Name: "n", Type: tc.typ, OID: oidNumeric}, Options{UnconstrainedNumeric: NumericDecimal})
		if err != nil {
			t.Fatalf("mapColumn(%s): %v", tc.typ, err)
		}
		if c.kind != tc.kind || c.precision != tc.precision || c.scale != tc.scale || c.size != tc.size {
			t.Errorf("mapColumn(%s) = kind %d DECIMAL(%d,%d) size %d, want kind %d DECIMAL(%d,%d) size %d",
				tc.typ, c.kind, c.precision, c.scale, c.size, tc.kind, tc.precision, tc.scale, tc.size)
		}
	}
}

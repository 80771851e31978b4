package parquet

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/format"
)

func TestParseInt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text string
		bits int
		want int64
		err  error
	}{
		{"0", 16, 0, nil},
		{"-0", 16, 0, nil},
		{"32767", 16, 32767, nil},
		{"-32768", 16, -32768, nil},
		{"32768", 16, 0, errRange},
		{"-32769", 16, 0, errRange},
		{"2147483647", 32, 2147483647, nil},
		{"-2147483648", 32, -2147483648, nil},
		{"2147483648", 32, 0, errRange},
		{"9223372036854775807", 64, 9223372036854775807, nil},
		{"-9223372036854775808", 64, -9223372036854775808, nil},
		{"9223372036854775808", 64, 0, errRange},
		{"99999999999999999999999", 64, 0, errRange},
		{"18446744073709551620", 64, 0, errRange},
		{"", 32, 0, errSyntax},
		{"-", 32, 0, errSyntax},
		{"1.0", 32, 0, errSyntax},
		{" 1", 32, 0, errSyntax},
	} {
		got, err := parseInt([]byte(tc.text), tc.bits)
		if !errors.Is(err, tc.err) {
			t.Errorf("parseInt(%q, %d) error = %v, want %v", tc.text, tc.bits, err, tc.err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseInt(%q, %d) = %d, want %d", tc.text, tc.bits, got, tc.want)
		}
	}
}

func TestScaleDecimal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text   string
		scale  int
		neg    bool
		digits string
		err    bool
	}{
		{"123.45", 2, false, "12345", false},
		{"-123.45", 2, true, "12345", false},
		{"0.00", 2, false, "", false},
		{"-0.00", 2, false, "", false},
		{"0.05", 2, false, "5", false},
		{"7", 2, false, "700", false},
		{"7.5", 3, false, "7500", false},
		{"1.50000", 2, false, "150", false},
		{"1.501", 2, false, "", true},
		{"12345678901234567890.123456789", 9, false, "12345678901234567890123456789", false},
		{".5", 1, false, "5", false},
		{"NaN", 2, false, "", true},
		{"Infinity", 2, false, "", true},
		{"-Infinity", 2, false, "", true},
		{"", 2, false, "", true},
		{"1e5", 0, false, "100000", false},
		{"1.2.3", 2, false, "", true},
	} {
		d, err := scaleDecimal(nil, []byte(tc.text), tc.scale)
		if (err != nil) != tc.err {
			t.Errorf("scaleDecimal(%q, %d) error = %v, want error %t", tc.text, tc.scale, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if d.neg != tc.neg || string(d.digits) != tc.digits {
			t.Errorf("scaleDecimal(%q, %d) = neg %t digits %q, want neg %t digits %q",
				tc.text, tc.scale, d.neg, d.digits, tc.neg, tc.digits)
		}
	}
}

func TestDecimalAppendFixed(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"0", "1", "-1", "127", "-128", "128", "-129",
		"99999999999999999999999999999999999999", "-99999999999999999999999999999999999999"} {
		d, err := scaleDecimal(nil, []byte(text), 0)
		if err != nil {
			t.Fatalf("scaleDecimal(%q): %v", text, err)
		}
		size := decimalSize(38)
		got := d.appendFixed(nil, size, new(big.Int))
		if len(got) != size {
			t.Errorf("appendFixed(%s) has %d bytes, want %d", text, len(got), size)
		}
		if back := twosComplement(got); back.String() != text {
			t.Errorf("appendFixed(%s) reads back as %s", text, back)
		}
	}
}

// twosComplement reads a big-endian two's complement integer.
func twosComplement(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n
}

func TestDecimalSize(t *testing.T) {
	t.Parallel()
	// Sizes from the Parquet format's table of the fewest bytes per
	// precision.
	for precision, want := range map[int]int{1: 1, 2: 1, 3: 2, 9: 4, 18: 8, 19: 9, 38: 16, 39: 17, 76: 32} {
		if got := decimalSize(precision); got != want {
			t.Errorf("decimalSize(%d) = %d, want %d", precision, got, want)
		}
	}
}

func TestParseDateAgreesWithTime(t *testing.T) {
	t.Parallel()
	// Every 97th day from 1 BC to 9999 covers every month, leap years and
	// century rules.
	for day := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 10000; day = day.AddDate(0, 0, 97) {
		text := day.Format(time.DateOnly)
		if day.Year() < 1 {
			text = time.Date(1-day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC).Format(time.DateOnly) + " BC"
		}
		got, err := parseDate([]byte(text))
		if err != nil {
			t.Fatalf("parseDate(%q): %v", text, err)
		}
		if want := int32(day.Unix() / 86400); got != want {
			t.Fatalf("parseDate(%q) = %d, want %d", text, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text string
		want int32
		err  bool
	}{
		{"1970-01-01", 0, false},
		{"1969-12-31", -1, false},
		{"2000-03-01", 11017, false},
		{"10000-01-01", 2932897, false},
		{"4714-11-24 BC", -2440588, false},
		{"infinity", 0, true},
		{"-infinity", 0, true},
		{"2024-13-01", 0, true},
		{"2024-01-01 00:00:00", 0, true},
		{"24-01-01", 0, true},
	} {
		got, err := parseDate([]byte(tc.text))
		if (err != nil) != tc.err {
			t.Errorf("parseDate(%q) error = %v, want error %t", tc.text, err, tc.err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseDate(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
	if _, err := parseDate([]byte("infinity")); !errors.Is(err, format.ErrInfinite) {
		t.Errorf("parseDate(infinity) error = %v, want format.ErrInfinite", err)
	}
}

func TestParseTimestamp(t *testing.T) {
	t.Parallel()
	micros := func(tm time.Time) int64 { return tm.UnixMicro() }
	for _, tc := range []struct {
		text     string
		withZone bool
		want     int64
		err      bool
	}{
		{"1970-01-01 00:00:00", false, 0, false},
		{"1970-01-01 00:00:00+00", true, 0, false},
		{"2024-02-29 13:14:15.5+00", true, micros(time.Date(2024, 2, 29, 13, 14, 15, 500_000_000, time.UTC)), false},
		{"2024-02-29 13:14:15.000001", false, micros(time.Date(2024, 2, 29, 13, 14, 15, 1000, time.UTC)), false},
		{"1969-12-31 23:59:59.999999", false, -1, false},
		{"2024-06-01 12:00:00+05:30", true, micros(time.Date(2024, 6, 1, 6, 30, 0, 0, time.UTC)), false},
		{"2024-06-01 12:00:00-08", true, micros(time.Date(2024, 6, 1, 20, 0, 0, 0, time.UTC)), false},
		{"1900-01-01 00:00:00+00:09:21", true, micros(time.Date(1899, 12, 31, 23, 50, 39, 0, time.UTC)), false},
		{"0044-03-15 12:00:00+00 BC", true, micros(time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC)), false},
		{"0044-03-15 12:00:00 BC", false, micros(time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC)), false},
		{"294276-12-31 23:59:59+00", true, 0, true},
		{"infinity", true, 0, true},
		{"2024-06-01 12:00:00+00", false, 0, true},
		{"2024-06-01 12:00:00", true, 0, true},
		{"2024-06-01", false, 0, true},
		{"2024-06-01 12:00", false, 0, true},
		{"2024-06-01 12:00:00.", false, 0, true},
		{"2024-06-01 12:00:00.1234567", false, 0, true},
		{"2024-06-01 12:00:00 UTC", true, 0, true},
	} {
		got, err := parseTimestamp([]byte(tc.text), tc.withZone)
		if (err != nil) != tc.err {
			t.Errorf("parseTimestamp(%q, %t) error = %v, want error %t", tc.text, tc.withZone, err, tc.err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseTimestamp(%q, %t) = %d, want %d", tc.text, tc.withZone, got, tc.want)
		}
	}
}

func TestAppendUUID(t *testing.T) {
	t.Parallel()
	got, ok := appendUUID(nil, []byte("3edac2e3-d223-6fae-d515-DAF96EF6BC76"))
	want := []byte{0x3e, 0xda, 0xc2, 0xe3, 0xd2, 0x23, 0x6f, 0xae, 0xd5, 0x15, 0xda, 0xf9, 0x6e, 0xf6, 0xbc, 0x76}
	if !ok || string(got) != string(want) {
		t.Errorf("appendUUID = %x, %t, want %x, true", got, ok, want)
	}
	for _, text := range []string{"", "3edac2e3d2236faed515daf96ef6bc76", "3edac2e3-d223-6fae-d515-daf96ef6bc7g",
		"{3edac2e3-d223-6fae-d515-daf96ef6bc76}", "3edac2e3-d223-6fae-d515-daf96ef6bc7"} {
		if _, ok := appendUUID(nil, []byte(text)); ok {
			t.Errorf("appendUUID(%q) succeeded, want a failure", text)
		}
	}
}

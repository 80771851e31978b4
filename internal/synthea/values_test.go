package synthea

import (
	"crypto/sha1"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field    string
		intMax   int
		mantissa int64
		exp      int32
		ok       bool
	}{
		{field: "77.49", intMax: 12, mantissa: 7749, exp: -2, ok: true},
		{field: "0.00", intMax: 12, mantissa: 0, exp: -2, ok: true},
		{field: "-5", intMax: 12, mantissa: -5, exp: 0, ok: true},
		{field: "49112.87100000001", intMax: 0, mantissa: 4911287100000001, exp: -11, ok: true},
		{field: "000000000000012.5", intMax: 12, mantissa: 125, exp: -1, ok: true},
		{field: "1234567890123", intMax: 12, ok: false},
		{field: "77,49", intMax: 12, ok: false},
		{field: "NaN", intMax: 12, ok: false},
		{field: ".5", intMax: 12, ok: false},
		{field: "5.", intMax: 12, ok: false},
		{field: "1e3", intMax: 12, ok: false},
		{field: "+1", intMax: 12, ok: false},
		{field: "-", intMax: 12, ok: false},
	}
	for _, tt := range tests {
		value, err := parseDecimal(tt.field, tt.intMax)
		if (err == nil) != tt.ok {
			t.Errorf("parseDecimal(%q) error = %v, want ok %v", tt.field, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		n := value.(pgtype.Numeric)
		if n.Int.Cmp(big.NewInt(tt.mantissa)) != 0 || n.Exp != tt.exp {
			t.Errorf("parseDecimal(%q) = %se%d, want %de%d", tt.field, n.Int, n.Exp, tt.mantissa, tt.exp)
		}
	}
}

func TestParseDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field string
		want  string
		ok    bool
	}{
		{field: "2014-10-06", want: "2014-10-06", ok: true},
		{field: "2023-01-27T16:17:47Z", want: "2023-01-27", ok: true},
		{field: "2023-01-27T23:30:00-05:00", want: "2023-01-28", ok: true},
		{field: "2023-02-30", ok: false},
		{field: "2023-01-27 16:17:47", ok: false},
		{field: "2014", ok: false},
	}
	for _, tt := range tests {
		value, err := parseDay(tt.field)
		if (err == nil) != tt.ok {
			t.Errorf("parseDay(%q) error = %v, want ok %v", tt.field, err, tt.ok)
			continue
		}
		if tt.ok {
			if got := value.(pgtype.Date).Time.Format(time.DateOnly); got != tt.want {
				t.Errorf("parseDay(%q) = %s, want %s", tt.field, got, tt.want)
			}
		}
	}
}

func TestParseUUID(t *testing.T) {
	t.Parallel()
	value, err := parseUUID("3EDAC2E3-d223-6fae-d515-daf96ef6bc76")
	if err != nil {
		t.Fatalf("parseUUID: %v", err)
	}
	want := [16]byte{0x3e, 0xda, 0xc2, 0xe3, 0xd2, 0x23, 0x6f, 0xae, 0xd5, 0x15, 0xda, 0xf9, 0x6e, 0xf6, 0xbc, 0x76}
	if got := value.(pgtype.UUID).Bytes; got != want {
		t.Errorf("parseUUID = %x, want %x", got, want)
	}
	for _, field := range []string{"0", "3edac2e3d2236faed515daf96ef6bc76", "3edac2e3-d223-6fae-d515-daf96ef6bc7g", "{3edac2e3-d223-6fae-d515-daf96ef6bc}"} {
		if _, err := parseUUID(field); err == nil {
			t.Errorf("parseUUID(%q) succeeded, want an error", field)
		}
	}
}

func TestParseFloat(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"42.36877442769006", "-71.15", "1e-3"} {
		if _, err := parseFloat(field); err != nil {
			t.Errorf("parseFloat(%q) error = %v", field, err)
		}
	}
	for _, field := range []string{"NaN", "Inf", "0x1p-2", "1e999", "42,1"} {
		if _, err := parseFloat(field); err == nil {
			t.Errorf("parseFloat(%q) succeeded, want an error", field)
		}
	}
}

func TestRowNamespace(t *testing.T) {
	t.Parallel()
	// The namespace is the version 5 UUID of its name in the URL namespace
	// 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
	urlNamespace := []byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	sum := sha1.Sum(append(urlNamespace, "axtract.synthea.row"...))
	var want [16]byte
	copy(want[:], sum[:])
	want[6] = want[6]&0x0f | 0x50
	want[8] = want[8]&0x3f | 0x80
	if rowNamespace != want {
		t.Errorf("rowNamespace = %x, want %x", rowNamespace, want)
	}
}

func TestRowHasherSeparatesFields(t *testing.T) {
	t.Parallel()
	h := newRowHasher()
	a := h.id("conditions.csv", []string{"ab", "c"})
	b := h.id("conditions.csv", []string{"a", "bc"})
	c := h.id("conditions.csv", []string{"ab", "c"})
	if a == b {
		t.Errorf("rows that differ only in field boundaries got the same id %x", a)
	}
	if a != c {
		t.Errorf("the same row got ids %x and %x", a, c)
	}
	if other := h.id("allergies.csv", []string{"ab", "c"}); other == a {
		t.Errorf("the same fields in another file got the same id %x", a)
	}
}

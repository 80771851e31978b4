package generate

import (
	"bytes"
	"crypto/sha1"
	"testing"
)

func TestNPICheckDigit(t *testing.T) {
	t.Parallel()
	// 1234567893 is the example NPI in the CMS check-digit specification.
	if got := npiCheckDigit("123456789"); got != 3 {
		t.Errorf("npiCheckDigit(123456789) = %d, want 3", got)
	}
	if !validNPI("1234567893") {
		t.Errorf("validNPI(1234567893) = false, want true")
	}
	for _, npi := range []string{"1234567890", "123456789", "12345678931", "12345678a3"} {
		if validNPI(npi) {
			t.Errorf("validNPI(%q) = true, want false", npi)
		}
	}
}

func TestNPIForIsValidAndDistinct(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for n := range 5000 {
		npi := npiFor(n, 12345)
		if !validNPI(npi) {
			t.Errorf("npiFor(%d) = %s, which fails the check", n, npi)
		}
		if other, dup := seen[npi]; dup {
			t.Errorf("npiFor(%d) = npiFor(%d) = %s", n, other, npi)
		}
		seen[npi] = n
	}
}

func TestQuotaAddsUpToTotal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		total   int
		weights []uint64
	}{
		{total: 1999, weights: []uint64{3, 0, 7, 1, 1, 12, 0, 5}},
		{total: 10, weights: []uint64{0, 0, 0}},
		{total: 2_000_000, weights: []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{total: 0, weights: []uint64{4, 4}},
	}
	for _, tt := range tests {
		var sum uint64
		for _, w := range tt.weights {
			sum += w
		}
		q := newQuota(tt.total, sum, len(tt.weights))
		got := 0
		for _, w := range tt.weights {
			share := q.next(w)
			if share < 0 {
				t.Errorf("total %d weights %v: negative share %d", tt.total, tt.weights, share)
			}
			if w == 0 && sum > 0 && share != 0 {
				t.Errorf("total %d weights %v: weight 0 got share %d", tt.total, tt.weights, share)
			}
			got += share
		}
		if got != tt.total {
			t.Errorf("total %d weights %v: shares add up to %d", tt.total, tt.weights, got)
		}
	}
}

func TestIDNamespace(t *testing.T) {
	t.Parallel()
	urlNamespace := []byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	sum := sha1.Sum(append(urlNamespace, "axtract.generate"...))
	var want [16]byte
	copy(want[:], sum[:])
	want[6] = want[6]&0x0f | 0x50
	want[8] = want[8]&0x3f | 0x80
	if idNamespace != want {
		t.Errorf("idNamespace = %x, want %x", idNamespace, want)
	}
}

func TestFormatScaled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, scale int
		want         string
	}{
		{125, 0, "125"},
		{65, 1, "6.5"},
		{7, 2, "0.07"},
		{130, 2, "1.30"},
	}
	for _, tt := range tests {
		if got := formatScaled(tt.value, tt.scale); got != tt.want {
			t.Errorf("formatScaled(%d, %d) = %q, want %q", tt.value, tt.scale, got, tt.want)
		}
	}
}

func TestIDsAreOrderedAndDistinct(t *testing.T) {
	t.Parallel()
	g := &ids{seed: 7}
	previous := g.id("claim", 0, 0)
	seen := map[[16]byte]bool{previous.Bytes: true}
	for a := range 300 {
		for b := range 5 {
			if a == 0 && b == 0 {
				continue
			}
			id := g.id("claim", a, b)
			if id.Bytes[6]>>4 != 8 || id.Bytes[8]>>6 != 2 {
				t.Fatalf("id(%d, %d) = %x is not an RFC 9562 version 8 UUID", a, b, id.Bytes)
			}
			if bytes.Compare(id.Bytes[:], previous.Bytes[:]) <= 0 {
				t.Fatalf("id(%d, %d) = %x does not sort after %x", a, b, id.Bytes, previous.Bytes)
			}
			if seen[id.Bytes] {
				t.Fatalf("id(%d, %d) = %x repeats", a, b, id.Bytes)
			}
			seen[id.Bytes] = true
			previous = id
		}
	}
	if first, again := g.id("claim", 5, 1), g.id("claim", 5, 1); first != again {
		t.Errorf("the same indexes gave different ids")
	}
	if g.id("claim", 5, 1) == g.id("member", 5, 1) {
		t.Errorf("two kinds gave the same id")
	}
	if other := (&ids{seed: 8}).id("claim", 5, 1); other == g.id("claim", 5, 1) {
		t.Errorf("two seeds gave the same id")
	}
}

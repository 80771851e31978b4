package format

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
)

// ErrNotFinite is returned, wrapped, by ParseDecimal for NaN, Infinity
// and -Infinity, which numeric and floating-point columns can hold but
// plain decimal notation cannot show. Test for it with errors.Is.
var ErrNotFinite = errors.New("NaN or infinite number")

// Decimal is a finite number in plain decimal notation, split into its
// digits. Int and Frac refer to the bytes the Decimal was parsed from,
// except after an exponent was resolved.
type Decimal struct {
	// Negative is true for numbers below zero; a zero is never negative.
	Negative bool
	// Int holds the integer digits without leading zeros, "0" for none.
	Int []byte
	// Frac holds the fraction digits as printed, trailing zeros included,
	// so numeric(12,2) values keep two.
	Frac []byte
}

// ParseDecimal parses the text of an integer, numeric, real or double
// precision value. PostgreSQL prints numeric in plain notation. Floats of
// very large or small magnitude print with an exponent (1e+300, 1e-07),
// which ParseDecimal resolves to plain digits in a new buffer.
func ParseDecimal(b []byte) (Decimal, error) {
	var d Decimal
	switch string(b) {
	case "NaN", "Infinity", "-Infinity", "inf", "-inf":
		return d, fmt.Errorf("parse number: %w", ErrNotFinite)
	}
	s := b
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		d.Negative = s[0] == '-'
		s = s[1:]
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	d.Int = s[:i]
	s = s[i:]
	if len(s) > 0 && s[0] == '.' {
		j := 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		d.Frac = s[1:j]
		s = s[j:]
	}
	if len(d.Int) == 0 && len(d.Frac) == 0 {
		return Decimal{}, errors.New("parse number: invalid syntax: no digits")
	}
	if len(s) > 0 {
		if s[0] != 'e' && s[0] != 'E' {
			return Decimal{}, errors.New("parse number: invalid syntax: unexpected character after the digits")
		}
		exp, err := strconv.Atoi(string(s[1:]))
		if err != nil || exp > 1000 || exp < -1000 {
			return Decimal{}, errors.New("parse number: invalid exponent")
		}
		d = d.shift(exp)
	}
	d.normalize()
	return d, nil
}

// shift multiplies d by 10^exp into a new buffer.
func (d Decimal) shift(exp int) Decimal {
	digits := append(append([]byte{}, d.Int...), d.Frac...)
	point := len(d.Int) + exp
	for point < 0 {
		digits = append([]byte{'0'}, digits...)
		point++
	}
	for point > len(digits) {
		digits = append(digits, '0')
	}
	return Decimal{Negative: d.Negative, Int: digits[:point], Frac: digits[point:]}
}

func (d *Decimal) normalize() {
	for len(d.Int) > 1 && d.Int[0] == '0' {
		d.Int = d.Int[1:]
	}
	if len(d.Int) == 0 {
		d.Int = zeroDigit
	}
	if d.Negative && d.isZero() {
		d.Negative = false
	}
}

var zeroDigit = []byte{'0'}

func (d Decimal) isZero() bool {
	for _, c := range d.Int {
		if c != '0' {
			return false
		}
	}
	for _, c := range d.Frac {
		if c != '0' {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// AppendDigits appends the absolute value of d with exactly scale fraction
// digits, rounded half away from zero as PostgreSQL's round(numeric)
// does. point separates the integer and fraction digits; a point of 0
// writes none, for layouts with an implied decimal point. A scale below
// zero keeps the digits d has.
func (d Decimal) AppendDigits(dst []byte, scale int, point byte) []byte {
	if scale < 0 {
		scale = len(d.Frac)
	}
	start := len(dst)
	dst = append(dst, d.Int...)
	intEnd := len(dst)
	if scale <= len(d.Frac) {
		dst = append(dst, d.Frac[:scale]...)
	} else {
		dst = append(dst, d.Frac...)
		for i := len(d.Frac); i < scale; i++ {
			dst = append(dst, '0')
		}
	}
	if scale < len(d.Frac) && d.Frac[scale] >= '5' {
		dst = carry(dst, start)
		if len(dst)-start > intEnd-start+scale {
			// The carry added a digit in front, as 9.99 becomes 10.0.
			intEnd++
		}
	}
	if point != 0 && scale > 0 {
		dst = append(dst, 0)
		copy(dst[intEnd+1:], dst[intEnd:len(dst)-1])
		dst[intEnd] = point
	}
	return dst
}

// carry adds one to the digits dst[start:], growing them by a leading 1
// when every digit was 9.
func carry(dst []byte, start int) []byte {
	for i := len(dst) - 1; i >= start; i-- {
		if dst[i] < '9' {
			dst[i]++
			return dst
		}
		dst[i] = '0'
	}
	dst = append(dst, 0)
	copy(dst[start+1:], dst[start:len(dst)-1])
	dst[start] = '1'
	return dst
}

// Sum adds decimals exactly, for control totals. The zero value is zero.
type Sum struct {
	value big.Int // the sum times 10^scale
	scale int
	term  big.Int
	pow   big.Int
	ten   big.Int
}

// Add adds d to the sum.
func (s *Sum) Add(d Decimal) {
	if len(d.Frac) > s.scale {
		s.rescale(len(d.Frac))
	}
	var small uint64
	n := len(d.Int) + s.scale
	if n <= 19 {
		for _, c := range d.Int {
			small = small*10 + uint64(c-'0')
		}
		for i := 0; i < s.scale; i++ {
			small *= 10
			if i < len(d.Frac) {
				small += uint64(d.Frac[i] - '0')
			}
		}
		s.term.SetUint64(small)
	} else {
		digits := make([]byte, 0, n)
		digits = append(digits, d.Int...)
		digits = append(digits, d.Frac...)
		for len(digits) < n {
			digits = append(digits, '0')
		}
		s.term.SetString(string(digits), 10)
	}
	if d.Negative {
		s.term.Neg(&s.term)
	}
	s.value.Add(&s.value, &s.term)
}

func (s *Sum) rescale(scale int) {
	s.ten.SetInt64(10)
	s.pow.SetInt64(int64(scale - s.scale))
	s.pow.Exp(&s.ten, &s.pow, nil)
	s.value.Mul(&s.value, &s.pow)
	s.scale = scale
}

// Decimal returns the sum. Its digits are in a new buffer.
func (s *Sum) Decimal() Decimal {
	text := s.value.Text(10)
	d := Decimal{}
	if text[0] == '-' {
		d.Negative = true
		text = text[1:]
	}
	for len(text) <= s.scale {
		text = "0" + text
	}
	b := []byte(text)
	d.Int, d.Frac = b[:len(b)-s.scale], b[len(b)-s.scale:]
	d.normalize()
	return d
}

// Round returns d rounded half away from zero to scale fraction digits,
// with its digits appended to buf, and the grown buf for reuse.
func (d Decimal) Round(scale int, buf []byte) (Decimal, []byte) {
	if scale < 0 {
		scale = len(d.Frac)
	}
	start := len(buf)
	buf = d.AppendDigits(buf, scale, 0)
	digits := buf[start:]
	r := Decimal{Negative: d.Negative, Int: digits[:len(digits)-scale], Frac: digits[len(digits)-scale:]}
	r.normalize()
	return r, buf
}

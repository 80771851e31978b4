package fhir

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
)

// maxID is the longest id FHIR allows.
const maxID = 64

// appendID appends the FHIR id of key: the key itself when it is 1 to 64
// characters from [A-Za-z0-9.-], which member ids and pseudonyms (UUIDs)
// are, and otherwise "sha256-" and the first 32 hexadecimal digits of the
// key's SHA-256. The same key gives the same id in every file.
func appendID(dst, key []byte) []byte {
	if validID(key) {
		return append(dst, key...)
	}
	sum := sha256.Sum256(key)
	dst = append(dst, "sha256-"...)
	return hex.AppendEncode(dst, sum[:16])
}

func validID(v []byte) bool {
	if len(v) == 0 || len(v) > maxID {
		return false
	}
	for _, c := range v {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func digits(v []byte) bool {
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(v) > 0
}

// datePart splits the date at the start of a PostgreSQL value: a year
// ("1980", which the year transform prints), a month ("1980-03"), a date
// ("1980-03-04") or a timestamp ("1980-03-04 05:06:07+00"). It returns
// the FHIR date and the rest of the value.
func datePart(v []byte) (date, rest []byte, ok bool) {
	switch {
	case len(v) == 4:
		return v, nil, digits(v)
	case len(v) == 7:
		return v, nil, digits(v[:4]) && v[4] == '-' && digits(v[5:7])
	case len(v) >= 10:
		if !digits(v[:4]) || v[4] != '-' || !digits(v[5:7]) || v[7] != '-' || !digits(v[8:10]) {
			return nil, nil, false
		}
		return v[:10], v[10:], true
	}
	return nil, nil, false
}

var errDate = errors.New("not a date, a year or a timestamp as PostgreSQL prints them in ISO style")

// appendDate appends the FHIR date of v, dropping any time of day.
func appendDate(dst, v []byte) ([]byte, error) {
	date, rest, ok := datePart(v)
	if !ok || len(rest) > 0 && rest[0] != ' ' {
		return dst, errDate
	}
	return append(dst, date...), nil
}

// appendDateTime appends the FHIR dateTime of v. A timestamp becomes
// "YYYY-MM-DDThh:mm:ss" with its fraction and its UTC offset as +hh:mm; a
// timestamp without time zone is read as UTC, the extract's TimeZone.
// Years, months and dates stay as they are.
func appendDateTime(dst, v []byte) ([]byte, error) {
	date, rest, ok := datePart(v)
	if !ok {
		return dst, errDate
	}
	dst = append(dst, date...)
	if len(rest) == 0 {
		return dst, nil
	}

	// " hh:mm:ss" then an optional fraction, then an optional offset.
	if len(rest) < 9 || rest[0] != ' ' || !digits(rest[1:3]) || rest[3] != ':' || !digits(rest[4:6]) ||
		rest[6] != ':' || !digits(rest[7:9]) {
		return dst, errDate
	}
	dst = append(dst, 'T')
	dst = append(dst, rest[1:9]...)
	rest = rest[9:]
	if len(rest) > 0 && rest[0] == '.' {
		end := 1
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		if end == 1 {
			return dst, errDate
		}
		dst = append(dst, rest[:end]...)
		rest = rest[end:]
	}

	switch {
	case len(rest) == 0:
		return append(dst, 'Z'), nil
	case len(rest) == 3 && (rest[0] == '+' || rest[0] == '-') && digits(rest[1:3]):
		dst = append(dst, rest...)
		return append(dst, ":00"...), nil
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && digits(rest[1:3]) && rest[3] == ':' && digits(rest[4:6]):
		return append(dst, rest...), nil
	}
	// Offsets with seconds (some historical zones) and BC dates have no
	// FHIR form.
	return dst, errDate
}

// gender maps the gender values of the mart (M and F, or words) to FHIR's
// administrative gender codes. Values it does not know become "unknown".
func gender(v []byte) string {
	switch {
	case equalFold(v, "m"), equalFold(v, "male"):
		return "male"
	case equalFold(v, "f"), equalFold(v, "female"):
		return "female"
	case equalFold(v, "o"), equalFold(v, "other"), equalFold(v, "x"), equalFold(v, "nonbinary"):
		return "other"
	}
	return "unknown"
}

func equalFold(v []byte, s string) bool {
	return bytes.EqualFold(v, []byte(s))
}

// amount is a decimal sum kept as an integer count of 10^-scale units, so
// totals of money amounts are exact.
type amount struct {
	units int64
	scale int
	set   bool
}

const maxScale = 9

var errAmount = errors.New("not a decimal number with at most 9 digits after the point")

// add adds a decimal as PostgreSQL prints a numeric, such as "-12.50".
func (a *amount) add(v []byte) error {
	neg := false
	if len(v) > 0 && v[0] == '-' {
		neg = true
		v = v[1:]
	}
	intPart, frac := v, []byte(nil)
	if i := bytes.IndexByte(v, '.'); i >= 0 {
		intPart, frac = v[:i], v[i+1:]
		if !digits(frac) {
			return errAmount
		}
	}
	if !digits(intPart) || len(frac) > maxScale {
		return errAmount
	}

	var n int64
	for _, c := range intPart {
		if n > (math.MaxInt64-9)/10 {
			return errAmount
		}
		n = n*10 + int64(c-'0')
	}
	scale := len(frac)
	for _, c := range frac {
		if n > (math.MaxInt64-9)/10 {
			return errAmount
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}

	for a.scale < scale {
		if a.units > math.MaxInt64/10 || a.units < math.MinInt64/10 {
			return errAmount
		}
		a.units *= 10
		a.scale++
	}
	for ; scale < a.scale; scale++ {
		if n > math.MaxInt64/10 || n < math.MinInt64/10 {
			return errAmount
		}
		n *= 10
	}
	if n > 0 && a.units > math.MaxInt64-n || n < 0 && a.units < math.MinInt64-n {
		return errAmount
	}
	a.units += n
	a.set = true
	return nil
}

// appendDecimal appends the sum as a JSON number.
func (a *amount) appendDecimal(dst []byte) []byte {
	u := a.units
	if u < 0 {
		dst = append(dst, '-')
	}
	var buf [24]byte
	i := len(buf)
	mag := uint64(u)
	if u < 0 {
		mag = uint64(-u)
	}
	for k := 0; mag > 0 || k <= a.scale; k++ {
		if k == a.scale && a.scale > 0 {
			i--
			buf[i] = '.'
		}
		i--
		buf[i] = byte('0' + mag%10)
		mag /= 10
	}
	return append(dst, buf[i:]...)
}

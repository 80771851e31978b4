package parquet

import (
	"errors"
	"math"
	"math/big"

	"github.com/axtract/axtract/internal/format"
)

// The conversions below read values as PostgreSQL prints them in COPY text
// format with DateStyle ISO and TimeZone UTC, mostly through the parsers
// of package format. Their errors never contain the value, because values
// are member data.

var (
	errSyntax = errors.New("invalid syntax")
	errRange  = errors.New("value out of range")
	errNaN    = errors.New("NaN and infinity have no Parquet DECIMAL equivalent")
)

// parseInt parses a decimal integer that fits in bits bits.
func parseInt(b []byte, bits int) (int64, error) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, errSyntax
	}
	limit := uint64(1) << (bits - 1) // the magnitude of the smallest value
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errSyntax
		}
		// A value above limit/10 would pass limit with one more digit, and
		// checking first keeps n*10 from overflowing.
		if n > limit/10 {
			return 0, errRange
		}
		n = n*10 + uint64(c-'0')
		if n > limit {
			return 0, errRange
		}
	}
	if neg {
		if n == limit {
			return math.MinInt64 >> (64 - bits), nil
		}
		return -int64(n), nil
	}
	if n == limit {
		return 0, errRange
	}
	return int64(n), nil
}

// decimal is a parsed numeric: its digits without sign, point or leading
// zeros, scaled so that the value is ±digits × 10^-scale.
type decimal struct {
	neg    bool
	digits []byte
}

// scaleDecimal parses numeric text into its digits at the given scale.
// Extra fractional digits are accepted only when they are zeros, so no
// value is ever rounded. dst is reused for the digits.
func scaleDecimal(dst []byte, b []byte, scale int) (decimal, error) {
	d := decimal{digits: dst[:0]}
	parsed, err := format.ParseDecimal(b)
	if errors.Is(err, format.ErrNotFinite) {
		return d, errNaN
	}
	if err != nil {
		return d, err
	}
	fraction := parsed.Frac
	if len(fraction) > scale {
		for _, c := range fraction[scale:] {
			if c != '0' {
				return d, errors.New("more fractional digits than the column's scale")
			}
		}
		fraction = fraction[:scale]
	}
	if string(parsed.Int) != "0" {
		d.digits = append(d.digits, parsed.Int...)
	}
	for _, c := range fraction {
		if len(d.digits) > 0 || c != '0' {
			d.digits = append(d.digits, c)
		}
	}
	for i := len(fraction); i < scale && len(d.digits) > 0; i++ {
		d.digits = append(d.digits, '0')
	}
	d.neg = parsed.Negative && len(d.digits) > 0
	return d, nil
}

// int64 returns the unscaled value; the caller has checked that it has at
// most 18 digits.
func (d decimal) int64() int64 {
	var n int64
	for _, c := range d.digits {
		n = n*10 + int64(c-'0')
	}
	if d.neg {
		return -n
	}
	return n
}

// appendFixed appends the unscaled value as a big-endian two's complement
// integer of size bytes, the encoding of DECIMAL in FIXED_LEN_BYTE_ARRAY.
// The caller has checked that the digits fit.
func (d decimal) appendFixed(dst []byte, size int, n *big.Int) []byte {
	n.SetInt64(0)
	ten := big.NewInt(10)
	digit := new(big.Int)
	for _, c := range d.digits {
		n.Mul(n, ten)
		n.Add(n, digit.SetInt64(int64(c-'0')))
	}
	start := len(dst)
	dst = append(dst, make([]byte, size)...)
	out := dst[start:]
	n.FillBytes(out)
	if d.neg && n.Sign() != 0 {
		// Two's complement: invert every bit and add one.
		for i := range out {
			out[i] = ^out[i]
		}
		for i := len(out) - 1; i >= 0; i-- {
			out[i]++
			if out[i] != 0 {
				break
			}
		}
	}
	return dst
}

// parseDate returns the days since 1970-01-01 of an ISO date, such as
// 2024-01-02 or 0044-03-15 BC.
func parseDate(b []byte) (int32, error) {
	d, err := format.ParseDate(b)
	if err != nil {
		return 0, err
	}
	days := daysFromCivil(int64(d.Year), d.Month, d.Day)
	if days < math.MinInt32 || days > math.MaxInt32 {
		return 0, errRange
	}
	return int32(days), nil
}

// parseTimestamp returns the microseconds since 1970-01-01 00:00:00 UTC of
// an ISO timestamp, with a UTC offset when withZone is set. A timestamp
// without time zone is counted as if it were UTC, which is how Parquet
// stores a local timestamp.
func parseTimestamp(b []byte, withZone bool) (int64, error) {
	var d format.DateTime
	var err error
	if withZone {
		d, err = format.ParseTimestamptz(b)
	} else {
		d, err = format.ParseTimestamp(b)
	}
	if err != nil {
		return 0, err
	}

	// PostgreSQL accepts years up to 294276, slightly past what int64
	// microseconds since 1970 can hold.
	const maxDays = math.MaxInt64/86_400_000_000 - 1
	days := daysFromCivil(int64(d.Year), d.Month, d.Day)
	if days > maxDays || days < -maxDays {
		return 0, errRange
	}
	seconds := days*86400 + int64(d.Hour)*3600 + int64(d.Minute)*60 + int64(d.Second)
	return seconds*1_000_000 + int64(d.Microsecond), nil
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date, by the method of Howard Hinnant's "chrono-Compatible Low-Level Date
// Algorithms": count from 0000-03-01 so that leap days fall at the end of
// each year.
func daysFromCivil(year int64, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := year
	if era < 0 {
		era -= 399
	}
	era /= 400
	yearOfEra := year - era*400
	m := int64(month)
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	dayOfYear := (153*m+2)/5 + int64(day) - 1
	dayOfEra := yearOfEra*365 + yearOfEra/4 - yearOfEra/100 + dayOfYear
	return era*146097 + dayOfEra - 719468
}

// appendUUID appends the 16 bytes of a UUID in PostgreSQL's text form,
// such as 3edac2e3-d223-6fae-d515-daf96ef6bc76, to dst.
func appendUUID(dst []byte, b []byte) ([]byte, bool) {
	if len(b) != 36 || b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
		return dst, false
	}
	for i := 0; i < 36; {
		if b[i] == '-' {
			i++
			continue
		}
		hi, lo := hexDigit(b[i]), hexDigit(b[i+1])
		if hi < 0 || lo < 0 {
			return dst, false
		}
		dst = append(dst, byte(hi<<4|lo))
		i += 2
	}
	return dst, true
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

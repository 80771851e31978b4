package format

import (
	"errors"
	"fmt"
	"time"
)

// ErrInfinite is returned, wrapped, by ParseDate, ParseTimestamp and
// ParseTimestamptz for PostgreSQL's infinity and -infinity, which no
// calendar date represents. Test for it with errors.Is.
var ErrInfinite = errors.New("infinite date or time")

// DateTime is a date and time of day as PostgreSQL prints them under
// DateStyle ISO. Year is astronomical: 1 BC is year 0 and 44 BC is -43.
// Values parsed from a timestamp with time zone are in UTC.
type DateTime struct {
	Year        int
	Month       int // 1 to 12
	Day         int // 1 to 31
	Hour        int
	Minute      int
	Second      int
	Microsecond int
}

// Time returns d as a time.Time in UTC.
func (d DateTime) Time() time.Time {
	return time.Date(d.Year, time.Month(d.Month), d.Day, d.Hour, d.Minute, d.Second, d.Microsecond*1000, time.UTC)
}

// ParseDate parses a date as PostgreSQL prints it under DateStyle ISO:
// 2024-01-02, with more year digits after 9999 and " BC" before year 1.
func ParseDate(b []byte) (DateTime, error) {
	var d DateTime
	if isInfinity(b) {
		return d, fmt.Errorf("parse date: %w", ErrInfinite)
	}
	rest, err := d.parseDate(b)
	if err == nil {
		rest = d.parseEra(rest)
		if len(rest) != 0 {
			err = errSyntax
		}
	}
	if err != nil {
		return DateTime{}, fmt.Errorf("parse date: %w", err)
	}
	return d, nil
}

// ParseTimestamp parses a timestamp without time zone as PostgreSQL
// prints it under DateStyle ISO: 2024-01-02 03:04:05 with up to six
// fraction digits after the seconds when they are not zero.
func ParseTimestamp(b []byte) (DateTime, error) {
	var d DateTime
	if isInfinity(b) {
		return d, fmt.Errorf("parse timestamp: %w", ErrInfinite)
	}
	rest, err := d.parseDate(b)
	if err == nil {
		rest, err = d.parseClock(rest)
	}
	if err == nil {
		rest = d.parseEra(rest)
		if len(rest) != 0 {
			err = errSyntax
		}
	}
	if err != nil {
		return DateTime{}, fmt.Errorf("parse timestamp: %w", err)
	}
	return d, nil
}

// ParseTimestamptz parses a timestamp with time zone as PostgreSQL prints
// it under DateStyle ISO, such as 2024-01-02 03:04:05.123456+00, and
// returns it in UTC. The extract runs with TimeZone UTC, so the offset is
// always +00 there; other offsets (+05:30, -03:30:15) are converted.
func ParseTimestamptz(b []byte) (DateTime, error) {
	var d DateTime
	if isInfinity(b) {
		return d, fmt.Errorf("parse timestamptz: %w", ErrInfinite)
	}
	rest, err := d.parseDate(b)
	if err == nil {
		rest, err = d.parseClock(rest)
	}
	offset := 0
	if err == nil {
		offset, rest, err = parseOffset(rest)
	}
	if err == nil {
		rest = d.parseEra(rest)
		if len(rest) != 0 {
			err = errSyntax
		}
	}
	if err != nil {
		return DateTime{}, fmt.Errorf("parse timestamptz: %w", err)
	}
	if offset != 0 {
		t := d.Time().Add(-time.Duration(offset) * time.Second)
		d = DateTime{t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond() / 1000}
	}
	return d, nil
}

var errSyntax = errors.New("invalid syntax: expected DateStyle ISO output such as 2024-01-02 03:04:05.123456+00")

func isInfinity(b []byte) bool {
	s := string(b) // the comparison does not allocate
	return s == "infinity" || s == "-infinity"
}

// parseDate reads YYYY-MM-DD with four or more year digits.
func (d *DateTime) parseDate(b []byte) ([]byte, error) {
	year, n := digits(b, 4, 9)
	if n < 0 || len(b) < n+6 || b[n] != '-' || b[n+3] != '-' {
		return nil, errSyntax
	}
	month, m := digits(b[n+1:], 2, 2)
	day, k := digits(b[n+4:], 2, 2)
	if m < 0 || k < 0 || month < 1 || month > 12 || day < 1 || day > 31 {
		return nil, errSyntax
	}
	d.Year, d.Month, d.Day = year, month, day
	return b[n+6:], nil
}

// parseClock reads " HH:MM:SS" and an optional fraction.
func (d *DateTime) parseClock(b []byte) ([]byte, error) {
	if len(b) < 9 || b[0] != ' ' || b[3] != ':' || b[6] != ':' {
		return nil, errSyntax
	}
	hour, h := digits(b[1:], 2, 2)
	minute, m := digits(b[4:], 2, 2)
	second, s := digits(b[7:], 2, 2)
	if h < 0 || m < 0 || s < 0 || hour > 24 || minute > 59 || second > 60 {
		return nil, errSyntax
	}
	d.Hour, d.Minute, d.Second = hour, minute, second
	b = b[9:]
	if len(b) > 0 && b[0] == '.' {
		frac, n := digits(b[1:], 1, 6)
		if n < 0 {
			return nil, errSyntax
		}
		for i := n; i < 6; i++ {
			frac *= 10
		}
		d.Microsecond = frac
		b = b[1+n:]
	}
	return b, nil
}

// parseEra turns a trailing " BC" into an astronomical year.
func (d *DateTime) parseEra(b []byte) []byte {
	if string(b) == " BC" {
		d.Year = 1 - d.Year
		return nil
	}
	return b
}

// parseOffset reads +HH, +HH:MM or +HH:MM:SS and returns seconds east of
// UTC.
func parseOffset(b []byte) (int, []byte, error) {
	if len(b) < 3 || (b[0] != '+' && b[0] != '-') {
		return 0, nil, errSyntax
	}
	sign := 1
	if b[0] == '-' {
		sign = -1
	}
	hours, n := digits(b[1:], 2, 2)
	if n < 0 {
		return 0, nil, errSyntax
	}
	seconds := hours * 3600
	b = b[3:]
	for unit := 60; unit >= 1 && len(b) >= 3 && b[0] == ':'; unit /= 60 {
		v, n := digits(b[1:], 2, 2)
		if n < 0 {
			return 0, nil, errSyntax
		}
		seconds += v * unit
		b = b[3:]
	}
	return sign * seconds, b, nil
}

// digits reads between lo and hi decimal digits from the start of b and
// returns their value and count, or a count of -1 when fewer than lo are
// there.
func digits(b []byte, lo, hi int) (int, int) {
	v, n := 0, 0
	for n < len(b) && n < hi && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int(b[n]-'0')
		n++
	}
	if n < lo {
		return 0, -1
	}
	return v, n
}

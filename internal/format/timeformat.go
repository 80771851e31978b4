package format

import (
	"fmt"
	"strings"
)

// TimeFormat is a compiled date or time pattern in a small strftime-like
// language. A pattern is literal text with these conversions:
//
//	%Y  year, at least four digits (2024; a year before 1 prints as -0043)
//	%y  year within the century, two digits (24)
//	%C  century, two digits (20)
//	%m  month, two digits (01 to 12)
//	%b  month abbreviation in English (Jan)
//	%B  month name in English (January)
//	%d  day of the month, two digits (02)
//	%j  day of the year, three digits (001 to 366)
//	%H  hour, two digits (00 to 23)
//	%I  hour on a 12-hour clock, two digits (01 to 12)
//	%p  AM or PM
//	%M  minute, two digits
//	%S  second, two digits
//	%L  milliseconds, three digits (truncated, not rounded)
//	%f  microseconds, six digits
//	%z  offset from UTC, always +0000 because values are in UTC
//	%Z  time zone name, always UTC
//	%%  a percent sign
//
// Output never depends on the locale or time zone of the process.
type TimeFormat struct {
	pattern string
	steps   []timeStep
}

type timeStep struct {
	verb    byte   // 0 for literal text
	literal string // the text of a literal step
}

const timeVerbs = "YyCmbBdjHIpMSLfzZ"

// ParseTimeFormat compiles pattern.
func ParseTimeFormat(pattern string) (*TimeFormat, error) {
	f := &TimeFormat{pattern: pattern}
	var lit strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 == len(pattern) {
			return nil, fmt.Errorf("invalid time pattern %q: it ends with %%; write %%%% for a percent sign", pattern)
		}
		i++
		verb := pattern[i]
		if verb == '%' {
			lit.WriteByte('%')
			continue
		}
		if strings.IndexByte(timeVerbs, verb) < 0 {
			return nil, fmt.Errorf("invalid time pattern %q: unknown conversion %%%c; valid ones are %%%s", pattern, verb, strings.Join(strings.Split(timeVerbs, ""), " %"))
		}
		if lit.Len() > 0 {
			f.steps = append(f.steps, timeStep{literal: lit.String()})
			lit.Reset()
		}
		f.steps = append(f.steps, timeStep{verb: verb})
	}
	if lit.Len() > 0 {
		f.steps = append(f.steps, timeStep{literal: lit.String()})
	}
	return f, nil
}

// String returns the pattern f was compiled from.
func (f *TimeFormat) String() string { return f.pattern }

var monthNames = [...]string{"January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December"}

// Append appends d formatted by f to dst.
func (f *TimeFormat) Append(dst []byte, d DateTime) []byte {
	for _, s := range f.steps {
		switch s.verb {
		case 0:
			dst = append(dst, s.literal...)
		case 'Y':
			year := d.Year
			if year < 0 {
				dst = append(dst, '-')
				year = -year
			}
			dst = appendPadded(dst, year, 4)
		case 'y':
			dst = appendPadded(dst, mod(d.Year, 100), 2)
		case 'C':
			century := floorDiv(d.Year, 100)
			if century < 0 {
				dst = append(dst, '-')
				century = -century
			}
			dst = appendPadded(dst, century, 2)
		case 'm':
			dst = appendPadded(dst, d.Month, 2)
		case 'b':
			dst = append(dst, monthNames[d.Month-1][:3]...)
		case 'B':
			dst = append(dst, monthNames[d.Month-1]...)
		case 'd':
			dst = appendPadded(dst, d.Day, 2)
		case 'j':
			dst = appendPadded(dst, d.Time().YearDay(), 3)
		case 'H':
			dst = appendPadded(dst, d.Hour, 2)
		case 'I':
			dst = appendPadded(dst, (d.Hour+11)%12+1, 2)
		case 'p':
			if d.Hour < 12 {
				dst = append(dst, "AM"...)
			} else {
				dst = append(dst, "PM"...)
			}
		case 'M':
			dst = appendPadded(dst, d.Minute, 2)
		case 'S':
			dst = appendPadded(dst, d.Second, 2)
		case 'L':
			dst = appendPadded(dst, d.Microsecond/1000, 3)
		case 'f':
			dst = appendPadded(dst, d.Microsecond, 6)
		case 'z':
			dst = append(dst, "+0000"...)
		case 'Z':
			dst = append(dst, "UTC"...)
		}
	}
	return dst
}

// appendPadded appends v, which is not negative, with at least width
// digits.
func appendPadded(dst []byte, v, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for v >= 10 || width > 1 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	i--
	buf[i] = byte('0' + v)
	return append(dst, buf[i:]...)
}

func mod(a, b int) int {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

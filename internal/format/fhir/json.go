package fhir

import (
	"unicode/utf8"
)

// line builds one resource as JSON in a reusable buffer. A comma goes
// before every key and array element unless the previous byte opened an
// object or an array, so callers never track whether an element is the
// first.
type line struct {
	b []byte
}

func (l *line) reset() { l.b = l.b[:0] }

func (l *line) sep() {
	if n := len(l.b); n > 0 && l.b[n-1] != '{' && l.b[n-1] != '[' {
		l.b = append(l.b, ',')
	}
}

func (l *line) key(k string) {
	l.sep()
	l.b = append(l.b, '"')
	l.b = append(l.b, k...)
	l.b = append(l.b, '"', ':')
}

// open starts an object under key k; an empty k starts an array element.
func (l *line) open(k string) {
	if k == "" {
		l.sep()
	} else {
		l.key(k)
	}
	l.b = append(l.b, '{')
}

func (l *line) close() { l.b = append(l.b, '}') }

// openArray starts an array under key k.
func (l *line) openArray(k string) {
	l.key(k)
	l.b = append(l.b, '[')
}

func (l *line) closeArray() { l.b = append(l.b, ']') }

// str writes key k with string value v, escaped.
func (l *line) str(k string, v []byte) {
	l.key(k)
	l.b = appendString(l.b, v)
}

// text writes key k with a string value given as a Go string.
func (l *line) text(k, v string) {
	l.key(k)
	l.b = appendString(l.b, []byte(v))
}

// lit writes key k with a string the caller knows needs no escaping: a
// constant of this package or a code system URI that systemURI checked.
func (l *line) lit(k, v string) {
	l.key(k)
	l.b = append(l.b, '"')
	l.b = append(l.b, v...)
	l.b = append(l.b, '"')
}

// elem writes string v as an array element.
func (l *line) elem(v []byte) {
	l.sep()
	l.b = appendString(l.b, v)
}

// number writes key k with v, which the caller has checked is a JSON
// number.
func (l *line) number(k string, v []byte) {
	l.key(k)
	l.b = append(l.b, v...)
}

// boolean writes key k with a JSON boolean.
func (l *line) boolean(k string, v bool) {
	l.key(k)
	if v {
		l.b = append(l.b, "true"...)
	} else {
		l.b = append(l.b, "false"...)
	}
}

// appendString appends v as a JSON string. Bytes that are not valid UTF-8
// become U+FFFD, as encoding/json does. U+2028 and U+2029 are escaped so
// the line is also a valid JavaScript literal.
func appendString(dst, v []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, v[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, v[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, v[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, v[start:]...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// isNumber reports whether v is a JSON number. PostgreSQL prints numeric
// and floating-point values in this syntax except NaN and the infinities.
func isNumber(v []byte) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	switch {
	case i < len(v) && v[i] == '0':
		i++
	case i < len(v) && v[i] >= '1' && v[i] <= '9':
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		if i >= len(v) || v[i] < '0' || v[i] > '9' {
			return false
		}
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if i >= len(v) || v[i] < '0' || v[i] > '9' {
			return false
		}
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
	}
	return i == len(v)
}

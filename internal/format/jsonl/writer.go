package jsonl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/axtract/axtract/internal/format"
)

// flushSize is how much output the writer gathers before it writes it on.
const flushSize = 64 << 10

type column struct {
	name    string
	key     []byte // `"name":`, escaped once
	kind    format.Kind
	element format.Kind // for arrays
	json    bool        // json rather than jsonb, which may hold line breaks
}

type writer struct {
	f       *Format
	w       io.Writer
	cols    []column
	buf     []byte
	array   format.Array
	compact bytes.Buffer
	row     int64
	err     error
}

func newWriter(f *Format, w io.Writer, cols []format.Column) *writer {
	wr := &writer{f: f, w: w, buf: make([]byte, 0, flushSize+4096)}
	for i, c := range cols {
		var key []byte
		if i > 0 {
			key = append(key, ',')
		}
		key = appendString(key, []byte(c.Name))
		key = append(key, ':')
		wr.cols = append(wr.cols, column{
			name:    c.Name,
			key:     key,
			kind:    format.KindOf(c),
			element: format.ElementKind(c),
			json:    c.OID == 114 || c.OID == 199,
		})
	}
	return wr
}

func (wr *writer) WriteRow(fields [][]byte) error {
	if wr.err != nil {
		return wr.err
	}
	wr.row++
	if len(fields) != len(wr.cols) {
		return wr.fail(fmt.Errorf("write jsonl row %d: %d values for %d columns", wr.row, len(fields), len(wr.cols)))
	}
	wr.buf = append(wr.buf, '{')
	first := true
	for i, v := range fields {
		c := &wr.cols[i]
		if v == nil && wr.f.opts.OmitNulls {
			continue
		}
		key := c.key
		if first && i > 0 {
			key = key[1:] // no comma before the first key written
		}
		first = false
		wr.buf = append(wr.buf, key...)
		if v == nil {
			wr.buf = append(wr.buf, "null"...)
			continue
		}
		var err error
		if c.kind == format.KindArray {
			err = wr.appendArray(c, v)
		} else {
			wr.buf, err = wr.appendScalar(wr.buf, c.kind, c.json, v)
		}
		if err != nil {
			return wr.fail(fmt.Errorf("write jsonl row %d column %s: %w", wr.row, c.name, err))
		}
	}
	wr.buf = append(wr.buf, '}', '\n')
	if len(wr.buf) >= flushSize {
		return wr.flush()
	}
	return nil
}

// appendScalar appends one value that is not an array.
func (wr *writer) appendScalar(dst []byte, kind format.Kind, isJSON bool, v []byte) ([]byte, error) {
	switch kind {
	case format.KindInteger, format.KindNumeric, format.KindFloat:
		if isJSONNumber(v) {
			return append(dst, v...), nil
		}
		if wr.f.opts.NonFinite == "null" && isNonFinite(v) {
			return append(dst, "null"...), nil
		}
		return appendString(dst, v), nil
	case format.KindBoolean:
		b, err := format.ParseBool(v)
		if err != nil {
			return dst, err
		}
		if b {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case format.KindDate, format.KindTimestamp, format.KindTimestamptz:
		return appendTime(dst, kind, v)
	case format.KindJSON:
		if !isJSON {
			// jsonb prints on one line with its escapes kept.
			return append(dst, v...), nil
		}
		wr.compact.Reset()
		if err := json.Compact(&wr.compact, v); err != nil {
			return dst, errors.New("invalid json value")
		}
		return append(dst, wr.compact.Bytes()...), nil
	}
	return appendString(dst, v), nil
}

// appendArray appends an array as nested JSON arrays.
func (wr *writer) appendArray(c *column, v []byte) error {
	a := &wr.array
	if err := a.Parse(v); err != nil {
		return err
	}
	if len(a.Dims) == 0 {
		wr.buf = append(wr.buf, '[', ']')
		return nil
	}
	next := 0
	var err error
	var walk func(depth int)
	walk = func(depth int) {
		wr.buf = append(wr.buf, '[')
		for i := 0; i < a.Dims[depth] && err == nil; i++ {
			if i > 0 {
				wr.buf = append(wr.buf, ',')
			}
			if depth+1 < len(a.Dims) {
				walk(depth + 1)
				continue
			}
			e := a.Elements[next]
			next++
			if e == nil {
				wr.buf = append(wr.buf, "null"...)
				continue
			}
			wr.buf, err = wr.appendScalar(wr.buf, c.element, c.json, e)
		}
		wr.buf = append(wr.buf, ']')
	}
	walk(0)
	return err
}

// appendTime appends a date or timestamp in ISO 8601. PostgreSQL's ISO
// output differs only in the space before the time and the +00 of UTC, so
// the common case is rewritten without parsing.
func appendTime(dst []byte, kind format.Kind, v []byte) ([]byte, error) {
	n := len(v)
	switch {
	case kind == format.KindDate && n == 10:
		dst = append(dst, '"')
		dst = append(dst, v...)
		return append(dst, '"'), nil
	case kind == format.KindTimestamp && n >= 19 && n <= 26 && v[10] == ' ' && v[4] == '-' && isDigit(v[n-1]):
		dst = append(dst, '"')
		dst = append(dst, v[:10]...)
		dst = append(dst, 'T')
		dst = append(dst, v[11:]...)
		return append(dst, '"'), nil
	case kind == format.KindTimestamptz && n >= 22 && n <= 29 && v[10] == ' ' && v[4] == '-' && string(v[n-3:]) == "+00":
		dst = append(dst, '"')
		dst = append(dst, v[:10]...)
		dst = append(dst, 'T')
		dst = append(dst, v[11:n-3]...)
		return append(dst, 'Z', '"'), nil
	}

	var d format.DateTime
	var err error
	switch kind {
	case format.KindDate:
		d, err = format.ParseDate(v)
	case format.KindTimestamp:
		d, err = format.ParseTimestamp(v)
	default:
		d, err = format.ParseTimestamptz(v)
	}
	if errors.Is(err, format.ErrInfinite) {
		return appendString(dst, v), nil
	}
	if err != nil {
		return dst, err
	}
	dst = append(dst, '"')
	dst = appendISO(dst, kind, d)
	return append(dst, '"'), nil
}

// appendISO formats d in ISO 8601, with the expanded year form (a sign
// and at least four digits) for years before 1 and after 9999.
func appendISO(dst []byte, kind format.Kind, d format.DateTime) []byte {
	year := d.Year
	switch {
	case year < 0:
		dst = append(dst, '-')
		year = -year
	case year > 9999:
		dst = append(dst, '+')
	}
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, d.Month, 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, d.Day, 2)
	if kind == format.KindDate {
		return dst
	}

	dst = append(dst, 'T')
	dst = appendDigits(dst, d.Hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, d.Minute, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, d.Second, 2)

	if d.Microsecond != 0 {
		frac := appendDigits(nil, d.Microsecond, 6)
		dst = append(dst, '.')
		dst = append(dst, bytes.TrimRight(frac, "0")...)
	}
	if kind == format.KindTimestamptz {
		dst = append(dst, 'Z')
	}
	return dst
}

func appendDigits(dst []byte, v, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for v > 0 || width > 0 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	return append(dst, buf[i:]...)
}

// isJSONNumber reports whether v matches JSON's number grammar, which
// PostgreSQL's integer, numeric and float output does except for NaN and
// the infinities.
func isJSONNumber(v []byte) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	start := i
	for i < len(v) && isDigit(v[i]) {
		i++
	}
	if i == start || (v[start] == '0' && i-start > 1) {
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		start = i
		for i < len(v) && isDigit(v[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		start = i
		for i < len(v) && isDigit(v[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(v)
}

func isNonFinite(v []byte) bool {
	switch string(v) {
	case "NaN", "Infinity", "-Infinity":
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// plain marks the bytes a JSON string can hold unescaped: printable ASCII
// but the quote and backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString appends v as a JSON string. Control characters are
// escaped, and bytes that are not UTF-8 become U+FFFD, so the output is
// valid JSON whatever v holds.
func appendString(dst, v []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if plain[c] {
			i++
			continue
		}
		if c >= 0x80 {
			r, size := utf8.DecodeRune(v[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, v[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
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
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, v[start:]...)
	return append(dst, '"')
}

func (wr *writer) flush() error {
	if len(wr.buf) == 0 {
		return nil
	}
	if _, err := wr.w.Write(wr.buf); err != nil {
		return wr.fail(fmt.Errorf("write jsonl file: %w", err))
	}
	wr.buf = wr.buf[:0]
	return nil
}

func (wr *writer) fail(err error) error {
	wr.err = err
	return err
}

// Close writes what is buffered. It does not close the underlying writer.
func (wr *writer) Close() error {
	if wr.err != nil {
		return wr.err
	}
	return wr.flush()
}

package delimited

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/axtract/axtract/internal/format"
)

// flushSize is how much output the writer gathers before it writes it on.
const flushSize = 64 << 10

// convert is the rewriting a column's values get before quoting.
type convert int

const (
	keep convert = iota
	dateValue
	timestampValue
	timestamptzValue
	decimalValue
	booleanValue
)

type writer struct {
	f       *Format
	w       io.Writer
	cols    []format.Column
	convert []convert
	special [256]bool // bytes that make a value need quotes
	always  bool
	// words is set when the delimiter and quote are one byte each, so
	// needsQuote can test eight bytes at a time.
	words         bool
	delimiterWord uint64
	quoteWord     uint64
	buf           []byte
	value         []byte // a converted value
	row           int64
	err           error
}

func newWriter(f *Format, w io.Writer, cols []format.Column) (*writer, error) {
	wr := &writer{
		f:       f,
		w:       w,
		cols:    cols,
		convert: make([]convert, len(cols)),
		always:  f.opts.QuoteMode == "always",
		buf:     make([]byte, 0, flushSize+4096),
	}
	// A delimiter or quote of several bytes is marked by its first byte,
	// and needsQuote then checks for the whole character.
	wr.special[f.delimiter[0]] = true
	wr.special[f.quote[0]] = true
	wr.special['\r'] = true
	wr.special['\n'] = true
	if len(f.delimiter) == 1 && len(f.quote) == 1 {
		wr.words = true
		wr.delimiterWord = uint64(f.delimiter[0]) * repeat
		wr.quoteWord = uint64(f.quote[0]) * repeat
	}
	for i, c := range cols {
		wr.convert[i] = columnConvert(f, c)
	}

	if f.opts.BOM {
		wr.buf = append(wr.buf, 0xEF, 0xBB, 0xBF)
	}
	if f.opts.Header == nil || *f.opts.Header {
		for i, c := range cols {
			if i > 0 {
				wr.buf = append(wr.buf, f.delimiter...)
			}
			wr.appendValue([]byte(c.Name))
		}
		wr.buf = append(wr.buf, f.eol...)
	}
	return wr, nil
}

func columnConvert(f *Format, c format.Column) convert {
	switch format.KindOf(c) {
	case format.KindDate:
		if f.dates != nil {
			return dateValue
		}
	case format.KindTimestamp:
		if f.stamps != nil {
			return timestampValue
		}
	case format.KindTimestamptz:
		if f.stamps != nil {
			return timestamptzValue
		}
	case format.KindNumeric, format.KindFloat:
		if f.opts.DecimalSeparator != "." {
			return decimalValue
		}
	case format.KindBoolean:
		if string(f.trueText) != "t" || string(f.falseText) != "f" {
			return booleanValue
		}
	}
	return keep
}

func (wr *writer) WriteRow(fields [][]byte) error {
	if wr.err != nil {
		return wr.err
	}
	wr.row++
	if len(fields) != len(wr.cols) {
		return wr.fail(fmt.Errorf("write delimited row %d: %d values for %d columns", wr.row, len(fields), len(wr.cols)))
	}
	for i, v := range fields {
		if i > 0 {
			wr.buf = append(wr.buf, wr.f.delimiter...)
		}
		if v == nil {
			wr.buf = append(wr.buf, wr.f.opts.Null...)
			continue
		}
		if wr.convert[i] != keep {
			var err error
			if v, err = wr.convertValue(wr.convert[i], v); err != nil {
				return wr.fail(fmt.Errorf("write delimited row %d column %s: %w", wr.row, wr.cols[i].Name, err))
			}
		}
		wr.appendValue(v)
	}
	wr.buf = append(wr.buf, wr.f.eol...)
	if len(wr.buf) >= flushSize {
		return wr.flush()
	}
	return nil
}

func (wr *writer) convertValue(c convert, v []byte) ([]byte, error) {
	var d format.DateTime
	var err error
	switch c {
	case dateValue:
		d, err = format.ParseDate(v)
	case timestampValue:
		d, err = format.ParseTimestamp(v)
	case timestamptzValue:
		d, err = format.ParseTimestamptz(v)
	case decimalValue:
		if i := bytes.IndexByte(v, '.'); i >= 0 {
			wr.value = append(wr.value[:0], v...)
			wr.value[i] = wr.f.opts.DecimalSeparator[0]
			return wr.value, nil
		}
		return v, nil
	case booleanValue:
		b, err := format.ParseBool(v)
		if err != nil {
			return nil, err
		}
		if b {
			return wr.f.trueText, nil
		}
		return wr.f.falseText, nil
	}
	if errors.Is(err, format.ErrInfinite) {
		// No pattern can show infinity; PostgreSQL's word for it is kept.
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	pattern := wr.f.dates
	if c != dateValue {
		pattern = wr.f.stamps
	}
	wr.value = pattern.Append(wr.value[:0], d)
	return wr.value, nil
}

// appendValue appends v, quoted when needed.
func (wr *writer) appendValue(v []byte) {
	if !wr.always && !wr.needsQuote(v) {
		wr.buf = append(wr.buf, v...)
		return
	}
	q := wr.f.quote
	wr.buf = append(wr.buf, q...)
	for {
		i := bytes.Index(v, q)
		if i < 0 {
			break
		}
		wr.buf = append(wr.buf, v[:i+len(q)]...)
		wr.buf = append(wr.buf, q...)
		v = v[i+len(q):]
	}
	wr.buf = append(wr.buf, v...)
	wr.buf = append(wr.buf, q...)
}

func (wr *writer) needsQuote(v []byte) bool {
	null := wr.f.opts.Null
	if len(v) == len(null) && string(v) == null {
		// This includes the empty string when the null text is empty.
		return true
	}
	if len(v) == 2 && v[0] == '\\' && v[1] == '.' {
		return true
	}
	i := 0
	if wr.words {
		// Eight bytes at a time: the top bit of a byte of hit is set where
		// the byte is the delimiter, the quote, CR or LF.
		for ; i+8 <= len(v); i += 8 {
			word := binary.LittleEndian.Uint64(v[i:])
			hit := matchBytes(word, wr.delimiterWord) | matchBytes(word, wr.quoteWord) |
				matchBytes(word, crWord) | matchBytes(word, lfWord)
			if hit != 0 {
				return true
			}
		}
	}
	for _, c := range v[i:] {
		if wr.special[c] {
			return wr.words || wr.containsSpecial(v)
		}
	}
	return false
}

const (
	low7Bits = 0x7f7f7f7f7f7f7f7f
	repeat   = 0x0101010101010101 // times a byte fills every byte of a word
	crWord   = '\r' * repeat
	lfWord   = '\n' * repeat
)

// matchBytes returns a mask with the top bit set in every byte of v that
// equals the repeated byte of pattern.
func matchBytes(v, pattern uint64) uint64 {
	x := v ^ pattern
	return ^((x & low7Bits) + low7Bits | x | low7Bits)
}

// containsSpecial is the full check for delimiters and quotes of more
// than one byte.
func (wr *writer) containsSpecial(v []byte) bool {
	return bytes.Contains(v, wr.f.delimiter) || bytes.Contains(v, wr.f.quote) ||
		bytes.IndexByte(v, '\n') >= 0 || bytes.IndexByte(v, '\r') >= 0
}

func (wr *writer) flush() error {
	if len(wr.buf) == 0 {
		return nil
	}
	if _, err := wr.w.Write(wr.buf); err != nil {
		return wr.fail(fmt.Errorf("write delimited file: %w", err))
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

package format

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Decoder splits the output of COPY ... TO STDOUT in text format into rows
// and fields and hands each row to a Writer. It is an io.Writer, so it can
// be given to pgconn's CopyTo directly. The chunks it receives may end
// anywhere, inside a field or an escape sequence.
//
// Text format separates fields with a tab and ends each row with a newline.
// A field that is exactly \N is NULL. A backslash starts an escape: \b \f
// \n \r \t \v, \\, one to three octal digits, or x and one or two hex
// digits. A backslash before any other character is dropped and the
// character kept, as COPY FROM reads it.
//
// A field without a backslash is passed to the Writer as a slice of the
// chunk itself. Unescaped fields share one buffer that is reused from row
// to row, so decoding allocates nothing once the buffers have grown to the
// longest row. A Decoder is not safe for concurrent use.
type Decoder struct {
	w     Writer
	ncols int

	rows    int64
	err     error
	carry   []byte   // the start of a row that the previous chunk cut off
	scratch []byte   // unescaped fields of the current row
	fields  [][]byte // the current row, handed to the Writer
}

// NewDecoder returns a Decoder that writes rows of ncols fields to w.
func NewDecoder(w Writer, ncols int) *Decoder {
	return &Decoder{w: w, ncols: ncols, fields: make([][]byte, ncols)}
}

// Rows returns the number of rows written to the Writer so far.
func (d *Decoder) Rows() int64 { return d.rows }

// Write decodes the complete rows in p and keeps the incomplete end of p
// for the next call. After an error every later call returns that error.
func (d *Decoder) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n := len(p)

	if len(d.carry) > 0 {
		end := bytes.IndexByte(p, '\n')
		if end < 0 {
			d.carry = append(d.carry, p...)
			return n, nil
		}
		d.carry = append(d.carry, p[:end]...)
		p = p[end+1:]
		if err := d.row(d.carry); err != nil {
			d.err = err
			return 0, err
		}
		d.carry = d.carry[:0]
	}

	for {
		end := bytes.IndexByte(p, '\n')
		if end < 0 {
			break
		}
		if err := d.row(p[:end]); err != nil {
			d.err = err
			return 0, err
		}
		p = p[end+1:]
	}
	d.carry = append(d.carry, p...)
	return n, nil
}

// Close reports an error if the stream ended inside a row or an earlier
// row was invalid. It does not close the Writer.
func (d *Decoder) Close() error {
	if d.err != nil {
		return d.err
	}
	if len(d.carry) > 0 {
		d.err = fmt.Errorf("decode COPY row %d: the stream ended inside the row", d.rows+1)
		return d.err
	}
	return nil
}

// row splits one row without its newline into fields and writes it.
func (d *Decoder) row(line []byte) error {
	number := d.rows + 1

	// Unescaping never makes a field longer, so a scratch buffer as long as
	// the row never grows while the row is decoded and the slices taken
	// from it stay valid.
	if cap(d.scratch) < len(line) {
		d.scratch = make([]byte, 0, len(line)+len(line)/2)
	}
	scratch := d.scratch[:0]

	n := 0
	if d.ncols > 0 || len(line) > 0 {
		// A relation without columns prints empty rows, so only rows of
		// one or more fields are split.
		var err error
		if n, err = d.split(line, scratch, number); err != nil {
			return err
		}
	}
	if n != d.ncols {
		return fmt.Errorf("decode COPY row %d: %d fields, expected %d", number, n, d.ncols)
	}

	if err := d.w.WriteRow(d.fields); err != nil {
		return err
	}
	d.rows++
	return nil
}

// Masks for finding bytes eight at a time in a uint64.
const (
	low7Bits  = 0x7f7f7f7f7f7f7f7f
	tabBytes  = 0x0909090909090909
	backslash = 0x5c5c5c5c5c5c5c5c
)

// matchBytes returns a mask with the top bit set in every byte of v that
// equals the repeated byte of pattern, without the false matches of the
// shorter borrow-based test.
func matchBytes(v, pattern uint64) uint64 {
	x := v ^ pattern
	return ^((x & low7Bits) + low7Bits | x | low7Bits)
}

// split stores the fields of line in d.fields, unescaping into scratch,
// which must have room for the whole line, and returns the number of
// fields. It reads the row eight bytes at a
// time for tabs and backslashes, so a row costs about one pass over its
// bytes whatever its number of fields.
func (d *Decoder) split(line, scratch []byte, number int64) (int, error) {
	n, start, escaped := 0, 0, false
	emit := func(end int) error {
		if n == d.ncols {
			return fmt.Errorf("decode COPY row %d: more than the expected %d fields", number, d.ncols)
		}
		field := line[start:end:end]
		switch {
		case !escaped:
			d.fields[n] = field
		case len(field) == 2 && field[0] == '\\' && field[1] == 'N':
			d.fields[n] = nil
		default:
			begin := len(scratch)
			scratch = unescape(scratch, field)
			d.fields[n] = scratch[begin:len(scratch):len(scratch)]
		}
		n++
		start, escaped = end+1, false
		return nil
	}

	i := 0
	for ; i+8 <= len(line); i += 8 {
		v := binary.LittleEndian.Uint64(line[i:])
		tabs := matchBytes(v, tabBytes)
		slashes := matchBytes(v, backslash)
		for tabs != 0 {
			bit := uint(bits.TrailingZeros64(tabs))
			below := uint64(1)<<bit - 1
			if slashes&below != 0 {
				escaped = true
			}
			slashes &^= below
			if err := emit(i + int(bit/8)); err != nil {
				return 0, err
			}
			tabs &= tabs - 1
		}
		if slashes != 0 {
			escaped = true
		}
	}
	for ; i < len(line); i++ {
		switch line[i] {
		case '\t':
			if err := emit(i); err != nil {
				return 0, err
			}
		case '\\':
			escaped = true
		}
	}
	if err := emit(len(line)); err != nil {
		return 0, err
	}
	return n, nil
}

// unescape appends field to dst with COPY text escapes resolved.
func unescape(dst, field []byte) []byte {
	for len(field) > 0 {
		i := bytes.IndexByte(field, '\\')
		if i < 0 {
			return append(dst, field...)
		}
		dst = append(dst, field[:i]...)
		field = field[i+1:]
		if len(field) == 0 {
			// A trailing lone backslash; COPY FROM keeps it as is.
			return append(dst, '\\')
		}
		c := field[0]
		field = field[1:]
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'v':
			dst = append(dst, '\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := c - '0'
			for k := 0; k < 2 && len(field) > 0 && field[0] >= '0' && field[0] <= '7'; k++ {
				v = v<<3 | (field[0] - '0')
				field = field[1:]
			}
			dst = append(dst, v)
		case 'x':
			if len(field) == 0 || hexValue(field[0]) < 0 {
				dst = append(dst, 'x')
				break
			}
			v := byte(hexValue(field[0]))
			field = field[1:]
			if len(field) > 0 && hexValue(field[0]) >= 0 {
				v = v<<4 | byte(hexValue(field[0]))
				field = field[1:]
			}
			dst = append(dst, v)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func hexValue(c byte) int {
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

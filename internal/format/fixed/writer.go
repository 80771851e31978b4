package fixed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/axtract/axtract/internal/format"
)

// flushSize is how much output the writer gathers before it writes it on.
const flushSize = 64 << 10

// errTooLong is wrapped with the lengths; it never carries the value.
var errTooLong = errors.New("value too long")

type writer struct {
	f      *Format
	w      io.Writer
	info   format.Info
	ncols  int
	source []int         // the column index of each field, -1 for literals
	kinds  []format.Kind // the kind of each field's column
	sums   []*format.Sum // the control total of each field that a trailer sums
	buf    []byte
	value  []byte // a formatted value
	digits []byte // rounded digits
	spaces []byte // a run of spaces as long as the record
	rows   int64
	cut    int64
	err    error
}

func newWriter(f *Format, w io.Writer, cols []format.Column, info format.Info) (*writer, error) {
	wr := &writer{
		f:      f,
		w:      w,
		info:   info,
		ncols:  len(cols),
		source: make([]int, len(f.fields)),
		kinds:  make([]format.Kind, len(f.fields)),
		sums:   make([]*format.Sum, len(f.fields)),
		buf:    make([]byte, 0, flushSize+4096),
		spaces: bytes.Repeat([]byte{' '}, f.width),
	}
	index := make(map[string]int, len(cols))
	for i, c := range cols {
		index[c.Name] = i
	}
	for i, fd := range f.fields {
		wr.source[i] = -1
		if fd.name == "" {
			continue
		}
		c, ok := index[fd.name]
		if !ok {
			return nil, fmt.Errorf("fixed layout field %q names no column of the view; the view has %s", fd.name, columnNames(cols))
		}
		wr.source[i] = c
		wr.kinds[i] = format.KindOf(cols[c])
		if err := checkType(fd, cols[c], wr.kinds[i]); err != nil {
			return nil, err
		}
	}
	for _, seg := range f.trailer {
		if seg.sumOf >= 0 && wr.sums[seg.sumOf] == nil {
			wr.sums[seg.sumOf] = new(format.Sum)
		}
	}

	if len(f.header) > 0 {
		if err := wr.appendRecord(f.header); err != nil {
			return nil, fmt.Errorf("write fixed-width header: %w", err)
		}
	}
	return wr, nil
}

func columnNames(cols []format.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = strconv.Quote(c.Name)
	}
	return strings.Join(names, ", ")
}

// checkType checks that a field's type can show its column's values.
func checkType(fd field, c format.Column, kind format.Kind) error {
	switch fd.typ {
	case typeInteger, typeDecimal:
		if kind != format.KindInteger && kind != format.KindNumeric && kind != format.KindFloat {
			return fmt.Errorf("fixed layout field %q is a number field but column %q is %s; use type text or cast the column in the view", fd.name, c.Name, c.Type)
		}
	case typeDate, typeTimestamp:
		if kind != format.KindDate && kind != format.KindTimestamp && kind != format.KindTimestamptz {
			return fmt.Errorf("fixed layout field %q is a date field but column %q is %s; use type text or cast the column in the view", fd.name, c.Name, c.Type)
		}
	}
	return nil
}

func (wr *writer) WriteRow(fields [][]byte) error {
	if wr.err != nil {
		return wr.err
	}
	row := wr.rows + 1
	if len(fields) != wr.ncols {
		return wr.fail(fmt.Errorf("write fixed-width row %d: %d values for %d columns", row, len(fields), wr.ncols))
	}
	for i := range wr.f.fields {
		fd := &wr.f.fields[i]
		var v []byte
		if src := wr.source[i]; src < 0 {
			v = fd.literal
		} else if v = fields[src]; v == nil {
			wr.appendBlank(fd.length)
			continue
		}
		if err := wr.appendField(i, fd, v); err != nil {
			return wr.fail(fmt.Errorf("write fixed-width row %d column %s: %w", row, fd.name, err))
		}
	}
	wr.buf = append(wr.buf, wr.f.eol...)
	wr.rows++
	if len(wr.buf) >= flushSize {
		return wr.flush()
	}
	return nil
}

// appendField formats one value of field i and appends it.
func (wr *writer) appendField(i int, fd *field, v []byte) error {
	switch fd.typ {
	case typeInteger, typeDecimal:
		d, err := format.ParseDecimal(v)
		if errors.Is(err, format.ErrNotFinite) {
			return fmt.Errorf("%w; a number field cannot show NaN or infinity, so replace them in the view", err)
		}
		if err != nil {
			return err
		}
		if len(d.Frac) != fd.decimals {
			d, wr.digits = d.Round(fd.decimals, wr.digits[:0])
		}
		if s := wr.sums[i]; s != nil {
			s.Add(d)
		}
		return wr.appendNumber(&fd.spec, d)
	case typeDate, typeTimestamp:
		var dt format.DateTime
		var err error
		switch wr.kinds[i] {
		case format.KindDate:
			dt, err = format.ParseDate(v)
		case format.KindTimestamp:
			dt, err = format.ParseTimestamp(v)
		default:
			dt, err = format.ParseTimestamptz(v)
		}
		if errors.Is(err, format.ErrInfinite) {
			return fmt.Errorf("%w; a date field cannot show infinity, so replace it in the view", err)
		}
		if err != nil {
			return err
		}
		wr.value = fd.pattern.Append(wr.value[:0], dt)
		return wr.appendText(&fd.spec, wr.value)
	}
	return wr.appendText(&fd.spec, v)
}

// appendNumber appends a rounded number, its sign before any zeros that
// pad it.
func (wr *writer) appendNumber(s *spec, d format.Decimal) error {
	point := byte('.')
	if s.implied {
		point = 0
	}
	wr.value = d.AppendDigits(wr.value[:0], s.decimals, point)
	n := len(wr.value)
	if d.Negative {
		n++
	}
	if n > s.length {
		return fmt.Errorf("%w: the number needs %d positions, more than the field's %d (numbers are never truncated)", errTooLong, n, s.length)
	}
	fill := s.length - n
	switch {
	case !s.right:
		if d.Negative {
			wr.buf = append(wr.buf, '-')
		}
		wr.buf = append(wr.buf, wr.value...)
		wr.appendPad(s, fill)
	case d.Negative && s.pad[0] == '0':
		wr.buf = append(wr.buf, '-')
		wr.appendPad(s, fill)
		wr.buf = append(wr.buf, wr.value...)
	default:
		wr.appendPad(s, fill)
		if d.Negative {
			wr.buf = append(wr.buf, '-')
		}
		wr.buf = append(wr.buf, wr.value...)
	}
	return nil
}

// appendText appends v padded to the field, or cut when overflow is
// truncate.
func (wr *writer) appendText(s *spec, v []byte) error {
	n := len(v)
	if wr.f.chars {
		n = utf8.RuneCount(v)
	}
	if n > s.length {
		if wr.f.opts.Overflow != "truncate" {
			return fmt.Errorf("%w: the value is %d %s long, more than the field's %d; shorten it in the view or set overflow to truncate",
				errTooLong, n, wr.f.opts.LengthUnit, s.length)
		}
		v = wr.cutTo(v, s.length)
		n = len(v)
		if wr.f.chars {
			n = utf8.RuneCount(v)
		}
		wr.cut++
	}
	if s.right {
		wr.appendPad(s, s.length-n)
		wr.buf = append(wr.buf, v...)
		return nil
	}
	wr.buf = append(wr.buf, v...)
	wr.appendPad(s, s.length-n)
	return nil
}

// cutTo returns the start of v that fits length, never splitting a UTF-8
// character; a character cut short in byte mode leaves padding instead.
func (wr *writer) cutTo(v []byte, length int) []byte {
	if wr.f.chars {
		i, count := 0, 0
		for i < len(v) && count < length {
			_, size := utf8.DecodeRune(v[i:])
			i += size
			count++
		}
		return v[:i]
	}
	end := length
	for end > 0 && end < len(v) && !utf8.RuneStart(v[end]) {
		end--
	}
	return v[:end]
}

func (wr *writer) appendPad(s *spec, n int) {
	if n > 0 {
		wr.buf = append(wr.buf, s.padding[:n*len(s.pad)]...)
	}
}

// appendBlank writes a NULL: the whole field in spaces, whatever its pad,
// so NULL and zero stay apart.
func (wr *writer) appendBlank(n int) {
	if n <= len(wr.spaces) {
		wr.buf = append(wr.buf, wr.spaces[:n]...)
		return
	}
	for ; n > 0; n-- {
		wr.buf = append(wr.buf, ' ')
	}
}

// appendRecord appends a header or trailer record, padded with spaces to
// the width of the detail records.
func (wr *writer) appendRecord(segs []segment) error {
	width := 0
	for i := range segs {
		seg := &segs[i]
		if err := wr.appendSegment(seg); err != nil {
			return fmt.Errorf("segment %d (%s): %w", i, seg.describe(), err)
		}
		width += seg.length
	}
	wr.appendBlank(wr.f.width - width)
	wr.buf = append(wr.buf, wr.f.eol...)
	return nil
}

func (seg *segment) describe() string {
	if seg.fixed {
		return "literal"
	}
	return seg.value
}

func (wr *writer) appendSegment(seg *segment) error {
	if seg.fixed {
		return wr.appendText(&seg.spec, seg.literal)
	}
	switch seg.value {
	case "record_count":
		return wr.appendInteger(&seg.spec, wr.rows)
	case "total_records":
		total := wr.rows + 1
		if len(wr.f.header) > 0 {
			total++
		}
		return wr.appendInteger(&seg.spec, total)
	case "run_id":
		return wr.appendInteger(&seg.spec, wr.info.RunID)
	case "control_number":
		return wr.appendInteger(&seg.spec, wr.info.ControlNumber)
	case "sum":
		return wr.appendNumber(&seg.spec, wr.sums[seg.sumOf].Decimal())
	case "run_date", "slot":
		t := wr.info.Now.UTC()
		if seg.value == "slot" {
			t = wr.info.Slot.UTC()
		}
		d := format.DateTime{Year: t.Year(), Month: int(t.Month()), Day: t.Day(), Hour: t.Hour(), Minute: t.Minute(),
			Second: t.Second(), Microsecond: t.Nanosecond() / 1000}
		return wr.appendStrict(&seg.spec, seg.pattern.Append(nil, d))
	case "feed":
		return wr.appendStrict(&seg.spec, []byte(wr.info.Feed))
	case "partner":
		return wr.appendStrict(&seg.spec, []byte(wr.info.Partner))
	}
	return fmt.Errorf("unknown segment value %q", seg.value)
}

func (wr *writer) appendInteger(s *spec, v int64) error {
	d, err := format.ParseDecimal(strconv.AppendInt(nil, v, 10))
	if err != nil {
		return err
	}
	return wr.appendNumber(s, d)
}

// appendStrict appends a header or trailer text, which is never cut.
func (wr *writer) appendStrict(s *spec, v []byte) error {
	if n := wr.f.measure(v); n > s.length {
		return fmt.Errorf("%w: the value is %d %s long, more than the segment's %d", errTooLong, n, wr.f.opts.LengthUnit, s.length)
	}
	return wr.appendText(s, v)
}

// Counts returns truncated_values, the number of values that overflow
// truncate cut.
func (wr *writer) Counts() map[string]int64 {
	return map[string]int64{"truncated_values": wr.cut}
}

func (wr *writer) flush() error {
	if len(wr.buf) == 0 {
		return nil
	}
	if _, err := wr.w.Write(wr.buf); err != nil {
		return wr.fail(fmt.Errorf("write fixed-width file: %w", err))
	}
	wr.buf = wr.buf[:0]
	return nil
}

func (wr *writer) fail(err error) error {
	wr.err = err
	return err
}

// Close writes the trailer record and what is buffered. It does not
// close the underlying writer.
func (wr *writer) Close() error {
	if wr.err != nil {
		return wr.err
	}
	if len(wr.f.trailer) > 0 {
		if err := wr.appendRecord(wr.f.trailer); err != nil {
			return wr.fail(fmt.Errorf("write fixed-width trailer: %w", err))
		}
	}
	return wr.flush()
}

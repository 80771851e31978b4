// Package fixed writes rows as fixed-width records: every value at a set
// position and length, padded, with optional header and trailer records
// that carry literals, the run date, the record count and control totals.
//
// New checks the layout before any row is written: fields must start at
// position 1 and follow each other without gaps or overlaps, so every
// record has the same length. A layout names the view's columns it
// writes; columns it does not name are left out of the file.
package fixed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/axtract/axtract/internal/format"
)

// Options are the format_options of a fixed-width feed.
type Options struct {
	// Fields describe the detail record, one object per field; see
	// FieldOptions.
	Fields []json.RawMessage `json:"fields"`
	// Header and Trailer are optional records written before the first
	// and after the last detail record, as a list of segments; see
	// SegmentOptions.
	Header  []json.RawMessage `json:"header"`
	Trailer []json.RawMessage `json:"trailer"`
	// LengthUnit is the unit of lengths and positions: bytes (the
	// default) or characters, for files whose readers count characters of
	// UTF-8 text.
	LengthUnit string `json:"length_unit"`
	// Overflow is the rule for a text, date or timestamp value longer
	// than its field. With error (the default) the run fails, and with
	// truncate the value is cut and counted under truncated_values.
	// Numbers always fail, because a cut number is a different number.
	Overflow string `json:"overflow"`
	// LineEnding ends each record: lf (the default), crlf, or none for
	// files of bare records.
	LineEnding string `json:"line_ending"`
	// Extension is the file name suffix, .txt by default.
	Extension string `json:"extension"`
}

// FieldOptions describe one field of the detail record.
type FieldOptions struct {
	// Name is the view column the field writes. A field without a name
	// writes Literal instead, for fillers and record type codes.
	Name    string  `json:"name"`
	Literal *string `json:"literal"`
	// Start is the 1-based position of the field's first byte or
	// character, and Length its size.
	Start  int `json:"start"`
	Length int `json:"length"`
	// Type is text (the default), integer, decimal, date or timestamp.
	Type string `json:"type"`
	// Justify is left or right; numbers are right-justified by default,
	// everything else left.
	Justify string `json:"justify"`
	// Pad fills the rest of the field: one character, "0" for numbers
	// and a space for everything else by default.
	Pad string `json:"pad"`
	// Format is the format.TimeFormat pattern of a date (default %Y%m%d)
	// or timestamp field (default %Y%m%d%H%M%S).
	Format string `json:"format"`
	// Decimals is the number of fraction digits of a decimal field, 2 by
	// default; values are rounded half away from zero.
	Decimals *int `json:"decimals"`
	// ImpliedDecimal leaves the decimal point out, so 12.50 with two
	// decimals is written 1250.
	ImpliedDecimal bool `json:"implied_decimal"`
}

// SegmentOptions describe one piece of a header or trailer record.
type SegmentOptions struct {
	// Literal is fixed text. A segment has either a Literal or a Value.
	Literal *string `json:"literal"`
	// Value is one of record_count (detail records), total_records
	// (detail records plus the header and trailer), sum (the control
	// total of Column), run_date (when the extract started), slot (the
	// run's slot), run_id, control_number, feed or partner. Counts and
	// sums are known only at the end, so only a trailer can hold them.
	Value string `json:"value"`
	// Column is the numeric layout field a sum adds up. The sum adds the
	// values as the field writes them, after rounding.
	Column string `json:"column"`
	// Length is the segment's size; a literal's own length by default.
	Length int `json:"length"`
	// Justify, Pad, Format, Decimals and ImpliedDecimal work as for
	// fields. A sum has the decimals of its column's field by default.
	Justify        string `json:"justify"`
	Pad            string `json:"pad"`
	Format         string `json:"format"`
	Decimals       *int   `json:"decimals"`
	ImpliedDecimal bool   `json:"implied_decimal"`
}

// fieldType is the type of a field or segment.
type fieldType int

const (
	typeText fieldType = iota
	typeInteger
	typeDecimal
	typeDate
	typeTimestamp
)

// spec is the part of a field or segment that sets how a value fits.
type spec struct {
	length   int
	typ      fieldType
	right    bool
	pad      []byte
	padding  []byte // pad repeated length times
	pattern  *format.TimeFormat
	decimals int
	implied  bool
}

type field struct {
	spec
	name    string
	literal []byte
	start   int
}

type segment struct {
	spec
	literal []byte
	fixed   bool // the segment is a literal
	value   string
	sumOf   int // index of the summed field
}

// Format is a configured fixed-width format.
type Format struct {
	opts    Options
	chars   bool
	eol     []byte
	fields  []field
	header  []segment
	trailer []segment
	width   int // the length of a record without its line ending
}

// New returns a fixed-width format configured by options, a JSON object
// of Options.
func New(options json.RawMessage) (format.Format, error) {
	return Parse(options)
}

// Parse is New returning the concrete type.
func Parse(options json.RawMessage) (*Format, error) {
	opts := Options{LengthUnit: "bytes", Overflow: "error", LineEnding: "lf", Extension: ".txt"}
	if err := format.DecodeOptions("fixed format options", options, &opts); err != nil {
		return nil, err
	}
	f := &Format{opts: opts}
	switch opts.LengthUnit {
	case "bytes":
	case "characters":
		f.chars = true
	default:
		return nil, fmt.Errorf("invalid fixed format option length_unit %q: use bytes or characters", opts.LengthUnit)
	}
	switch opts.Overflow {
	case "error", "truncate":
	default:
		return nil, fmt.Errorf("invalid fixed format option overflow %q: use error or truncate", opts.Overflow)
	}
	switch opts.LineEnding {
	case "lf":
		f.eol = []byte("\n")
	case "crlf":
		f.eol = []byte("\r\n")
	case "none":
	default:
		return nil, fmt.Errorf("invalid fixed format option line_ending %q: use lf, crlf or none", opts.LineEnding)
	}
	if opts.Extension == "" || opts.Extension[0] != '.' || strings.ContainsAny(opts.Extension, "/\\") {
		return nil, fmt.Errorf("invalid fixed format option extension %q: it must start with a point and contain no slash, such as .dat", opts.Extension)
	}

	if err := f.parseFields(); err != nil {
		return nil, err
	}
	var err error
	if f.header, err = f.parseSegments("header", opts.Header); err != nil {
		return nil, err
	}
	if f.trailer, err = f.parseSegments("trailer", opts.Trailer); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Format) parseFields() error {
	if len(f.opts.Fields) == 0 {
		return fmt.Errorf("invalid fixed format options: fields is missing; list the record's fields, such as [{\"name\": \"member_id\", \"start\": 1, \"length\": 10}]")
	}
	for i, raw := range f.opts.Fields {
		what := fmt.Sprintf("fixed format option fields[%d]", i)
		var o FieldOptions
		if err := format.DecodeOptions(what, raw, &o); err != nil {
			return err
		}
		fd, err := f.parseField(what, o)
		if err != nil {
			return err
		}
		f.fields = append(f.fields, fd)
	}

	sort.SliceStable(f.fields, func(i, j int) bool { return f.fields[i].start < f.fields[j].start })
	next := 1
	for i, fd := range f.fields {
		switch {
		case fd.start > next && i == 0:
			return fmt.Errorf("invalid fixed layout: the first field, %s, starts at %d, leaving positions 1 to %d empty; start it at 1 or add a literal filler field", fd.label(), fd.start, fd.start-1)
		case fd.start > next:
			return fmt.Errorf("invalid fixed layout: positions %d to %d between %s and %s are not covered; add a literal filler field", next, fd.start-1, f.fields[i-1].label(), fd.label())
		case fd.start < next:
			return fmt.Errorf("invalid fixed layout: %s starts at %d, inside %s, which ends at %d", fd.label(), fd.start, f.fields[i-1].label(), next-1)
		}
		next = fd.start + fd.length
	}
	f.width = next - 1
	return nil
}

func (fd field) label() string {
	if fd.name != "" {
		return fmt.Sprintf("field %q", fd.name)
	}
	return fmt.Sprintf("the literal field at %d", fd.start)
}

func (f *Format) parseField(what string, o FieldOptions) (field, error) {
	fd := field{name: o.Name, start: o.Start}
	switch {
	case o.Name == "" && o.Literal == nil:
		return fd, fmt.Errorf("invalid %s: it needs a name (a view column) or a literal", what)
	case o.Name != "" && o.Literal != nil:
		return fd, fmt.Errorf("invalid %s: it has both a name and a literal; keep one", what)
	case o.Start < 1:
		return fd, fmt.Errorf("invalid %s: start %d must be 1 or more (positions are 1-based)", what, o.Start)
	}
	if o.Literal != nil {
		fd.literal = []byte(*o.Literal)
		if o.Type != "" && o.Type != "text" {
			return fd, fmt.Errorf("invalid %s: a literal field has type text", what)
		}
	}
	s, err := f.parseSpec(what, o.Length, o.Type, o.Justify, o.Pad, o.Format, o.Decimals, o.ImpliedDecimal)
	if err != nil {
		return fd, err
	}
	fd.spec = s
	if fd.literal != nil && f.measure(fd.literal) > s.length {
		return fd, fmt.Errorf("invalid %s: the literal is longer than length %d", what, s.length)
	}
	return fd, nil
}

// maxFieldLength bounds a field, so that a mistyped length cannot make
// every record gigabytes long. Fixed-width layouts in use are far shorter.
const maxFieldLength = 1 << 16

func (f *Format) parseSpec(what string, length int, typ, justify, pad, pattern string, decimals *int, implied bool) (spec, error) {
	var s spec
	if length < 1 || length > maxFieldLength {
		return s, fmt.Errorf("invalid %s: length %d must be from 1 to %d", what, length, maxFieldLength)
	}
	s.length = length
	switch typ {
	case "", "text":
		s.typ = typeText
	case "integer":
		s.typ = typeInteger
	case "decimal":
		s.typ = typeDecimal
	case "date":
		s.typ = typeDate
	case "timestamp":
		s.typ = typeTimestamp
	default:
		return s, fmt.Errorf("invalid %s: type %q; use text, integer, decimal, date or timestamp", what, typ)
	}
	numeric := s.typ == typeInteger || s.typ == typeDecimal

	switch justify {
	case "":
		s.right = numeric
	case "left":
	case "right":
		s.right = true
	default:
		return s, fmt.Errorf("invalid %s: justify %q; use left or right", what, justify)
	}

	switch {
	case pad == "" && numeric:
		s.pad = []byte("0")
	case pad == "":
		s.pad = []byte(" ")
	case utf8.RuneCountInString(pad) != 1:
		return s, fmt.Errorf("invalid %s: pad %q must be exactly one character", what, pad)
	case !f.chars && len(pad) != 1:
		return s, fmt.Errorf("invalid %s: pad %q is several bytes long; use an ASCII character or set length_unit to characters", what, pad)
	default:
		s.pad = []byte(pad)
	}

	s.padding = bytes.Repeat(s.pad, s.length)

	switch {
	case s.typ == typeDate || s.typ == typeTimestamp:
		if pattern == "" {
			pattern = "%Y%m%d"
			if s.typ == typeTimestamp {
				pattern = "%Y%m%d%H%M%S"
			}
		}
		p, err := format.ParseTimeFormat(pattern)
		if err != nil {
			return s, fmt.Errorf("invalid %s: %w", what, err)
		}
		// September is the longest month name, so this sample is as long
		// as any date of a four-digit year prints.
		sample := format.DateTime{Year: 2000, Month: 9, Day: 30, Hour: 23, Minute: 59, Second: 59, Microsecond: 999999}
		if n := f.measure(p.Append(nil, sample)); n > length {
			return s, fmt.Errorf("invalid %s: format %q prints %d %s, more than length %d", what, pattern, n, f.opts.LengthUnit, length)
		}
		s.pattern = p
	case pattern != "":
		return s, fmt.Errorf("invalid %s: format applies to date and timestamp fields only", what)
	}

	switch {
	case s.typ == typeDecimal:
		s.decimals = 2
		if decimals != nil {
			s.decimals = *decimals
		}
		if s.decimals < 0 || s.decimals > 30 {
			return s, fmt.Errorf("invalid %s: decimals %d must be between 0 and 30", what, s.decimals)
		}
		s.implied = implied
	case decimals != nil || implied:
		return s, fmt.Errorf("invalid %s: decimals and implied_decimal apply to decimal fields only", what)
	}
	return s, nil
}

// segmentValues lists the values a segment can hold, and whether they are
// known only after the last row.
var segmentValues = map[string]bool{
	"record_count":   true,
	"total_records":  true,
	"sum":            true,
	"run_date":       false,
	"slot":           false,
	"run_id":         false,
	"control_number": false,
	"feed":           false,
	"partner":        false,
}

func (f *Format) parseSegments(record string, raws []json.RawMessage) ([]segment, error) {
	var segs []segment
	width := 0
	for i, raw := range raws {
		what := fmt.Sprintf("fixed format option %s[%d]", record, i)
		var o SegmentOptions
		if err := format.DecodeOptions(what, raw, &o); err != nil {
			return nil, err
		}
		seg, err := f.parseSegment(what, record, o)
		if err != nil {
			return nil, err
		}
		width += seg.length
		segs = append(segs, seg)
	}
	if width > f.width {
		return nil, fmt.Errorf("invalid fixed format option %s: its segments are %d long, more than the detail record's %d", record, width, f.width)
	}
	return segs, nil
}

func (f *Format) parseSegment(what, record string, o SegmentOptions) (segment, error) {
	seg := segment{value: o.Value, sumOf: -1}
	if (o.Literal == nil) == (o.Value == "") {
		return seg, fmt.Errorf("invalid %s: it needs either a literal or a value", what)
	}

	typ := "text"
	if o.Literal != nil {
		seg.literal = []byte(*o.Literal)
		seg.fixed = true
		if o.Length == 0 {
			o.Length = f.measure(seg.literal)
		}
	} else {
		late, ok := segmentValues[o.Value]
		if !ok {
			return seg, fmt.Errorf("invalid %s: value %q; use record_count, total_records, sum, run_date, slot, run_id, control_number, feed or partner", what, o.Value)
		}
		if late && record == "header" {
			return seg, fmt.Errorf("invalid %s: %s is known only after the last record, so it can be in the trailer only", what, o.Value)
		}
		switch o.Value {
		case "record_count", "total_records", "run_id", "control_number":
			typ = "integer"
		case "run_date", "slot":
			typ = "date"
		case "sum":
			typ = "decimal"
			if err := f.resolveSum(what, &seg, &o); err != nil {
				return seg, err
			}
		}
	}
	if o.Column != "" && o.Value != "sum" {
		return seg, fmt.Errorf("invalid %s: column applies to sum segments only", what)
	}

	s, err := f.parseSpec(what, o.Length, typ, o.Justify, o.Pad, o.Format, o.Decimals, o.ImpliedDecimal)
	if err != nil {
		return seg, err
	}
	seg.spec = s
	if seg.fixed && f.measure(seg.literal) > s.length {
		return seg, fmt.Errorf("invalid %s: the literal is longer than length %d", what, s.length)
	}
	return seg, nil
}

// resolveSum finds the field a sum adds up and takes its decimals.
func (f *Format) resolveSum(what string, seg *segment, o *SegmentOptions) error {
	for i, fd := range f.fields {
		if fd.name != o.Column || fd.name == "" {
			continue
		}
		if fd.typ != typeInteger && fd.typ != typeDecimal {
			return fmt.Errorf("invalid %s: field %q is not an integer or decimal field, so it has no sum", what, o.Column)
		}
		seg.sumOf = i
		if o.Decimals == nil {
			d := fd.decimals
			o.Decimals = &d
		}
		return nil
	}
	return fmt.Errorf("invalid %s: column %q is not a field of the layout", what, o.Column)
}

// measure returns the length of b in the layout's unit.
func (f *Format) measure(b []byte) int {
	if f.chars {
		return utf8.RuneCount(b)
	}
	return len(b)
}

// Kind returns "fixed".
func (f *Format) Kind() string { return "fixed" }

// Extension returns the file name suffix.
func (f *Format) Extension() string { return f.opts.Extension }

// Width returns the length of a record without its line ending, in the
// layout's unit.
func (f *Format) Width() int { return f.width }

// NewWriter starts a fixed-width file on w and writes the header record.
func (f *Format) NewWriter(w io.Writer, cols []format.Column, info format.Info) (format.Writer, error) {
	return newWriter(f, w, cols, info)
}

// Package delimited writes rows as delimited text: CSV, tab-separated,
// pipe-separated and the like, with the quoting rules of RFC 4180 and of
// PostgreSQL's CSV format.
//
// A value is quoted when it contains the delimiter, the quote character,
// a carriage return or a line feed. It is also quoted when it equals the
// null text, when it is empty and the null text is empty too, and when it
// is \. (which COPY FROM would read as the end of the data). A quote
// inside a quoted value is doubled. So NULL is the only value written as the bare null text, and
// every file reads back into PostgreSQL with COPY FROM (FORMAT csv) and
// the same delimiter, quote and null options.
package delimited

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/axtract/axtract/internal/format"
)

// Options are the format_options of a delimited feed.
type Options struct {
	// Delimiter separates values: one character, "," by default.
	Delimiter string `json:"delimiter"`
	// Quote encloses values that need it: one character, `"` by default.
	Quote string `json:"quote"`
	// QuoteMode is as_needed (the default) or always. Always quotes every
	// value but NULL, so NULL stays distinguishable.
	QuoteMode string `json:"quote_mode"`
	// Header writes the column names as the first record; true by default.
	Header *bool `json:"header"`
	// LineEnding ends each record: lf (the default) or crlf.
	LineEnding string `json:"line_ending"`
	// BOM starts the file with the UTF-8 byte order mark; false by default.
	BOM bool `json:"bom"`
	// Null is the text written for NULL; empty by default.
	Null string `json:"null"`
	// DateFormat is a format.TimeFormat pattern for date columns. Empty
	// (the default) keeps PostgreSQL's 2024-01-02.
	DateFormat string `json:"date_format"`
	// TimestampFormat is a format.TimeFormat pattern for timestamp columns
	// with and without time zone. Empty (the default) keeps PostgreSQL's
	// 2024-01-02 03:04:05.123456, with +00 for timestamp with time zone.
	TimestampFormat string `json:"timestamp_format"`
	// DecimalSeparator replaces the point in numeric and floating-point
	// values: "." (the default) or ",".
	DecimalSeparator string `json:"decimal_separator"`
	// True and False are written for boolean values; t and f by default,
	// as PostgreSQL prints them.
	True  *string `json:"true"`
	False *string `json:"false"`
	// Extension is the file name suffix. By default it is .csv, or .tsv
	// when the delimiter is a tab and .txt for other delimiters than a
	// comma.
	Extension string `json:"extension"`
}

// Format is a configured delimited format.
type Format struct {
	opts      Options
	delimiter []byte
	quote     []byte
	eol       []byte
	dates     *format.TimeFormat
	stamps    *format.TimeFormat
	trueText  []byte
	falseText []byte
}

// New returns a delimited format configured by options, a JSON object of
// Options. Empty options give RFC 4180 CSV with a header and LF line
// endings.
func New(options json.RawMessage) (format.Format, error) {
	return Parse(options)
}

// Parse is New returning the concrete type.
func Parse(options json.RawMessage) (*Format, error) {
	opts := Options{Delimiter: ",", Quote: `"`, QuoteMode: "as_needed", LineEnding: "lf", DecimalSeparator: "."}
	if err := format.DecodeOptions("delimited format options", options, &opts); err != nil {
		return nil, err
	}
	f := &Format{opts: opts, delimiter: []byte(opts.Delimiter), quote: []byte(opts.Quote)}

	if err := checkCharacter("delimiter", opts.Delimiter); err != nil {
		return nil, err
	}
	if err := checkCharacter("quote", opts.Quote); err != nil {
		return nil, err
	}
	if opts.Delimiter == opts.Quote {
		return nil, fmt.Errorf("invalid delimited format options: delimiter and quote are both %q; choose different characters", opts.Delimiter)
	}
	switch opts.QuoteMode {
	case "as_needed", "always":
	default:
		return nil, fmt.Errorf("invalid delimited format option quote_mode %q: use as_needed or always", opts.QuoteMode)
	}
	switch opts.LineEnding {
	case "lf":
		f.eol = []byte("\n")
	case "crlf":
		f.eol = []byte("\r\n")
	default:
		return nil, fmt.Errorf("invalid delimited format option line_ending %q: use lf or crlf", opts.LineEnding)
	}
	switch opts.DecimalSeparator {
	case ".", ",":
	default:
		return nil, fmt.Errorf("invalid delimited format option decimal_separator %q: use \".\" or \",\"", opts.DecimalSeparator)
	}
	if err := checkText("null", opts.Null, opts); err != nil {
		return nil, err
	}
	if opts.Extension != "" && (opts.Extension[0] != '.' || strings.ContainsAny(opts.Extension, "/\\")) {
		return nil, fmt.Errorf("invalid delimited format option extension %q: it must start with a point and contain no slash, such as .csv", opts.Extension)
	}

	var err error
	if opts.DateFormat != "" {
		if f.dates, err = format.ParseTimeFormat(opts.DateFormat); err != nil {
			return nil, fmt.Errorf("invalid delimited format option date_format: %w", err)
		}
	}
	if opts.TimestampFormat != "" {
		if f.stamps, err = format.ParseTimeFormat(opts.TimestampFormat); err != nil {
			return nil, fmt.Errorf("invalid delimited format option timestamp_format: %w", err)
		}
	}
	f.trueText, f.falseText = []byte("t"), []byte("f")
	if opts.True != nil {
		f.trueText = []byte(*opts.True)
	}
	if opts.False != nil {
		f.falseText = []byte(*opts.False)
	}
	if string(f.trueText) == string(f.falseText) {
		return nil, fmt.Errorf("invalid delimited format options: true and false are both %q; choose different texts", f.trueText)
	}
	return f, nil
}

// checkCharacter checks that a delimiter or quote is one character that
// cannot be confused with a line ending.
func checkCharacter(name, s string) error {
	if utf8.RuneCountInString(s) != 1 || !utf8.ValidString(s) {
		return fmt.Errorf("invalid delimited format option %s %q: it must be exactly one character", name, s)
	}
	if s == "\n" || s == "\r" {
		return fmt.Errorf("invalid delimited format option %s %q: a line ending cannot be a %s", name, s, name)
	}
	return nil
}

// checkText checks that the null text survives reading back, which needs
// it to contain neither line endings nor the quote character.
func checkText(name, s string, opts Options) error {
	for _, c := range s {
		if c == '\n' || c == '\r' || string(c) == opts.Quote || string(c) == opts.Delimiter {
			return fmt.Errorf("invalid delimited format option %s %q: it cannot contain the delimiter, the quote or a line ending", name, s)
		}
	}
	return nil
}

// Kind returns "delimited".
func (f *Format) Kind() string { return "delimited" }

// Extension returns the file name suffix.
func (f *Format) Extension() string {
	switch {
	case f.opts.Extension != "":
		return f.opts.Extension
	case f.opts.Delimiter == ",":
		return ".csv"
	case f.opts.Delimiter == "\t":
		return ".tsv"
	}
	return ".txt"
}

// NewWriter starts a delimited file on w.
func (f *Format) NewWriter(w io.Writer, cols []format.Column, _ format.Info) (format.Writer, error) {
	return newWriter(f, w, cols)
}

// Package format writes the rows of a partner view as a file.
//
// Every format reads the same stream: the view's rows as PostgreSQL's COPY
// TO STDOUT prints them in text format, in the extract's session, as the
// partner's role. So row-level security, consent and de-identification
// apply to every format alike. The values a writer receives are the text
// PostgreSQL prints under the extract's fixed settings (TimeZone UTC,
// DateStyle ISO, extra_float_digits 1).
//
// A Decoder splits that stream into rows and hands each to a Writer, which
// turns it into one file format. Writers stream: they hold one row, or one
// bounded batch of rows, at a time. ColumnsOf reads the columns of the view
// a Writer is made for.
//
// # Values
//
// The helpers below reformat the text PostgreSQL printed without reading the
// time zone or locale of the process. KindOf groups column types by how
// their text is formatted. ParseDate, ParseTimestamp and ParseTimestamptz
// read DateStyle ISO output into a DateTime, and a TimeFormat prints one
// with a small strftime-like pattern. ParseDecimal splits integer, numeric
// and floating-point text into digits that Decimal rounds and prints
// without going through float64, and Sum adds them exactly for control
// totals. ParseBool reads t and f, and Array parses array text such as
// {a,"b c",NULL}. DecodeOptions decodes a feed's format_options and
// rejects unknown keys.
package format

import (
	"io"
	"time"
)

// Column describes one column of the view being written.
type Column struct {
	// Name is the column name as the view declares it.
	Name string
	// Type is the column type as PostgreSQL's format_type prints it, with
	// domains resolved to their base type: "integer", "bigint",
	// "numeric(12,2)", "date", "timestamp with time zone", "text",
	// "boolean", "character varying(10)" and so on.
	Type string
	// OID is the object id of that base type.
	OID uint32
}

// Info describes the run a file belongs to. Writers use it in headers and
// envelopes; none of it is member data.
type Info struct {
	RunID   int64
	Feed    string
	Partner string
	// Slot is the run's slot; Now is when the extract started.
	Slot time.Time
	Now  time.Time
	// ControlNumber is a number unique and increasing per partner, taken
	// for the run before its snapshot; X12 envelopes use it.
	ControlNumber int64
}

// Writer turns rows into one file.
type Writer interface {
	// WriteRow writes one row. fields holds one value per column, in
	// column order, already unescaped from COPY's text format. A nil slice
	// is SQL NULL and an empty non-nil slice is the empty string. The
	// writer must not keep the slices after WriteRow returns.
	WriteRow(fields [][]byte) error
	// Close writes what follows the last row (a trailer, a footer, the
	// last row group) and flushes. It does not close the io.Writer the
	// Writer was made with.
	Close() error
}

// Skipper is implemented by writers that may leave a row out of the file,
// as the FHIR writers leave out a resource whose patient is not in the
// Patient file. RowSkipped reports whether the row of the last WriteRow
// that returned nil was left out. Callers that account for what a file
// holds, such as the accounting of disclosures, ask it after each row.
type Skipper interface {
	RowSkipped() bool
}

// Counter is implemented by writers that count events a run should report,
// such as values a fixed-width layout truncated. Keys are short snake_case
// names; values are counts, never member data.
type Counter interface {
	Counts() map[string]int64
}

// Format is a configured file format: a kind and its options.
type Format interface {
	// Kind is the name feeds use for the format: delimited, fixed, jsonl,
	// fhir, x12-834 or parquet.
	Kind() string
	// Extension is the file name suffix of the format, such as ".csv".
	Extension() string
	// NewWriter starts a file with columns cols on w.
	NewWriter(w io.Writer, cols []Column, info Info) (Writer, error)
}

// Part is one file of a multi-file format: the view of the partner's
// schema it reads, and the format of its file.
type Part struct {
	// Name identifies the part, such as the FHIR resource type "Patient".
	// It is used in file names and in the manifest.
	Name string
	// View is the name of the view in the partner's schema.
	View string
	// Format writes the part's file.
	Format Format
	// OrderBy lists the columns, best first, that the part's rows must
	// arrive sorted by: the runner sorts by the first one the view has,
	// and by none when it has none of them.
	OrderBy []string
}

// MultiFormat is implemented by formats that deliver one file per part,
// each read from its own view in the same snapshot.
type MultiFormat interface {
	Format
	Parts() []Part
}

package formats

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/axtract/axtract/internal/format"
)

// csvFormat is PostgreSQL's CSV: a header row, commas, values quoted with
// double quotes when they need it, and NULL as nothing while the empty
// string is "". Extracts of csv feeds take COPY's own CSV output and do not
// use this writer. It writes the same bytes, for callers that hold decoded
// rows.
type csvFormat struct{}

func newCSV(options json.RawMessage) (format.Format, error) {
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(options)) > 0 {
		if err := json.Unmarshal(options, &fields); err != nil {
			return nil, fmt.Errorf("csv options: %w", err)
		}
	}
	for name := range fields {
		return nil, fmt.Errorf("csv takes no format options, got %q; use the delimited format for another delimiter or quoting", name)
	}
	return csvFormat{}, nil
}

func (csvFormat) Kind() string      { return "csv" }
func (csvFormat) Extension() string { return ".csv" }

func (csvFormat) NewWriter(w io.Writer, cols []format.Column, _ format.Info) (format.Writer, error) {
	cw := &csvWriter{out: bufio.NewWriterSize(w, 64<<10), ncols: len(cols)}
	header := make([][]byte, len(cols))
	for i, c := range cols {
		header[i] = []byte(c.Name)
	}
	if err := cw.WriteRow(header); err != nil {
		return nil, err
	}
	return cw, nil
}

type csvWriter struct {
	out   *bufio.Writer
	ncols int
}

func (c *csvWriter) WriteRow(fields [][]byte) error {
	if len(fields) != c.ncols {
		return fmt.Errorf("csv row has %d fields, want %d", len(fields), c.ncols)
	}
	for i, f := range fields {
		if i > 0 {
			c.out.WriteByte(',')
		}
		c.writeField(f)
	}
	return c.out.WriteByte('\n')
}

// writeField quotes as PostgreSQL's COPY CSV does: a value is quoted when
// it is empty (and not NULL), contains a comma, quote, carriage return or
// line feed, or is exactly \. in a file of one column, where the line would
// read as the end-of-data marker.
func (c *csvWriter) writeField(f []byte) {
	if f == nil {
		return
	}
	marker := c.ncols == 1 && bytes.Equal(f, []byte(`\.`))
	if len(f) > 0 && !needsQuotes(f) && !marker {
		c.out.Write(f)
		return
	}
	c.out.WriteByte('"')
	for {
		i := bytes.IndexByte(f, '"')
		if i < 0 {
			break
		}
		c.out.Write(f[:i+1])
		c.out.WriteByte('"')
		f = f[i+1:]
	}
	c.out.Write(f)
	c.out.WriteByte('"')
}

func (c *csvWriter) Close() error {
	if c.out == nil {
		return errors.New("csv writer is closed")
	}
	err := c.out.Flush()
	c.out = nil
	return err
}

// needsQuotes reports whether f contains a comma, a quote or a line break.
// It is the per-field test of every CSV row, so it scans the bytes itself:
// bytes.ContainsAny builds its set of characters again on each call.
func needsQuotes(f []byte) bool {
	for _, b := range f {
		switch b {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

// Package jsonl writes rows as JSON Lines: one JSON object per row on one
// line, with the view's column names as keys in column order.
//
// Values keep their type where JSON has one. Integer, numeric and
// floating-point values are JSON numbers with every digit PostgreSQL
// printed, so numeric values lose no precision in the file (a reader that
// parses numbers into float64 may still round them). NaN, Infinity and
// -Infinity have no JSON number and are written as the strings "NaN",
// "Infinity" and "-Infinity", or as null with the option non_finite set to
// null. Booleans are true or false; dates are 2024-01-02, timestamps
// 2024-01-02T03:04:05.123456 and timestamps with time zone
// 2024-01-02T03:04:05.123456Z (ISO 8601, in UTC), with infinity and
// -infinity as strings. json and jsonb values are embedded as JSON, and
// arrays become JSON arrays, nested for arrays of several dimensions,
// whose elements follow the same rules. Every other type is a JSON string
// of its PostgreSQL text.
package jsonl

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/axtract/axtract/internal/format"
)

// Options are the format_options of a JSON Lines feed.
type Options struct {
	// NonFinite is the JSON form of NaN and infinite numbers: string (the
	// default) or null.
	NonFinite string `json:"non_finite"`
	// OmitNulls leaves out the keys of NULL values instead of writing
	// null; false by default.
	OmitNulls bool `json:"omit_nulls"`
	// Extension is the file name suffix, .jsonl by default.
	Extension string `json:"extension"`
}

// Format is a configured JSON Lines format.
type Format struct {
	opts Options
}

// New returns a JSON Lines format configured by options, a JSON object of
// Options.
func New(options json.RawMessage) (format.Format, error) {
	opts := Options{NonFinite: "string", Extension: ".jsonl"}
	if err := format.DecodeOptions("jsonl format options", options, &opts); err != nil {
		return nil, err
	}
	switch opts.NonFinite {
	case "string", "null":
	default:
		return nil, fmt.Errorf("invalid jsonl format option non_finite %q: use string or null", opts.NonFinite)
	}
	if opts.Extension == "" || opts.Extension[0] != '.' || strings.ContainsAny(opts.Extension, "/\\") {
		return nil, fmt.Errorf("invalid jsonl format option extension %q: it must start with a point and contain no slash, such as .ndjson", opts.Extension)
	}
	return &Format{opts: opts}, nil
}

// Kind returns "jsonl".
func (f *Format) Kind() string { return "jsonl" }

// Extension returns the file name suffix.
func (f *Format) Extension() string { return f.opts.Extension }

// NewWriter starts a JSON Lines file on w.
func (f *Format) NewWriter(w io.Writer, cols []format.Column, _ format.Info) (format.Writer, error) {
	return newWriter(f, w, cols), nil
}

// Package formats builds a feed's file format from the names and options
// that axtract.feed stores in format and format_options.
package formats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/delimited"
	"github.com/axtract/axtract/internal/format/fhir"
	"github.com/axtract/axtract/internal/format/fixed"
	"github.com/axtract/axtract/internal/format/jsonl"
	"github.com/axtract/axtract/internal/format/parquet"
	"github.com/axtract/axtract/internal/format/x12"
)

// constructors maps each format name to the function that parses its
// options.
var constructors = map[string]func(json.RawMessage) (format.Format, error){
	"csv":       newCSV,
	"delimited": delimited.New,
	"fhir":      fhir.New,
	"fixed":     fixed.New,
	"jsonl":     jsonl.New,
	"parquet":   parquet.New,
	"x12-834":   x12.New,
}

// Kinds returns the format names New accepts, sorted.
func Kinds() []string {
	kinds := make([]string, 0, len(constructors))
	for k := range constructors {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

// New returns the format kind configured with options, a JSON object. Empty
// options mean the format's defaults. The error names the format and the
// invalid option.
func New(kind string, options json.RawMessage) (format.Format, error) {
	newFormat, ok := constructors[kind]
	if !ok {
		return nil, fmt.Errorf("unknown format %q; use one of %s", kind, strings.Join(Kinds(), ", "))
	}
	trimmed := bytes.TrimSpace(options)
	if len(trimmed) > 0 && trimmed[0] != '{' {
		return nil, fmt.Errorf("options of format %s must be a JSON object, not %s", kind, trimmed)
	}
	return newFormat(options)
}

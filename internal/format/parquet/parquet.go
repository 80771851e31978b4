// Package parquet writes a view's rows as an Apache Parquet file.
//
// The schema follows the view's columns: integers, floats, booleans, dates,
// timestamps, numerics and uuids get the matching Parquet physical and
// logical types, and every other type is a STRING of PostgreSQL's text.
// Every column is optional. Values are parsed from the COPY text exactly: a
// numeric becomes a DECIMAL with the same digits or the run fails, never a
// rounded float.
//
// The writer streams. It holds the current row group, whose pages are
// compressed as they fill, and writes the row group out when it reaches
// row_group_rows rows or row_group_bytes bytes of values. So memory is
// bounded by one row group, plus a page buffer per column, whatever the
// size of the file. docs/parquet.md
// is the user reference.
package parquet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/axtract/axtract/internal/format"
)

// Kind is the feed format name of Parquet.
const Kind = "parquet"

// Compression codecs.
const (
	CompressionZstd   = "zstd"
	CompressionSnappy = "snappy"
	CompressionGzip   = "gzip"
	CompressionNone   = "none"
)

// Ways to write numeric columns without a declared precision and scale.
const (
	// NumericDecimal writes them as DECIMAL(38,9). A value with more
	// digits, more than 9 of them nonzero after the point, or NaN fails the
	// run.
	NumericDecimal = "decimal"
	// NumericString writes them as STRING of PostgreSQL's text, which holds
	// every value.
	NumericString = "string"
)

// Ways to write uuid columns.
const (
	// UUIDLogical writes them as the UUID logical type: 16 bytes in a
	// FIXED_LEN_BYTE_ARRAY.
	UUIDLogical = "uuid"
	// UUIDString writes them as STRING of PostgreSQL's text, 36 characters.
	UUIDString = "string"
)

// Defaults of Options.
const (
	DefaultRowGroupRows  = 1_000_000
	DefaultRowGroupBytes = 128 << 20
	DefaultPageBytes     = 256 << 10
	DefaultZstdLevel     = 1
)

// Options are the format_options of a Parquet feed.
type Options struct {
	// Compression is the codec of every column: zstd (the default),
	// snappy, gzip or none.
	Compression string `json:"compression"`
	// CompressionLevel is the zstd level, from 1 (fastest) to 22 (smallest).
	// The encoder (klauspost/compress) has four speeds: levels 1 and 2 are
	// the fastest, 3 to 5 its default, 6 to 9 better and 10 to 22 best
	// compression. Default 1. Only zstd takes a level.
	CompressionLevel int `json:"compression_level"`
	// RowGroupRows is the maximum number of rows in one row group. Default
	// 1,000,000.
	RowGroupRows int64 `json:"row_group_rows"`
	// RowGroupBytes is the maximum size of one row group's values before
	// compression, in bytes, counted as Parquet's plain encoding stores
	// them (4 bytes for an INT32, the length plus 4 for a STRING). A row
	// group ends after the row that reaches either limit. It also bounds
	// the writer's memory. Default 128 MiB.
	RowGroupBytes int64 `json:"row_group_bytes"`
	// PageBytes is the size of the buffer in which each column's pages are
	// built, in bytes, before encoding and compression. Default 256 KiB.
	PageBytes int `json:"page_bytes"`
	// UnconstrainedNumeric sets how numeric columns without a declared
	// precision are written: "decimal" (the default, DECIMAL(38,9)) or
	// "string".
	UnconstrainedNumeric string `json:"unconstrained_numeric"`
	// UUID sets how uuid columns are written: "uuid" (the default, the
	// UUID logical type) or "string", for readers without UUID support.
	UUID string `json:"uuid"`
}

// optionKeys lists the JSON keys of Options, for the error on an unknown
// key.
var optionKeys = []string{
	"compression", "compression_level", "page_bytes", "row_group_bytes", "row_group_rows", "unconstrained_numeric", "uuid",
}

// Format is a configured Parquet format. It is safe for concurrent use,
// and each of its writers has its own compressor.
type Format struct {
	opts Options
}

var _ format.Format = (*Format)(nil)

// New parses a feed's format_options. Null, empty or {} take every default.
// An unknown key is an error that lists the valid ones.
func New(options json.RawMessage) (format.Format, error) {
	opts, err := parseOptions(options)
	if err != nil {
		return nil, err
	}
	return &Format{opts: opts}, nil
}

// Options returns the options with their defaults filled in.
func (f *Format) Options() Options { return f.opts }

// Kind returns "parquet".
func (f *Format) Kind() string { return Kind }

// Extension returns ".parquet".
func (f *Format) Extension() string { return ".parquet" }

// NewWriter starts a Parquet file on w. The file's key-value metadata
// records the feed, the partner and the run id.
func (f *Format) NewWriter(w io.Writer, cols []format.Column, info format.Info) (format.Writer, error) {
	return newWriter(w, cols, info, f.opts, newCodec(f.opts))
}

func parseOptions(raw json.RawMessage) (Options, error) {
	var opts Options
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &keys); err != nil {
			return opts, fmt.Errorf("parquet format_options: must be a JSON object: %w", err)
		}
		for key := range keys {
			if !slices.Contains(optionKeys, key) {
				return opts, fmt.Errorf("parquet format_options: unknown key %q; valid keys are %s",
					key, strings.Join(optionKeys, ", "))
			}
		}
		if err := json.Unmarshal(trimmed, &opts); err != nil {
			return opts, fmt.Errorf("parquet format_options: %w", err)
		}
	}

	if opts.Compression == "" {
		opts.Compression = CompressionZstd
	}
	if !slices.Contains(codecs, opts.Compression) {
		return opts, fmt.Errorf("parquet format_options: compression %q is invalid; use one of %s",
			opts.Compression, strings.Join(codecs, ", "))
	}
	switch {
	case opts.CompressionLevel == 0 && opts.Compression == CompressionZstd:
		opts.CompressionLevel = DefaultZstdLevel
	case opts.CompressionLevel != 0 && opts.Compression != CompressionZstd:
		return opts, fmt.Errorf("parquet format_options: compression_level applies only to zstd, not to %s; remove it",
			opts.Compression)
	case opts.CompressionLevel < 0 || opts.CompressionLevel > 22:
		return opts, fmt.Errorf("parquet format_options: compression_level %d is invalid; use a zstd level from 1 to 22",
			opts.CompressionLevel)
	}
	if opts.UnconstrainedNumeric == "" {
		opts.UnconstrainedNumeric = NumericDecimal
	}
	if opts.UnconstrainedNumeric != NumericDecimal && opts.UnconstrainedNumeric != NumericString {
		return opts, fmt.Errorf("parquet format_options: unconstrained_numeric %q is invalid; use %q or %q",
			opts.UnconstrainedNumeric, NumericDecimal, NumericString)
	}
	if opts.UUID == "" {
		opts.UUID = UUIDLogical
	}
	if opts.UUID != UUIDLogical && opts.UUID != UUIDString {
		return opts, fmt.Errorf("parquet format_options: uuid %q is invalid; use %q or %q", opts.UUID, UUIDLogical, UUIDString)
	}
	if opts.RowGroupRows == 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	if opts.RowGroupRows < 0 {
		return opts, fmt.Errorf("parquet format_options: row_group_rows %d is invalid; it must be positive", opts.RowGroupRows)
	}
	if opts.RowGroupBytes == 0 {
		opts.RowGroupBytes = DefaultRowGroupBytes
	}
	if opts.RowGroupBytes < 0 {
		return opts, fmt.Errorf("parquet format_options: row_group_bytes %d is invalid; it must be positive", opts.RowGroupBytes)
	}
	if opts.PageBytes == 0 {
		opts.PageBytes = DefaultPageBytes
	}
	// A page buffer below 1 KiB would only make pages of a handful of
	// values, and one above the row group limit could never fill.
	if opts.PageBytes < 1<<10 || int64(opts.PageBytes) > opts.RowGroupBytes {
		return opts, fmt.Errorf("parquet format_options: page_bytes %d is invalid; use 1024 to row_group_bytes (%d)",
			opts.PageBytes, opts.RowGroupBytes)
	}
	return opts, nil
}

// codecs are the valid values of Options.Compression.
var codecs = []string{CompressionGzip, CompressionNone, CompressionSnappy, CompressionZstd}

// newCodec returns the compressor of one file. opts has been validated.
func newCodec(opts Options) compress.Codec {
	switch opts.Compression {
	case CompressionSnappy:
		return &parquet.Snappy
	case CompressionGzip:
		return &parquet.Gzip
	case CompressionNone:
		return &parquet.Uncompressed
	}
	return newZstdCodec(opts.CompressionLevel, opts.PageBytes)
}

package parquet

import (
	"fmt"
	"io"
	"math/big"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/axtract/axtract/internal/format"
)

// writer writes one Parquet file. It is not safe for concurrent use.
type writer struct {
	out   *parquet.GenericWriter[any]
	cols  []column
	limit Options

	// columns holds each column's converted values of up to batchRows rows,
	// which are passed to parquet-go's column writers at once. That costs
	// less per row than one call a row, and less than handing parquet-go
	// rows, which it splits into columns by copying every value. arena holds
	// the bytes of the batch's strings and wide decimals, because the
	// caller reuses the fields.
	columns [][]parquet.Value
	batched int
	arena   []byte
	digits  []byte  // scratch for parseDecimal
	big     big.Int // scratch for wide decimals

	written    int64 // rows written to the file
	groupRows  int64 // rows in the current row group
	groupBytes int64 // plain-encoded bytes in the current row group
	err        error // the first error; every later call returns it
}

func newWriter(w io.Writer, cols []format.Column, info format.Info, opts Options, codec compress.Codec) (*writer, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("parquet: the view has no columns")
	}
	mapped := make([]column, len(cols))
	for i, col := range cols {
		c, err := mapColumn(col, opts)
		if err != nil {
			return nil, fmt.Errorf("parquet: %w", err)
		}
		mapped[i] = c
	}

	config := []parquet.WriterOption{
		buildSchema(mapped),
		parquet.Compression(codec),
		parquet.PageBufferSize(opts.PageBytes),
		// Version 1 data pages are the ones every reader supports.
		parquet.DataPageVersion(1),
		parquet.KeyValueMetadata("axtract.feed", info.Feed),
		parquet.KeyValueMetadata("axtract.partner", info.Partner),
		parquet.KeyValueMetadata("axtract.run_id", strconv.FormatInt(info.RunID, 10)),
	}
	columns := make([][]parquet.Value, len(mapped))
	for i := range columns {
		columns[i] = make([]parquet.Value, batchRows)
	}
	return &writer{
		out:     parquet.NewGenericWriter[any](w, config...),
		cols:    mapped,
		limit:   opts,
		columns: columns,
	}, nil
}

// batchRows is the number of rows passed to parquet-go in one call.
const batchRows = 64

// WriteRow converts one row and adds it to the current row group, which it
// writes out first when the row group is full.
func (w *writer) WriteRow(fields [][]byte) error {
	if w.err != nil {
		return w.err
	}
	if len(fields) != len(w.cols) {
		w.err = fmt.Errorf("parquet: row %d has %d fields, expected %d", w.written+1, len(fields), len(w.cols))
		return w.err
	}

	i := w.batched
	var size int64
	for j, f := range fields {
		if f == nil {
			w.columns[j][i] = parquet.NullValue().Level(0, 0, j)
			continue
		}
		v, n, err := w.value(&w.cols[j], f)
		if err != nil {
			// The error names the column and the row, never the value,
			// because values are member data.
			w.err = fmt.Errorf("parquet: column %q, row %d: %w", w.cols[j].name, w.written+1, err)
			return w.err
		}
		w.columns[j][i] = v.Level(0, 1, j)
		size += n
	}
	w.batched++
	w.written++
	w.groupRows++
	w.groupBytes += size

	full := w.groupRows >= w.limit.RowGroupRows || w.groupBytes >= w.limit.RowGroupBytes
	if w.batched == batchRows || full {
		if err := w.writeBatch(); err != nil {
			return err
		}
	}
	if full {
		if err := w.out.Flush(); err != nil {
			w.err = fmt.Errorf("parquet: write the row group ending at row %d: %w", w.written, err)
			return w.err
		}
		w.groupRows, w.groupBytes = 0, 0
	}
	return nil
}

// writeBatch passes the batched values to parquet-go's column writers,
// which copy them into their page buffers.
func (w *writer) writeBatch() error {
	if w.batched == 0 {
		return nil
	}
	for j, c := range w.out.ColumnWriters() {
		if _, err := c.WriteRowValues(w.columns[j][:w.batched]); err != nil {
			w.err = fmt.Errorf("parquet: write column %q of rows %d to %d: %w",
				w.cols[j].name, w.written-int64(w.batched)+1, w.written, err)
			return w.err
		}
	}
	w.batched = 0
	w.arena = w.arena[:0]
	return nil
}

// Close writes the last row group and the footer.
func (w *writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.writeBatch(); err != nil {
		return err
	}
	if err := w.out.Close(); err != nil {
		w.err = fmt.Errorf("parquet: write footer: %w", err)
		return w.err
	}
	w.err = fmt.Errorf("parquet: the writer is closed")
	return nil
}

// value converts one field's text and returns the value with its size in
// plain encoding.
func (w *writer) value(c *column, f []byte) (parquet.Value, int64, error) {
	switch c.kind {
	case kindString:
		start := len(w.arena)
		w.arena = append(w.arena, f...)
		return parquet.ByteArrayValue(w.arena[start:]), int64(len(f)) + 4, nil
	case kindBoolean:
		v, err := format.ParseBool(f)
		if err != nil {
			return parquet.Value{}, 0, fmt.Errorf("invalid boolean: %w", err)
		}
		return parquet.BooleanValue(v), 1, nil
	case kindInt16, kindInt32:
		bits := 32
		if c.kind == kindInt16 {
			bits = 16
		}
		n, err := parseInt(f, bits)
		if err != nil {
			return parquet.Value{}, 0, fmt.Errorf("invalid integer: %w", err)
		}
		return parquet.Int32Value(int32(n)), 4, nil
	case kindInt64:
		n, err := parseInt(f, 64)
		if err != nil {
			return parquet.Value{}, 0, fmt.Errorf("invalid bigint: %w", err)
		}
		return parquet.Int64Value(n), 8, nil
	case kindFloat:
		x, err := strconv.ParseFloat(string(f), 32)
		if err != nil {
			return parquet.Value{}, 0, fmt.Errorf("invalid real")
		}
		return parquet.FloatValue(float32(x)), 4, nil
	case kindDouble:
		x, err := strconv.ParseFloat(string(f), 64)
		if err != nil {
			return parquet.Value{}, 0, fmt.Errorf("invalid double precision")
		}
		return parquet.DoubleValue(x), 8, nil
	case kindDate:
		days, err := parseDate(f)
		if err != nil {
			return parquet.Value{}, 0, fmt.Errorf("invalid date for Parquet DATE: %w", err)
		}
		return parquet.Int32Value(days), 4, nil
	case kindTimestamp:
		micros, err := parseTimestamp(f, c.withZone)
		if err != nil {
			return parquet.Value{}, 0, fmt.Errorf("invalid timestamp for Parquet TIMESTAMP: %w", err)
		}
		return parquet.Int64Value(micros), 8, nil
	case kindUUID:
		start := len(w.arena)
		var ok bool
		if w.arena, ok = appendUUID(w.arena, f); !ok {
			return parquet.Value{}, 0, fmt.Errorf("invalid uuid")
		}
		return parquet.FixedLenByteArrayValue(w.arena[start:]), 16, nil
	default:
		return w.decimalValue(c, f)
	}
}

func (w *writer) decimalValue(c *column, f []byte) (parquet.Value, int64, error) {
	d, err := scaleDecimal(w.digits, f, c.scale)
	w.digits = d.digits
	if err == nil && len(d.digits) > c.precision {
		err = errRange
	}
	if err != nil {
		return parquet.Value{}, 0, fmt.Errorf("numeric does not fit DECIMAL(%d,%d): %w", c.precision, c.scale, err)
	}
	switch c.kind {
	case kindDecimal32:
		// At most 9 digits always fit in an int32.
		return parquet.Int32Value(int32(d.int64())), 4, nil
	case kindDecimal64:
		return parquet.Int64Value(d.int64()), 8, nil
	default:
		start := len(w.arena)
		w.arena = d.appendFixed(w.arena, c.size, &w.big)
		return parquet.FixedLenByteArrayValue(w.arena[start:]), int64(c.size), nil
	}
}

package parquet

import (
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/axtract/axtract/internal/format"
)

// kind is the conversion of one column's text to a Parquet value.
type kind int

const (
	kindString kind = iota
	kindBoolean
	kindInt16
	kindInt32
	kindInt64
	kindFloat
	kindDouble
	kindDecimal32
	kindDecimal64
	kindDecimalFixed
	kindDate
	kindTimestamp
	kindUUID
)

// column is one view column and its Parquet encoding.
type column struct {
	name string
	kind kind
	node parquet.Node
	// scale and precision are those of a DECIMAL column, and size is the
	// byte length of a FIXED_LEN_BYTE_ARRAY decimal.
	scale, precision, size int
	// withZone marks a timestamp with time zone.
	withZone bool
}

// PostgreSQL type OIDs, from pg_type.dat.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidFloat4      = 700
	oidFloat8      = 701
	oidDate        = 1082
	oidTimestamp   = 1114
	oidTimestampTZ = 1184
	oidNumeric     = 1700
	oidUUID        = 2950
)

// Parquet stores decimals of up to 9 digits in INT32 and up to 18 in INT64.
const (
	maxInt32Precision = 9
	maxInt64Precision = 18
)

// mapColumn chooses the Parquet type of a view column. Every column is
// optional, because PostgreSQL records no NOT NULL for a view's columns.
func mapColumn(col format.Column, opts Options) (column, error) {
	c := column{name: col.Name}
	switch col.OID {
	case oidBool:
		c.kind, c.node = kindBoolean, parquet.Leaf(parquet.BooleanType)
	case oidInt2:
		c.kind, c.node = kindInt16, parquet.Int(16)
	case oidInt4:
		c.kind, c.node = kindInt32, parquet.Int(32)
	case oidInt8:
		c.kind, c.node = kindInt64, parquet.Int(64)
	case oidFloat4:
		c.kind, c.node = kindFloat, parquet.Leaf(parquet.FloatType)
	case oidFloat8:
		c.kind, c.node = kindDouble, parquet.Leaf(parquet.DoubleType)
	case oidDate:
		c.kind, c.node = kindDate, parquet.Date()
	case oidTimestamp:
		c.kind, c.node = kindTimestamp, parquet.TimestampAdjusted(parquet.Microsecond, false)
	case oidTimestampTZ:
		c.kind, c.node = kindTimestamp, parquet.TimestampAdjusted(parquet.Microsecond, true)
		c.withZone = true
	case oidUUID:
		if opts.UUID == UUIDString {
			c.kind, c.node = kindString, parquet.String()
			break
		}
		c.kind, c.node = kindUUID, parquet.UUID()
	case oidNumeric:
		precision, scale, ok, err := numericTypmod(col.Type)
		if err != nil {
			return c, fmt.Errorf("column %q: %w", col.Name, err)
		}
		if !ok {
			if opts.UnconstrainedNumeric == NumericString {
				c.kind, c.node = kindString, parquet.String()
				break
			}
			precision, scale = unconstrainedPrecision, unconstrainedScale
		}
		c.setDecimal(precision, scale)
	default:
		// Text types, json, arrays and everything else keep
		// PostgreSQL's text form.
		c.kind, c.node = kindString, parquet.String()
	}
	c.node = parquet.Optional(c.node)
	return c, nil
}

// The DECIMAL type of numeric columns without a declared precision, when
// unconstrained_numeric is "decimal".
const (
	unconstrainedPrecision = 38
	unconstrainedScale     = 9
)

// setDecimal makes c a DECIMAL column that holds every value of
// numeric(precision, scale). PostgreSQL 15 allows a negative scale and a
// scale larger than the precision, which Parquet does not, so those widen
// to the smallest DECIMAL that holds the same values.
func (c *column) setDecimal(precision, scale int) {
	switch {
	case scale < 0:
		precision, scale = precision-scale, 0
	case scale > precision:
		precision = scale
	}
	c.precision, c.scale = precision, scale
	switch {
	case precision <= maxInt32Precision:
		c.kind, c.node = kindDecimal32, parquet.Decimal(scale, precision, parquet.Int32Type)
	case precision <= maxInt64Precision:
		c.kind, c.node = kindDecimal64, parquet.Decimal(scale, precision, parquet.Int64Type)
	default:
		c.size = decimalSize(precision)
		c.kind, c.node = kindDecimalFixed, parquet.Decimal(scale, precision, parquet.FixedLenByteArrayType(c.size))
	}
}

// decimalSize returns the fewest bytes whose two's complement holds every
// integer of precision digits.
func decimalSize(precision int) int {
	largest := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil)
	largest.Sub(largest, big.NewInt(1))
	// BitLen counts the magnitude's bits, and the sign takes one more.
	return (largest.BitLen() + 1 + 7) / 8
}

// numericTypmod reads the precision and scale from a format_type name such
// as "numeric(12,2)". ok is false for "numeric" without a modifier.
func numericTypmod(typ string) (precision, scale int, ok bool, err error) {
	open := strings.IndexByte(typ, '(')
	if open < 0 {
		return 0, 0, false, nil
	}
	inner, found := strings.CutSuffix(typ[open+1:], ")")
	if !found {
		return 0, 0, false, fmt.Errorf("cannot read the precision and scale of type %q", typ)
	}
	p, s, _ := strings.Cut(inner, ",")
	precision, err = strconv.Atoi(strings.TrimSpace(p))
	if err != nil || precision < 1 {
		return 0, 0, false, fmt.Errorf("cannot read the precision and scale of type %q", typ)
	}
	if s != "" {
		scale, err = strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, 0, false, fmt.Errorf("cannot read the precision and scale of type %q", typ)
		}
	}
	return precision, scale, true, nil
}

// buildSchema returns the Parquet schema of cols, with the fields in the
// view's column order.
func buildSchema(cols []column) *parquet.Schema {
	fields := make([]parquet.Field, len(cols))
	for i, c := range cols {
		fields[i] = field{Node: c.node, name: c.name}
	}
	return parquet.NewSchema("schema", orderedGroup{Group: parquet.Group{}, fields: fields})
}

// orderedGroup is a group node whose fields keep the order they were given
// in. parquet.Group is a map and sorts its fields by name, which would
// reorder the view's columns.
type orderedGroup struct {
	parquet.Group
	fields []parquet.Field
}

func (g orderedGroup) Fields() []parquet.Field { return g.fields }

func (g orderedGroup) String() string { return fmt.Sprintf("group with %d fields", len(g.fields)) }

// field names a node inside orderedGroup. Value serves the reflection-based
// writers of parquet-go, which this package does not use.
type field struct {
	parquet.Node
	name string
}

func (f field) Name() string { return f.name }

func (f field) Value(reflect.Value) reflect.Value { return reflect.Value{} }

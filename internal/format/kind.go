package format

// Kind groups column types by how writers format their values.
type Kind int

// The kinds of column types. Types not listed, such as uuid, time,
// interval and bytea, are KindText: writers pass their PostgreSQL text on
// unchanged.
const (
	KindText        Kind = iota
	KindInteger          // smallint, integer, bigint, oid
	KindNumeric          // numeric
	KindFloat            // real, double precision
	KindBoolean          // boolean, printed t or f
	KindDate             // date
	KindTimestamp        // timestamp without time zone
	KindTimestamptz      // timestamp with time zone, printed in UTC
	KindJSON             // json, jsonb
	KindArray            // any array; ElementKind returns the elements' kind
)

// Object ids of the built-in types the writers format.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidOID         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidDate        = 1082
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidNumeric     = 1700
	oidJSONB       = 3802
)

// arrayElements maps the object ids of built-in array types to the ids of
// their element types.
var arrayElements = map[uint32]uint32{
	1000: oidBool,
	1005: oidInt2,
	1007: oidInt4,
	1016: oidInt8,
	1028: oidOID,
	199:  oidJSON,
	3807: oidJSONB,
	1021: oidFloat4,
	1022: oidFloat8,
	1182: oidDate,
	1115: oidTimestamp,
	1185: oidTimestamptz,
	1231: oidNumeric,
	1009: 25,   // text
	1015: 1043, // character varying
	1014: 1042, // character
	1002: 18,   // "char"
	1003: 19,   // name
	2951: 2950, // uuid
	1183: 1083, // time
	1187: 1186, // interval
	1001: 17,   // bytea
}

// KindOf returns the kind of a column's type.
func KindOf(c Column) Kind {
	if _, ok := arrayElements[c.OID]; ok {
		return KindArray
	}
	if k := kindOfOID(c.OID); k != KindText {
		return k
	}
	// Arrays of types without a fixed id, such as enums, still print in
	// array syntax.
	if n := len(c.Type); n > 2 && c.Type[n-2:] == "[]" {
		return KindArray
	}
	return KindText
}

// ElementKind returns the kind of the elements of an array column, and
// KindText for arrays of other types and for columns that are not arrays.
func ElementKind(c Column) Kind {
	if elem, ok := arrayElements[c.OID]; ok {
		return kindOfOID(elem)
	}
	return KindText
}

func kindOfOID(oid uint32) Kind {
	switch oid {
	case oidInt2, oidInt4, oidInt8, oidOID:
		return KindInteger
	case oidNumeric:
		return KindNumeric
	case oidFloat4, oidFloat8:
		return KindFloat
	case oidBool:
		return KindBoolean
	case oidDate:
		return KindDate
	case oidTimestamp:
		return KindTimestamp
	case oidTimestamptz:
		return KindTimestamptz
	case oidJSON, oidJSONB:
		return KindJSON
	}
	return KindText
}

// String returns the kind's name as docs and error messages use it.
func (k Kind) String() string {
	switch k {
	case KindInteger:
		return "integer"
	case KindNumeric:
		return "numeric"
	case KindFloat:
		return "float"
	case KindBoolean:
		return "boolean"
	case KindDate:
		return "date"
	case KindTimestamp:
		return "timestamp"
	case KindTimestamptz:
		return "timestamptz"
	case KindJSON:
		return "json"
	case KindArray:
		return "array"
	}
	return "text"
}

package synthea

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// kind is the type of one staged column: its PostgreSQL type and the parser
// that turns a non-empty CSV field into a value pgx can encode in binary COPY.
// A parser returns nil for a field that means NULL, or an error that
// describes what the field should look like. The error never repeats the
// field, because it may hold a member's data.
type kind struct {
	sqlType string
	parse   func(field string) (any, error)
}

var (
	textKind      = kind{"text", func(field string) (any, error) { return field, nil }}
	uuidKind      = kind{"uuid", parseUUID}
	dateKind      = kind{"date", parseDate}
	timestampKind = kind{"timestamptz", parseTimestamp}
	dayKind       = kind{"date", parseDay}
	integerKind   = kind{"integer", parseInteger}
	floatKind     = kind{"double precision", parseFloat}

	// payerRefKind is a payer id in claims.csv, where 0 means no payer.
	payerRefKind = kind{"uuid", func(field string) (any, error) {
		if field == "0" {
			return nil, nil
		}
		return parseUUID(field)
	}}

	// claimTypeKind maps HEALTHCARECLAIMTYPEID1 to mart.claim.claim_type.
	claimTypeKind = kind{"text", func(field string) (any, error) {
		switch field {
		case "1":
			return "professional", nil
		case "2":
			return "institutional", nil
		}
		return nil, errors.New("not a claim type, expected 1 (professional) or 2 (institutional)")
	}}
)

// numericKind is a decimal number that must fit numeric(precision, scale)
// once PostgreSQL rounds it to scale digits. A precision of 0 means numeric
// without limits.
func numericKind(precision, scale int) kind {
	return kind{"numeric", func(field string) (any, error) {
		return parseDecimal(field, precision-scale)
	}}
}

func parseUUID(field string) (any, error) {
	var id pgtype.UUID
	if err := decodeUUID(field, &id.Bytes); err != nil {
		return nil, err
	}
	id.Valid = true
	return id, nil
}

// decodeUUID accepts the 8-4-4-4-12 hexadecimal form in either case. Synthea
// ids do not carry valid RFC 9562 version bits, so none are checked.
func decodeUUID(field string, dst *[16]byte) error {
	const form = "not a UUID in 8-4-4-4-12 hexadecimal form"
	if len(field) != 36 || field[8] != '-' || field[13] != '-' || field[18] != '-' || field[23] != '-' {
		return errors.New(form)
	}
	var digits [32]byte
	copy(digits[0:8], field[0:8])
	copy(digits[8:12], field[9:13])
	copy(digits[12:16], field[14:18])
	copy(digits[16:20], field[19:23])
	copy(digits[20:32], field[24:36])
	if _, err := hex.Decode(dst[:], digits[:]); err != nil {
		return errors.New(form)
	}
	return nil
}

func parseDate(field string) (any, error) {
	t, err := time.Parse(time.DateOnly, field)
	if err != nil {
		return nil, errors.New("not a valid calendar date in YYYY-MM-DD form")
	}
	return pgtype.Date{Time: t, Valid: true}, nil
}

func parseTimestamp(field string) (any, error) {
	t, err := time.Parse(time.RFC3339, field)
	if err != nil {
		return nil, errors.New("not a timestamp in RFC 3339 form such as 2023-01-27T16:17:47Z")
	}
	return t, nil
}

// parseDay accepts a date or a timestamp and keeps the calendar date in UTC,
// for columns that Synthea writes as timestamps and the mart stores as dates.
func parseDay(field string) (any, error) {
	if len(field) == len(time.DateOnly) {
		return parseDate(field)
	}
	t, err := time.Parse(time.RFC3339, field)
	if err != nil {
		return nil, errors.New("not a date in YYYY-MM-DD form or a timestamp in RFC 3339 form")
	}
	y, m, d := t.UTC().Date()
	return pgtype.Date{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Valid: true}, nil
}

func parseInteger(field string) (any, error) {
	n, err := strconv.ParseInt(field, 10, 32)
	if err != nil {
		return nil, errors.New("not an integer between -2147483648 and 2147483647")
	}
	return int32(n), nil
}

func parseFloat(field string) (any, error) {
	// ParseFloat also accepts hexadecimal, "Inf" and "NaN", which no
	// coordinate in an export should be.
	if strings.IndexFunc(field, func(r rune) bool { return !strings.ContainsRune("0123456789+-.eE", r) }) >= 0 {
		return nil, errors.New("not a decimal number")
	}
	f, err := strconv.ParseFloat(field, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, errors.New("not a decimal number")
	}
	return f, nil
}

// parseDecimal accepts an optional minus sign, digits and an optional
// fraction, such as 77.49 or -0.5. With maxIntDigits > 0 it rejects numbers
// with more digits before the decimal point than the column can store.
func parseDecimal(field string, maxIntDigits int) (any, error) {
	digits := strings.TrimPrefix(field, "-")
	whole, fraction, hasPoint := strings.Cut(digits, ".")
	if whole == "" || (hasPoint && fraction == "") || !allDigits(whole) || !allDigits(fraction) {
		return nil, errors.New("not a decimal number such as 77.49")
	}
	if significant := strings.TrimLeft(whole, "0"); maxIntDigits > 0 && len(significant) > maxIntDigits {
		return nil, fmt.Errorf("out of range, expected at most %d digits before the decimal point", maxIntDigits)
	}

	mantissa, ok := new(big.Int).SetString(whole+fraction, 10)
	if !ok {
		return nil, errors.New("not a decimal number such as 77.49")
	}
	if len(digits) != len(field) {
		mantissa.Neg(mantissa)
	}
	return pgtype.Numeric{Int: mantissa, Exp: -int32(len(fraction)), Valid: true}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

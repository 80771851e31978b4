package format

import "errors"

// ParseBool parses a boolean as PostgreSQL prints it: t or f.
func ParseBool(b []byte) (bool, error) {
	switch string(b) {
	case "t":
		return true, nil
	case "f":
		return false, nil
	}
	return false, errors.New("parse boolean: invalid syntax: expected t or f")
}

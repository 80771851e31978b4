package partner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// CheckJSON returns nil when data is one valid JSON value, or an error that
// names label and where the parser stopped, by line and column.
func CheckJSON(label string, data []byte) error {
	var v any
	err := json.Unmarshal(data, &v)
	if err == nil {
		return nil
	}
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		return fmt.Errorf("%s is not valid JSON: %v", label, err)
	}
	// Offset counts the bytes read, the offending one included; at the end
	// of the input it points just past the last byte.
	at := min(int(syntax.Offset), len(data))
	if syntax.Error() != "unexpected end of JSON input" && at > 0 {
		at--
	}
	before := data[:at]
	line := bytes.Count(before, []byte("\n")) + 1
	column := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("%s is not valid JSON: %v, at line %d, column %d", label, syntax, line, column)
}

package partner

import (
	"strings"
	"testing"
)

func TestCheckJSONNamesPosition(t *testing.T) {
	if err := CheckJSON("spec", []byte(`{"a": [1, 2]}`)); err != nil {
		t.Errorf("valid JSON: %v", err)
	}
	for input, want := range map[string]string{
		"{\"dataset\": \"members\",":           "spec is not valid JSON: unexpected end of JSON input, at line 1, column 23",
		"{\n  \"columns\": [\"a\",, \"b\"]\n}": "at line 2, column 19",
		"{\"a\": 1}\n{\"b\": 2}":               "at line 2, column 1",
		"{\"a\":}":                             "at line 1, column 6",
	} {
		err := CheckJSON("spec", []byte(input))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckJSON(%q) = %v, want an error containing %q", input, err, want)
		}
	}
}

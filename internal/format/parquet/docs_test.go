package parquet

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocumentedOptions checks that every feed options example in
// docs/parquet.md is accepted and that its table lists every option.
func TestDocumentedOptions(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../../docs/parquet.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := 0
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1) {
		var example struct {
			Format        string          `json:"format"`
			FormatOptions json.RawMessage `json:"format_options"`
		}
		if err := json.Unmarshal(m[1], &example); err != nil {
			t.Errorf("example %s is not valid JSON: %v", m[1], err)
			continue
		}
		if example.Format != Kind {
			t.Errorf("example %s has format %q, want parquet", m[1], example.Format)
		}
		if _, err := New(example.FormatOptions); err != nil {
			t.Errorf("example %s: %v", m[1], err)
		}
		examples++
	}
	if examples == 0 {
		t.Error("docs/parquet.md has no feed options example")
	}
	for _, key := range optionKeys {
		if !strings.Contains(string(doc), "| `"+key+"` |") {
			t.Errorf("the options table of docs/parquet.md has no row for %s", key)
		}
	}
}

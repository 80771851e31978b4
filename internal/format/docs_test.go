package format_test

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/delimited"
	"github.com/axtract/axtract/internal/format/fixed"
	"github.com/axtract/axtract/internal/format/jsonl"
)

// TestDocumentedOptionsAreValid checks that every feed options example in
// docs/formats.md is accepted by its format.
func TestDocumentedOptionsAreValid(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/formats.md")
	if err != nil {
		t.Fatal(err)
	}
	constructors := map[string]func(json.RawMessage) (format.Format, error){
		"delimited": delimited.New,
		"fixed":     fixed.New,
		"jsonl":     jsonl.New,
	}
	checked := map[string]int{}
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1) {
		var example struct {
			Format        string          `json:"format"`
			FormatOptions json.RawMessage `json:"format_options"`
		}
		if err := json.Unmarshal(m[1], &example); err != nil || example.Format == "" {
			continue // a sample of output, not feed options
		}
		newFormat, ok := constructors[example.Format]
		if !ok {
			t.Errorf("example of unknown format %q", example.Format)
			continue
		}
		if _, err := newFormat(example.FormatOptions); err != nil {
			t.Errorf("documented %s options are rejected: %v\n%s", example.Format, err, m[1])
		}
		checked[example.Format]++
	}
	for kind := range constructors {
		if checked[kind] == 0 {
			t.Errorf("docs/formats.md has no example of %s options", kind)
		}
	}
}

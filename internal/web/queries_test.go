package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// operationPattern finds GraphQL documents in the portal's JavaScript: the
// string literals that start with query, mutation or fragment.
var operationPattern = regexp.MustCompile("[`']((?:query|mutation|fragment) [^`']*)[`']")

var fragmentName = regexp.MustCompile(`^fragment (\w+)`)
var fragmentSpread = regexp.MustCompile(`\.\.\.(\w+)`)

// TestPortalQueriesMatchSchema validates every operation of the portal's
// JavaScript against graph/schema.graphqls, so a renamed field fails here
// rather than in a browser.
func TestPortalQueriesMatchSchema(t *testing.T) {
	schemaText, err := os.ReadFile(filepath.Join("..", "..", "graph", "schema.graphqls"))
	if err != nil {
		t.Fatalf("read the GraphQL schema: %v", err)
	}
	schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(schemaText)})
	if gqlErr != nil {
		t.Fatalf("parse the GraphQL schema: %v", gqlErr)
	}

	files, err := filepath.Glob(filepath.Join("..", "..", "portal", "static", "assets", "js", "pages", "*.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no page modules found: %v", err)
	}
	operations := 0
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fragments := map[string]string{}
		var ops []string
		for _, m := range operationPattern.FindAllStringSubmatch(string(body), -1) {
			doc := m[1]
			if name := fragmentName.FindStringSubmatch(doc); name != nil {
				fragments[name[1]] = doc
			} else {
				ops = append(ops, doc)
			}
		}
		for _, op := range ops {
			operations++
			doc := op + "\n" + usedFragments(op, fragments)
			if _, errs := gqlparser.LoadQueryWithRules(schema, doc, rules.NewDefaultRules()); errs != nil {
				t.Errorf("%s: operation does not match the schema: %v\n%s", filepath.Base(file), errs, firstLine(op))
			}
		}
	}
	if operations < 10 {
		t.Errorf("found %d operations in the pages, want at least 10: has the pattern stopped matching?", operations)
	}
}

// usedFragments returns the fragments that doc spreads, directly or
// through other fragments, joined into one text.
func usedFragments(doc string, fragments map[string]string) string {
	seen := map[string]bool{}
	var out []string
	var visit func(text string)
	visit = func(text string) {
		for _, m := range fragmentSpread.FindAllStringSubmatch(text, -1) {
			f, ok := fragments[m[1]]
			if !ok || seen[m[1]] {
				continue
			}
			seen[m[1]] = true
			out = append(out, f)
			visit(f)
		}
	}
	visit(doc)
	return strings.Join(out, "\n")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

func TestLimitsRejectBeforeExecution(t *testing.T) {
	b := setup(t)
	deep := `{ run(id: "1") { feed { partner { feeds { edges { node { partner { feeds { edges { node { partner { feeds { edges { node { name } } } } } } } } } } } } } } }`
	var aliases strings.Builder
	aliases.WriteString("{")
	for i := range 31 {
		fmt.Fprintf(&aliases, " a%d: me { login }", i)
	}
	aliases.WriteString(" }")
	wide := `{ partners(first: 100) { edges { node { feeds(first: 100) { edges { node { runs(first: 100) { edges { node { id } } } } } } } } } }`
	viaFragment := `query { ...F } fragment F on Query { run(id: "1") { feed { partner { feeds { edges { node { partner { feeds { edges { node { partner { feeds { edges { node { name } } } } } } } } } } } } } } }`

	cases := map[string]string{"deep": deep, "aliased": aliases.String(), "wide": wide, "deep through a fragment": viaFragment}
	for name, q := range cases {
		before := b.h.rootCalls.Load()
		r := b.do(t, admin, q, nil)
		if !r.hasCode(string(CodeLimitExceeded)) {
			t.Errorf("%s query: codes %v, want LIMIT_EXCEEDED", name, r.codes())
		}
		if string(r.Data) != "" && string(r.Data) != "null" {
			t.Errorf("%s query returned data %s", name, r.Data)
		}
		if calls := b.h.rootCalls.Load() - before; calls != 0 {
			t.Errorf("%s query ran %d root resolvers before it was rejected", name, calls)
		}
	}

	// Just under the limits runs.
	b.ok(t, admin, `{ partners(first: 10) { edges { node { feeds(first: 10) { edges { node { runs(first: 10) { edges { node { id } } } } } } } } } }`, nil)
	if b.h.rootCalls.Load() == 0 {
		t.Error("a query within the limits ran no resolver")
	}
}

func TestBatchLimits(t *testing.T) {
	b := setup(t)
	op := map[string]any{"query": `{ me { login } }`}
	batch := func(n int) []byte {
		ops := make([]any, n)
		for i := range ops {
			ops[i] = op
		}
		body, _ := json.Marshal(ops)
		return body
	}

	var list []response
	rec := b.rawPost(t, admin, batch(3))
	if err := json.Unmarshal(rec, &list); err != nil || len(list) != 3 {
		t.Fatalf("batch of 3 = %s, want 3 responses", rec)
	}

	before := b.h.rootCalls.Load()
	r := b.post(t, admin, batch(11))
	if r.status != http.StatusBadRequest || !r.hasCode(string(CodeLimitExceeded)) {
		t.Errorf("batch of 11: status %d codes %v, want 400 LIMIT_EXCEEDED", r.status, r.codes())
	}
	if b.h.rootCalls.Load() != before {
		t.Error("an over-long batch ran resolvers")
	}

	many := "{" + strings.Repeat(" __typename", 10001) + " }"
	if r := b.do(t, admin, many, nil); !r.hasCode(string(CodeLimitExceeded)) {
		t.Errorf("10,001 tokens: codes %v, want LIMIT_EXCEEDED", r.codes())
	}
	if b.h.rootCalls.Load() != before {
		t.Error("a query over the token limit ran resolvers")
	}

	big := bytes.Repeat([]byte(" "), 2<<20)
	big = append(big, []byte(`{"query": "{ me { login } }"}`)...)
	r = b.post(t, admin, big)
	if r.status != http.StatusRequestEntityTooLarge || !r.hasCode(string(CodeLimitExceeded)) {
		t.Errorf("2 MiB body: status %d codes %v, want 413 LIMIT_EXCEEDED", r.status, r.codes())
	}
	if b.h.rootCalls.Load() != before {
		t.Error("an oversized body ran resolvers")
	}
}

func TestParseErrorsAreValidation(t *testing.T) {
	b := setup(t)
	for _, q := range []string{`{ me { login `, `{ noSuchField }`, `query($x: Int!) { me { login } }`} {
		r := b.do(t, admin, q, nil)
		if !r.hasCode(string(CodeValidation)) {
			t.Errorf("%q: codes %v, want VALIDATION", q, r.codes())
		}
	}
}

// TestComplexityCoversLists checks that every list field of the schema has
// a complexity function, so no list escapes the first/limit multiplier.
func TestComplexityCoversLists(t *testing.T) {
	b := setup(t)
	schema := b.h.schema.Schema()
	root := reflect.ValueOf(newComplexity())
	for name, def := range schema.Types {
		if def.Kind != ast.Object || strings.HasPrefix(name, "__") {
			continue
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			isList := f.Type.Elem != nil
			isConnection := strings.HasSuffix(f.Type.Name(), "Connection")
			if !isList && !isConnection {
				continue
			}
			if name == "PreviewColumn" || name == "ViewPreview" || strings.HasSuffix(name, "Connection") {
				continue // bounded by the parent's limit
			}
			typ := root.FieldByName(name)
			if !typ.IsValid() {
				t.Errorf("no complexity struct for type %s", name)
				continue
			}
			fn := typ.FieldByName(strings.ToUpper(f.Name[:1]) + f.Name[1:])
			if !fn.IsValid() || fn.IsNil() {
				t.Errorf("list field %s.%s has no complexity function", name, f.Name)
			}
		}
	}
}

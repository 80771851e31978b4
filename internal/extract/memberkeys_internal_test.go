package extract

import (
	"slices"
	"testing"
)

// rowsWriter counts the rows it receives, and leaves out the rows whose
// first field is "skip" (format.Skipper).
type rowsWriter struct {
	rows    int
	skipped bool
}

func (w *rowsWriter) WriteRow(fields [][]byte) error {
	w.rows++
	w.skipped = len(fields) > 0 && string(fields[0]) == "skip"
	return nil
}
func (w *rowsWriter) Close() error     { return nil }
func (w *rowsWriter) RowSkipped() bool { return w.skipped }

func TestKeyCollector(t *testing.T) {
	const a, b = "0b6c3f1e-2d4a-4c8b-9e7f-1a2b3c4d5e6f", "00000000-0000-4000-8000-000000000002"
	row := func(key []byte) [][]byte { return [][]byte{[]byte("x"), key} }
	cases := []struct {
		name     string
		keys     [][]byte
		limit    int
		complete bool
		distinct int
	}{
		{"distinct keys", [][]byte{[]byte(a), []byte(b), []byte(a)}, 10, true, 2},
		{"NULL key", [][]byte{[]byte(a), nil, []byte(b)}, 10, false, 0},
		{"not a UUID", [][]byte{[]byte(a), []byte("not-a-uuid")}, 10, false, 0},
		{"upper case", [][]byte{[]byte("0B6C3F1E-2D4A-4C8B-9E7F-1A2B3C4D5E6F")}, 10, true, 1},
		{"over the limit", [][]byte{[]byte(a), []byte(b)}, 1, false, 0},
	}
	for _, c := range cases {
		next := &rowsWriter{}
		k := newKeyCollector(next, 1, "member_id", c.limit)
		for _, key := range c.keys {
			if err := k.WriteRow(row(key)); err != nil {
				t.Fatal(err)
			}
		}
		if next.rows != len(c.keys) {
			t.Errorf("%s: %d rows passed on, want %d", c.name, next.rows, len(c.keys))
		}
		if k.complete() != c.complete {
			t.Errorf("%s: complete = %v, want %v", c.name, k.complete(), c.complete)
		}
		if c.complete && len(k.list()) != c.distinct {
			t.Errorf("%s: %d keys, want %d", c.name, len(k.list()), c.distinct)
		}
	}

	// A row the writer leaves out adds no key.
	skipping := newKeyCollector(&rowsWriter{}, 1, "member_id", 10)
	for _, r := range [][][]byte{{[]byte("skip"), []byte(a)}, {[]byte("x"), []byte(b)}} {
		if err := skipping.WriteRow(r); err != nil {
			t.Fatal(err)
		}
	}
	idB, _ := parseUUID([]byte(b))
	if got := skipping.list(); !skipping.complete() || !slices.Equal(got, [][16]byte{idB}) {
		t.Errorf("keys with a skipped row = %x, want only %x", got, idB)
	}

	var none *keyCollector
	if none.complete() {
		t.Error("a part without a collector counts as complete")
	}
	k := newKeyCollector(&rowsWriter{}, 0, "member_id", 10)
	_ = k.WriteRow([][]byte{[]byte(a)})
	id, _ := parseUUID([]byte(a))
	if got := k.list(); !slices.Equal(got, [][16]byte{id}) {
		t.Errorf("list = %x, want %x", got, id)
	}
}

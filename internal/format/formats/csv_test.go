package formats_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/formats"
	"github.com/axtract/axtract/internal/pgtest"
)

// TestCSVWriterMatchesCopy checks that the csv writer, fed from COPY's text
// format, writes the bytes that COPY's own CSV output has, for values that
// need quoting, NULL, the empty string and the end-of-data marker.
func TestCSVWriterMatchesCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	_, err = conn.Exec(ctx, `CREATE TEMP TABLE tricky ("plain" int, "with, comma" text, "quote""d" text);
		INSERT INTO tricky VALUES
			(1, 'a,b', 'say "hi"'), (2, E'two\nlines', E'cr\rhere'), (3, '', NULL), (NULL, '\.', 'tab	in'),
			(5, 'ünïcode', ' spaced ')`)
	if err != nil {
		t.Fatal(err)
	}

	_, err = conn.Exec(ctx, `CREATE TEMP TABLE single (v text); INSERT INTO single VALUES ('\.'), ('x'), (NULL), ('')`)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"tricky", "single"} {
		got, want := csvOfTable(t, conn, table)
		if got != want {
			t.Errorf("table %s: csv writer output:\n%q\nCOPY CSV output:\n%q", table, got, want)
		}
	}
}

// csvOfTable returns table as the csv writer writes it from COPY's text
// format, and as COPY writes it in CSV.
func csvOfTable(t *testing.T, conn *pgxpool.Conn, table string) (string, string) {
	t.Helper()
	ctx := context.Background()
	var want bytes.Buffer
	if _, err := conn.Conn().PgConn().CopyTo(ctx, &want, `COPY `+table+` TO STDOUT WITH (FORMAT csv, HEADER true)`); err != nil {
		t.Fatal(err)
	}
	cols, err := format.ColumnsOf(ctx, conn, table)
	if err != nil {
		t.Fatal(err)
	}
	form, err := formats.New("csv", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	w, err := form.NewWriter(&got, cols, format.Info{})
	if err != nil {
		t.Fatal(err)
	}
	dec := format.NewDecoder(w, len(cols))
	if _, err := conn.Conn().PgConn().CopyTo(ctx, dec, `COPY `+table+` TO STDOUT`); err != nil {
		t.Fatal(err)
	}
	if err := dec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return got.String(), want.String()
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kind, options, wantText string
	}{
		{"xlsx", `{}`, `unknown format "xlsx"`},
		{"csv", `{"delimiter": "|"}`, `"delimiter"`},
		{"jsonl", `[1]`, "must be a JSON object"},
	}
	for _, c := range cases {
		_, err := formats.New(c.kind, json.RawMessage(c.options))
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.wantText)) {
			t.Errorf("New(%s, %s) error = %v, want one containing %s", c.kind, c.options, err, c.wantText)
		}
	}
	for _, kind := range formats.Kinds() {
		if kind == "fhir" || kind == "x12-834" || kind == "fixed" {
			continue // these need options that name views, parties or fields
		}
		f, err := formats.New(kind, nil)
		if err != nil {
			t.Errorf("New(%s) with default options: %v", kind, err)
			continue
		}
		if f.Kind() != kind {
			t.Errorf("New(%s).Kind() = %s", kind, f.Kind())
		}
	}
}

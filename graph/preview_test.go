package graph

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

type previewResult struct {
	ViewPreview struct {
		Valid      bool
		Validation []struct {
			Code    string
			Message string
			Hint    *string
		}
		CompiledSQL *string
		Columns     []struct{ Name, Type string }
		Rows        [][]*string
		Truncated   bool
	}
}

const previewQuery = `query($p: String!, $s: JSON!, $n: Int) {
	viewPreview(partner: $p, spec: $s, limit: $n) {
		valid validation { code message hint } compiledSql columns { name type } rows truncated
	}
}`

// persisted returns counts of what a preview must not leave behind.
func persisted(t *testing.T, b *bundle) []int {
	return []int{
		count(t, b, `SELECT FROM axtract.partner_view`),
		count(t, b, `SELECT FROM axtract.partner_view_version`),
		count(t, b, `SELECT FROM axtract.audit_event`),
		count(t, b, `SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname IN ('partner_acme', 'partner_beta', 'axtract_disclosure')`),
		count(t, b, `SELECT FROM axtract.member_pseudonym`),
		count(t, b, `SELECT FROM information_schema.column_privileges WHERE table_schema = 'mart'`),
	}
}

func TestPreviewShowsConsentedRowsOnly(t *testing.T) {
	b := setup(t)
	before := persisted(t, b)

	for name, spec := range map[string]map[string]any{
		// The view owner already reads these columns (view roster).
		"granted columns": {"dataset": "members", "columns": []string{"member_id", "first_name"}},
		// gender is a column the owner has no grant on yet, so the preview
		// defines the view, grants included, and rolls it all back.
		"new column": {"dataset": "members", "columns": []string{"member_id", "gender"}},
	} {
		var got previewResult
		b.ok(t, analyst, previewQuery, map[string]any{"p": "acme", "s": spec, "n": 100}).decode(t, &got)
		p := got.ViewPreview
		if !p.Valid {
			t.Fatalf("%s: preview rejected: %+v", name, p.Validation)
		}
		if len(p.Columns) != 2 || p.Columns[0].Name != "member_id" || p.Columns[0].Type != "uuid" {
			t.Errorf("%s: columns = %+v, want member_id uuid first", name, p.Columns)
		}
		var ids []string
		for _, row := range p.Rows {
			ids = append(ids, *row[0])
		}
		slices.Sort(ids)
		if want := b.members[:10]; !slices.Equal(ids, want) {
			t.Errorf("%s: preview shows members %v, want the 10 consented ones %v", name, ids, want)
		}
		if p.Truncated {
			t.Errorf("%s: truncated with 10 rows under a limit of 100", name)
		}
	}

	if after := persisted(t, b); !slices.Equal(before, after) {
		t.Errorf("preview left changes behind: counts before %v, after %v", before, after)
	}
}

func TestPreviewLimitAndTransforms(t *testing.T) {
	b := setup(t)
	var got previewResult
	b.ok(t, analyst, previewQuery, map[string]any{"p": "beta", "s": map[string]any{
		"dataset": "members", "profile": "safe_harbor",
		"columns": []any{map[string]any{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
			map[string]any{"column": "birth_date", "as": "birth_year", "transform": "year"}},
	}, "n": 3}).decode(t, &got)
	p := got.ViewPreview
	if !p.Valid || len(p.Rows) != 3 || !p.Truncated {
		t.Fatalf("preview = valid %v, %d rows, truncated %v; want 3 rows of 10, truncated", p.Valid, len(p.Rows), p.Truncated)
	}
	// The column types come from the result's row description, printed
	// by format_type as \d prints a view's columns.
	if len(p.Columns) != 2 || p.Columns[0].Name != "member_key" || p.Columns[1].Name != "birth_year" ||
		p.Columns[1].Type != "integer" || p.Columns[0].Type == "" {
		t.Errorf("columns = %+v, want member_key and birth_year integer", p.Columns)
	}
	for _, row := range p.Rows {
		if row[0] == nil || slices.Contains(b.members, *row[0]) {
			t.Errorf("member_key %v is empty or a real member id", row[0])
		}
		if row[1] == nil || len(*row[1]) != 4 {
			t.Errorf("birth_year %v is not a year", row[1])
		}
	}
}

func TestPreviewValidationMessages(t *testing.T) {
	b := setup(t)
	cases := []struct {
		name    string
		partner string
		spec    map[string]any
		code    string
	}{
		// Research partners may not select direct identifiers.
		{"minimum necessary", "beta", map[string]any{"dataset": "members", "columns": []string{"first_name"}}, "MINIMUM_NECESSARY"},
		{"unknown dataset", "acme", map[string]any{"dataset": "nope", "columns": []string{"x"}}, "INVALID_SPEC"},
		{"unknown column", "acme", map[string]any{"dataset": "members", "columns": []string{"Member_ID"}}, "INVALID_SPEC"},
		{"unknown filter column", "acme", map[string]any{"dataset": "members", "columns": []string{"member_id"},
			"filters": []any{map[string]any{"column": "nope", "op": "=", "value": "1"}}}, "INVALID_SPEC"},
		{"safe harbor profile", "beta", map[string]any{"dataset": "members", "profile": "safe_harbor",
			"columns": []string{"birth_date"}}, "PROFILE"},
		{"limited data set without agreement", "beta", map[string]any{"dataset": "members", "profile": "limited_data_set",
			"columns": []string{"gender"}}, "DATA_USE_AGREEMENT"},
	}
	for _, c := range cases {
		var got previewResult
		b.ok(t, officer, previewQuery, map[string]any{"p": c.partner, "s": c.spec}).decode(t, &got)
		p := got.ViewPreview
		if p.Valid || len(p.Rows) != 0 {
			t.Errorf("%s: valid %v with %d rows, want rejected", c.name, p.Valid, len(p.Rows))
			continue
		}
		if len(p.Validation) != 1 || p.Validation[0].Code != c.code {
			t.Errorf("%s: validation %+v, want code %s", c.name, p.Validation, c.code)
		}
	}

	r := b.do(t, analyst, previewQuery, map[string]any{"p": "nosuch", "s": map[string]any{}})
	if !r.hasCode(string(CodeNotFound)) {
		t.Errorf("preview of unknown partner: codes %v, want NOT_FOUND", r.codes())
	}
	r = b.do(t, analyst, previewQuery, map[string]any{"p": "acme", "s": map[string]any{}, "n": 501})
	if !r.hasCode(string(CodeValidation)) && !r.hasCode(string(CodeLimitExceeded)) {
		t.Errorf("preview limit 501: codes %v, want VALIDATION or LIMIT_EXCEEDED", r.codes())
	}
}

func TestPreviewLimitOf500IsAllowed(t *testing.T) {
	b := setup(t)
	// previewQuery selects every field, columns and validation included,
	// and they must not multiply the cost of the rows.
	var got previewResult
	b.ok(t, analyst, previewQuery, map[string]any{"p": "acme",
		"s": map[string]any{"dataset": "members", "columns": []string{"member_id"}}, "n": 500}).decode(t, &got)
	if p := got.ViewPreview; !p.Valid || len(p.Columns) != 1 {
		t.Errorf("preview with limit 500: valid %v, columns %+v; want a valid preview of one column", p.Valid, p.Columns)
	}
}

// previewOneConn returns b with a handler whose pool has one connection,
// so that every preview and query of the test shares one backend.
func previewOneConn(t *testing.T) (*bundle, *pgxpool.Pool) {
	t.Helper()
	b := setup(t)
	cfg, err := pgxpool.ParseConfig(b.db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	h, err := newHandler(pool, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b.h = h
	return b, pool
}

func previewIDs(t *testing.T, b *bundle, spec map[string]any, n int) []string {
	t.Helper()
	var got previewResult
	b.ok(t, analyst, previewQuery, map[string]any{"p": "acme", "s": spec, "n": n}).decode(t, &got)
	if !got.ViewPreview.Valid {
		t.Fatalf("preview rejected: %+v", got.ViewPreview.Validation)
	}
	var ids []string
	for _, row := range got.ViewPreview.Rows {
		ids = append(ids, *row[0])
	}
	slices.Sort(ids)
	return ids
}

func preparedPreviews(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'axtract\_preview\_%'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPreviewPlanReadsConsentsAgain(t *testing.T) {
	b, pool := previewOneConn(t)
	spec := map[string]any{"dataset": "members", "columns": []string{"member_id", "first_name"}}

	if got, want := previewIDs(t, b, spec, 100), b.members[:10]; !slices.Equal(got, want) {
		t.Fatalf("first preview shows %v, want %v", got, want)
	}
	if got := preparedPreviews(t, pool); got != 1 {
		t.Errorf("%d preview statements prepared after one preview, want 1", got)
	}

	// The second preview of the same spec runs the prepared plan, which
	// must read the consents as they are now.
	mustExec(t, b, `SELECT axtract.consent_revoke('acme', $1::uuid)`, b.members[0])
	if got, want := previewIDs(t, b, spec, 100), b.members[1:10]; !slices.Equal(got, want) {
		t.Errorf("preview after a revocation shows %v, want %v", got, want)
	}
	if got := preparedPreviews(t, pool); got != 1 {
		t.Errorf("%d preview statements prepared after the same preview twice, want 1", got)
	}
}

func TestPreviewPlansAreBounded(t *testing.T) {
	b, pool := previewOneConn(t)
	spec := map[string]any{"dataset": "members", "columns": []string{"member_id", "first_name"}}

	// Each limit is another query text, so another statement.
	for n := 1; n <= previewStatementsPerConn+3; n++ {
		if got := previewIDs(t, b, spec, n); len(got) != n {
			t.Fatalf("preview with limit %d shows %d rows", n, len(got))
		}
	}
	if got := preparedPreviews(t, pool); got != previewStatementsPerConn {
		t.Errorf("%d preview statements prepared, want the bound %d", got, previewStatementsPerConn)
	}

	// A connection that lost its statements behind the tracking's back
	// prepares them again.
	_, err := pool.Exec(context.Background(), `DO $$
		DECLARE s text;
		BEGIN
			FOR s IN SELECT name FROM pg_prepared_statements WHERE name LIKE 'axtract\_preview\_%' LOOP
				EXECUTE format('DEALLOCATE %I', s);
			END LOOP;
		END $$`)
	if err != nil {
		t.Fatal(err)
	}
	if got := previewIDs(t, b, spec, 3); len(got) != 3 {
		t.Errorf("preview after its statements were deallocated shows %d rows, want 3", len(got))
	}
	if got := preparedPreviews(t, pool); got != 1 {
		t.Errorf("%d preview statements prepared after deallocation and one preview, want 1", got)
	}
}

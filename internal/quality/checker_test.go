package quality_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/formats"
	"github.com/axtract/axtract/internal/quality"
)

func TestCheckerCountsCOPYOutput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rules := b.setRules(t, `{"unique_columns": ["member_id", "city"]}`)

	chk, inner := b.copyRoster(t, rules)
	res := chk.Result()

	if res.Rows != memberCount {
		t.Errorf("rows = %d, expected %d", res.Rows, memberCount)
	}
	if inner.rows != memberCount || inner.fields != memberCount*5 {
		t.Errorf("wrapped writer got %d rows and %d fields, expected %d and %d", inner.rows, inner.fields, memberCount, memberCount*5)
	}
	if !inner.closed {
		t.Error("wrapped writer was not closed")
	}

	want := []struct {
		name  string
		nulls int64
		pct   float64
	}{
		{memberIDColumn, 0, 0},
		{firstNameColumn, firstNameNulls, 30},
		{cityColumn, cityNulls, 10},
		{zipColumn, 0, 0}, // the empty ZIP code is not NULL
		{"birth_date", 0, 0},
	}
	if len(res.Columns) != len(want) {
		t.Fatalf("columns = %+v, expected %d", res.Columns, len(want))
	}
	for i, w := range want {
		got := res.Columns[i]
		if got.Name != w.name || got.Nulls != w.nulls || got.NullPct != w.pct {
			t.Errorf("column %d = %s with %d NULLs (%g%%), expected %s with %d (%g%%)", i, got.Name, got.Nulls, got.NullPct, w.name, w.nulls, w.pct)
		}
	}

	id, city := res.Columns[0], res.Columns[2]
	if id.Distinct == nil || *id.Distinct != memberCount || *id.Duplicates != 0 {
		t.Errorf("member_id distinct %v, duplicates %v, expected %d and 0", id.Distinct, id.Duplicates, memberCount)
	}
	if city.Distinct == nil || *city.Distinct != cityDistinct || *city.Duplicates != cityDuplicates {
		t.Errorf("city distinct %v, duplicates %v, expected %d and %d", city.Distinct, city.Duplicates, cityDistinct, cityDuplicates)
	}
	if res.Columns[1].Distinct != nil {
		t.Errorf("first_name has a distinct count, expected none for a column that is not unique")
	}
	if got := checks(res); !slices.Equal(got, []string{"unique_columns/city"}) {
		t.Errorf("violations = %v, expected unique_columns/city", got)
	}
}

func TestCheckerPassesRowsUnchanged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	// The COPY text of the view, read once as the partner.
	tx, err := b.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var role string
	if err := tx.QueryRow(ctx, "SELECT axtract.partner_role('acme')").Scan(&role); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	cols, err := format.ColumnsOf(ctx, tx, rosterView)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if _, err := tx.Conn().PgConn().CopyTo(ctx, &text, "COPY (SELECT * FROM "+rosterView+") TO STDOUT"); err != nil {
		t.Fatal(err)
	}

	csv, err := formats.New("csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(wrap bool) []byte {
		var out bytes.Buffer
		w, err := csv.NewWriter(&out, cols, format.Info{})
		if err != nil {
			t.Fatal(err)
		}
		if wrap {
			rules := &quality.Rules{RequiredColumns: []string{memberIDColumn}, UniqueColumns: []string{cityColumn}}
			if w, err = quality.NewChecker(w, cols, rules); err != nil {
				t.Fatal(err)
			}
		}
		dec := format.NewDecoder(w, len(cols))
		if _, err := dec.Write(text.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := dec.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	bare, checked := write(false), write(true)
	if !bytes.Equal(bare, checked) {
		t.Errorf("csv through a Checker =\n%s\nexpected the bare writer's\n%s", checked, bare)
	}
	if n := bytes.Count(bare, []byte("\n")); n != memberCount+1 {
		t.Errorf("csv has %d lines, expected a header and %d rows", n, memberCount)
	}
}

func TestRulesTrigger(t *testing.T) {
	t.Parallel()
	b := setup(t)

	cases := []struct {
		rules string
		want  []string
	}{
		{`{"min_rows": 11}`, []string{"min_rows"}},
		{`{"max_rows": 9}`, []string{"max_rows"}},
		{`{"min_rows": 10, "max_rows": 10}`, nil},
		{`{"max_null_pct": {"first_name": 29.9}}`, []string{"max_null_pct/first_name"}},
		{`{"max_null_pct": {"first_name": 30, "zip": 0}}`, nil},
		{`{"max_null_pct": {"zip": 0, "city": 5, "first_name": 0}}`, []string{"max_null_pct/city", "max_null_pct/first_name"}},
		{`{"required_columns": ["member_id", "city"]}`, []string{"required_columns/city"}},
		{`{"required_columns": ["zip"]}`, nil},
		{`{"unique_columns": ["member_id", "zip"]}`, nil},
		{`{"unique_columns": ["city"]}`, []string{"unique_columns/city"}},
		{`{"unique_columns": ["member_id"], "unique_max_values": 10}`, nil},
		{`{"unique_columns": ["member_id"], "unique_max_values": 5}`, []string{"unique_columns/member_id"}},
		{`{"min_rows": 20, "required_columns": ["first_name"], "unique_columns": ["city"], "on_fail": "hold"}`,
			[]string{"min_rows", "required_columns/first_name", "unique_columns/city"}},
	}
	for _, c := range cases {
		rules := b.setRules(t, c.rules)
		chk, _ := b.copyRoster(t, rules)
		res := chk.Evaluate(nil)
		if got := checks(res); !slices.Equal(got, c.want) {
			t.Errorf("rules %s: violations = %v, expected %v", c.rules, got, c.want)
		}
		if res.Passed() != (len(c.want) == 0) {
			t.Errorf("rules %s: passed = %t, expected %t", c.rules, res.Passed(), len(c.want) == 0)
		}
		summary := res.Summary()
		for _, m := range memberRows {
			for _, v := range []*string{m.id, m.first, m.city, m.zip} {
				if v != nil && *v != "" && strings.Contains(summary, *v) {
					t.Errorf("rules %s: summary %q contains the member value %q", c.rules, summary, *v)
				}
			}
		}
	}
}

func TestRuleMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rules := b.setRules(t, `{"min_rows": 11, "max_null_pct": {"first_name": 12.5}, "required_columns": ["city"],
		"unique_columns": ["city", "member_id"], "unique_max_values": 6}`)
	chk, _ := b.copyRoster(t, rules)
	res := chk.Evaluate(nil)

	want := []string{
		"min_rows: 10 rows, expected at least 11",
		"max_null_pct: column first_name is 30% NULL (3 of 10 rows), expected at most 12.5%",
		"required_columns: column city has 1 NULLs, expected none",
		"unique_columns: column member_id has more than 6 non-NULL values, too many to check its uniqueness in full, so raise unique_max_values or remove the column from unique_columns",
		"unique_columns: column city has 3 duplicate values, expected none",
	}
	got := strings.Split(res.Summary(), "; ")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("summary parts =\n%s\nexpected\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if id := res.Columns[0]; !id.UniqueLimitReached {
		t.Errorf("member_id unique_limit_reached = false, expected true past 6 values")
	}
}

func TestNewCheckerRejectsUnknownColumn(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "member_id"}, {Name: "zip"}}
	cases := []struct {
		rules quality.Rules
		rule  string
	}{
		{quality.Rules{MaxNullPct: map[string]float64{"ssn": 1}}, "max_null_pct"},
		{quality.Rules{RequiredColumns: []string{"member_id", "ssn"}}, "required_columns"},
		{quality.Rules{UniqueColumns: []string{"ssn"}}, "unique_columns"},
	}
	for _, c := range cases {
		_, err := quality.NewChecker(&countingWriter{}, cols, &c.rules)
		want := fmt.Sprintf("invalid quality rules: %s names column ssn, which the view does not have (columns: member_id, zip)", c.rule)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewChecker(%s on ssn) = %v, expected %q", c.rule, err, want)
		}
		if !errors.Is(err, quality.ErrInvalidRules) {
			t.Errorf("NewChecker(%s on ssn) = %v, expected it to wrap ErrInvalidRules", c.rule, err)
		}
	}
}

func TestCheckerRejectsShortRow(t *testing.T) {
	t.Parallel()
	chk, err := quality.NewChecker(&countingWriter{}, []format.Column{{Name: "a"}, {Name: "b"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := chk.WriteRow([][]byte{[]byte("x")}); err == nil {
		t.Error("WriteRow of 1 field for 2 columns succeeded, expected an error")
	}
}

func TestCheckRows(t *testing.T) {
	t.Parallel()
	minRows := int64(5)
	chk, err := quality.CheckRows(&quality.Rules{MinRows: &minRows}, 4)
	if err != nil {
		t.Fatal(err)
	}
	res := chk.Evaluate(nil)
	if got := checks(res); !slices.Equal(got, []string{"min_rows"}) {
		t.Errorf("violations = %v, expected min_rows", got)
	}
	if len(res.Columns) != 0 {
		t.Errorf("columns = %v, expected none without column values", res.Columns)
	}

	_, err = quality.CheckRows(&quality.Rules{RequiredColumns: []string{"member_id"}}, 4)
	if err == nil {
		t.Error("CheckRows with required_columns succeeded, expected an error")
	}
}

// TestUniqueManyValues drives the hash set through several resizes with
// values that share long prefixes.
func TestUniqueManyValues(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "key"}}
	chk, err := quality.NewChecker(&countingWriter{}, cols, &quality.Rules{UniqueColumns: []string{"key"}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50_000
	row := make([][]byte, 1)
	for pass := range 2 {
		for i := range n {
			if pass == 1 && i%10 != 0 {
				continue
			}
			row[0] = fmt.Appendf(row[0][:0], "member-%09d", i)
			if err := chk.WriteRow(row); err != nil {
				t.Fatal(err)
			}
		}
	}
	col := chk.Result().Columns[0]
	if *col.Distinct != n {
		t.Errorf("distinct = %d, expected %d", *col.Distinct, n)
	}
	if *col.Duplicates != n/10 {
		t.Errorf("duplicates = %d, expected %d", *col.Duplicates, n/10)
	}
}

func TestCheckerAllocations(t *testing.T) {
	cols := []format.Column{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	counting := &quality.Rules{RequiredColumns: []string{"a"}, MaxNullPct: map[string]float64{"b": 10}}
	chk, err := quality.NewChecker(&countingWriter{}, cols, counting)
	if err != nil {
		t.Fatal(err)
	}
	row := [][]byte{[]byte("x"), nil, []byte("same")}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := chk.WriteRow(row); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("WriteRow with NULL counts allocates %g times per row, expected 0", allocs)
	}

	// A unique column's list of hashes grows by doubling, so its
	// allocations per row fall towards zero.
	unique := &quality.Rules{UniqueColumns: []string{"c"}}
	if chk, err = quality.NewChecker(&countingWriter{}, cols, unique); err != nil {
		t.Fatal(err)
	}
	const rows = 100_000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range rows {
		if err := chk.WriteRow(row); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > 40 {
		t.Errorf("%d rows with a unique column made %d allocations, expected at most 40", rows, n)
	}
}

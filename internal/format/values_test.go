package format_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/pgtest"
)

func TestParseTimesMatchPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	conn := session(t, db)
	ctx := context.Background()

	const query = `
SELECT v::text, v, v::timestamp::text, v::timestamp, v::date::text, v::date
FROM unnest(ARRAY[
    '2024-01-02 03:04:05.123456+00', '2024-02-29 23:59:59.5+00', '1999-12-31 00:00:00+00',
    '2024-06-30 12:00:00-05', '0044-03-15 12:00:00+00 BC', '0001-01-01 00:00:00.000001+00',
    '12345-06-07 08:09:10+00', '1970-01-01 00:00:00+00'
]::timestamptz[]) AS v`
	rows, err := conn.Query(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var tzText, tsText, dateText string
		var tz, ts, date time.Time
		if err := rows.Scan(&tzText, &tz, &tsText, &ts, &dateText, &date); err != nil {
			t.Fatal(err)
		}
		n++
		checkTime(t, "ParseTimestamptz", tzText, format.ParseTimestamptz, tz)
		checkTime(t, "ParseTimestamp", tsText, format.ParseTimestamp, ts)
		checkTime(t, "ParseDate", dateText, format.ParseDate, date)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Fatalf("read %d rows, want 8", n)
	}
}

func checkTime(t *testing.T, name, text string, parse func([]byte) (format.DateTime, error), want time.Time) {
	t.Helper()
	got, err := parse([]byte(text))
	if err != nil {
		t.Errorf("%s(%q): %v", name, text, err)
		return
	}
	if !got.Time().Equal(want) {
		t.Errorf("%s(%q) = %v, want %v", name, text, got.Time(), want.UTC())
	}
}

func TestParseTimesReject(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "2024-1-02", "2024-13-01", "2024-01-02T03:04:05", "2024-01-02 03:04", "2024-01-02 03:04:05+0"} {
		if _, err := format.ParseTimestamptz([]byte(in)); err == nil {
			t.Errorf("ParseTimestamptz(%q) succeeded", in)
		}
	}
	for _, parse := range []func([]byte) (format.DateTime, error){format.ParseDate, format.ParseTimestamp, format.ParseTimestamptz} {
		if _, err := parse([]byte("-infinity")); !errors.Is(err, format.ErrInfinite) {
			t.Errorf("parse -infinity: error %v, want ErrInfinite", err)
		}
	}
}

func TestTimeFormat(t *testing.T) {
	t.Parallel()
	d := format.DateTime{Year: 2024, Month: 3, Day: 5, Hour: 15, Minute: 4, Second: 9, Microsecond: 123456}
	cases := []struct {
		pattern string
		want    string
	}{
		{"%Y-%m-%d", "2024-03-05"},
		{"%Y%m%d", "20240305"},
		{"%m/%d/%y", "03/05/24"},
		{"%d-%b-%Y", "05-Mar-2024"},
		{"%B %d, %Y", "March 05, 2024"},
		{"%Y-%m-%dT%H:%M:%S.%fZ", "2024-03-05T15:04:09.123456Z"},
		{"%H%M%S.%L", "150409.123"},
		{"%I:%M %p", "03:04 PM"},
		{"%C%y %j", "2024 065"},
		{"%z %Z 100%%", "+0000 UTC 100%"},
	}
	for _, tc := range cases {
		f, err := format.ParseTimeFormat(tc.pattern)
		if err != nil {
			t.Fatalf("ParseTimeFormat(%q): %v", tc.pattern, err)
		}
		if got := string(f.Append(nil, d)); got != tc.want {
			t.Errorf("format %q = %q, want %q", tc.pattern, got, tc.want)
		}
	}
	bc := format.DateTime{Year: -43, Month: 3, Day: 15}
	if f, _ := format.ParseTimeFormat("%Y-%m-%d"); string(f.Append(nil, bc)) != "-0043-03-15" {
		t.Errorf("44 BC formats as %q, want -0043-03-15", f.Append(nil, bc))
	}
	for _, bad := range []string{"%Q", "%Y%"} {
		if _, err := format.ParseTimeFormat(bad); err == nil {
			t.Errorf("ParseTimeFormat(%q) succeeded", bad)
		}
	}
}

func TestDecimalRoundsLikePostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	conn := session(t, db)
	ctx := context.Background()

	values := []string{"0", "1", "-1", "0.5", "-0.5", "1.005", "9.995", "-9.995", "99.9", "0.0001",
		"123456789012345678901234567890.987654321", "-0.004", "12.50", "1000"}
	for _, v := range values {
		for scale := 0; scale <= 3; scale++ {
			var want string
			if err := conn.QueryRow(ctx, "SELECT abs(round($1::numeric, $2))::text", v, scale).Scan(&want); err != nil {
				t.Fatal(err)
			}
			d, err := format.ParseDecimal([]byte(v))
			if err != nil {
				t.Fatalf("ParseDecimal(%q): %v", v, err)
			}
			if got := string(d.AppendDigits(nil, scale, '.')); got != want {
				t.Errorf("%s rounded to %d = %q, want %q", v, scale, got, want)
			}
			implied := strings.Replace(want, ".", "", 1)
			if got := string(d.AppendDigits(nil, scale, 0)); got != implied {
				t.Errorf("%s with %d implied decimals = %q, want %q", v, scale, got, implied)
			}
		}
	}
}

func TestParseDecimalForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string
	}{
		{"1e+300", "1" + strings.Repeat("0", 300)},
		{"1e-07", "0.0000001"},
		{"1.2345679e+07", "12345679"},
		{"-0", "0"},
		{"007.50", "7.50"},
		{"-12.5", "-12.5"},
	}
	for _, tc := range cases {
		d, err := format.ParseDecimal([]byte(tc.in))
		if err != nil {
			t.Fatalf("ParseDecimal(%q): %v", tc.in, err)
		}
		got := string(d.AppendDigits(nil, -1, '.'))
		if d.Negative {
			got = "-" + got
		}
		if got != tc.want {
			t.Errorf("ParseDecimal(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{"NaN", "Infinity", "-Infinity"} {
		if _, err := format.ParseDecimal([]byte(in)); !errors.Is(err, format.ErrNotFinite) {
			t.Errorf("ParseDecimal(%q): error %v, want ErrNotFinite", in, err)
		}
	}
	for _, in := range []string{"", "-", "1.2.3", "12a", "."} {
		if _, err := format.ParseDecimal([]byte(in)); err == nil {
			t.Errorf("ParseDecimal(%q) succeeded", in)
		}
	}
}

func TestSumMatchesPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	values := []string{"12.50", "-3.125", "99999999999999999999.99", "0.001", "7", "-100000000000000000000"}
	var sum format.Sum
	for _, v := range values {
		d, err := format.ParseDecimal([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		sum.Add(d)
	}
	var want string
	if err := db.Pool.QueryRow(ctx, "SELECT sum(v)::text FROM unnest($1::numeric[]) AS v", values).Scan(&want); err != nil {
		t.Fatal(err)
	}
	d := sum.Decimal()
	got := string(d.AppendDigits(nil, -1, '.'))
	if d.Negative {
		got = "-" + got
	}
	if got != want {
		t.Errorf("sum = %s, want %s", got, want)
	}
}

func TestArrayMatchesPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	conn := session(t, db)
	ctx := context.Background()
	cases := []string{
		`SELECT ARRAY['a', 'b c', NULL, '', 'x,y', '"q"', 'back\slash', 'NULL', '{}']::text[]`,
		`SELECT ARRAY[[1, 2, 3], [4, NULL, 6]]::int[]`,
		`SELECT '[0:1]={7,8}'::int[]`,
		`SELECT ARRAY[]::text[]`,
	}
	for _, query := range cases {
		var text string
		var elems []*string
		if err := conn.QueryRow(ctx, "SELECT a::text, ARRAY(SELECT unnest(a)::text) FROM ("+query+") AS q (a)").Scan(&text, &elems); err != nil {
			t.Fatal(err)
		}
		var a format.Array
		if err := a.Parse([]byte(text)); err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		if len(a.Elements) != len(elems) {
			t.Fatalf("Parse(%q) has %d elements, want %d", text, len(a.Elements), len(elems))
		}
		for i, e := range elems {
			var got *string
			if a.Elements[i] != nil {
				s := string(a.Elements[i])
				got = &s
			}
			if show(got) != show(e) {
				t.Errorf("Parse(%q) element %d = %s, want %s", text, i, show(got), show(e))
			}
		}
	}

	var a format.Array
	if err := a.Parse([]byte("{{1,2},{3,4},{5,6}}")); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Dims) != "[3 2]" {
		t.Errorf("Dims = %v, want [3 2]", a.Dims)
	}
	for _, bad := range []string{"", "{", "{a", "{{1},2}", "{1,{2}}", "{{1,2},{3}}", `{"a}`, "{a}x"} {
		if err := a.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestKindOf(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `CREATE TABLE public.kinds (a int, b numeric(5,1), c float8, d boolean, e date,
		f timestamp, g timestamptz, h jsonb, i text[], j uuid, k int8[])`); err != nil {
		t.Fatal(err)
	}
	cols, err := format.ColumnsOf(ctx, db.Pool, pgx.Identifier{"public", "kinds"}.Sanitize())
	if err != nil {
		t.Fatal(err)
	}
	want := "integer numeric float boolean date timestamp timestamptz json array text array"
	var got []string
	for _, c := range cols {
		got = append(got, format.KindOf(c).String())
	}
	if strings.Join(got, " ") != want {
		t.Errorf("kinds = %v, want %s", got, want)
	}
	if k := format.ElementKind(cols[10]); k != format.KindInteger {
		t.Errorf("ElementKind(int8[]) = %v, want integer", k)
	}
}

package x12_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/x12"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

// TestInterchangeFromPartnerView feeds the COPY output of a real enrollment
// view, read as the partner's role, through the Decoder into the 834
// writer.
func TestInterchangeFromPartnerView(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	const (
		payer   = "7d4c0000-0000-4000-8000-000000000001"
		memberA = "00000000-0000-4000-8000-00000000000a"
		memberB = "00000000-0000-4000-8000-00000000000b"
		memberC = "00000000-0000-4000-8000-00000000000c" // no consent
	)
	exec(`INSERT INTO mart.payer (payer_id, name) VALUES ($1, 'Example Health Plan')`, payer)
	exec(`INSERT INTO mart.member (member_id, first_name, last_name, birth_date, gender, address, city, state, zip) VALUES
		($1, 'José', 'Núñez', '1970-01-02', 'M', '1 Main St', 'Springfield', 'IL', '62701'),
		($2, 'Ann', 'Lee', '1980-03-04', 'F', NULL, NULL, NULL, NULL),
		($3, 'Cy', 'Hidden', '1990-05-06', 'F', NULL, NULL, NULL, NULL)`, memberA, memberB, memberC)
	exec(`INSERT INTO mart.enrollment (enrollment_id, member_id, payer_id, subscriber_id, plan_name, relationship, start_date, end_date)
		SELECT gen_random_uuid(), m, $4, 'SUB-' || right(m::text, 1), 'Gold PPO', 'self', DATE '2026-01-01', e
		FROM unnest(ARRAY[$1, $2, $3]::uuid[]) AS m, (VALUES (NULL::date), (DATE '2026-12-31')) AS ends(e)`,
		memberA, memberB, memberC, payer)

	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "payment"}); err != nil {
		t.Fatal(err)
	}
	spec := `{"dataset": "enrollment", "columns": ["member_id", "subscriber_id", "relationship", "plan_name", "start_date",
		"end_date", "first_name", "last_name", "birth_date", "gender", "address", "city", "state", "zip"]}`
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "roster", []byte(spec)); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{memberA, memberB} {
		if _, err := partner.GrantConsent(ctx, db.Pool, "acme", m, time.Now().AddDate(-1, 0, 0), nil, "test"); err != nil {
			t.Fatal(err)
		}
	}

	data, err := copyThrough(ctx, db, "acme", "roster", baseOptions)
	if err != nil {
		t.Fatal(err)
	}
	ix := parse(t, data)
	if got := len(ix.find("INS")); got != 4 {
		t.Errorf("%d INS segments, want 4 (two spans of each member with consent)", got)
	}
	names := map[string]bool{}
	for _, nm1 := range ix.find("NM1") {
		names[nm1[3]+","+nm1[4]] = true
	}
	if !names["NUNEZ,JOSE"] || !names["LEE,ANN"] || names["HIDDEN,CY"] || len(names) != 2 {
		t.Errorf("member names = %v, want NUNEZ,JOSE and LEE,ANN only", names)
	}
	if got := len(ix.find("DTP")); got != 6 {
		t.Errorf("%d DTP segments, want 6 (four 348, two 349)", got)
	}
	first, last := -1, -1
	for i, s := range ix.segments {
		switch s[0] {
		case "ST":
			first = i
		case "SE":
			last = i
		}
	}
	if se := ix.one(t, "SE"); se[1] != strconv.Itoa(last-first+1) {
		t.Errorf("SE01 = %q, but %d segments from ST to SE", se[1], last-first+1)
	}

	// A segment terminator in a name fails the run, naming the row but not
	// the value.
	exec(`UPDATE mart.member SET last_name = 'Lee~Smith' WHERE member_id = $1`, memberB)
	_, err = copyThrough(ctx, db, "acme", "roster", baseOptions)
	if err == nil || !strings.Contains(err.Error(), "column last_name") || !strings.Contains(err.Error(), "segment terminator") {
		t.Errorf("834 of a name with ~ = %v, want an error naming last_name and the segment terminator", err)
	}
	if err != nil && strings.Contains(err.Error(), "Smith") {
		t.Errorf("error %q contains the value", err)
	}
	data, err = copyThrough(ctx, db, "acme", "roster", strings.Replace(baseOptions, "{", `{"clean": true, `, 1))
	if err != nil {
		t.Fatalf("834 with clean: %v", err)
	}
	if !bytes.Contains(data, []byte("*LEE SMITH*ANN")) {
		t.Errorf("cleaned 834 has no LEE SMITH:\n%s", data)
	}
}

// copyThrough reads view of partner slug as the partner's role, in the
// extract's settings, with COPY in text format through the Decoder into
// an 834 writer, and returns the interchange.
func copyThrough(ctx context.Context, db *pgtest.DB, slug, view, options string) ([]byte, error) {
	f, err := x12.New(json.RawMessage(options))
	if err != nil {
		return nil, err
	}
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var role string
	if err := tx.QueryRow(ctx, "SELECT axtract.partner_role($1)", slug).Scan(&role); err != nil {
		return nil, err
	}
	for _, stmt := range []string{"SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'",
		"SET LOCAL ROLE " + pgx.Identifier{role}.Sanitize()} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, err
		}
	}
	relation := pgx.Identifier{"partner_" + slug, view}.Sanitize()
	cols, err := format.ColumnsOf(ctx, tx, relation)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := f.NewWriter(&buf, cols, testInfo)
	if err != nil {
		return nil, err
	}
	dec := format.NewDecoder(w, len(cols))
	if _, err := tx.Conn().PgConn().CopyTo(ctx, dec, "COPY (SELECT * FROM "+relation+") TO STDOUT"); err != nil {
		return nil, err
	}
	if err := dec.Close(); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

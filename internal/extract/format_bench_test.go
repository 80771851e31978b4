package extract_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

// BenchmarkRunFormat delivers 200 thousand pharmacy claim rows of one
// consented member per run, uncompressed and unencrypted, into a local
// folder. It runs once through the csv fast path (COPY's own CSV) and once
// through each format writer (COPY text format, the decoder and the
// writer). The database's share is the same in every case, so the
// difference is the cost of decoding and formatting.
func BenchmarkRunFormat(b *testing.B) {
	ctx := context.Background()
	db := pgtest.New(b)
	exec := func(sql string, args ...any) {
		b.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO mart.member (member_id, first_name, last_name, birth_date) VALUES ($1, 'Ann', 'Oneil', '1970-01-02')`, memberA)
	exec(`INSERT INTO mart.pharmacy_claim (pharmacy_claim_id, member_id, fill_date, ndc, drug_name, quantity, days_supply)
		SELECT gen_random_uuid(), $1, DATE '2025-01-01' + (i % 365), lpad((i % 99991)::text, 11, '0'), 'Drug ' || (i % 500), 30, 30
		FROM generate_series(1, 200000) AS i`, memberA)
	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "payment"}); err != nil {
		b.Fatal(err)
	}
	spec := `{"dataset": "pharmacy_claims", "columns": ["member_id", "member_last_name", "fill_date", "ndc", "drug_name", "quantity"]}`
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "claims", []byte(spec)); err != nil {
		b.Fatal(err)
	}
	if _, err := partner.GrantConsent(ctx, db.Pool, "acme", memberA, time.Now().AddDate(-1, 0, 0), nil, "bench"); err != nil {
		b.Fatal(err)
	}
	config, _ := json.Marshal(map[string]string{"dir": b.TempDir()})
	exec(`SELECT axtract.destination_define('acme', 'drop', 'local', $1::jsonb)`, string(config))
	runner := &extract.Runner{Pool: db.Pool}

	for _, format := range []string{"csv", "delimited", "jsonl", "parquet"} {
		exec(`SELECT axtract.feed_define($1, 'acme', 'claims', 'drop', $2::jsonb)`, "bench-"+format,
			`{"format": "`+format+`", "encrypt": false, "compression": "none", "manifest": false}`)
		b.Run(format, func(b *testing.B) {
			var rows int64
			for b.Loop() {
				var runID int64
				err := db.Pool.QueryRow(ctx, `INSERT INTO axtract.run (feed_id, slot, trigger)
					SELECT feed_id, clock_timestamp(), 'manual' FROM axtract.feed WHERE name = $1 RETURNING run_id`, "bench-"+format).Scan(&runID)
				if err != nil {
					b.Fatal(err)
				}
				res, err := runner.Run(ctx, runID, true)
				if err != nil {
					b.Fatal(err)
				}
				rows = res.Rows
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

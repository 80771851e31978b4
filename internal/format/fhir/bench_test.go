package fhir_test

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/fhir"
	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/pgtest"
)

// csvWriter is the baseline writer: each row as one CSV record.
type csvWriter struct{ w *csv.Writer }

func (c *csvWriter) WriteRow(fields [][]byte) error {
	record := make([]string, len(fields))
	for i, f := range fields {
		record[i] = string(f)
	}
	return c.w.Write(record)
}

func (c *csvWriter) Close() error { c.w.Flush(); return c.w.Error() }

// benchRows makes n Patient rows and n claim lines, three lines a claim.
func benchRows(n int) (patients, lines [][][]byte) {
	for i := range n {
		key := []byte("6f1c2d3e-0000-4000-8000-" + pad12(i))
		patients = append(patients, [][]byte{key, []byte("Ann"), []byte("O'Neil"), []byte("1970-01-02"), []byte("F"),
			[]byte("1 Main St"), []byte("Springfield"), []byte("IL"), []byte("62701"), []byte("555-0100"), []byte("White")})
		lines = append(lines, [][]byte{[]byte("c" + strconv.Itoa(i/3)), []byte(strconv.Itoa(i%3 + 1)), key,
			[]byte("professional"), []byte("2026-02-01"), nil, []byte("99213"), []byte("CPT"), []byte("1"),
			[]byte("120.00"), []byte("80.50"), []byte("ICD-10-CM"), []byte("E11.9"), []byte("I10")})
	}
	return patients, lines
}

func pad12(i int) string {
	s := strconv.Itoa(i)
	for len(s) < 12 {
		s = "0" + s
	}
	return s
}

// BenchmarkWriters measures the Patient and ExplanationOfBenefit writers
// against the CSV baseline on the same rows in memory.
func BenchmarkWriters(b *testing.B) {
	const n = 100_000
	patients, lines := benchRows(n)
	patientCols := allTables["Patient"].columns()
	lineCols := allTables["ExplanationOfBenefit"].columns()

	run := func(b *testing.B, write func(run int64)) {
		var runID int64
		for b.Loop() {
			runID++
			write(runID)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	writeAll := func(b *testing.B, w format.Writer, rows [][][]byte) {
		for _, r := range rows {
			if err := w.WriteRow(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	f := newFormat(b, `{"resources": {"Patient": "m", "ExplanationOfBenefit": "c"}}`)
	parts := f.Parts()

	b.Run("csv", func(b *testing.B) {
		run(b, func(int64) { writeAll(b, &csvWriter{csv.NewWriter(io.Discard)}, patients) })
	})
	b.Run("Patient", func(b *testing.B) {
		run(b, func(runID int64) {
			info := format.Info{RunID: runID}
			w, err := parts[0].Format.NewWriter(io.Discard, patientCols, info)
			if err != nil {
				b.Fatal(err)
			}
			writeAll(b, w, patients)
			// Release the run's patient set.
			w, err = parts[1].Format.NewWriter(io.Discard, lineCols, info)
			if err != nil {
				b.Fatal(err)
			}
			writeAll(b, w, nil)
		})
	})
	b.Run("ExplanationOfBenefit", func(b *testing.B) {
		run(b, func(runID int64) {
			// The Patient part is not measured: it only makes the
			// references resolve.
			b.StopTimer()
			info := format.Info{RunID: runID}
			w, err := parts[0].Format.NewWriter(io.Discard, patientCols, info)
			if err != nil {
				b.Fatal(err)
			}
			writeAll(b, w, patients)
			b.StartTimer()
			w, err = parts[1].Format.NewWriter(io.Discard, lineCols, info)
			if err != nil {
				b.Fatal(err)
			}
			writeAll(b, w, lines)
		})
	})
}

// BenchmarkCopyFHIR compares FHIR exports of generated members and claim
// lines with a bare COPY of the same rows in CSV to a discarding sink, on
// one connection. AXTRACT_BENCH_CLAIM_LINES sets the number of claim lines
// (default 200,000; members are an eighth of that). It reports the rows
// per second of each and their ratios.
func BenchmarkCopyFHIR(b *testing.B) {
	lines := 200_000
	if s := os.Getenv("AXTRACT_BENCH_CLAIM_LINES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("AXTRACT_BENCH_CLAIM_LINES=%q is invalid; set a positive number of claim lines", s)
		}
		lines = n
	}
	ctx := context.Background()
	db := pgtest.New(b)
	cfg := generate.Config{Members: max(100, lines/8), ClaimLines: lines, PharmacyClaims: -1, Labs: -1}
	if _, err := generate.Generate(ctx, db.Pool, cfg, nil); err != nil {
		b.Fatalf("generate: %v", err)
	}
	conn, err := pgx.Connect(ctx, db.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		"SET TimeZone = 'UTC'", "SET DateStyle = 'ISO'", "SET extra_float_digits = 1",
		`CREATE VIEW public.bench_members AS SELECT member_id, first_name, last_name, birth_date, death_date, gender, race,
			ethnicity, address, city, state, zip, phone FROM mart.member`,
		`CREATE VIEW public.bench_claims AS SELECT l.claim_id, l.line_number, l.member_id, c.claim_type, l.service_from,
			l.service_to, l.procedure_code, l.procedure_code_system, l.modifier_1, l.place_of_service, l.units,
			l.charge_amount, l.paid_amount, c.diagnosis_code_system, c.diagnosis_1, c.diagnosis_2, c.diagnosis_3,
			c.diagnosis_4, c.provider_id AS billing_provider_id, c.primary_payer_id AS payer_id
			FROM mart.claim_line l JOIN mart.claim c ON c.claim_id = l.claim_id`,
		"VACUUM ANALYZE mart.member", "VACUUM ANALYZE mart.claim_line", "VACUUM ANALYZE mart.claim",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
	}
	f, err := fhir.New([]byte(`{"resources": {"Patient": "bench_members", "ExplanationOfBenefit": "bench_claims"},
		"payer_name": "Example Health Plan"}`))
	if err != nil {
		b.Fatal(err)
	}
	parts := f.(format.MultiFormat).Parts()

	bare := func(view string) time.Duration {
		start := time.Now()
		if _, err := conn.PgConn().CopyTo(ctx, io.Discard, "COPY (SELECT * FROM "+view+") TO STDOUT WITH (FORMAT csv, HEADER)"); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var runID int64
	export := func(p format.Part) (time.Duration, int64) {
		start := time.Now()
		cols, err := format.ColumnsOf(ctx, conn, p.View)
		if err != nil {
			b.Fatal(err)
		}
		w, err := p.Format.NewWriter(io.Discard, cols, format.Info{RunID: runID})
		if err != nil {
			b.Fatal(err)
		}
		d := format.NewDecoder(w, len(cols))
		if _, err := conn.PgConn().CopyTo(ctx, d, "COPY (SELECT * FROM "+p.View+") TO STDOUT"); err != nil {
			b.Fatal(err)
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start), d.Rows()
	}

	bare("bench_claims") // warm the cache
	var bareMembers, bareClaims, fhirMembers, fhirClaims time.Duration
	var members, claimLines int64
	for b.Loop() {
		runID++
		bareMembers += bare("bench_members")
		bareClaims += bare("bench_claims")
		d, n := export(parts[0])
		fhirMembers += d
		members = n
		d, n = export(parts[1])
		fhirClaims += d
		claimLines = n
	}
	if claimLines != int64(lines) {
		b.Fatalf("the EOB export read %d claim lines, want %d", claimLines, lines)
	}
	runs := float64(b.N)
	b.ReportMetric(float64(members)*runs/bareMembers.Seconds(), "csv_members/s")
	b.ReportMetric(float64(members)*runs/fhirMembers.Seconds(), "patient_rows/s")
	b.ReportMetric(fhirMembers.Seconds()/bareMembers.Seconds(), "patient/csv")
	b.ReportMetric(float64(claimLines)*runs/bareClaims.Seconds(), "csv_lines/s")
	b.ReportMetric(float64(claimLines)*runs/fhirClaims.Seconds(), "eob_lines/s")
	b.ReportMetric(fhirClaims.Seconds()/bareClaims.Seconds(), "eob/csv")
}

package synthea_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/synthea"
)

// martFiles maps each mart table to the export file its rows come from.
var martFiles = map[string]string{
	"payer":             "payers.csv",
	"organization":      "organizations.csv",
	"provider":          "providers.csv",
	"member":            "patients.csv",
	"enrollment":        "payer_transitions.csv",
	"encounter":         "encounters.csv",
	"claim":             "claims.csv",
	"claim_transaction": "claims_transactions.csv",
	"claim_line":        "claims_transactions.csv",
	"pharmacy_claim":    "medications.csv",
	"condition":         "conditions.csv",
	"observation":       "observations.csv",
	"procedure":         "procedures.csv",
	"allergy":           "allergies.csv",
	"careplan":          "careplans.csv",
	"immunization":      "immunizations.csv",
	"device":            "devices.csv",
	"imaging_study":     "imaging_studies.csv",
	"supply":            "supplies.csv",
}

func TestImportSampleCounts(t *testing.T) {
	t.Parallel()
	dir := synthea.SampleDir(t)
	db := pgtest.New(t)
	want := expectedCounts(t, dir)

	result := importExport(t, db.Pool, dir)

	for _, table := range slices.Sorted(maps.Keys(martFiles)) {
		if got := countRows(t, db.Pool, table); got != want[table] {
			t.Errorf("mart.%s rows = %d, want %d", table, got, want[table])
		}
		counts, ok := result.Table(table)
		if !ok {
			t.Errorf("result has no entry for %s", table)
			continue
		}
		if counts.Read != want[table] {
			t.Errorf("result %s read = %d, want %d", table, counts.Read, want[table])
		}
		if counts.Inserted != want[table] {
			t.Errorf("result %s inserted = %d, want %d", table, counts.Inserted, want[table])
		}
	}
}

func TestImportSampleValues(t *testing.T) {
	t.Parallel()
	dir := synthea.SampleDir(t)
	db := pgtest.New(t)
	importExport(t, db.Pool, dir)
	ctx := context.Background()

	// Every claim's totals add up its lines, and its lines add up the
	// claim's charge and payment transactions.
	var mismatched int
	err := db.Pool.QueryRow(ctx, `
		SELECT count(*)
		FROM mart.claim AS c
		JOIN (
		    SELECT claim_id, sum(charge_amount) AS charged, sum(paid_amount) AS paid
		    FROM mart.claim_line GROUP BY claim_id
		) AS l USING (claim_id)
		WHERE l.charged <> c.total_charge OR l.paid <> c.total_paid`).Scan(&mismatched)
	if err != nil {
		t.Fatal(err)
	}
	if mismatched != 0 {
		t.Errorf("%d claims whose totals differ from the sum of their lines", mismatched)
	}

	systems := map[string]int64{}
	rows, err := db.Pool.Query(ctx, "SELECT coalesce(procedure_code_system, 'NULL'), count(*) FROM mart.claim_line GROUP BY 1")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var system string
		var n int64
		if err := rows.Scan(&system, &n); err != nil {
			t.Fatal(err)
		}
		systems[system] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := systems["RxNorm"], countRows(t, db.Pool, "pharmacy_claim"); got != want {
		t.Errorf("RxNorm claim lines = %d, want one per medication (%d)", got, want)
	}
	if got, want := systems["CVX"], countRows(t, db.Pool, "immunization"); got != want {
		t.Errorf("CVX claim lines = %d, want one per immunization (%d)", got, want)
	}
	if systems["NULL"] != 0 {
		t.Errorf("%d claim lines without a code system", systems["NULL"])
	}

	var lineGaps int
	err = db.Pool.QueryRow(ctx, `
		SELECT count(*) FROM (
		    SELECT claim_id FROM mart.claim_line GROUP BY claim_id HAVING max(line_number) <> count(*)
		) AS gaps`).Scan(&lineGaps)
	if err != nil {
		t.Fatal(err)
	}
	if lineGaps != 0 {
		t.Errorf("%d claims whose line numbers are not 1..n", lineGaps)
	}

	// Synthea writes 0 for a claim without a primary payer.
	claims := readCSV(t, filepath.Join(dir, "claims.csv"))
	primary := slices.Index(claims[0], "PRIMARYPATIENTINSURANCEID")
	var withoutPayer int64
	for _, record := range claims[1:] {
		if record[primary] == "0" {
			withoutPayer++
		}
	}
	var nullPrimary int64
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM mart.claim WHERE primary_payer_id IS NULL").Scan(&nullPrimary); err != nil {
		t.Fatal(err)
	}
	if nullPrimary != withoutPayer {
		t.Errorf("claims without a primary payer = %d, want %d", nullPrimary, withoutPayer)
	}

	var codeSystems []string
	rows, err = db.Pool.Query(ctx, "SELECT DISTINCT diagnosis_code_system FROM mart.claim")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		codeSystems = append(codeSystems, s)
	}
	if !slices.Equal(codeSystems, []string{"SNOMED-CT"}) {
		t.Errorf("claim diagnosis code systems = %v, want [SNOMED-CT]", codeSystems)
	}

	var npis int
	if err := db.Pool.QueryRow(ctx, "SELECT count(npi) FROM mart.provider").Scan(&npis); err != nil {
		t.Fatal(err)
	}
	if npis != 0 {
		t.Errorf("providers with an NPI = %d, want 0", npis)
	}

	// Synthea names patients' states in full; the mart keeps USPS codes.
	for _, table := range []string{"member", "organization", "provider", "payer"} {
		var other, codes int
		err := db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state !~ '^[A-Z]{2}$'), count(*) FILTER (WHERE state ~ '^[A-Z]{2}$')
			FROM mart.`+table).Scan(&other, &codes)
		if err != nil {
			t.Fatal(err)
		}
		if other != 0 || codes == 0 {
			t.Errorf("mart.%s: %d states that are not two-letter codes and %d that are, want only codes", table, other, codes)
		}
	}
	var massachusetts int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM mart.member WHERE state = 'MA'").Scan(&massachusetts); err != nil {
		t.Fatal(err)
	}
	if massachusetts == 0 {
		t.Error("no member of the Massachusetts sample has state MA")
	}
}

func TestImportTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	dir := synthea.SampleDir(t)
	db := pgtest.New(t)
	importExport(t, db.Pool, dir)
	before := snapshot(t, db.Pool)

	result := importExport(t, db.Pool, dir)

	assertSnapshot(t, db.Pool, before)
	for _, counts := range result.Tables {
		if counts.Inserted != 0 || counts.Updated != 0 {
			t.Errorf("second import of %s: inserted %d, updated %d, want 0 and 0", counts.Table, counts.Inserted, counts.Updated)
		}
		if counts.Unchanged != counts.Read {
			t.Errorf("second import of %s: unchanged %d, want %d", counts.Table, counts.Unchanged, counts.Read)
		}
	}
}

func TestImportChangedRowIsUpdated(t *testing.T) {
	t.Parallel()
	dir := synthea.SampleDir(t)
	db := pgtest.New(t)
	ctx := context.Background()
	importExport(t, db.Pool, dir)
	before := snapshot(t, db.Pool)

	var changedID string
	changed := copyExport(t, dir, map[string]func([][]string) [][]string{
		"organizations.csv": func(records [][]string) [][]string {
			name := slices.Index(records[0], "NAME")
			records[3][name] += " (RENAMED)"
			changedID = records[3][slices.Index(records[0], "Id")]
			return records
		},
	})
	var xminBefore string
	if err := db.Pool.QueryRow(ctx, "SELECT xmin::text FROM mart.organization WHERE organization_id = $1", changedID).Scan(&xminBefore); err != nil {
		t.Fatal(err)
	}

	result := importExport(t, db.Pool, changed)

	org, _ := result.Table("organization")
	if org.Updated != 1 || org.Inserted != 0 || org.Unchanged != org.Read-1 {
		t.Errorf("organization counts = %+v, want 1 updated and the rest unchanged", org)
	}
	var name, xminAfter string
	err := db.Pool.QueryRow(ctx, "SELECT name, xmin::text FROM mart.organization WHERE organization_id = $1", changedID).Scan(&name, &xminAfter)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(name, " (RENAMED)") {
		t.Errorf("organization name = %q, want the renamed one", name)
	}
	if xminAfter == xminBefore {
		t.Errorf("xmin of the renamed organization did not change")
	}
	after := snapshot(t, db.Pool)
	for table, state := range before {
		if table != "organization" && after[table] != state {
			t.Errorf("mart.%s changed although its file did not", table)
		}
	}
}

func TestImportReorderedColumns(t *testing.T) {
	t.Parallel()
	dir := synthea.SampleDir(t)
	original := pgtest.New(t)
	reordered := pgtest.New(t)

	rng := rand.New(rand.NewPCG(1, 2))
	shuffle := func(records [][]string) [][]string {
		order := rng.Perm(len(records[0]))
		out := make([][]string, len(records))
		for i, record := range records {
			out[i] = make([]string, len(record))
			for to, from := range order {
				out[i][to] = record[from]
			}
		}
		// Record order must not matter either, neither for derived ids nor
		// for claim line numbers.
		body := out[1:]
		rng.Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
		return out
	}
	edits := map[string]func([][]string) [][]string{}
	for _, file := range []string{
		"patients.csv", "payer_transitions.csv", "claims.csv", "claims_transactions.csv",
		"medications.csv", "observations.csv", "imaging_studies.csv",
	} {
		edits[file] = shuffle
	}
	shuffled := copyExport(t, dir, edits)

	importExport(t, original.Pool, dir)
	importExport(t, reordered.Pool, shuffled)

	want := contentDigests(t, original.Pool)
	got := contentDigests(t, reordered.Pool)
	for _, table := range slices.Sorted(maps.Keys(want)) {
		if got[table] != want[table] {
			t.Errorf("mart.%s differs after importing reordered columns and rows", table)
		}
	}
}

func TestImportRepeatedRowsStaySeparate(t *testing.T) {
	t.Parallel()
	dir := synthea.SampleDir(t)
	db := pgtest.New(t)
	want := expectedCounts(t, dir)

	// An identical second record of a file without ids, and a second
	// instance of an imaging study, which repeats the study's Id.
	repeated := copyExport(t, dir, map[string]func([][]string) [][]string{
		"conditions.csv": func(records [][]string) [][]string {
			return append(records, slices.Clone(records[5]))
		},
		"imaging_studies.csv": func(records [][]string) [][]string {
			instance := slices.Clone(records[1])
			instance[slices.Index(records[0], "INSTANCE_UID")] += ".2"
			return append(records, instance)
		},
	})

	result := importExport(t, db.Pool, repeated)

	for table, extra := range map[string]int64{"condition": 1, "imaging_study": 1} {
		if got := countRows(t, db.Pool, table); got != want[table]+extra {
			t.Errorf("mart.%s rows = %d, want %d", table, got, want[table]+extra)
		}
		if counts, _ := result.Table(table); counts.Inserted != want[table]+extra {
			t.Errorf("result %s inserted = %d, want %d", table, counts.Inserted, want[table]+extra)
		}
	}
	studies := readCSV(t, filepath.Join(dir, "imaging_studies.csv"))
	studyID := studies[1][slices.Index(studies[0], "Id")]
	var keptID int
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM mart.imaging_study WHERE imaging_study_id = $1", studyID).Scan(&keptID); err != nil {
		t.Fatal(err)
	}
	if keptID != 1 {
		t.Errorf("imaging studies keeping the study's Id = %d, want 1", keptID)
	}

	before := snapshot(t, db.Pool)
	importExport(t, db.Pool, repeated)
	assertSnapshot(t, db.Pool, before)
}

func TestImportInvalidExport(t *testing.T) {
	t.Parallel()
	dir := synthea.SampleDir(t)
	db := pgtest.New(t)
	importExport(t, db.Pool, dir)
	before := snapshot(t, db.Pool)

	setField := func(column string, record int, value string) func([][]string) [][]string {
		return func(records [][]string) [][]string {
			records[record][slices.Index(records[0], column)] = value
			return records
		}
	}
	tests := []struct {
		name   string
		file   string
		edit   func([][]string) [][]string
		line   int
		column string
		value  string // a value the message must not repeat
	}{
		{
			name: "missing file",
			file: "supplies.csv",
			edit: func([][]string) [][]string { return nil },
		},
		{
			name: "missing column",
			file: "patients.csv",
			edit: func(records [][]string) [][]string {
				birth := slices.Index(records[0], "BIRTHDATE")
				for i := range records {
					records[i] = slices.Delete(records[i], birth, birth+1)
				}
				return records
			},
			line:   1,
			column: "BIRTHDATE",
		},
		{
			name:   "malformed date",
			file:   "patients.csv",
			edit:   setField("BIRTHDATE", 6, "1970-13-01"),
			line:   7,
			column: "BIRTHDATE",
			value:  "1970-13-01",
		},
		{
			name:   "malformed timestamp",
			file:   "encounters.csv",
			edit:   setField("START", 40, "2023-01-27 16:17:47"),
			line:   41,
			column: "START",
			value:  "2023-01-27 16:17:47",
		},
		{
			name:   "malformed number",
			file:   "claims_transactions.csv",
			edit:   setField("AMOUNT", 1000, "77,49"),
			line:   1001,
			column: "AMOUNT",
			value:  "77,49",
		},
		{
			name:   "malformed uuid",
			file:   "providers.csv",
			edit:   setField("ORGANIZATION", 12, "5e765f2b-e908-3888-9fc7"),
			line:   13,
			column: "ORGANIZATION",
			value:  "5e765f2b-e908-3888-9fc7",
		},
		{
			name:   "missing required value",
			file:   "conditions.csv",
			edit:   setField("CODE", 3, ""),
			line:   4,
			column: "CODE",
		},
		{
			name:   "unknown claim type",
			file:   "claims.csv",
			edit:   setField("HEALTHCARECLAIMTYPEID1", 20, "7"),
			line:   21,
			column: "HEALTHCARECLAIMTYPEID1",
		},
		{
			name:   "unknown member",
			file:   "observations.csv",
			edit:   setField("PATIENT", 30, "00000000-0000-0000-0000-000000000001"),
			line:   31,
			column: "PATIENT",
		},
		{
			name: "duplicate id",
			file: "careplans.csv",
			edit: func(records [][]string) [][]string {
				id := slices.Index(records[0], "Id")
				records[9][id] = records[2][id]
				return records
			},
			line:   10,
			column: "Id",
		},
		{
			name: "wrong field count",
			file: "payers.csv",
			edit: func(records [][]string) [][]string {
				records[4] = records[4][:len(records[4])-1]
				return records
			},
			line: 5,
		},
	}
	// The subtests share one database and run in turn, each checking that
	// its failed import left the mart as the first import made it.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken := copyExport(t, dir, map[string]func([][]string) [][]string{tt.file: tt.edit})

			_, err := synthea.Import(context.Background(), db.Pool, broken, nil)

			var inputErr *synthea.InputError
			if !errors.As(err, &inputErr) {
				t.Fatalf("Import error = %v, want an *InputError", err)
			}
			if inputErr.File != tt.file {
				t.Errorf("error file = %q, want %q", inputErr.File, tt.file)
			}
			if inputErr.Line != tt.line {
				t.Errorf("error line = %d, want %d", inputErr.Line, tt.line)
			}
			if inputErr.Column != tt.column {
				t.Errorf("error column = %q, want %q", inputErr.Column, tt.column)
			}
			if inputErr.Problem == "" {
				t.Errorf("error has no problem description")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.file) {
				t.Errorf("error %q does not start with the file name", msg)
			}
			if tt.line > 0 && !strings.Contains(msg, "line "+strconv.Itoa(tt.line)) {
				t.Errorf("error %q does not name line %d", msg, tt.line)
			}
			if tt.column != "" && !strings.Contains(msg, "column "+tt.column) {
				t.Errorf("error %q does not name column %s", msg, tt.column)
			}
			if tt.value != "" && strings.Contains(msg, tt.value) {
				t.Errorf("error %q repeats the value from the file", msg)
			}
			assertSnapshot(t, db.Pool, before)
		})
	}
}

func importExport(t *testing.T, pool *pgxpool.Pool, dir string) *synthea.Result {
	t.Helper()
	result, err := synthea.Import(context.Background(), pool, dir, nil)
	if err != nil {
		t.Fatalf("import %s: %v", dir, err)
	}
	return result
}

// expectedCounts reads the row count of each file from the README table of
// the sample export, and counts the CHARGE transactions for claim_line.
func expectedCounts(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	readme, err := os.Open(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatalf("open the sample's README: %v", err)
	}
	defer readme.Close()

	fileRows := map[string]int64{}
	row := regexp.MustCompile(`^\|\s*([a-z_]+\.csv)\s*\|\s*([0-9]+)\s*\|`)
	scanner := bufio.NewScanner(readme)
	for scanner.Scan() {
		if m := row.FindStringSubmatch(scanner.Text()); m != nil {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			fileRows[m[1]] = n
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}

	counts := map[string]int64{}
	for table, file := range martFiles {
		n, ok := fileRows[file]
		if !ok {
			t.Fatalf("the sample's README lists no row count for %s", file)
		}
		counts[table] = n
	}

	records := readCSV(t, filepath.Join(dir, "claims_transactions.csv"))
	typeColumn := slices.Index(records[0], "TYPE")
	counts["claim_line"] = 0
	for _, record := range records[1:] {
		if record[typeColumn] == "CHARGE" {
			counts["claim_line"]++
		}
	}
	return counts
}

func countRows(t *testing.T, pool *pgxpool.Pool, table string) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM mart."+table).Scan(&n); err != nil {
		t.Fatalf("count mart.%s: %v", table, err)
	}
	return n
}

// tableState is the row count of a mart table and a digest of every row's
// xmin and contents, which changes when any row is inserted, deleted or
// rewritten.
type tableState struct {
	rows   int64
	digest string
}

func snapshot(t *testing.T, pool *pgxpool.Pool) map[string]tableState {
	t.Helper()
	states := map[string]tableState{}
	for table := range martFiles {
		var s tableState
		err := pool.QueryRow(context.Background(), `
			SELECT count(*), coalesce(md5(string_agg(xmin::text || ' ' || t::text, E'\n' ORDER BY t::text)), '')
			FROM mart.`+table+` AS t`).Scan(&s.rows, &s.digest)
		if err != nil {
			t.Fatalf("snapshot mart.%s: %v", table, err)
		}
		states[table] = s
	}
	return states
}

func assertSnapshot(t *testing.T, pool *pgxpool.Pool, want map[string]tableState) {
	t.Helper()
	got := snapshot(t, pool)
	for _, table := range slices.Sorted(maps.Keys(want)) {
		if got[table].rows != want[table].rows {
			t.Errorf("mart.%s rows = %d, want %d", table, got[table].rows, want[table].rows)
		} else if got[table].digest != want[table].digest {
			t.Errorf("mart.%s rows were rewritten", table)
		}
	}
}

// contentDigests returns a digest of each mart table's rows without
// loaded_at, to compare imports into different databases.
func contentDigests(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	digests := map[string]string{}
	for table := range martFiles {
		var digest string
		err := pool.QueryRow(context.Background(), `
			SELECT coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '')
			FROM (SELECT to_jsonb(t) - 'loaded_at' AS r FROM mart.`+table+` AS t) AS rows`).Scan(&digest)
		if err != nil {
			t.Fatalf("digest mart.%s: %v", table, err)
		}
		digests[table] = digest
	}
	return digests
}

// copyExport builds an export in a temporary directory: files named in
// edits are rewritten from the records the edit returns, or left out when it
// returns nil, and every other file links to the original.
func copyExport(t *testing.T, dir string, edits map[string]func([][]string) [][]string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		name := entry.Name()
		src := filepath.Join(dir, name)
		dst := filepath.Join(out, name)
		edit, ok := edits[name]
		if !ok {
			if err := os.Symlink(src, dst); err != nil {
				t.Fatal(err)
			}
			continue
		}
		records := edit(readCSV(t, src))
		if records != nil {
			writeCSV(t, dst, records)
		}
	}
	return out
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return records
}

func writeCSV(t *testing.T, path string, records [][]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(records); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

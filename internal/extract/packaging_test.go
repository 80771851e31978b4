package extract_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parquet-go/parquet-go"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/gpgtest"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

// localBundle is a partner acme with three views and a local destination,
// for tests that read the delivered files from disk.
type localBundle struct {
	db     *pgtest.DB
	dir    string
	gpg    *gpgtest.Home
	runner *extract.Runner
}

// setupLocal creates members A, B and C with pharmacy claims and
// enrollment, a partner acme with consents of A (in force) and B (ended
// yesterday), the views claims, enrollment and patients, an OpenPGP key and
// a local destination named drop.
func setupLocal(t *testing.T) *localBundle {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO mart.member (member_id, first_name, last_name, birth_date, gender) VALUES
		($1, 'Ann', 'Oneil', '1970-01-02', 'female'), ($2, 'Bob', 'Ray', '1980-03-04', 'male'), ($3, 'Cy', 'Hid', '1990-05-06', 'male')`,
		memberA, memberB, memberC)
	exec(`INSERT INTO mart.pharmacy_claim (pharmacy_claim_id, member_id, fill_date, ndc, drug_name, quantity, days_supply)
		SELECT gen_random_uuid(), m, DATE '2026-01-01' + i, '00002323230', d, 30, 30
		FROM unnest(ARRAY[$1, $2, $3]::uuid[]) AS m,
		     generate_series(1, 2) AS i,
		     (VALUES ('Drug, "quoted"'), (E'two\nlines'), (NULL)) AS names(d)`,
		memberA, memberB, memberC)
	exec(`INSERT INTO mart.payer (payer_id, name) VALUES ('00000000-0000-4000-8000-0000000000ff', 'Plan')`)
	exec(`INSERT INTO mart.enrollment (enrollment_id, member_id, payer_id, subscriber_id, plan_name, relationship, start_date)
		SELECT gen_random_uuid(), m, '00000000-0000-4000-8000-0000000000ff', 'S' || left(m::text, 8), 'Gold', '18', DATE '2026-01-01'
		FROM unnest(ARRAY[$1, $2, $3]::uuid[]) AS m`, memberA, memberB, memberC)

	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "payment"}); err != nil {
		t.Fatal(err)
	}
	for name, spec := range map[string]string{
		"claims":     `{"dataset": "pharmacy_claims", "columns": ["member_id", "member_last_name", "fill_date", "ndc", "drug_name", "quantity"]}`,
		"enrollment": `{"dataset": "enrollment", "columns": ["member_id", "subscriber_id", "first_name", "last_name", "birth_date", "gender", "plan_name", "start_date", "end_date"]}`,
		"patients":   `{"dataset": "members", "columns": ["member_id", "first_name", "last_name", "birth_date", "gender"]}`,
	} {
		if _, err := partner.DefineView(ctx, db.Pool, "acme", name, []byte(spec)); err != nil {
			t.Fatalf("define view %s: %v", name, err)
		}
	}
	today := time.Now().UTC()
	yesterday := today.AddDate(0, 0, -1)
	if _, err := partner.GrantConsent(ctx, db.Pool, "acme", memberA, today.AddDate(-1, 0, 0), nil, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.GrantConsent(ctx, db.Pool, "acme", memberB, today.AddDate(-1, 0, 0), &yesterday, "test"); err != nil {
		t.Fatal(err)
	}

	home := gpgtest.New(t, "Acme Test <acme@example.test>")
	addKey(t, db, "acme", home.PublicKey)
	dir := t.TempDir()
	config, _ := json.Marshal(map[string]string{"dir": dir})
	exec(`SELECT axtract.destination_define('acme', 'drop', 'local', $1::jsonb)`, string(config))
	return &localBundle{db: db, dir: dir, gpg: home, runner: &extract.Runner{Pool: db.Pool}}
}

// defineFeed defines feed name of view with options, a JSON object of
// axtract.feed_define options.
func (b *localBundle) defineFeed(t *testing.T, name, view, options string) {
	t.Helper()
	_, err := b.db.Pool.Exec(context.Background(), `SELECT axtract.feed_define($1, 'acme', $2, 'drop', $3::jsonb)`, name, view, options)
	if err != nil {
		t.Fatalf("define feed %s: %v", name, err)
	}
}

// run creates a run of feed and delivers it in one final attempt.
func (b *localBundle) run(t *testing.T, feed string) *extract.Result {
	t.Helper()
	res, err := b.runner.Run(context.Background(), b.newRun(t, feed), true)
	if err != nil {
		t.Fatalf("run of feed %s: %v", feed, err)
	}
	return res
}

func (b *localBundle) newRun(t *testing.T, feed string) int64 {
	t.Helper()
	var id int64
	err := b.db.Pool.QueryRow(context.Background(), `INSERT INTO axtract.run (feed_id, slot, trigger)
		SELECT feed_id, clock_timestamp(), 'manual' FROM axtract.feed WHERE name = $1 RETURNING run_id`, feed).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (b *localBundle) read(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(b.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// countAsPartner counts the rows of view that acme's role reads.
func (b *localBundle) countAsPartner(t *testing.T, view string) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := b.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+b.db.Name+"_p_acme"); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM partner_acme."+view).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// runFiles returns the run_file rows of a run in delivery order.
func (b *localBundle) runFiles(t *testing.T, runID int64) []extract.File {
	t.Helper()
	rows, err := b.db.Pool.Query(context.Background(), `SELECT name, kind, coalesce(part, ''), coalesce(rows, -1), bytes, sha256
		FROM axtract.run_file WHERE run_id = $1 ORDER BY file_id`, runID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var files []extract.File
	for rows.Next() {
		var f extract.File
		if err := rows.Scan(&f.Name, &f.Kind, &f.Part, &f.Rows, &f.Bytes, &f.SHA256); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return files
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// dataFiles returns the data files of a result.
func dataFiles(res *extract.Result) []extract.File {
	var files []extract.File
	for _, f := range res.Files {
		if f.Kind == extract.FileData {
			files = append(files, f)
		}
	}
	return files
}

// TestRunWritesEachFormat delivers one run of every format into a local
// folder, uncompressed and unencrypted, and checks each file with a reader
// of its format.
func TestRunWritesEachFormat(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	claims, enrolled, patients := b.countAsPartner(t, "claims"), b.countAsPartner(t, "enrollment"), b.countAsPartner(t, "patients")
	if claims == 0 || enrolled == 0 || patients == 0 {
		t.Fatalf("partner reads %d claims, %d enrollment rows and %d patients; want some of each", claims, enrolled, patients)
	}
	x12Options := `{"sender_id": "AXTRACT", "receiver_id": "ACME", "sponsor": {"name": "Employer", "id": "123456789"},
		"payer": {"name": "Plan", "id": "987654321"}}`
	fixedOptions := `{"fields": [{"name": "member_id", "start": 1, "length": 36}, {"name": "fill_date", "start": 37, "length": 8, "type": "date"},
		{"name": "quantity", "start": 45, "length": 6, "type": "decimal", "decimals": 0}],
		"trailer": [{"literal": "T"}, {"value": "record_count", "length": 9}], "overflow": "truncate"}`

	cases := []struct {
		format, view, options, ext string
		rows                       int64
		check                      func(t *testing.T, body []byte)
	}{
		{"csv", "claims", `{}`, ".csv", claims, func(t *testing.T, body []byte) {
			records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(records)) != claims+1 || records[0][0] != "member_id" {
				t.Errorf("csv has %d records starting %v, want a header and %d rows", len(records), records[0], claims)
			}
		}},
		{"delimited", "claims", `{"delimiter": "|", "extension": ".psv"}`, ".psv", claims, func(t *testing.T, body []byte) {
			r := csv.NewReader(bytes.NewReader(body))
			r.Comma = '|'
			records, err := r.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(records)) != claims+1 || len(records[0]) != 6 {
				t.Errorf("pipe-delimited file has %d records of %d fields, want %d of 6", len(records), len(records[0]), claims+1)
			}
		}},
		{"jsonl", "claims", `{}`, ".jsonl", claims, func(t *testing.T, body []byte) {
			lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
			if int64(len(lines)) != claims {
				t.Errorf("jsonl has %d lines, want %d", len(lines), claims)
			}
			for _, line := range lines {
				var row map[string]any
				if err := json.Unmarshal([]byte(line), &row); err != nil {
					t.Fatalf("line is not JSON: %v", err)
				}
				if row["member_id"] != memberA {
					t.Errorf("row of member %v, want only %s", row["member_id"], memberA)
				}
			}
		}},
		{"parquet", "claims", `{}`, ".parquet", claims, func(t *testing.T, body []byte) {
			f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
			if err != nil {
				t.Fatalf("open parquet file: %v", err)
			}
			if f.NumRows() != claims {
				t.Errorf("parquet file has %d rows, want %d", f.NumRows(), claims)
			}
		}},
		{"fixed", "claims", fixedOptions, ".txt", claims, func(t *testing.T, body []byte) {
			lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
			if int64(len(lines)) != claims+1 {
				t.Fatalf("fixed-width file has %d records, want %d and a trailer", len(lines), claims)
			}
			for _, line := range lines[:len(lines)-1] {
				if len(line) != 50 || !strings.HasPrefix(line, memberA) {
					t.Errorf("detail record %q, want 50 bytes starting with %s", line, memberA)
				}
			}
			if trailer := lines[len(lines)-1]; !strings.HasPrefix(trailer, "T"+padded(claims)) {
				t.Errorf("trailer %q, want T and the record count %d", trailer, claims)
			}
		}},
		{"x12-834", "enrollment", x12Options, ".x12", enrolled, func(t *testing.T, body []byte) {
			text := string(body)
			if !strings.HasPrefix(text, "ISA*") || !strings.Contains(text, "IEA*1*") {
				t.Errorf("x12 file does not start with ISA and end with IEA: %.60q", text)
			}
			if n := strings.Count(text, "INS*"); int64(n) != enrolled {
				t.Errorf("x12 file has %d INS segments, want %d", n, enrolled)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			feed := "f-" + c.format
			b.defineFeed(t, feed, c.view, `{"format": "`+c.format+`", "format_options": `+c.options+`, "encrypt": false, "compression": "none"}`)
			res := b.run(t, feed)
			data := dataFiles(res)
			if len(data) != 1 {
				t.Fatalf("run delivered data files %v, want one", data)
			}
			if !strings.HasSuffix(res.FileName, c.ext) {
				t.Errorf("file name %s, want the extension %s", res.FileName, c.ext)
			}
			if res.Rows != c.rows {
				t.Errorf("recorded %d rows, want the %d the partner reads", res.Rows, c.rows)
			}
			body := b.read(t, res.FileName)
			if int64(len(body)) != res.Bytes || sha256Hex(body) != res.SHA256 {
				t.Errorf("file has %d bytes and sha256 %s; the run recorded %d and %s", len(body), sha256Hex(body), res.Bytes, res.SHA256)
			}
			c.check(t, body)
		})
	}

	t.Run("fhir", func(t *testing.T) {
		b.defineFeed(t, "f-fhir", "patients", `{"format": "fhir", "format_options": {"resources": {"Patient": "patients", "Coverage": "enrollment"}, "payer_name": "Plan"},
			"encrypt": false, "compression": "none", "file_name": "{feed}_{slot}_{part}.ndjson", "trigger_suffix": ".ok"}`)
		res := b.run(t, "f-fhir")
		data := dataFiles(res)
		if len(data) != 2 || data[0].Part != "Patient" || data[1].Part != "Coverage" {
			t.Fatalf("fhir run delivered data files %+v, want Patient then Coverage", data)
		}
		base := strings.TrimSuffix(data[0].Name, "_Patient.ndjson")
		if data[1].Name != base+"_Coverage.ndjson" {
			t.Errorf("Coverage file %s, want %s_Coverage.ndjson", data[1].Name, base)
		}
		wantCounts := map[string]int64{"Patient": patients, "Coverage": enrolled}
		for _, f := range data {
			lines := strings.Split(strings.TrimSuffix(string(b.read(t, f.Name)), "\n"), "\n")
			if int64(len(lines)) != wantCounts[f.Part] || f.Rows != wantCounts[f.Part] {
				t.Errorf("%s file has %d lines and %d recorded rows, want %d", f.Part, len(lines), f.Rows, wantCounts[f.Part])
			}
			for _, line := range lines {
				var resource struct {
					ResourceType string `json:"resourceType"`
				}
				if err := json.Unmarshal([]byte(line), &resource); err != nil || resource.ResourceType != f.Part {
					t.Errorf("line %.80q is not a %s resource (%v)", line, f.Part, err)
				}
			}
		}

		var bulk struct {
			Output []struct {
				Type  string `json:"type"`
				URL   string `json:"url"`
				Count int64  `json:"count"`
			} `json:"output"`
		}
		if err := json.Unmarshal(b.read(t, base+extract.BulkDataManifestSuffix), &bulk); err != nil {
			t.Fatalf("read Bulk Data manifest: %v", err)
		}
		if len(bulk.Output) != 2 {
			t.Fatalf("Bulk Data manifest lists %d outputs, want 2", len(bulk.Output))
		}
		for i, o := range bulk.Output {
			if o.Type != data[i].Part || o.URL != data[i].Name || o.Count != wantCounts[o.Type] {
				t.Errorf("Bulk Data output %d = %+v, want %s %s with %d resources", i, o, data[i].Part, data[i].Name, wantCounts[data[i].Part])
			}
		}

		var m extract.Manifest
		if err := json.Unmarshal(b.read(t, base+extract.ManifestSuffix), &m); err != nil {
			t.Fatalf("read run manifest: %v", err)
		}
		if len(m.Files) != 2 || m.Files[0].Part != "Patient" || m.Files[1].Part != "Coverage" {
			t.Errorf("run manifest files = %+v, want the Patient and Coverage files", m.Files)
		}
		last := res.Files[len(res.Files)-1]
		if last.Kind != extract.FileTrigger || last.Name != base+".ok" {
			t.Errorf("last file %s (%s), want the trigger file %s.ok", last.Name, last.Kind, base)
		}

		// The run disclosed through both views, and the accounting records both.
		rows, err := b.db.Pool.Query(context.Background(),
			`SELECT view_name, members FROM axtract.disclosure WHERE run_id = $1 ORDER BY view_name`, res.RunID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		var view string
		var members int64
		if _, err := pgx.ForEachRow(rows, []any{&view, &members}, func() error { got[view] = members; return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["patients"] != patients || got["enrollment"] == 0 {
			t.Errorf("disclosure records of the fhir run = %v, want patients with %d members and enrollment with some", got, patients)
		}
	})
}

// TestRunZipSignedManifestTrigger delivers an encrypted, signed zip archive
// with its manifest and trigger file, and checks each with the tools a
// partner uses: gpg, archive/zip and sha256.
func TestRunZipSignedManifestTrigger(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	keyFile, signingKey := signingKey(t, b.gpg)
	b.runner.SigningKeyFile = keyFile
	b.defineFeed(t, "claims", "claims", `{"compression": "zip", "sign": true, "trigger_suffix": ".done"}`)

	res := b.run(t, "claims")
	base := strings.TrimSuffix(res.FileName, ".csv.zip.pgp")
	if base == res.FileName {
		t.Fatalf("file name %s does not end in .csv.zip.pgp", res.FileName)
	}
	wantNames := []string{res.FileName, base + ".manifest.json", res.FileName + ".done"}
	var names []string
	for _, f := range res.Files {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("delivered %v, want %v in that order", names, wantNames)
	}

	// gpg decrypts and verifies the signature of the instance's key.
	ciphertext := b.read(t, res.FileName)
	out := filepath.Join(b.gpg.Dir, "claims.zip")
	status := gpgStatus(t, b.gpg, ciphertext, "--decrypt", "--output", out)
	if !strings.Contains(status, "[GNUPG:] GOODSIG") || !strings.Contains(status, "VALIDSIG "+signingKey) {
		t.Errorf("gpg did not verify a good signature by %s:\n%s", signingKey, status)
	}
	archive, err := zip.OpenReader(out)
	if err != nil {
		t.Fatalf("open decrypted zip archive: %v", err)
	}
	defer archive.Close()
	if len(archive.File) != 1 || archive.File[0].Name != base+".csv" {
		t.Fatalf("archive entries %v, want one named %s.csv", archive.File, base)
	}
	entry, err := archive.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(entry).ReadAll()
	entry.Close()
	if err != nil {
		t.Fatalf("parse zip entry as CSV: %v", err)
	}
	if int64(len(records)-1) != b.countAsPartner(t, "claims") {
		t.Errorf("zip entry has %d rows, want %d", len(records)-1, b.countAsPartner(t, "claims"))
	}

	// The manifest is plain JSON and its digest matches the file's bytes.
	var m extract.Manifest
	if err := json.Unmarshal(b.read(t, wantNames[1]), &m); err != nil {
		t.Fatalf("manifest is not JSON: %v", err)
	}
	if m.Feed != "claims" || m.Partner != "acme" || m.RunID != res.RunID || m.View != "claims" || m.ViewVersion != 1 || m.Window != nil {
		t.Errorf("manifest = %+v, want feed claims, partner acme, run %d, view claims version 1, no window", m, res.RunID)
	}
	if len(m.Files) != 1 {
		t.Fatalf("manifest lists %d files, want 1", len(m.Files))
	}
	if got := m.Files[0]; got.Name != res.FileName || got.Bytes != int64(len(ciphertext)) || got.SHA256 != sha256Hex(ciphertext) || got.Rows != res.Rows {
		t.Errorf("manifest file = %+v, want %s, %d bytes, sha256 %s, %d rows", got, res.FileName, len(ciphertext), sha256Hex(ciphertext), res.Rows)
	}

	// The trigger file is empty and comes last.
	trigger, err := os.Stat(filepath.Join(b.dir, wantNames[2]))
	if err != nil {
		t.Fatal(err)
	}
	if trigger.Size() != 0 {
		t.Errorf("trigger file has %d bytes, want 0", trigger.Size())
	}
	for _, name := range wantNames[:2] {
		info, err := os.Stat(filepath.Join(b.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.ModTime().After(trigger.ModTime()) {
			t.Errorf("%s was written after the trigger file", name)
		}
	}

	// axtract.run_file lists the same files, in delivery order.
	files := b.runFiles(t, res.RunID)
	if len(files) != 3 {
		t.Fatalf("run_file has %d rows, want 3", len(files))
	}
	for i, kind := range []string{"data", "manifest", "trigger"} {
		body := b.read(t, wantNames[i])
		f := files[i]
		if f.Name != wantNames[i] || f.Kind != kind || f.Bytes != int64(len(body)) || f.SHA256 != sha256Hex(body) {
			t.Errorf("run_file row %d = %+v, want %s of kind %s, %d bytes, sha256 %s", i, f, wantNames[i], kind, len(body), sha256Hex(body))
		}
	}
	if files[0].Rows != res.Rows || files[1].Rows != -1 || files[2].Rows != -1 {
		t.Errorf("run_file rows = %d, %d, %d; want %d for the data file and NULL for the others", files[0].Rows, files[1].Rows, files[2].Rows, res.Rows)
	}
}

// signingKey makes an instance signing key in a GnuPG home of its own,
// writes its secret key to a file, imports its public key into the
// partner's home and returns the file and the signing key's fingerprint.
func signingKey(t *testing.T, partnerHome *gpgtest.Home) (string, string) {
	t.Helper()
	instance := gpgtest.New(t, "AxTract Signing <signing@example.test>")
	secret := gpgRun(t, instance.Dir, nil, "--armor", "--export-secret-keys", "signing@example.test")
	file := filepath.Join(t.TempDir(), "signing.asc")
	if err := os.WriteFile(file, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	gpgRun(t, partnerHome.Dir, []byte(instance.PublicKey), "--import")
	colons := gpgRun(t, instance.Dir, nil, "--with-colons", "--list-keys", "signing@example.test")
	for _, line := range strings.Split(string(colons), "\n") {
		// gpgtest makes an ed25519 primary key that signs; its fingerprint
		// is the first fpr line.
		if strings.HasPrefix(line, "fpr:") {
			return file, strings.Split(line, ":")[9]
		}
	}
	t.Fatalf("no fingerprint in %s", colons)
	return "", ""
}

func gpgRun(t *testing.T, home string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// gpgStatus runs gpg in home on stdin and returns its status lines.
func gpgStatus(t *testing.T, home *gpgtest.Home, stdin []byte, args ...string) string {
	t.Helper()
	return string(gpgRun(t, home.Dir, stdin, append([]string{"--status-fd", "1"}, args...)...))
}

// TestControlNumbersIncreasePerPartner checks that X12 runs of one partner
// take increasing interchange control numbers, store them on the run and
// in ISA13, and that a retry keeps its run's number.
func TestControlNumbersIncreasePerPartner(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	ctx := context.Background()
	options := `{"sender_id": "AXTRACT", "receiver_id": "ACME", "sponsor": {"name": "Employer", "id": "123456789"}, "payer": {"name": "Plan", "id": "987654321"}}`
	b.defineFeed(t, "enroll", "enrollment", `{"format": "x12-834", "format_options": `+options+`, "encrypt": false, "compression": "none"}`)
	b.defineFeed(t, "enroll-2", "enrollment", `{"format": "x12-834", "format_options": `+options+`, "encrypt": false, "compression": "gzip"}`)

	first := b.run(t, "enroll")
	second := b.run(t, "enroll-2")
	if first.ControlNumber < 1 || second.ControlNumber <= first.ControlNumber {
		t.Fatalf("control numbers %d then %d, want positive and increasing across the partner's feeds", first.ControlNumber, second.ControlNumber)
	}
	isa13 := func(body []byte) string {
		fields := strings.Split(string(body), "*")
		if len(fields) < 14 {
			t.Fatalf("no ISA segment in %.40q", body)
		}
		return fields[13]
	}
	if got := isa13(b.read(t, first.FileName)); got != padded(first.ControlNumber) {
		t.Errorf("ISA13 = %s, want %s", got, padded(first.ControlNumber))
	}

	// An attempt that fails after taking its number, then a retry.
	runID := b.newRun(t, "enroll")
	failing := &extract.Runner{Pool: b.db.Pool, OpenDestination: func(context.Context, string, []byte) (deliver.Destination, error) {
		return nil, errors.New("destination down")
	}}
	if _, err := failing.Run(ctx, runID, false); err == nil {
		t.Fatal("run with a failing destination succeeded")
	}
	var taken int64
	if err := b.db.Pool.QueryRow(ctx, "SELECT control_number FROM axtract.run WHERE run_id = $1", runID).Scan(&taken); err != nil {
		t.Fatalf("read control number of the failed attempt: %v", err)
	}
	retried, err := b.runner.Run(ctx, runID, true)
	if err != nil {
		t.Fatal(err)
	}
	if retried.ControlNumber != taken || taken <= second.ControlNumber {
		t.Errorf("retry used control number %d, first attempt took %d; want the same, above %d", retried.ControlNumber, taken, second.ControlNumber)
	}
	if got := isa13(b.read(t, retried.FileName)); got != padded(taken) {
		t.Errorf("retried file's ISA13 = %s, want %s", got, padded(taken))
	}
}

// padded formats n as ISA13 does: nine digits with leading zeros.
func padded(n int64) string {
	return fmt.Sprintf("%09d", n)
}

// TestRunExpiredKeyFailsBeforeReading checks that a feed whose partner key
// has expired fails permanently before it opens the destination or reads
// a row.
func TestRunExpiredKeyFailsBeforeReading(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	ctx := context.Background()
	expired := expiredKey(t)
	// partner_key_add may check expiry itself, so the key goes straight in
	// as if it had expired after it was added.
	_, err := b.db.Pool.Exec(ctx, `INSERT INTO axtract.partner_key (partner_id, fingerprint, armored, created_at)
		SELECT partner_id, 'EXPIRED', $1, now() + interval '1 minute' FROM axtract.partner WHERE slug = 'acme'`, expired)
	if err != nil {
		t.Fatal(err)
	}
	b.defineFeed(t, "claims", "claims", `{}`)
	opened := 0
	b.runner.OpenDestination = func(ctx context.Context, kind string, config []byte) (deliver.Destination, error) {
		opened++
		return extract.OpenDestination(ctx, kind, config)
	}
	progress := 0
	b.runner.Progress = func(extract.Progress) { progress++ }

	runID := b.newRun(t, "claims")
	_, err = b.runner.Run(ctx, runID, false)
	if err == nil {
		t.Fatal("run with an expired key succeeded")
	}
	if !extract.IsPermanent(err) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("err = %v, want a permanent error saying the key expired", err)
	}
	if opened != 0 || progress != 0 {
		t.Errorf("destination opened %d times, progress reported %d times; want neither", opened, progress)
	}
	var status string
	var disclosed int
	err = b.db.Pool.QueryRow(ctx, `SELECT status, (SELECT count(*) FROM axtract.disclosure WHERE run_id = $1)
		FROM axtract.run WHERE run_id = $1`, runID).Scan(&status, &disclosed)
	if err != nil {
		t.Fatal(err)
	}
	if status != "failed" || disclosed != 0 {
		t.Errorf("run status %s with %d disclosure records, want failed with none", status, disclosed)
	}
	if entries, _ := os.ReadDir(b.dir); len(entries) != 0 {
		t.Errorf("destination holds %d entries, want none", len(entries))
	}
}

// expiredKey makes a key whose encryption subkey and primary key expired
// yesterday.
func expiredKey(t *testing.T) string {
	t.Helper()
	home := gpgtest.New(t, "Unused <unused@example.test>")
	past := "--faked-system-time=" + time.Now().Add(-72*time.Hour).UTC().Format("20060102T150405")
	uid := "Expired <expired@example.test>"
	gpgRun(t, home.Dir, nil, past, "--quick-gen-key", uid, "ed25519", "sign", "2d")
	colons := string(gpgRun(t, home.Dir, nil, "--with-colons", "--list-keys", uid))
	fpr := ""
	for _, line := range strings.Split(colons, "\n") {
		if strings.HasPrefix(line, "fpr:") {
			fpr = strings.Split(line, ":")[9]
			break
		}
	}
	gpgRun(t, home.Dir, nil, past, "--quick-add-key", fpr, "cv25519", "encr", "2d")
	return string(gpgRun(t, home.Dir, nil, "--armor", "--export", uid))
}

// TestDisclosuresMatchDeliveredFiles runs a feed three times with consents
// changing in between, decrypts each file, and checks that the accounting
// of disclosures of each member lists exactly the runs whose files hold
// that member.
func TestDisclosuresMatchDeliveredFiles(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	ctx := context.Background()
	b.defineFeed(t, "claims", "claims", `{"compression": "zstd"}`)
	today := time.Now().UTC()

	inFiles := map[string][]int64{}
	var runs []int64
	for i := range 3 {
		switch i {
		case 1:
			if _, err := partner.GrantConsent(ctx, b.db.Pool, "acme", memberC, today.AddDate(0, 0, -1), nil, "test"); err != nil {
				t.Fatal(err)
			}
		case 2:
			if _, err := partner.RevokeConsent(ctx, b.db.Pool, "acme", memberA); err != nil {
				t.Fatal(err)
			}
		}
		res := b.run(t, "claims")
		runs = append(runs, res.RunID)
		members := map[string]bool{}
		for _, record := range decryptCSV(t, b, res.FileName)[1:] {
			members[record[0]] = true
		}
		// The view has the member id, so the run takes the members from
		// the rows it wrote.
		if want := []extract.Disclosure{{View: "claims", Members: int64(len(members)), FromKeys: true}}; !slices.Equal(res.Disclosures, want) {
			t.Errorf("run %d disclosures = %+v, want %+v", res.RunID, res.Disclosures, want)
		}
		for m := range members {
			inFiles[m] = append(inFiles[m], res.RunID)
		}
	}
	want := map[string][]int64{memberA: runs[:2], memberC: runs[1:]}
	for _, m := range []string{memberA, memberB, memberC} {
		if !slices.Equal(inFiles[m], want[m]) {
			t.Fatalf("files of runs %v hold member %s in runs %v; the consents should give %v", runs, m, inFiles[m], want[m])
		}
	}

	for _, m := range []string{memberA, memberB, memberC} {
		rows, err := b.db.Pool.Query(ctx, "SELECT run_id FROM axtract.disclosures_of_member($1) ORDER BY run_id", m)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		rows.Close()
		if !slices.Equal(got, inFiles[m]) {
			t.Errorf("disclosures of member %s list runs %v; its data is in the files of runs %v", m, got, inFiles[m])
		}
	}
}

// TestDisclosuresFromPseudonymsAndWithoutKey records the disclosures of a
// view whose member key is the partner's pseudonym, and of one with no
// member key, which the run reads again from the member-id view.
func TestDisclosuresFromPseudonymsAndWithoutKey(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	ctx := context.Background()
	for name, spec := range map[string]string{
		"keyed":   `{"dataset": "pharmacy_claims", "columns": ["fill_date", {"column": "member_id", "as": "member_key", "transform": "pseudonym"}]}`,
		"keyless": `{"dataset": "pharmacy_claims", "columns": ["fill_date", "ndc"]}`,
	} {
		if _, err := partner.DefineView(ctx, b.db.Pool, "acme", name, []byte(spec)); err != nil {
			t.Fatal(err)
		}
		b.defineFeed(t, name, name, `{"compression": "zstd"}`)
	}
	// Only memberA has a consent in force (setupLocal).
	want := []string{memberA}

	keyed := b.run(t, "keyed")
	pseudonyms := map[string]bool{}
	for _, record := range decryptCSV(t, b, keyed.FileName)[1:] {
		pseudonyms[record[1]] = true
	}
	var inFile []string
	for p := range pseudonyms {
		var m string
		if err := b.db.Pool.QueryRow(ctx, "SELECT member_id::text FROM axtract.member_pseudonym WHERE pseudonym = $1::uuid", p).Scan(&m); err != nil {
			t.Fatalf("pseudonym %s in the file: %v", p, err)
		}
		inFile = append(inFile, m)
	}
	if !slices.Equal(inFile, want) {
		t.Fatalf("keyed file holds members %v, want %v", inFile, want)
	}
	keyless := b.run(t, "keyless")

	for _, c := range []struct {
		res      *extract.Result
		view     string
		fromKeys bool
	}{{keyed, "keyed", true}, {keyless, "keyless", false}} {
		if w := []extract.Disclosure{{View: c.view, Members: 1, FromKeys: c.fromKeys}}; !slices.Equal(c.res.Disclosures, w) {
			t.Errorf("disclosures of %s = %+v, want %+v", c.view, c.res.Disclosures, w)
		}
		var got []string
		rows, err := b.db.Pool.Query(ctx, `SELECT m FROM unnest($1::uuid[]) AS m
			WHERE EXISTS (SELECT FROM axtract.disclosures_of_member(m) d WHERE d.run_id = $2) ORDER BY m`,
			[]string{memberA, memberB, memberC}, c.res.RunID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				t.Fatal(err)
			}
			got = append(got, m)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("run of %s disclosed %v, want %v", c.view, got, want)
		}
	}
}

// TestCoverageIDsStableAcrossRuns runs a FHIR feed whose Coverage view
// selects enrollment_id twice, and checks that each span keeps its id.
func TestCoverageIDsStableAcrossRuns(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	ctx := context.Background()
	spec := `{"dataset": "enrollment", "columns": ["enrollment_id", "member_id", "subscriber_id", "payer_id", "plan_name", "relationship", "start_date", "end_date"]}`
	if _, err := partner.DefineView(ctx, b.db.Pool, "acme", "spans", []byte(spec)); err != nil {
		t.Fatal(err)
	}

	b.defineFeed(t, "spans-fhir", "patients", `{"format": "fhir", "format_options": {"resources": {"Patient": "patients", "Coverage": "spans"}},
		"encrypt": false, "compression": "none", "file_name": "{feed}_{run}_{part}.ndjson", "manifest": false}`)
	coverageIDs := func() []string {
		t.Helper()
		res := b.run(t, "spans-fhir")
		var ids []string
		for _, f := range dataFiles(res) {
			if f.Part != "Coverage" {
				continue
			}
			for _, line := range strings.Split(strings.TrimSuffix(string(b.read(t, f.Name)), "\n"), "\n") {
				var r struct{ ID string }
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
		}
		slices.Sort(ids)
		return ids
	}

	first, second := coverageIDs(), coverageIDs()
	if len(first) == 0 {
		t.Fatal("the run wrote no Coverage resources")
	}
	if !slices.Equal(first, second) {
		t.Errorf("Coverage ids of two runs: %v and %v, want the same", first, second)
	}

	var spans []string
	rows, err := b.db.Pool.Query(ctx, `SELECT enrollment_id::text FROM mart.enrollment WHERE member_id = $1 ORDER BY 1`, memberA)
	if err != nil {
		t.Fatal(err)
	}
	if spans, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, spans) {
		t.Errorf("Coverage ids %v, want the enrollment ids %v of the consented member", first, spans)
	}
}

// TestFHIRDisclosuresLeaveOutSkippedRows runs a FHIR feed whose
// MedicationDispense view has a member the Patient view leaves out. The
// writer drops that member's resources, and the accounting must not list
// the member.
func TestFHIRDisclosuresLeaveOutSkippedRows(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	ctx := context.Background()
	if _, err := partner.GrantConsent(ctx, b.db.Pool, "acme", memberC, time.Now().UTC().AddDate(0, 0, -1), nil, "test"); err != nil {
		t.Fatal(err)
	}
	for name, spec := range map[string]string{
		"ann":   `{"dataset": "members", "columns": ["member_id", "first_name", "last_name", "birth_date", "gender"], "filters": [{"column": "first_name", "op": "=", "value": "Ann"}]}`,
		"fills": `{"dataset": "pharmacy_claims", "columns": ["pharmacy_claim_id", "member_id", "fill_date", "ndc", "drug_name", "quantity"]}`,
	} {
		if _, err := partner.DefineView(ctx, b.db.Pool, "acme", name, []byte(spec)); err != nil {
			t.Fatal(err)
		}
	}
	b.defineFeed(t, "fills-fhir", "ann", `{"format": "fhir", "format_options": {"resources": {"Patient": "ann", "MedicationDispense": "fills"}},
		"encrypt": false, "compression": "none", "file_name": "{feed}_{run}_{part}.ndjson", "manifest": false}`)
	res := b.run(t, "fills-fhir")

	// memberC's fills are read and left out, so only memberA is disclosed,
	// through both views.
	want := []extract.Disclosure{{View: "ann", Members: 1, FromKeys: true}, {View: "fills", Members: 1, FromKeys: true}}
	if !slices.Equal(res.Disclosures, want) {
		t.Errorf("disclosures = %+v, want %+v", res.Disclosures, want)
	}
	var disclosedC bool
	err := b.db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM axtract.disclosures_of_member($1) WHERE run_id = $2)", memberC, res.RunID).Scan(&disclosedC)
	if err != nil {
		t.Fatal(err)
	}
	if disclosedC {
		t.Errorf("run %d lists member %s, whose resources the files leave out", res.RunID, memberC)
	}
}

func decryptCSV(t *testing.T, b *localBundle, name string) [][]string {
	t.Helper()
	out := filepath.Join(b.gpg.Dir, "out.zst")
	gpgRun(t, b.gpg.Dir, b.read(t, name), "--decrypt", "--output", out)
	compressed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("zstd", "--decompress", "--stdout", "--quiet")
	cmd.Stdin = bytes.NewReader(compressed)
	plain, err := cmd.Output()
	if err != nil {
		t.Fatalf("zstd --decompress %s: %v", name, err)
	}
	records, err := csv.NewReader(bytes.NewReader(plain)).ReadAll()
	if err != nil {
		t.Fatalf("parse %s as CSV: %v", name, err)
	}
	return records
}

// TestPortalDestinationCreatesPartnerFolder checks that a portal
// destination delivers into its partner's folder under dir, made with mode
// 0700 when missing.
func TestPortalDestinationCreatesPartnerFolder(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	root := filepath.Join(t.TempDir(), "files")
	config, _ := json.Marshal(map[string]string{"dir": root})
	if _, err := b.db.Pool.Exec(context.Background(), `SELECT axtract.destination_define('acme', 'web', 'portal', $1::jsonb)`, string(config)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool.Exec(context.Background(), `SELECT axtract.feed_define('portal', 'acme', 'claims', 'web', '{"manifest": false}')`); err != nil {
		t.Fatal(err)
	}
	res := b.run(t, "portal")
	folder := filepath.Join(root, "acme")
	info, err := os.Stat(folder)
	if err != nil {
		t.Fatalf("partner folder: %v", err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("partner folder mode %o, want 700", info.Mode().Perm())
	}
	entries, err := os.ReadDir(folder)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != res.FileName {
		t.Errorf("partner folder holds %v, want only %s", entries, res.FileName)
	}
}

// TestRunRejectsInvalidFormatOptions checks that options that slipped past
// feed_define fail the run permanently, naming the value, before anything
// is delivered.
func TestRunRejectsInvalidFormatOptions(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	ctx := context.Background()
	b.defineFeed(t, "claims", "claims", `{"encrypt": false}`)
	if _, err := b.db.Pool.Exec(ctx, `UPDATE axtract.feed SET format = 'jsonl', format_options = '{"non_finite": "zero"}'`); err != nil {
		t.Fatal(err)
	}
	_, err := b.runner.Run(ctx, b.newRun(t, "claims"), false)
	if err == nil {
		t.Fatal("run with invalid format options succeeded")
	}
	if !extract.IsPermanent(err) || !strings.Contains(err.Error(), `"zero"`) {
		t.Errorf("err = %v, want a permanent error naming the value \"zero\"", err)
	}
	if entries, _ := os.ReadDir(b.dir); len(entries) != 0 {
		t.Errorf("destination holds %d entries, want none", len(entries))
	}
}

func TestDataFileNameRules(t *testing.T) {
	slot := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	cases := []struct {
		template, ext, part, want string
	}{
		{"{feed}_{slot}.csv", ".csv", "", "f_20261204T060000Z.csv"},
		{"{feed}_{slot}.csv", ".ndjson", "", "f_20261204T060000Z.ndjson"},
		{"{feed}_{slot}.dat", ".txt", "", "f_20261204T060000Z.dat"},
		{"{feed}_{slot}.csv", ".ndjson", "Patient", "f_20261204T060000Z_Patient.ndjson"},
		{"{feed}_{slot}_{part}.ndjson", ".ndjson", "Coverage", "f_20261204T060000Z_Coverage.ndjson"},
		{"{part}-{run}", ".ndjson", "Patient", "Patient-7"},
	}
	for _, c := range cases {
		if got := extract.DataFileName(c.template, c.ext, c.part, "f", "p", slot, 7); got != c.want {
			t.Errorf("DataFileName(%q, %q, %q) = %q, want %q", c.template, c.ext, c.part, got, c.want)
		}
	}
	for template, want := range map[string]string{
		"{feed}_{slot}.csv":           "f_20261204T060000Z",
		"{feed}_{slot}_{part}.ndjson": "f_20261204T060000Z",
		"{part}.ndjson":               "f_20261204T060000Z",
	} {
		if got := extract.BaseName(template, ".ndjson", "f", "p", slot, 7); got != want {
			t.Errorf("BaseName(%q) = %q, want %q", template, got, want)
		}
	}
}

// TestWindowDisclosuresMatchDeliveredFiles checks the accounting of an
// incremental feed: each run's record lists the members of the rows in its
// window, not every member the view shows.
func TestWindowDisclosuresMatchDeliveredFiles(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	ctx := context.Background()
	spec := `{"dataset": "pharmacy_claims", "columns": ["member_id", "fill_date", "loaded_at"]}`
	if _, err := partner.DefineView(ctx, b.db.Pool, "acme", "claims_inc", []byte(spec)); err != nil {
		t.Fatal(err)
	}
	b.defineFeed(t, "inc", "claims_inc", `{"format": "jsonl", "encrypt": false, "compression": "none", "watermark_column": "loaded_at"}`)

	first := b.run(t, "inc")
	if _, err := partner.GrantConsent(ctx, b.db.Pool, "acme", memberC, time.Now().UTC().AddDate(0, 0, -1), nil, "test"); err != nil {
		t.Fatal(err)
	}
	_, err := b.db.Pool.Exec(ctx, `INSERT INTO mart.pharmacy_claim (pharmacy_claim_id, member_id, fill_date, loaded_at)
		VALUES (gen_random_uuid(), $1, DATE '2026-02-01', now() + interval '1 second')`, memberC)
	if err != nil {
		t.Fatal(err)
	}
	second := b.run(t, "inc")
	if second.Window == nil || second.Window.From == nil {
		t.Fatalf("second run has window %+v, want one that starts at the first run's end", second.Window)
	}

	if got := fileMembers(t, b, second); !slices.Equal(got, []string{memberC}) {
		t.Errorf("second run's file holds members %v, want only %s", got, memberC)
	}
	for _, res := range []*extract.Result{first, second} {
		members := fileMembers(t, b, res)
		for _, m := range []string{memberA, memberB, memberC} {
			var disclosed bool
			err := b.db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM axtract.disclosures_of_member($1) WHERE run_id = $2)", m, res.RunID).Scan(&disclosed)
			if err != nil {
				t.Fatal(err)
			}
			if inFile := slices.Contains(members, m); disclosed != inFile {
				t.Errorf("run %d: member %s disclosed = %t, in the file = %t", res.RunID, m, disclosed, inFile)
			}
		}
	}
}

// fileMembers returns the sorted member ids in a delivered JSON Lines file.
func fileMembers(t *testing.T, b *localBundle, res *extract.Result) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(b.read(t, res.FileName)), "\n"), "\n") {
		var row struct {
			MemberID string `json:"member_id"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		seen[row.MemberID] = true
	}
	var ids []string
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// TestRunChecksEveryPartViewFirst stores a FHIR feed whose second view is
// missing, as a DBA could by updating the row directly, and checks that the
// run fails before it delivers the Patient file.
func TestRunChecksEveryPartViewFirst(t *testing.T) {
	t.Parallel()
	b := setupLocal(t)
	b.defineFeed(t, "f-fhir", "patients", `{"format": "fhir", "format_options": {"resources": {"Patient": "patients"}}, "encrypt": false, "compression": "none"}`)
	if _, err := b.db.Pool.Exec(context.Background(), `UPDATE axtract.feed
		SET format_options = '{"resources": {"Patient": "patients", "Coverage": "nosuch"}}' WHERE name = 'f-fhir'`); err != nil {
		t.Fatal(err)
	}
	_, err := b.runner.Run(context.Background(), b.newRun(t, "f-fhir"), true)
	if err == nil || !extract.IsPermanent(err) || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("run with a missing part view: err = %v, want a permanent error naming nosuch", err)
	}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("the failed run left %s in the destination", e.Name())
	}
}

// failingDestination fails to create any file whose name contains failOn.
type failingDestination struct {
	deliver.Destination
	failOn string
}

func (d failingDestination) Create(ctx context.Context, name string) (deliver.Upload, error) {
	if strings.Contains(name, d.failOn) {
		return nil, errors.New("destination full")
	}
	return d.Destination.Create(ctx, name)
}

// TestFailedPartDeliversNoPart fails the second data file of a FHIR run,
// then its Bulk Data manifest, and checks that the files already written
// are not delivered either, and that no disclosure is recorded.
func TestFailedPartDeliversNoPart(t *testing.T) {
	t.Parallel()
	for _, failOn := range []string{"_Coverage", extract.BulkDataManifestSuffix} {
		t.Run(strings.TrimPrefix(failOn, "."), func(t *testing.T) {
			ctx := context.Background()
			b := setupLocal(t)
			b.defineFeed(t, "f-fhir", "patients", `{"format": "fhir", "format_options": {"resources": {"Patient": "patients", "Coverage": "enrollment"}, "payer_name": "Plan"},
				"encrypt": false, "compression": "none", "file_name": "{feed}_{slot}_{part}.ndjson"}`)
			b.runner.OpenDestination = func(ctx context.Context, kind string, config []byte) (deliver.Destination, error) {
				d, err := extract.OpenDestination(ctx, kind, config)
				if err != nil {
					return nil, err
				}
				return failingDestination{Destination: d, failOn: failOn}, nil
			}

			runID := b.newRun(t, "f-fhir")
			if _, err := b.runner.Run(ctx, runID, true); err == nil || !strings.Contains(err.Error(), "destination full") {
				t.Fatalf("run whose %s file fails: err = %v, want destination full", failOn, err)
			}

			entries, err := os.ReadDir(b.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				t.Errorf("the failed run left %s in the destination", e.Name())
			}

			var disclosed int
			if err := b.db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.disclosure WHERE run_id = $1", runID).Scan(&disclosed); err != nil {
				t.Fatal(err)
			}
			if disclosed != 0 {
				t.Errorf("the failed run recorded %d disclosures, want none", disclosed)
			}
		})
	}
}

package extract_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/gpgtest"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/sshd"
)

const (
	memberA = "00000000-0000-4000-8000-00000000000a" // consent in force
	memberB = "00000000-0000-4000-8000-00000000000b" // consent ended yesterday
	memberC = "00000000-0000-4000-8000-00000000000c" // no consent
)

type bundle struct {
	db     *pgtest.DB
	gpg    *gpgtest.Home
	server *sshd.Server
	runner *extract.Runner
}

// setup creates a mart with three members and their pharmacy claims, a
// partner pbm with a view, consents, an OpenPGP key and an SFTP destination
// on a real sshd.
func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO mart.member (member_id, first_name, last_name, birth_date) VALUES
		($1, 'Ann', 'O''Neil, "Jr"', '1970-01-02'), ($2, 'Bob', 'Ray', '1980-03-04'), ($3, 'Cy', 'Hid', '1990-05-06')`,
		memberA, memberB, memberC)
	exec(`INSERT INTO mart.pharmacy_claim (pharmacy_claim_id, member_id, fill_date, ndc, drug_name, quantity, days_supply)
		SELECT gen_random_uuid(), m, DATE '2026-01-01' + i, '00002323230', d, 30, 30
		FROM unnest(ARRAY[$1, $2, $3]::uuid[]) AS m,
		     generate_series(1, 4) AS i,
		     (VALUES ('Drug, "quoted"'), (E'two\nlines'), (''), (NULL)) AS names(d)`,
		memberA, memberB, memberC)

	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "pbm", Name: "PBM", Purpose: "payment"}); err != nil {
		t.Fatal(err)
	}
	spec := `{"dataset": "pharmacy_claims", "columns": ["member_id", "member_last_name", "fill_date", "ndc", "drug_name", "quantity"]}`
	if _, err := partner.DefineView(ctx, db.Pool, "pbm", "claims", []byte(spec)); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC()
	yesterday := today.AddDate(0, 0, -1)
	for _, c := range []struct {
		member string
		to     *time.Time
	}{{memberA, nil}, {memberB, &yesterday}} {
		if _, err := partner.GrantConsent(ctx, db.Pool, "pbm", c.member, today.AddDate(-1, 0, 0), c.to, "test"); err != nil {
			t.Fatal(err)
		}
	}

	home := gpgtest.New(t, "PBM Test <pbm@example.test>")
	addKey(t, db, "pbm", home.PublicKey)

	if _, err := sshd.FindSSHD(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	server, err := sshd.Start(ctx, sshd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Stop() })
	defineSFTP(t, db, server, server.Port, server.HostKey)
	exec(`SELECT axtract.feed_define('pbm-claims', 'pbm', 'claims', 'sftp', '{"compression": "zstd"}')`)

	return &bundle{db: db, gpg: home, server: server, runner: &extract.Runner{Pool: db.Pool}}
}

func addKey(t *testing.T, db *pgtest.DB, slug, armored string) {
	t.Helper()
	_, err := db.Pool.Exec(context.Background(), "SELECT axtract.partner_key_add($1, $2, $3)", slug, "TESTKEY", armored)
	if err != nil {
		t.Fatal(err)
	}
}

func defineSFTP(t *testing.T, db *pgtest.DB, server *sshd.Server, port int, hostKey string) {
	t.Helper()
	config, _ := json.Marshal(map[string]any{
		"host": "127.0.0.1", "port": port, "user": server.User, "dir": server.Root,
		"host_key": hostKey, "private_key_file": server.ClientKeyFile, "timeout_seconds": 10,
	})
	_, err := db.Pool.Exec(context.Background(), "SELECT axtract.destination_define('pbm', 'sftp', 'sftp', $1::jsonb)", string(config))
	if err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) newRun(t *testing.T) int64 {
	t.Helper()
	var id int64
	err := b.db.Pool.QueryRow(context.Background(), `INSERT INTO axtract.run (feed_id, slot, trigger)
		SELECT feed_id, clock_timestamp(), 'manual' FROM axtract.feed WHERE name = 'pbm-claims' RETURNING run_id`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// files lists the server directory, hidden temporary names included.
func (b *bundle) files(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(b.server.Root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// readDelivered decrypts with gpg, decompresses and parses a delivered file.
func (b *bundle) readDelivered(t *testing.T, name string) [][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(b.server.Root, name))
	if err != nil {
		t.Fatal(err)
	}
	plain := b.gpg.Decrypt(t, raw)
	dec, err := zstd.NewReader(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	data, err := io.ReadAll(dec)
	if err != nil {
		t.Fatalf("decompress %s: %v", name, err)
	}
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("parse %s as CSV: %v", name, err)
	}
	return records
}

func (b *bundle) countAsPartner(t *testing.T) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := b.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var n int64
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+b.db.Name+"_p_pbm"); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM partner_pbm.claims").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRunDeliversConsentFilteredFile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	runID := b.newRun(t)

	res, err := b.runner.Run(context.Background(), runID, true)
	if err != nil {
		t.Fatal(err)
	}
	manifest := strings.TrimSuffix(res.FileName, ".csv.zst.pgp") + ".manifest.json"
	if got := b.files(t); !slices.Equal(got, []string{res.FileName, manifest}) {
		t.Fatalf("server files = %v, want only %s and %s", got, res.FileName, manifest)
	}
	records := b.readDelivered(t, res.FileName)
	header, rows := records[0], records[1:]
	if want := []string{"member_id", "member_last_name", "fill_date", "ndc", "drug_name", "quantity"}; !slices.Equal(header, want) {
		t.Errorf("header = %v, want %v", header, want)
	}
	if want := b.countAsPartner(t); int64(len(rows)) != want || res.Rows != want {
		t.Errorf("file rows = %d, recorded rows = %d, view count as partner = %d", len(rows), res.Rows, want)
	}
	drugs := map[string]int{}
	for _, r := range rows {
		if r[0] != memberA {
			t.Errorf("row for member %s, want only %s", r[0], memberA)
		}
		drugs[r[4]]++
	}
	for _, want := range []string{`Drug, "quoted"`, "two\nlines"} {
		if drugs[want] != 4 {
			t.Errorf("drug name %q appears %d times, want 4", want, drugs[want])
		}
	}
	if rows[0][1] != `O'Neil, "Jr"` {
		t.Errorf("last name = %q, want it unchanged", rows[0][1])
	}

	var status string
	var sha *string
	err = b.db.Pool.QueryRow(context.Background(), "SELECT status, sha256 FROM axtract.run WHERE run_id = $1", runID).Scan(&status, &sha)
	if err != nil {
		t.Fatal(err)
	}
	if status != "succeeded" || sha == nil || *sha != res.SHA256 {
		t.Errorf("run record: status %s, sha256 %v; want succeeded and %s", status, sha, res.SHA256)
	}
}

func TestRunKeepsNullAndEmptyApart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, err := b.runner.Run(context.Background(), b.newRun(t), true)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(b.server.Root, res.FileName))
	dec, _ := zstd.NewReader(bytes.NewReader(b.gpg.Decrypt(t, raw)))
	defer dec.Close()
	data, _ := io.ReadAll(dec)
	// PostgreSQL's CSV writes NULL as nothing and the empty string as "".
	if !bytes.Contains(data, []byte(`,"",30`)) {
		t.Error(`no quoted empty drug name ("") in the file`)
	}
	if !bytes.Contains(data, []byte(",,30")) {
		t.Error("no unquoted NULL drug name in the file")
	}
}

// cutProxy forwards TCP to target and cuts every connection after limit
// bytes from the client.
func cutProxy(t *testing.T, target string, limit int64) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			upstream, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(client, upstream); client.Close() }()
			go func() {
				defer wg.Done()
				io.CopyN(upstream, client, limit)
				client.Close()
				upstream.Close()
			}()
		}
	}()
	return l.Addr().String()
}

func TestRunCutMidwayLeavesNoFinalFile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// Enough rows that the upload outlasts the proxy's byte limit.
	_, err := b.db.Pool.Exec(ctx, `INSERT INTO mart.pharmacy_claim (pharmacy_claim_id, member_id, fill_date, drug_name)
		SELECT gen_random_uuid(), $1, DATE '2025-01-01', md5(i::text) || md5((i * 7)::text) FROM generate_series(1, 200000) i`, memberA)
	if err != nil {
		t.Fatal(err)
	}
	proxy := cutProxy(t, b.server.Addr, 256<<10)
	_, port, _ := net.SplitHostPort(proxy)
	var proxyPort int
	json.Unmarshal([]byte(port), &proxyPort)
	defineSFTP(t, b.db, b.server, proxyPort, b.server.HostKey)

	runID := b.newRun(t)
	_, err = b.runner.Run(ctx, runID, false)
	if err == nil {
		t.Fatal("run through the cutting proxy succeeded")
	}
	if extract.IsPermanent(err) {
		t.Fatalf("cut connection classified as permanent: %v", err)
	}
	var status string
	b.db.Pool.QueryRow(ctx, "SELECT status FROM axtract.run WHERE run_id = $1", runID).Scan(&status)
	if status != "retrying" {
		t.Errorf("status after a transient failure = %s, want retrying", status)
	}
	for _, name := range b.files(t) {
		if name[0] != '.' {
			t.Errorf("file %s under a final name after a cut upload", name)
		}
	}

	defineSFTP(t, b.db, b.server, b.server.Port, b.server.HostKey)
	res, err := b.runner.Run(ctx, runID, true)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	var final []string
	for _, name := range b.files(t) {
		if name[0] != '.' && !strings.HasSuffix(name, ".manifest.json") {
			final = append(final, name)
		}
	}
	if !slices.Equal(final, []string{res.FileName}) {
		t.Errorf("final data files after retry = %v, want exactly %s", final, res.FileName)
	}
	if rows := b.readDelivered(t, res.FileName); int64(len(rows)-1) != b.countAsPartner(t) {
		t.Errorf("retried file has %d rows, want %d", len(rows)-1, b.countAsPartner(t))
	}
}

func TestRunRejectsChangedHostKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other, err := sshd.Start(context.Background(), sshd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Stop()
	// The destination pins another server's key, as after a host swap.
	defineSFTP(t, b.db, b.server, b.server.Port, other.HostKey)

	_, err = b.runner.Run(context.Background(), b.newRun(t), false)
	if err == nil {
		t.Fatal("run succeeded against a server with another host key")
	}
	if !extract.IsPermanent(err) {
		t.Errorf("host key mismatch not permanent: %v", err)
	}
	if got := b.files(t); len(got) != 0 {
		t.Errorf("server received %v, want nothing", got)
	}
}

func TestRunOfDeliveredRunDeliversNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	runID := b.newRun(t)
	if _, err := b.runner.Run(context.Background(), runID, true); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	b.runner.Progress = func(extract.Progress) { calls.Add(1) }
	_, err := b.runner.Run(context.Background(), runID, true)
	if !errors.Is(err, extract.ErrAlreadyDelivered) {
		t.Fatalf("second run: err = %v, want ErrAlreadyDelivered", err)
	}
	if calls.Load() != 0 {
		t.Error("second run streamed data")
	}
	if got := b.files(t); len(got) != 2 {
		t.Errorf("server files = %v, want the data file and its manifest", got)
	}
}

func TestFileNameKeepsManualSlotsApart(t *testing.T) {
	scheduled := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	if got, want := extract.FileName("{feed}_{slot}.csv", "f", "p", scheduled, 1), "f_20261204T060000Z.csv"; got != want {
		t.Errorf("scheduled slot: FileName = %q, want %q", got, want)
	}
	first := extract.FileName("{feed}_{slot}.csv", "f", "p", scheduled.Add(123*time.Microsecond), 2)
	second := extract.FileName("{feed}_{slot}.csv", "f", "p", scheduled.Add(124*time.Microsecond), 3)
	if first == second {
		t.Errorf("two on-demand runs in one second share the name %q", first)
	}
	if want := "f_20261204T060000.000123Z.csv"; first != want {
		t.Errorf("on-demand slot: FileName = %q, want %q", first, want)
	}
}

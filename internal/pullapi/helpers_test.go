package pullapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/pullapi"
)

type testBundle struct {
	db     *pgtest.DB
	dir    string
	base   string
	client *http.Client
}

// setup creates partners acme and beta, each with a feed to a portal
// destination under one folder, and serves the pull API over TLS on
// 127.0.0.1 with a certificate made for the test.
func setup(t testing.TB, opts pullapi.Options) *testBundle {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	dir := t.TempDir()
	for _, slug := range []string{"acme", "beta"} {
		if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: slug, Name: slug, Purpose: "operations"}); err != nil {
			t.Fatal(err)
		}
		if _, err := partner.DefineView(ctx, db.Pool, slug, "roster", []byte(`{"dataset": "members", "columns": ["member_id"]}`)); err != nil {
			t.Fatal(err)
		}
		config, _ := json.Marshal(map[string]string{"dir": dir})
		for _, sql := range []string{
			"SELECT axtract.destination_define('" + slug + "', 'portal', 'local', '" + string(config) + "')",
			"UPDATE axtract.destination SET kind = 'portal' WHERE name = 'portal'",
			"SELECT axtract.feed_define('" + slug + "-roster', '" + slug + "', 'roster', 'portal', '{\"encrypt\": false}')",
		} {
			if _, err := db.Pool.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		if err := os.MkdirAll(filepath.Join(dir, slug), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	certFile, keyFile, pool := writeCert(t)
	cfg, err := pullapi.TLSConfig(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := pullapi.NewServer(listener.Addr().String(), pullapi.NewHandler(db.Pool, opts), cfg)
	go server.ServeTLS(listener, "", "")
	t.Cleanup(func() { server.Close() })
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableCompression: true},
	}
	return &testBundle{db: db, dir: dir, base: "https://" + listener.Addr().String(), client: client}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key, and
// returns their paths and a pool that trusts the certificate.
func writeCert(t testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}

	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// deliver records a succeeded run of feed with one data file of the given
// content, written where the portal destination keeps it, and returns the
// run and file ids.
func (b *testBundle) deliver(t testing.TB, feed, slug, name string, content []byte) (runID, fileID int64) {
	t.Helper()
	ctx := context.Background()
	sum := sha256.Sum256(content)
	if err := os.WriteFile(filepath.Join(b.dir, slug, name), content, 0o644); err != nil {
		t.Fatal(err)
	}
	err := b.db.Pool.QueryRow(ctx, `INSERT INTO axtract.run (feed_id, slot, trigger, status, file_name, rows, bytes, sha256, finished_at)
		SELECT feed_id, clock_timestamp(), 'manual', 'succeeded', $2, 3, $3, $4, now() FROM axtract.feed WHERE name = $1
		RETURNING run_id`, feed, name, len(content), hex.EncodeToString(sum[:])).Scan(&runID)
	if err != nil {
		t.Fatal(err)
	}
	err = b.db.Pool.QueryRow(ctx, `INSERT INTO axtract.run_file (run_id, name, kind, rows, bytes, sha256)
		VALUES ($1, $2, 'data', 3, $3, $4) RETURNING file_id`, runID, name, len(content), hex.EncodeToString(sum[:])).Scan(&fileID)
	if err != nil {
		t.Fatal(err)
	}
	return runID, fileID
}

// token creates an API token of slug.
func (b *testBundle) token(t testing.TB, slug string, ttl time.Duration, scopes ...string) (int64, string) {
	t.Helper()
	id, token, err := pullapi.CreateToken(context.Background(), b.db.Pool, pullapi.CreateTokenParams{Partner: slug, Scopes: scopes, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return id, token
}

// get sends a GET with the bearer token (none when empty) and extra headers
// in name, value pairs, and returns the response with its body read.
func (b *testBundle) get(t *testing.T, path, token string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("read body of GET %s: %v", path, err)
	}
	return resp, body
}

// errorOf decodes a JSON error body.
func errorOf(t *testing.T, body []byte) (code, message string) {
	t.Helper()
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e.Error, e.Message
}

// auditDetails returns the detail of each file.download event, oldest first.
func auditDetails(t *testing.T, db *pgtest.DB) []map[string]any {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(),
		"SELECT detail FROM axtract.audit_event WHERE action = 'file.download' ORDER BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var details []map[string]any
	for rows.Next() {
		var d map[string]any
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		details = append(details, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return details
}

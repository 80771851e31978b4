package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/cli"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

// buildBinary builds cmd/axtract once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "axtract")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/axtract/axtract/cmd/axtract")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build axtract: %v\n%s", err, out)
	}
	return bin
}

func TestTwoServeProcessesDeliverSlotOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin := buildBinary(t)
	db := pgtest.New(t)
	outDir := t.TempDir()

	if _, err := db.Pool.Exec(ctx, `INSERT INTO mart.member (member_id, first_name, birth_date)
		SELECT gen_random_uuid(), 'M' || i, DATE '1980-01-01' + i FROM generate_series(1, 50) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "roster", []byte(`{"dataset": "members", "columns": ["member_id", "first_name"]}`)); err != nil {
		t.Fatal(err)
	}
	config, _ := json.Marshal(map[string]string{"dir": outDir})
	for _, sql := range []string{
		"SELECT axtract.consent_grant_all('acme', 'SELECT member_id FROM mart.member', DATE '2020-01-01')",
		"SELECT axtract.destination_define('acme', 'drop', 'local', '" + string(config) + "')",
		`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop', '{"schedule": "* * * * *", "encrypt": false, "compression": "gzip"}')`,
		// Created two minutes ago, so the slot of the last minute is due at once.
		"UPDATE axtract.feed SET created_at = now() - interval '2 minutes'",
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	logDir := t.TempDir()
	var procs []*exec.Cmd
	var addrs []string
	t.Cleanup(func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	})
	for i := range 2 {
		cmd := exec.Command(bin, "serve", "--database-url", db.DSN, "--tick", "1s", "--http-addr", "127.0.0.1:0", "--log-format", "json")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		logPath := filepath.Join(logDir, fmt.Sprintf("serve-%d.log", i))
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				logged, _ := os.ReadFile(logPath)
				t.Logf("log of serve %d:\n%s", i, logged)
			}
		})
		cmd.Stderr = logFile
		if err := cmd.Start(); err != nil {
			t.Fatalf("start serve %d: %v", i, err)
		}
		procs = append(procs, cmd)
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatalf("serve %d printed no address: %v", i, err)
		}
		addrs = append(addrs, strings.TrimSpace(line[strings.LastIndex(line, " ")+1:]))
	}
	for _, addr := range addrs {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			resp, err := http.Get(addr + path)
			if err != nil {
				t.Fatalf("GET %s%s: %v", addr, path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s%s = %d, want 200", addr, path, resp.StatusCode)
			}
			if path == "/metrics" && !strings.Contains(string(body), "axtract_rows_delivered_total") {
				t.Errorf("GET %s/metrics lacks axtract_rows_delivered_total", addr)
			}
		}
	}

	deadline := time.Now().Add(90 * time.Second)
	var delivered int
	for time.Now().Before(deadline) {
		db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.run WHERE status = 'succeeded'").Scan(&delivered)
		if delivered > 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if delivered == 0 {
		t.Fatal("no run delivered within 90 seconds")
	}
	// Give both schedulers more ticks in which a duplicate could appear.
	time.Sleep(4 * time.Second)

	var slots, runs, jobs int
	err := db.Pool.QueryRow(ctx, `SELECT count(DISTINCT slot), count(*),
		(SELECT count(*) FROM river.river_job WHERE kind = 'axtract.extract')
		FROM axtract.run`).Scan(&slots, &runs, &jobs)
	if err != nil {
		t.Fatal(err)
	}
	if runs != slots || jobs != runs {
		t.Errorf("runs = %d, distinct slots = %d, extract jobs = %d; want one run and one job per slot", runs, slots, jobs)
	}
	// Each run also writes a manifest beside its data file; count the data.
	files, _ := filepath.Glob(filepath.Join(outDir, "acme-roster_*.csv.gz"))
	if len(files) != slots {
		t.Errorf("delivered data files = %v, want one per slot (%d)", files, slots)
	}
}

// startServe starts axtract serve with args and returns the URL it prints.
// The process is stopped when the test ends.
func startServe(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("log of serve:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed no address: %v", err)
	}
	return strings.TrimSpace(line[strings.LastIndex(line, " ")+1:])
}

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its key,
// and returns their paths and the pool that trusts the certificate.
func writeTestCert(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "axtract test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

func TestServeMountsPortalAndAPIsOverHTTPS(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	db := pgtest.New(t)
	certFile, keyFile, roots := writeTestCert(t)
	base := startServe(t, bin, "--database-url", db.DSN, "--http-addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("serve printed %q, want an https URL on 127.0.0.1", base)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}

	cases := []struct {
		method, path string
		status       int
		contains     string
	}{
		{"GET", "/", 200, `src="/assets/js/app.js"`},
		{"GET", "/views/new", 200, `src="/assets/js/app.js"`},
		{"GET", "/assets/app.css", 200, "--accent"},
		{"GET", "/healthz", 200, "ok"},
		{"GET", "/readyz", 200, "ok"},
		{"GET", "/metrics", 200, "axtract_rows_delivered_total"},
		{"GET", "/auth/session", 401, ""},
		{"GET", "/api/v1/deliveries", 401, ""},
		{"GET", "/download/1.1.1.bad", 403, "invalid_link"},
	}
	for _, c := range cases {
		req, err := http.NewRequest(c.method, base+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s = %d, want %d; body %.200s", c.method, c.path, resp.StatusCode, c.status, body)
		}
		if c.contains != "" && !strings.Contains(string(body), c.contains) {
			t.Errorf("%s %s body lacks %q", c.method, c.path, c.contains)
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got == "" {
			t.Errorf("%s %s has no Strict-Transport-Security header over HTTPS", c.method, c.path)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s X-Content-Type-Options = %q, want nosniff", c.method, c.path, got)
		}
	}

	// GraphQL without a session returns an error and no data.
	resp, err := client.Post(base+"/graphql", "application/json", strings.NewReader(`{"query": "{ me { login } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK && !strings.Contains(string(body), `"errors"`) {
		t.Errorf("POST /graphql without a session = 200 with no errors: %s", body)
	}
	if strings.Contains(string(body), `"login":"`) {
		t.Errorf("POST /graphql without a session returned an account: %s", body)
	}
}

func TestServeRejectsHalfTLSConfig(t *testing.T) {
	var stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), []string{"serve", "--tls-cert", "/nonexistent/cert.pem"}, env)
	if code != 2 {
		t.Errorf("serve with --tls-cert alone exited %d, want 2 (usage)", code)
	}
	if !strings.Contains(stderr.String(), "--tls-key") {
		t.Errorf("serve with --tls-cert alone printed %q, want it to name --tls-key", stderr.String())
	}
}

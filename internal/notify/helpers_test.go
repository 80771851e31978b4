package notify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

// setup creates a database with members, partner acme and feed acme-roster
// whose contacts are ops@acme.example and data@acme.example.
func setup(t *testing.T) *pgtest.DB {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := db.Pool.Exec(ctx, `INSERT INTO mart.member (member_id, first_name, last_name, birth_date, ssn)
		SELECT gen_random_uuid(), 'Quillon' || i, 'Marbleworth' || i, DATE '1980-01-01' + i, '900-00-' || (1000 + i)
		FROM generate_series(1, 5) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "roster", []byte(`{"dataset": "members", "columns": ["member_id", "first_name"]}`)); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"SELECT axtract.destination_define('acme', 'drop', 'local', '{\"dir\": \"/nonexistent\"}')",
		`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop', '{"encrypt": false}')`,
		"UPDATE axtract.feed SET contacts = '{ops@acme.example,data@acme.example}' WHERE name = 'acme-roster'",
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	return db
}

// memberValues returns every member id, name and SSN in the mart: values a
// notice must never contain.
func memberValues(t *testing.T, db *pgtest.DB) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(),
		"SELECT unnest(ARRAY[member_id::text, first_name, last_name, ssn]) FROM mart.member")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var values []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(values) != 20 {
		t.Fatalf("member values = %d, want 20", len(values))
	}
	return values
}

// deliverRun creates a run of acme-roster and, in one transaction, marks it
// succeeded and records two files, as the extract does.
func deliverRun(t *testing.T, db *pgtest.DB) int64 {
	t.Helper()
	ctx := context.Background()
	var runID int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO axtract.run (feed_id, slot, trigger)
		SELECT feed_id, TIMESTAMPTZ '2026-12-01 06:00Z', 'manual' FROM axtract.feed WHERE name = 'acme-roster'
		RETURNING run_id`).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, sql := range []string{
		`UPDATE axtract.run SET status = 'succeeded', rows = 5, bytes = 321, file_name = 'acme-roster_20261201.csv',
			sha256 = repeat('a', 64), finished_at = now() WHERE run_id = $1`,
		`INSERT INTO axtract.run_file (run_id, name, kind, rows, bytes, sha256)
			VALUES ($1, 'acme-roster_20261201.csv', 'data', 5, 321, repeat('a', 64)),
			       ($1, 'acme-roster_20261201.manifest.json', 'manifest', NULL, 99, repeat('b', 64))`,
	} {
		if _, err := tx.Exec(ctx, sql, runID); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return runID
}

// writeCert returns a TLS certificate for 127.0.0.1 and a pool that trusts
// it.
func writeCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
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
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// received is one message an smtpServer accepted.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

// smtpServer is a go-smtp server on 127.0.0.1 that requires AUTH (PLAIN or
// LOGIN) with user axtract and the password in its password field, and
// offers STARTTLS, or speaks TLS from the start when implicit is set.
type smtpServer struct {
	addr     string
	pool     *x509.CertPool
	mu       sync.Mutex
	password string
	messages []received
}

func startSMTP(t *testing.T, implicit bool) *smtpServer {
	t.Helper()
	cert, pool := writeCert(t)
	s := &smtpServer{pool: pool, password: "s3cret-pass"}
	server := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &smtpSession{server: s, tls: isTLS}, nil
	}))
	server.Domain = "127.0.0.1"
	server.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	server.ReadTimeout = 10 * time.Second
	server.WriteTimeout = 10 * time.Second
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		listener = tls.NewListener(listener, server.TLSConfig)
	}
	s.addr = listener.Addr().String()
	go server.Serve(listener)
	t.Cleanup(func() { server.Close() })
	return s
}

func (s *smtpServer) setPassword(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.password = p
}

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.messages...)
}

type smtpSession struct {
	server *smtpServer
	tls    bool
	user   string
	msg    received
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		s.server.mu.Lock()
		defer s.server.mu.Unlock()
		if username != "axtract" || password != s.server.password {
			return errors.New("invalid username or password")
		}
		s.user = username
		return nil
	}
	if mech == sasl.Login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(identity, username, password string) error { return check(username, password) }), nil
}

func (s *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.msg = received{from: from, tls: s.tls, user: s.user}
	return nil
}

func (s *smtpSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = data
	s.server.mu.Lock()
	defer s.server.mu.Unlock()
	s.server.messages = append(s.server.messages, s.msg)
	return nil
}

func (s *smtpSession) Reset()        { s.msg = received{} }
func (s *smtpSession) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism, which go-sasl
// provides only as a client. It requests the user name, then the password.
type loginServer struct {
	check    func(username, password string) error
	username []byte
	step     int
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if response != nil {
			l.username = response
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.username = response
		l.step++
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(string(l.username), string(response))
	}
}

// writePassword writes password to a file and returns its path.
func writePassword(t *testing.T, password string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// containsAny returns the first of values found in data, or "".
func containsAny(data []byte, values []string) string {
	for _, v := range values {
		if bytes.Contains(data, []byte(v)) {
			return v
		}
	}
	return ""
}

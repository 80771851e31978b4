package access_test

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/access"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

const (
	memberConsented = "00000000-0000-4000-8000-000000000001"
	memberEnded     = "00000000-0000-4000-8000-000000000002"
	memberOther     = "00000000-0000-4000-8000-000000000003"
)

// setup creates partners acme and other with a roster view each, three
// members (one consented to acme, one whose consent ended, one consented
// to other only) and returns the test database.
func setup(t *testing.T) *pgtest.DB {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	mustExec(t, db, `INSERT INTO mart.member (member_id, first_name, last_name, birth_date, zip) VALUES
		($1, 'Ann', 'Lee', '1970-01-02', '02155'),
		($2, 'Bob', 'Ray', '1980-03-04', '60601'),
		($3, 'Cy', 'Hidden', '1990-05-06', '94110')`, memberConsented, memberEnded, memberOther)
	for _, p := range []partner.CreateParams{
		{Slug: "acme", Name: "Acme Care", Purpose: "operations"},
		{Slug: "other", Name: "Other Co", Purpose: "treatment"},
	} {
		if _, err := partner.Create(ctx, db.Pool, p); err != nil {
			t.Fatal(err)
		}
		spec := `{"dataset": "members", "columns": ["member_id", "first_name", "birth_date", {"column": "zip", "transform": "zip3"}]}`
		if _, err := partner.DefineView(ctx, db.Pool, p.Slug, "roster", []byte(spec)); err != nil {
			t.Fatal(err)
		}
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	yesterday := today.AddDate(0, 0, -1)
	grant(t, db, "acme", memberConsented, today.AddDate(-1, 0, 0), nil)
	grant(t, db, "acme", memberEnded, today.AddDate(-1, 0, 0), &yesterday)
	grant(t, db, "other", memberOther, today, nil)
	return db
}

func grant(t *testing.T, db *pgtest.DB, slug, member string, from time.Time, to *time.Time) {
	t.Helper()
	if _, err := partner.GrantConsent(context.Background(), db.Pool, slug, member, from, to, "test"); err != nil {
		t.Fatal(err)
	}
}

// createLogin creates a login of partner acme with the default limits,
// changed by edit when it is not nil.
func createLogin(t *testing.T, db *pgtest.DB, login string, edit func(*access.LoginParams)) *access.Credential {
	t.Helper()
	p := access.NewLoginParams("acme", login)
	if edit != nil {
		edit(&p)
	}
	cred, err := access.CreateLogin(context.Background(), db.Pool, p)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func mustExec(t *testing.T, db *pgtest.DB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// connectConfig returns the settings of a TCP connection to the test
// database as role with password.
func connectConfig(t *testing.T, db *pgtest.DB, cred *access.Credential) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host == "" || strings.HasPrefix(cfg.Host, "/") {
		cfg.Host = "127.0.0.1"
	}
	cfg.Fallbacks = nil
	cfg.User = cred.Role
	cfg.Password = cred.Password
	return cfg
}

// connectAs opens a TCP connection as the login and checks that it is one.
func connectAs(t *testing.T, db *pgtest.DB, cred *access.Credential) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, connectConfig(t, db, cred))
	if err != nil {
		t.Fatalf("connect as %s: %v", cred.Role, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	var tcp bool
	if err := conn.QueryRow(ctx, "SELECT inet_client_addr() IS NOT NULL").Scan(&tcp); err != nil {
		t.Fatal(err)
	}
	if !tcp {
		t.Fatalf("connection as %s is not over TCP", cred.Role)
	}
	return conn
}

func requireSQLState(t *testing.T, err error, code, what string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("%s: err = %v, want SQLSTATE %s", what, err, code)
	}
	if pgErr.Code != code {
		t.Fatalf("%s: SQLSTATE %s (%s), want %s", what, pgErr.Code, pgErr.Message, code)
	}
}

// requireVerifierMatches checks that role's stored password is a
// SCRAM-SHA-256 verifier of password, by deriving the stored key from the
// verifier's salt and iteration count (RFC 5802).
func requireVerifierMatches(t *testing.T, db *pgtest.DB, role, password string) {
	t.Helper()
	var stored *string
	err := db.Pool.QueryRow(context.Background(), "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&stored)
	if err != nil {
		t.Fatalf("read password of %s: %v", role, err)
	}
	if stored == nil || !strings.HasPrefix(*stored, "SCRAM-SHA-256$") {
		t.Fatalf("role %s has no SCRAM-SHA-256 verifier", role)
	}

	// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
	head, keys, _ := strings.Cut(strings.TrimPrefix(*stored, "SCRAM-SHA-256$"), "$")
	iterText, saltText, _ := strings.Cut(head, ":")
	storedKeyText, _, _ := strings.Cut(keys, ":")
	iterations, err := strconv.Atoi(iterText)
	if err != nil {
		t.Fatalf("verifier of %s: iterations %q: %v", role, iterText, err)
	}
	salt, err := base64.StdEncoding.DecodeString(saltText)
	if err != nil {
		t.Fatalf("verifier of %s: salt: %v", role, err)
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}

	mac := hmac.New(sha256.New, salted)
	mac.Write([]byte("Client Key"))
	storedKey := sha256.Sum256(mac.Sum(nil))
	if base64.StdEncoding.EncodeToString(storedKey[:]) != storedKeyText {
		t.Fatalf("verifier of %s does not match the password the login was given", role)
	}
}

// backendPID returns the server process id of conn.
func backendPID(t *testing.T, conn *pgx.Conn) int32 {
	t.Helper()
	return int32(conn.PgConn().PID())
}

// hasAction reports whether actions contain one with the given action,
// role and reason; pid 0 matches any.
func hasAction(actions []access.GuardAction, action, role, reason string, pid int32) bool {
	for _, a := range actions {
		if a.Action == action && a.Role == role && a.Reason == reason && (pid == 0 || a.PID == pid) {
			return true
		}
	}
	return false
}

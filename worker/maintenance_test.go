package worker_test

import (
	"context"
	"testing"

	"github.com/riverqueue/river"

	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/worker"
)

func TestSessionPurgeDeletesEndedSessions(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	execAll(t, db,
		`INSERT INTO axtract.account (login, role) VALUES ('pat', 'analyst')`,
		`INSERT INTO axtract.account_session (session_hash, account_id, csrf_token, created_at, last_seen_at, expires_at)
		 SELECT sha256(s::bytea), account_id, 'token', now() - interval '1 day', now() - interval '1 hour', now() + e
		 FROM axtract.account, (VALUES ('ended', interval '-1 minute'), ('live', interval '1 hour')) AS v(s, e)`,
	)
	w := &worker.SessionPurgeWorker{Pool: db.Pool}
	if err := w.Work(context.Background(), &river.Job[worker.SessionPurgeArgs]{}); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM axtract.account_session`); n != 1 {
		t.Errorf("%d sessions left, want the live one", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM axtract.account_session WHERE expires_at > now()`); n != 1 {
		t.Errorf("the live session was purged")
	}
}

func TestPrivacyRefreshRevokesExpiredException(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	execAll(t, db,
		`SELECT axtract.partner_create('research', 'Research', 'research', 'r@example.org')`,
		`SELECT axtract.column_exception_add('research', 'members', 'first_name', 'privacy officer', 'letters', now() + interval '1 day')`,
		`SELECT axtract.view_define('research', 'names', '{"dataset": "members", "columns": ["first_name"]}')`,
		`UPDATE axtract.column_exception SET expires_at = now() - interval '1 second'`,
	)
	owner := queryString(t, db, `SELECT axtract.partner_owner_role('research')`)
	before := queryInt(t, db, `SELECT count(*) FROM information_schema.column_privileges
		WHERE grantee = $1 AND table_schema = 'mart' AND table_name = 'member' AND column_name = 'first_name'`, owner)
	if before == 0 {
		t.Fatal("the view owner has no grant on first_name before the refresh; the test proves nothing")
	}
	w := &worker.PrivacyRefreshWorker{Pool: db.Pool}
	if err := w.Work(context.Background(), &river.Job[worker.PrivacyRefreshArgs]{}); err != nil {
		t.Fatal(err)
	}
	after := queryInt(t, db, `SELECT count(*) FROM information_schema.column_privileges
		WHERE grantee = $1 AND table_schema = 'mart' AND table_name = 'member' AND column_name = 'first_name'`, owner)
	if after != 0 {
		t.Errorf("the view owner keeps its grant on first_name after the exception expired and the refresh ran")
	}
}

func queryString(t *testing.T, db *pgtest.DB, query string, args ...any) string {
	t.Helper()
	var s string
	if err := db.Pool.QueryRow(context.Background(), query, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s
}

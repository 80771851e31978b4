package access_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/access"
	"github.com/axtract/axtract/internal/pgtest"
)

// waitFor polls cond every 50 ms until it is true or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sessionState returns the pg_stat_activity state of pid and how long its
// statement or state has lasted, or "" when the session is gone.
func sessionState(t *testing.T, db *pgtest.DB, pid int32) (string, time.Duration) {
	t.Helper()
	var state string
	var ms float64
	err := db.Pool.QueryRow(context.Background(), `SELECT coalesce(state, ''),
		extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start ELSE state_change END) * 1000
		FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&state, &ms)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return state, time.Duration(ms) * time.Millisecond
}

func runGuard(t *testing.T, db *pgtest.DB) []access.GuardAction {
	t.Helper()
	actions, err := access.RunGuard(context.Background(), db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	return actions
}

// auditDetail returns the detail of the newest audit event of action whose
// detail has the given pid.
func auditDetail(t *testing.T, db *pgtest.DB, action string, pid int32) map[string]any {
	t.Helper()
	var detail map[string]any
	err := db.Pool.QueryRow(context.Background(), `SELECT detail FROM axtract.audit_event
		WHERE action = $1 AND (detail->>'pid')::int = $2 ORDER BY event_id DESC LIMIT 1`, action, pid).Scan(&detail)
	if err != nil {
		t.Fatalf("audit event %s for pid %d: %v", action, pid, err)
	}
	return detail
}

func TestGuardCancelsQueryPastLimit(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	cred := createLogin(t, db, "slow", func(p *access.LoginParams) { p.StatementTimeout = time.Second })
	conn := connectAs(t, db, cred)
	pid := backendPID(t, conn)

	// The session lifts the role's limit; only the guard can stop it now.
	if _, err := conn.Exec(ctx, "SET statement_timeout = 0"); err != nil {
		t.Fatal(err)
	}
	const query = "SELECT pg_sleep(30)"
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, query)
		done <- err
	}()
	waitFor(t, 10*time.Second, "the query to pass its limit", func() bool {
		state, d := sessionState(t, db, pid)
		return state == "active" && d > 1100*time.Millisecond
	})

	actions := runGuard(t, db)
	if !hasAction(actions, "cancel", cred.Role, "statement timeout", pid) {
		t.Fatalf("guard actions = %+v, want a cancel of pid %d for statement timeout", actions, pid)
	}
	select {
	case err := <-done:
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
			t.Fatalf("query ended with %v, want SQLSTATE 57014 (query canceled)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("query still runs 10 s after the guard cancelled it")
	}
	if elapsed := time.Since(start); elapsed > 15*time.Second {
		t.Errorf("query ran %s, want it cancelled well before its 30 s", elapsed)
	}

	detail := auditDetail(t, db, "partner.session.cancel", pid)
	sum := sha256.Sum256([]byte(query))
	if detail["query_sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("audit query_sha256 = %v, want sha256 of %q", detail["query_sha256"], query)
	}
	if secs, _ := detail["query_seconds"].(float64); secs < 1 {
		t.Errorf("audit query_seconds = %v, want at least 1", detail["query_seconds"])
	}
	if detail["login"] != "slow" || detail["role"] != cred.Role {
		t.Errorf("audit login, role = %v, %v, want slow, %s", detail["login"], detail["role"], cred.Role)
	}
	var leaked bool
	if err := db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM axtract.audit_event WHERE detail::text LIKE '%pg_sleep%')").Scan(&leaked); err != nil {
		t.Fatal(err)
	}
	if leaked {
		t.Error("an audit event holds the query text")
	}

	// The session survives a cancel and keeps working.
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Errorf("session after cancel: %v", err)
	}
}

func TestGuardTerminatesIgnoredCancel(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	cred := createLogin(t, db, "slow", func(p *access.LoginParams) { p.StatementTimeout = time.Second })
	conn := connectAs(t, db, cred)
	pid := backendPID(t, conn)
	if _, err := conn.Exec(ctx, "SET statement_timeout = 0"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, "SELECT pg_sleep(30)")
		done <- err
	}()
	waitFor(t, 10*time.Second, "the query to pass its limit", func() bool {
		state, d := sessionState(t, db, pid)
		return state == "active" && d > 1100*time.Millisecond
	})

	// Record a cancel of this very statement, as an earlier pass whose
	// cancel the session ignored would have left it.
	runGuard(t, db)
	<-done
	go func() {
		_, err := conn.Exec(ctx, "SELECT pg_sleep(30)")
		done <- err
	}()
	waitFor(t, 10*time.Second, "the second query to pass its limit", func() bool {
		state, d := sessionState(t, db, pid)
		return state == "active" && d > 1100*time.Millisecond
	})
	mustExec(t, db, `UPDATE axtract.access_session SET cancelled_query_start =
		(SELECT query_start FROM pg_stat_activity WHERE pid = $1) WHERE pid = $1`, pid)

	actions := runGuard(t, db)
	if !hasAction(actions, "terminate", cred.Role, "statement timeout", pid) {
		t.Fatalf("guard actions = %+v, want a terminate of pid %d", actions, pid)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("query succeeded, want the session terminated")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("query still runs 10 s after the guard terminated its session")
	}
}

func TestGuardTerminatesIdleSessions(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	cred := createLogin(t, db, "idler", func(p *access.LoginParams) {
		p.IdleSessionTimeout = time.Second
		p.IdleInTransactionTimeout = time.Second
	})
	idle := connectAs(t, db, cred)
	inTx := connectAs(t, db, cred)
	for _, conn := range []*pgx.Conn{idle, inTx} {
		if _, err := conn.Exec(ctx, "SET idle_session_timeout = 0; SET idle_in_transaction_session_timeout = 0"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inTx.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := inTx.Exec(ctx, "SELECT count(*) FROM roster"); err != nil {
		t.Fatal(err)
	}
	idlePID, inTxPID := backendPID(t, idle), backendPID(t, inTx)
	waitFor(t, 10*time.Second, "both sessions to be idle past their limits", func() bool {
		s1, d1 := sessionState(t, db, idlePID)
		s2, d2 := sessionState(t, db, inTxPID)
		return s1 == "idle" && d1 > 1100*time.Millisecond && s2 == "idle in transaction" && d2 > 1100*time.Millisecond
	})

	actions := runGuard(t, db)
	if !hasAction(actions, "terminate", cred.Role, "idle session timeout", idlePID) {
		t.Errorf("guard actions = %+v, want the idle session %d terminated", actions, idlePID)
	}
	if !hasAction(actions, "terminate", cred.Role, "idle in transaction timeout", inTxPID) {
		t.Errorf("guard actions = %+v, want the idle transaction %d terminated", actions, inTxPID)
	}
	waitFor(t, 5*time.Second, "the sessions to end", func() bool {
		s1, _ := sessionState(t, db, idlePID)
		s2, _ := sessionState(t, db, inTxPID)
		return s1 == "" && s2 == ""
	})
}

func TestGuardRecordsLoginAndLogout(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	cred := createLogin(t, db, "analyst", nil)
	conn, err := pgx.ConnectConfig(ctx, connectConfig(t, db, cred))
	if err != nil {
		t.Fatal(err)
	}
	pid := backendPID(t, conn)

	actions := runGuard(t, db)
	if !hasAction(actions, "login", cred.Role, "", pid) {
		t.Fatalf("guard actions = %+v, want a login of pid %d", actions, pid)
	}
	login := auditDetail(t, db, "partner.session.login", pid)
	if login["client_addr"] == nil || login["backend_start"] == nil || login["role"] != cred.Role {
		t.Errorf("login event detail = %v, want role, client address and backend start", login)
	}
	if again := runGuard(t, db); hasAction(again, "login", cred.Role, "", pid) {
		t.Errorf("second pass recorded the same login again: %+v", again)
	}

	conn.Close(ctx)
	waitFor(t, 5*time.Second, "the session to end", func() bool {
		state, _ := sessionState(t, db, pid)
		return state == ""
	})
	actions = runGuard(t, db)
	if !hasAction(actions, "logout", cred.Role, "", pid) {
		t.Fatalf("guard actions = %+v, want a logout of pid %d", actions, pid)
	}
	logout := auditDetail(t, db, "partner.session.logout", pid)
	if logout["ended_before"] == nil || logout["backend_start"] != login["backend_start"] {
		t.Errorf("logout event detail = %v, want the login's backend start and an end bound", logout)
	}
}

func TestGuardLocksExpiredLogin(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	expires := time.Now().Add(1500 * time.Millisecond)
	cred := createLogin(t, db, "temp", func(p *access.LoginParams) { p.ValidUntil = expires })
	conn := connectAs(t, db, cred)
	pid := backendPID(t, conn)
	time.Sleep(time.Until(expires) + 100*time.Millisecond)

	actions := runGuard(t, db)
	if !hasAction(actions, "expire", "", "valid_until passed", 0) {
		t.Errorf("guard actions = %+v, want the login expired", actions)
	}
	if !hasAction(actions, "terminate", cred.Role, "expired", pid) {
		t.Errorf("guard actions = %+v, want session %d terminated", actions, pid)
	}
	var canLogin bool
	if err := db.Pool.QueryRow(ctx, "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", cred.Role).Scan(&canLogin); err != nil {
		t.Fatal(err)
	}
	if canLogin {
		t.Error("expired login's role can still log in")
	}
	// The server's trust authentication ignores VALID UNTIL, so NOLOGIN is
	// what keeps the login out here.
	if _, err := pgx.ConnectConfig(ctx, connectConfig(t, db, cred)); err == nil {
		t.Error("expired login connected")
	}
}

func TestRevokeEndsOpenSessions(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	cred := createLogin(t, db, "analyst", nil)
	conn := connectAs(t, db, cred)
	pid := backendPID(t, conn)
	kept := connectAs(t, db, createLogin(t, db, "kept", nil))

	start := time.Now()
	ended, err := access.RevokeLogin(ctx, db.Pool, "acme", "analyst")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("revoke took %s", time.Since(start))
	if ended != 1 {
		t.Errorf("sessions ended = %d, want 1", ended)
	}
	if state, _ := sessionState(t, db, pid); state != "" {
		t.Errorf("revoked session is still %q", state)
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("revoked session still runs queries")
	}
	var exists bool
	if err := db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", cred.Role).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("role %s still exists", cred.Role)
	}
	if _, err := pgx.ConnectConfig(ctx, connectConfig(t, db, cred)); err == nil {
		t.Error("revoked login connected")
	}
	detail := auditDetail(t, db, "partner.session.terminate", pid)
	if detail["reason"] != "revoked" {
		t.Errorf("terminate reason = %v, want revoked", detail["reason"])
	}
	var one int
	if err := kept.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Errorf("another login's session: %v", err)
	}

	// The name can be used again, by a new login with a new password.
	again := createLogin(t, db, "analyst", nil)
	if again.Password == cred.Password {
		t.Error("re-created login got the old password")
	}
	connectAs(t, db, again)
	_, err = access.RevokeLogin(ctx, db.Pool, "acme", "nobody")
	requireSQLState(t, err, "P0002", "revoke unknown login")
}

func TestRotationKeepsOldPasswordForGrace(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	old := createLogin(t, db, "analyst", nil)
	oldConn := connectAs(t, db, old)
	oldPID := backendPID(t, oldConn)

	const grace = 2 * time.Second
	rotated := time.Now()
	next, err := access.RotateLogin(ctx, db.Pool, "acme", "analyst", grace)
	if err != nil {
		t.Fatal(err)
	}
	if want := old.Role + "_g2"; next.Role != want {
		t.Errorf("new role = %q, want %q", next.Role, want)
	}
	if next.Password == old.Password {
		t.Error("rotation kept the password")
	}
	requireVerifierMatches(t, db, old.Role, old.Password)
	requireVerifierMatches(t, db, next.Role, next.Password)
	var validUntil time.Time
	if err := db.Pool.QueryRow(ctx, "SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1", old.Role).Scan(&validUntil); err != nil {
		t.Fatal(err)
	}
	if validUntil.Before(rotated) || validUntil.After(rotated.Add(grace+time.Second)) {
		t.Errorf("old role VALID UNTIL %s, want about %s", validUntil, rotated.Add(grace))
	}

	// Within the grace period both passwords work.
	connectAs(t, db, old)
	newConn := connectAs(t, db, next)
	var n int
	if err := newConn.QueryRow(ctx, "SELECT count(*) FROM roster").Scan(&n); err != nil || n != 1 {
		t.Errorf("new role reads roster: %d rows, %v; want 1 row", n, err)
	}
	if actions := runGuard(t, db); hasAction(actions, "drop role", old.Role, "rotated out", 0) {
		t.Fatalf("guard dropped the old role within its grace: %+v", actions)
	}
	list, err := access.ListLogins(ctx, db.Pool, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Status != "rotated out" || list[1].Status != "active" {
		t.Errorf("logins during grace = %+v, want the old role rotated out and the new one active", list)
	}

	time.Sleep(time.Until(rotated.Add(grace + 200*time.Millisecond)))
	actions := runGuard(t, db)
	if !hasAction(actions, "drop role", old.Role, "rotated out", 0) {
		t.Fatalf("guard actions = %+v, want the old role dropped", actions)
	}
	if !hasAction(actions, "terminate", old.Role, "rotated out", oldPID) {
		t.Errorf("guard actions = %+v, want the old role's session %d terminated", actions, oldPID)
	}
	if _, err := oldConn.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("old role's session survived the end of the grace period")
	}
	if _, err := pgx.ConnectConfig(ctx, connectConfig(t, db, old)); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("connect as old role after grace: %v, want role does not exist", err)
	}
	if err := newConn.QueryRow(ctx, "SELECT count(*) FROM roster").Scan(&n); err != nil {
		t.Errorf("new role after grace: %v", err)
	}
	connectAs(t, db, next)
	list, err = access.ListLogins(ctx, db.Pool, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Role != next.Role {
		t.Errorf("logins after grace = %+v, want only %s", list, next.Role)
	}
}

func TestTransactionOutdatedAtUTCMidnight(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	cases := []struct {
		started, now string
		want         bool
	}{
		{"2026-12-04 23:59:00+00", "2026-12-05 00:00:01+00", true},
		{"2026-12-04 00:00:00+00", "2026-12-04 23:59:59+00", false},
		// The day is UTC's whatever the offset the times are written in.
		{"2026-12-04 18:30:00-05", "2026-12-04 19:30:00-05", true},
		{"2026-12-04 18:00:00-05", "2026-12-04 18:29:00-05", false},
		{"2026-12-01 12:00:00+00", "2026-12-04 12:00:00+00", true},
	}
	for _, c := range cases {
		var got bool
		err := db.Pool.QueryRow(context.Background(), "SELECT axtract.transaction_outdated($1::timestamptz, $2::timestamptz)",
			c.started, c.now).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("transaction_outdated(%s, %s) = %v, want %v", c.started, c.now, got, c.want)
		}
	}
}

func TestGuardResetsSharedRoleSettings(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	cred := createLogin(t, db, "writer", nil)
	conn := connectAs(t, db, cred)

	// A login may act as its identity role and as the group role, and so
	// may put settings on them, which every role can read.
	identity, group := db.Name+"_p_acme", db.Name+"_partners"
	for _, role := range []string{identity, group} {
		r := pgx.Identifier{role}.Sanitize()
		if _, err := conn.Exec(ctx, "SET ROLE "+r+"; ALTER ROLE "+r+" SET application_name = 'note'; RESET ROLE"); err != nil {
			t.Fatalf("set a setting on %s as the login: %v", role, err)
		}
	}
	drift := 0
	for _, f := range checkFindings(t, db) {
		if f.Severity == access.SeverityDrift && strings.Contains(f.Problem, "application_name=note") {
			drift++
		}
	}
	if drift != 2 {
		t.Errorf("access check reports %d roles with the setting, want 2", drift)
	}

	var reset []string
	for _, a := range runGuard(t, db) {
		if a.Action == "reset settings" {
			reset = append(reset, a.Role)
		}
	}
	slices.Sort(reset)
	want := []string{identity, group}
	slices.Sort(want)
	if !slices.Equal(reset, want) {
		t.Errorf("guard reset the settings of %v, want %v", reset, want)
	}
	requireNoDrift(t, db, "after the guard's pass")
}

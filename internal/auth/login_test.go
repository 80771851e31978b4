package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/auth"
	"github.com/axtract/axtract/internal/partner"
)

func TestLoginSetsSessionCookie(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")

	resp := b.login(t, "ANN ", testPassword)
	if resp.status != http.StatusOK {
		t.Fatalf("sign in: status %d, body %s", resp.status, resp.body)
	}
	body := resp.json(t)
	if body["login"] != "ann" || body["role"] != "analyst" || body["partner"] != nil {
		t.Errorf("sign-in body = %s, want login ann, role analyst, partner null", resp.body)
	}
	if resp.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", resp.header.Get("Cache-Control"))
	}

	c := sessionCookie(t, resp)
	if !c.HttpOnly {
		t.Error("session cookie is not HttpOnly")
	}
	if !c.Secure {
		t.Error("session cookie is not Secure")
	}
	if c.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie SameSite = %v, want Strict", c.SameSite)
	}
	if c.Path != "/" {
		t.Errorf("session cookie Path = %q, want /", c.Path)
	}
	if c.MaxAge != int(auth.DefaultLifetime.Seconds()) {
		t.Errorf("session cookie MaxAge = %d, want %d", c.MaxAge, int(auth.DefaultLifetime.Seconds()))
	}

	// The database holds the SHA-256 of the 256-bit id, never the id.
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) != 32 {
		t.Fatalf("session id %d bytes (%v), want 32", len(raw), err)
	}
	sum := sha256.Sum256(raw)
	if n := b.scalar(t, "SELECT count(*) FROM axtract.account_session WHERE session_hash = $1", sum[:]); n != int64(1) {
		t.Errorf("sessions stored under the id's SHA-256: %v, want 1", n)
	}
	if n := b.scalar(t, "SELECT count(*) FROM axtract.account_session WHERE session_hash = $1 OR csrf_token = $2", raw, c.Value); n != int64(0) {
		t.Errorf("sessions stored under the raw id: %v, want 0", n)
	}

	who := b.do(t, http.MethodGet, "/api/whoami", "", c, nil)
	if who.status != http.StatusOK || who.body != "ann analyst " {
		t.Errorf("whoami = %d %q, want 200 \"ann analyst \"", who.status, who.body)
	}
	sess := b.do(t, http.MethodGet, "/auth/session", "", c, nil)
	if sess.status != http.StatusOK || sess.json(t)["csrf_token"] != body["csrf_token"] {
		t.Errorf("GET /auth/session = %d %s, want 200 with the sign-in csrf_token", sess.status, sess.body)
	}
	if n := b.scalar(t, "SELECT count(*) FROM axtract.login_attempt WHERE login = 'ann' AND succeeded"); n != int64(1) {
		t.Errorf("successful attempts recorded: %v, want 1", n)
	}
}

func TestLoginPartnerAccount(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	if _, err := partner.Create(context.Background(), b.db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}
	b.addAccount(t, "acme-user", auth.RolePartner, "acme")
	cookie, _ := b.mustLogin(t, "acme-user")
	who := b.do(t, http.MethodGet, "/api/whoami", "", cookie, nil)
	if who.body != "acme-user partner acme" {
		t.Errorf("whoami = %q, want the partner principal of acme", who.body)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")
	b.addAccount(t, "dis", auth.RoleAnalyst, "")
	if err := auth.SetDisabled(context.Background(), b.db.Pool, "dis", true, "test"); err != nil {
		t.Fatal(err)
	}

	wrong := b.login(t, "ann", "not the password")
	unknown := b.login(t, "nobody", "not the password")
	disabled := b.login(t, "dis", testPassword)
	for name, resp := range map[string]response{"unknown login": unknown, "disabled account": disabled} {
		if resp.status != wrong.status || resp.body != wrong.body {
			t.Errorf("%s: %d %s; want the same as a wrong password: %d %s", name, resp.status, resp.body, wrong.status, wrong.body)
		}
	}
	if wrong.status != http.StatusUnauthorized || wrong.json(t)["code"] != auth.CodeLoginFailed {
		t.Errorf("wrong password = %d %s, want 401 %s", wrong.status, wrong.body, auth.CodeLoginFailed)
	}
	if len(wrong.cookies) != 0 {
		t.Errorf("failed sign-in set cookies %v", wrong.cookies)
	}
	reasons := b.scalar(t, "SELECT string_agg(login || ':' || reason, ',' ORDER BY attempt_id) FROM axtract.login_attempt")
	if reasons != "ann:password,nobody:unknown,dis:disabled" {
		t.Errorf("recorded attempts = %v", reasons)
	}
}

func TestLoginLockoutAndUnlock(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")

	for i := range auth.DefaultMaxFailures {
		if resp := b.login(t, "ann", "guess"); resp.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: status %d", i+1, resp.status)
		}
		b.clock.Advance(time.Minute)
	}
	locked := b.scalar(t, "SELECT locked_until FROM axtract.account WHERE login = 'ann'")
	if locked == nil {
		t.Fatal("account is not locked after 5 failures")
	}
	if resp := b.login(t, "ann", testPassword); resp.status != http.StatusUnauthorized {
		t.Errorf("right password while locked: status %d, want 401", resp.status)
	}

	b.clock.Advance(auth.DefaultLockoutDuration - 2*time.Minute)
	if resp := b.login(t, "ann", testPassword); resp.status != http.StatusUnauthorized {
		t.Errorf("right password 1 minute before the lockout ends: status %d, want 401", resp.status)
	}
	b.clock.Advance(2 * time.Minute)
	if resp := b.login(t, "ann", testPassword); resp.status != http.StatusOK {
		t.Errorf("right password after the lockout: status %d %s, want 200", resp.status, resp.body)
	}
	if n := b.scalar(t, "SELECT failed_attempts FROM axtract.account WHERE login = 'ann'"); n != int32(0) {
		t.Errorf("failed_attempts after sign-in = %v, want 0", n)
	}
}

func TestLoginFailureWindow(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")

	// Four failures, then four more after the window: no lockout.
	for range 4 {
		b.login(t, "ann", "guess")
	}
	b.clock.Advance(auth.DefaultFailureWindow + time.Second)
	for range 4 {
		b.login(t, "ann", "guess")
	}
	if resp := b.login(t, "ann", testPassword); resp.status != http.StatusOK {
		t.Errorf("sign-in after failures spread over two windows: status %d, want 200", resp.status)
	}
}

func TestLoginAddressRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{MaxAddressFailures: 3})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")

	for _, login := range []string{"x1", "x2", "x3"} {
		b.login(t, login, "guess")
	}
	resp := b.login(t, "ann", testPassword)
	if resp.status != http.StatusTooManyRequests || resp.json(t)["code"] != auth.CodeRateLimited {
		t.Errorf("sign-in after 3 failures from one address: %d %s, want 429 %s", resp.status, resp.body, auth.CodeRateLimited)
	}
	if resp.header.Get("Retry-After") == "" {
		t.Error("429 has no Retry-After")
	}
	b.clock.Advance(auth.DefaultFailureWindow + time.Second)
	if resp := b.login(t, "ann", testPassword); resp.status != http.StatusOK {
		t.Errorf("sign-in after the window: status %d, want 200", resp.status)
	}
}

func TestMethodsWithoutOIDC(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	m := b.do(t, http.MethodGet, "/auth/methods", "", nil, nil)
	if m.status != http.StatusOK || m.body != "{\"oidc\":false,\"password\":true}\n" {
		t.Errorf("GET /auth/methods: %d %q, want password only", m.status, m.body)
	}
}

func TestLoginRejectsNonJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	resp := b.do(t, http.MethodPost, "/auth/login", "login=ann&password=x", nil,
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.status != http.StatusUnsupportedMediaType {
		t.Errorf("form-encoded sign-in: status %d, want 415", resp.status)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")
	cookie, csrf := b.mustLogin(t, "ann")
	// A token that differs from the real one in its first character.
	wrong := "x" + csrf[1:]
	if csrf[0] == 'x' {
		wrong = "y" + csrf[1:]
	}

	cases := []struct {
		name   string
		method string
		header map[string]string
		status int
	}{
		{"POST without token", http.MethodPost, nil, http.StatusForbidden},
		{"POST with wrong token", http.MethodPost, map[string]string{auth.CSRFHeader: wrong}, http.StatusForbidden},
		{"DELETE without token", http.MethodDelete, nil, http.StatusForbidden},
		{"PUT without token", http.MethodPut, nil, http.StatusForbidden},
		{"PATCH without token", http.MethodPatch, nil, http.StatusForbidden},
		{"POST with token", http.MethodPost, map[string]string{auth.CSRFHeader: csrf}, http.StatusOK},
		{"GET without token", http.MethodGet, nil, http.StatusOK},
	}
	for _, tc := range cases {
		resp := b.do(t, tc.method, "/api/whoami", "", cookie, tc.header)
		if resp.status != tc.status {
			t.Errorf("%s: status %d %s, want %d", tc.name, resp.status, resp.body, tc.status)
			continue
		}
		if tc.status == http.StatusForbidden && resp.json(t)["code"] != auth.CodeCSRF {
			t.Errorf("%s: body %s, want code %s", tc.name, resp.body, auth.CodeCSRF)
		}
	}

	// Without a session there is nothing to forge; the handler gets no
	// principal.
	if resp := b.do(t, http.MethodPost, "/api/whoami", "", nil, nil); resp.status != http.StatusUnauthorized {
		t.Errorf("POST without a session: status %d, want 401 from the handler", resp.status)
	}
	// Logout is state-changing too.
	if resp := b.do(t, http.MethodPost, "/auth/logout", "", cookie, nil); resp.status != http.StatusForbidden {
		t.Errorf("logout without token: status %d, want 403", resp.status)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")
	cookie, csrf := b.mustLogin(t, "ann")

	resp := b.do(t, http.MethodPost, "/auth/logout", "", cookie, map[string]string{auth.CSRFHeader: csrf})
	if resp.status != http.StatusNoContent {
		t.Fatalf("logout: status %d %s", resp.status, resp.body)
	}
	if c := sessionCookie(t, resp); c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout cookie = %+v, want an expired empty cookie", c)
	}
	if resp := b.do(t, http.MethodGet, "/auth/session", "", cookie, nil); resp.status != http.StatusUnauthorized {
		t.Errorf("session after logout: status %d, want 401", resp.status)
	}
	if n := b.scalar(t, "SELECT count(*) FROM axtract.account_session"); n != int64(0) {
		t.Errorf("sessions after logout: %v, want 0", n)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")
	cookie, _ := b.mustLogin(t, "ann")

	// Each request within the idle timeout keeps the session.
	for i := range 3 {
		b.clock.Advance(auth.DefaultIdleTimeout - time.Minute)
		if resp := b.do(t, http.MethodGet, "/api/whoami", "", cookie, nil); resp.status != http.StatusOK {
			t.Fatalf("request %d, %v after the previous one: status %d, want 200", i+1, auth.DefaultIdleTimeout-time.Minute, resp.status)
		}
	}
	b.clock.Advance(auth.DefaultIdleTimeout)
	if resp := b.do(t, http.MethodGet, "/api/whoami", "", cookie, nil); resp.status != http.StatusUnauthorized {
		t.Errorf("request after %v idle: status %d, want 401", auth.DefaultIdleTimeout, resp.status)
	}
	if n := b.scalar(t, "SELECT count(*) FROM axtract.account_session"); n != int64(0) {
		t.Errorf("sessions after the idle timeout: %v, want 0 (deleted)", n)
	}
}

func TestSessionLifetime(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{Lifetime: time.Hour, IdleTimeout: 30 * time.Minute})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")
	cookie, _ := b.mustLogin(t, "ann")

	for elapsed := 20 * time.Minute; elapsed < time.Hour; elapsed += 20 * time.Minute {
		b.clock.Advance(20 * time.Minute)
		if resp := b.do(t, http.MethodGet, "/api/whoami", "", cookie, nil); resp.status != http.StatusOK {
			t.Fatalf("active session %v after sign-in: status %d, want 200", elapsed, resp.status)
		}
	}
	b.clock.Advance(20 * time.Minute)
	if resp := b.do(t, http.MethodGet, "/api/whoami", "", cookie, nil); resp.status != http.StatusUnauthorized {
		t.Errorf("active session 1h after sign-in: status %d, want 401", resp.status)
	}
}

func TestSessionEndsWhenDisabled(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")
	cookie, _ := b.mustLogin(t, "ann")
	if err := auth.SetDisabled(context.Background(), b.db.Pool, "ann", true, "admin"); err != nil {
		t.Fatal(err)
	}
	if resp := b.do(t, http.MethodGet, "/api/whoami", "", cookie, nil); resp.status != http.StatusUnauthorized {
		t.Errorf("request of a disabled account's session: status %d, want 401", resp.status)
	}
	action := b.scalar(t, "SELECT action FROM axtract.audit_event WHERE actor = 'admin' ORDER BY event_id DESC LIMIT 1")
	if action != "account.disable" {
		t.Errorf("last audit action of admin = %v, want account.disable", action)
	}
}

func TestSessionRejectsForgedCookie(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{})
	for _, value := range []string{"", "short", strings.Repeat("A", 43), "not base64 !!"} {
		resp := b.do(t, http.MethodGet, "/api/whoami", "", &http.Cookie{Name: auth.DefaultCookieName, Value: value}, nil)
		if resp.status != http.StatusUnauthorized {
			t.Errorf("cookie %q: status %d, want 401", value, resp.status)
		}
	}
}

func TestLoginRehashesWeakHash(t *testing.T) {
	t.Parallel()
	stronger := fastParams
	stronger.Memory = 2048
	b := setup(t, auth.Options{Argon2: stronger})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")
	b.mustLogin(t, "ann")
	hash, _ := b.scalar(t, "SELECT password_hash FROM axtract.account WHERE login = 'ann'").(string)
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=2048,t=1,p=1$") {
		t.Errorf("hash after sign-in = %q, want one with m=2048", hash)
	}
}

func TestCSRFSameOriginPaths(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{SameOriginPaths: []string{"/api/"}})
	b.addAccount(t, "ann", auth.RoleAnalyst, "")
	cookie, _ := b.mustLogin(t, "ann")

	if resp := b.do(t, http.MethodPost, "/api/whoami", "", cookie, map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.status != http.StatusOK {
		t.Errorf("same-origin POST under a same-origin path: status %d, want 200", resp.status)
	}
	if resp := b.do(t, http.MethodPost, "/api/whoami", "", cookie, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.status != http.StatusForbidden {
		t.Errorf("cross-site POST under a same-origin path: status %d, want 403", resp.status)
	}
	if resp := b.do(t, http.MethodPost, "/auth/logout", "", cookie, map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.status != http.StatusForbidden {
		t.Errorf("same-origin POST elsewhere without a token: status %d, want 403", resp.status)
	}
}

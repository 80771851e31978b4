package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/auth"
	"github.com/axtract/axtract/internal/pgtest"
)

// fastParams keep tests quick; the format and the code path are the same
// as with the defaults.
var fastParams = auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLength: 16, KeyLength: 32}

const testPassword = "correct horse battery"

// clock is a settable time source for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type testBundle struct {
	db     *pgtest.DB
	clock  *clock
	svc    *auth.Service
	server *httptest.Server
}

// setup starts a Service on a fresh database behind a test server that
// serves /auth/ and /api/whoami, which echoes the principal.
func setup(t *testing.T, opts auth.Options) *testBundle {
	t.Helper()
	db := pgtest.New(t)
	c := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	opts.Now = c.Now
	if opts.Argon2.Memory == 0 {
		opts.Argon2 = fastParams
	}
	svc := auth.NewService(db.Pool, opts)

	mux := http.NewServeMux()
	mux.Handle("/auth/", svc.Routes())
	mux.Handle("/api/whoami", svc.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		if p == nil {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, p.Login+" "+string(p.Role)+" "+p.PartnerSlug)
	})))
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	return &testBundle{db: db, clock: c, svc: svc, server: server}
}

func (b *testBundle) addAccount(t *testing.T, login string, role auth.Role, partner string) {
	t.Helper()
	_, err := auth.CreateAccount(context.Background(), b.db.Pool,
		auth.NewAccount{Login: login, Role: role, Partner: partner, Password: testPassword, Actor: "test"}, fastParams)
	if err != nil {
		t.Fatal(err)
	}
}

// response is an HTTP response with its body read.
type response struct {
	status  int
	body    string
	cookies []*http.Cookie
	header  http.Header
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("response body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// noRedirects returns redirects to the test instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends a request with an optional session cookie and extra headers.
func (b *testBundle) do(t *testing.T, method, path, body string, cookie *http.Cookie, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, b.server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if cookie != nil {
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, body: string(data), cookies: resp.Cookies(), header: resp.Header}
}

func (b *testBundle) login(t *testing.T, login, password string) response {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	return b.do(t, http.MethodPost, "/auth/login", string(body), nil, nil)
}

// mustLogin signs in and returns the session cookie and CSRF token.
func (b *testBundle) mustLogin(t *testing.T, login string) (*http.Cookie, string) {
	t.Helper()
	resp := b.login(t, login, testPassword)
	if resp.status != http.StatusOK {
		t.Fatalf("sign in as %s: status %d, body %s", login, resp.status, resp.body)
	}
	cookie := sessionCookie(t, resp)
	csrf, _ := resp.json(t)["csrf_token"].(string)
	if csrf == "" {
		t.Fatalf("sign-in response %s has no csrf_token", resp.body)
	}
	return cookie, csrf
}

func sessionCookie(t *testing.T, resp response) *http.Cookie {
	t.Helper()
	for _, c := range resp.cookies {
		if c.Name == auth.DefaultCookieName {
			return c
		}
	}
	t.Fatalf("response sets no %s cookie; cookies %v", auth.DefaultCookieName, resp.cookies)
	return nil
}

func (b *testBundle) scalar(t *testing.T, sql string, args ...any) any {
	t.Helper()
	var v any
	if err := b.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

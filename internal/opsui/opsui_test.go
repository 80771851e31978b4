package opsui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/auth"
	"github.com/axtract/axtract/internal/opsui"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/worker"
)

var fastParams = auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLength: 16, KeyLength: 32}

const password = "operator password 1"

func TestRiverUIAccess(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	client, err := worker.NewClient(worker.Config{Pool: db.Pool})
	if err != nil {
		t.Fatal(err)
	}
	ui, err := opsui.Handler(ctx, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := auth.NewService(db.Pool, auth.Options{Argon2: fastParams})
	mux := http.NewServeMux()
	mux.Handle("/auth/", svc.Routes())
	mux.Handle(opsui.Prefix, svc.Middleware(ui))
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)

	for login, role := range map[string]auth.Role{"olga": auth.RoleOperator, "ann": auth.RoleAnalyst, "root": auth.RoleAdmin} {
		if _, err := auth.CreateAccount(ctx, db.Pool, auth.NewAccount{Login: login, Role: role, Password: password}, fastParams); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		login  string
		path   string
		status int
		body   string
	}{
		{"", "/riverui/", http.StatusUnauthorized, auth.CodeUnauthenticated},
		{"ann", "/riverui/", http.StatusForbidden, auth.CodeForbidden},
		{"ann", "/riverui/api/jobs?state=available", http.StatusForbidden, auth.CodeForbidden},
		{"olga", "/riverui/", http.StatusOK, "<title>River"},
		{"olga", "/riverui/api/jobs?state=available", http.StatusOK, `"data":[]`},
		{"root", "/riverui/", http.StatusOK, "<title>River"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodGet, server.URL+tc.path, nil)
		if tc.login != "" {
			req.AddCookie(signIn(t, server.URL, tc.login))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s GET %s: status %d, want %d", tc.login, tc.path, resp.StatusCode, tc.status)
			continue
		}
		if !strings.Contains(string(body), tc.body) {
			t.Errorf("%s GET %s: body %.200q does not contain %q", tc.login, tc.path, body, tc.body)
		}
	}
}

// signIn signs login in and returns its session cookie.
func signIn(t *testing.T, base, login string) *http.Cookie {
	t.Helper()
	resp, err := http.Post(base+"/auth/login", "application/json",
		strings.NewReader(`{"login": "`+login+`", "password": "`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == auth.DefaultCookieName {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("sign in as %s: status %d, no session cookie", login, resp.StatusCode)
	return nil
}

package auth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/auth"
	"github.com/axtract/axtract/internal/pgtest"
)

// BenchmarkMiddlewareSession measures the per-request cost of checking a
// session cookie: one indexed lookup, and no write while the session was
// seen within the last minute.
func BenchmarkMiddlewareSession(b *testing.B) {
	db := pgtest.New(b)
	svc := auth.NewService(db.Pool, auth.Options{Argon2: fastParams})
	if _, err := auth.CreateAccount(b.Context(), db.Pool, auth.NewAccount{Login: "ann", Role: auth.RoleAnalyst, Password: testPassword}, fastParams); err != nil {
		b.Fatal(err)
	}
	routes := svc.Routes()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(`{"login": "ann", "password": "`+testPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	routes.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusOK || len(cookies) == 0 {
		b.Fatalf("sign in: status %d", rec.Code)
	}

	handler := svc.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.FromContext(r.Context()) == nil {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/api", nil)
		req.AddCookie(cookies[0])
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

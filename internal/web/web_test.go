package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/auth"
	portalfiles "github.com/axtract/axtract/portal"
)

// fakeSession replaces auth's middleware in these handler tests. It signs
// the request in as the role that the X-Test-Role header names.
func fakeSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if role := r.Header.Get("X-Test-Role"); role != "" {
			r = r.WithContext(auth.WithPrincipal(r.Context(), &auth.Principal{Login: "t", Role: auth.Role(role)}))
		}
		next.ServeHTTP(w, r)
	})
}

func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	})
}

func newTestServer(t *testing.T) http.Handler {
	t.Helper()
	h, err := New(Deps{
		GraphQL:  named("graphql"),
		Auth:     named("auth"),
		Session:  fakeSession,
		RiverUI:  named("riverui"),
		PullAPI:  named("pullapi"),
		Download: named("download"),
		Health:   named("health"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRoutesReachTheirHandlers(t *testing.T) {
	h := newTestServer(t)
	for path, want := range map[string]string{
		"/graphql":           "graphql",
		"/auth/login":        "auth",
		"/api/v1/deliveries": "pullapi",
		"/download/abc":      "download",
		"/healthz":           "health",
		"/readyz":            "health",
		"/metrics":           "health",
	} {
		rec := get(t, h, path)
		if got := rec.Body.String(); got != want {
			t.Errorf("GET %s reached %q, want %q", path, got, want)
		}
	}
}

func TestSPAFallbackServesIndex(t *testing.T) {
	h := newTestServer(t)
	for _, path := range []string{"/", "/login", "/dashboard", "/views/new", "/partners/acme"} {
		rec := get(t, h, path)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, rec.Code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s Content-Type = %q", path, ct)
		}
		if !strings.Contains(rec.Body.String(), `<script type="module" src="/assets/js/app.js">`) {
			t.Errorf("GET %s did not return index.html", path)
		}
	}
}

func TestMissingAssetIsNotFound(t *testing.T) {
	h := newTestServer(t)
	for _, path := range []string{"/assets/js/nope.js", "/assets/js", "/robots.txt", "/index.html"} {
		if rec := get(t, h, path); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, rec.Code)
		}
	}
}

func TestAssetRevalidatesWithETag(t *testing.T) {
	h := newTestServer(t)
	rec := get(t, h, "/assets/js/app.js")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET app.js = %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/javascript", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache", cc)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	again := get(t, h, "/assets/js/app.js", "If-None-Match", etag)
	if again.Code != http.StatusNotModified {
		t.Errorf("GET with If-None-Match = %d, want 304", again.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newTestServer(t)
	rec := get(t, h, "/dashboard")
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'self'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("portal CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("portal CSP %q allows inline code", csp)
	}
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := rec.Header().Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	api := get(t, h, "/api/v1/deliveries")
	if got := api.Header().Get("Content-Security-Policy"); got != "frame-ancestors 'none'" {
		t.Errorf("API CSP = %q, want frame-ancestors 'none'", got)
	}
	if got := api.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("API X-Content-Type-Options = %q", got)
	}
}

func TestEmbeddedPagesHaveNoInlineScript(t *testing.T) {
	body, err := portalfiles.Files.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.Contains(line, "<script") && !strings.Contains(line, "src=") {
			t.Errorf("index.html has an inline script, which the CSP blocks: %s", line)
		}
		if strings.Contains(line, " on") && strings.Contains(line, "=\"") && strings.Contains(line, " onclick") {
			t.Errorf("index.html has an inline event handler: %s", line)
		}
	}
}

func TestRiverUIRequiresStaffRole(t *testing.T) {
	h := newTestServer(t)
	if rec := get(t, h, "/riverui/"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login?next=") {
		t.Errorf("GET /riverui/ signed out = %d to %q, want 303 to the login page", rec.Code, rec.Header().Get("Location"))
	}
	for role, want := range map[string]int{"admin": 200, "operator": 200, "analyst": 403, "partner": 403, "privacy_officer": 403} {
		rec := get(t, h, "/riverui/jobs", "X-Test-Role", role)
		if rec.Code != want {
			t.Errorf("GET /riverui/jobs as %s = %d, want %d", role, rec.Code, want)
		}
	}
}

func TestPortalRejectsPost(t *testing.T) {
	h := newTestServer(t)
	req := httptest.NewRequest(http.MethodPost, "/dashboard", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /dashboard = %d, want 405", rec.Code)
	}
}

func TestNewRequiresSession(t *testing.T) {
	if _, err := New(Deps{GraphQL: named("graphql")}); err == nil {
		t.Error("New with GraphQL and no Session succeeded, want an error")
	}
}

func TestIndexFlagsRiverUIOnlyWhenMounted(t *testing.T) {
	with := get(t, newTestServer(t), "/dashboard").Body.String()
	if !strings.Contains(with, `data-riverui="on"`) {
		t.Error(`index.html with a River UI lacks data-riverui="on"`)
	}
	h, err := New(Deps{Health: named("health")})
	if err != nil {
		t.Fatal(err)
	}
	without := get(t, h, "/dashboard")
	if !strings.Contains(without.Body.String(), `data-riverui="off"`) {
		t.Error(`index.html without a River UI lacks data-riverui="off"`)
	}
	if rec := get(t, h, "/riverui/"); rec.Body.String() == "riverui" {
		t.Errorf("GET /riverui/ without a River UI reached one")
	}
	if rec := get(t, h, "/graphql"); rec.Body.String() == "graphql" {
		t.Errorf("GET /graphql without a GraphQL handler reached one")
	}
}

func TestDownloadSeesSignedInUser(t *testing.T) {
	var seen *auth.Principal
	h, err := New(Deps{
		Session: fakeSession,
		Download: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = auth.FromContext(r.Context())
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	get(t, h, "/download/abc", "X-Test-Role", string(auth.RolePartner))
	if seen == nil || seen.Role != auth.RolePartner {
		t.Errorf("download handler saw principal %+v, want the signed-in partner user", seen)
	}
	seen = nil
	if rec := get(t, h, "/download/abc"); rec.Code != http.StatusOK || seen != nil {
		t.Errorf("download without a session = %d with principal %+v, want 200 and none", rec.Code, seen)
	}
}

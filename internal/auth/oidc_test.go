package auth_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/auth"
)

// testProvider is an OpenID Connect provider on 127.0.0.1 that serves
// discovery, a key set and a token endpoint, and signs ID tokens with a
// key generated for the test.
type testProvider struct {
	server *httptest.Server
	key    *rsa.PrivateKey

	mu sync.Mutex
	// claims are the next ID token's claims; the nonce and the PKCE
	// challenge are those of the last authorization request.
	claims    map[string]any
	signWith  *rsa.PrivateKey
	challenge string
	nonce     string
}

func newTestProvider(t *testing.T) *testProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer":                 p.server.URL,
			"authorization_endpoint": p.server.URL + "/authorize",
			"token_endpoint":         p.server.URL + "/token",
			"jwks_uri":               p.server.URL + "/jwks",
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		if r.FormValue("code") != "code-1" || base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge {
			http.Error(w, `{"error": "invalid_grant"}`, http.StatusBadRequest)
			return
		}
		claims := map[string]any{"nonce": p.nonce}
		for k, v := range p.claims {
			claims[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "at", "token_type": "Bearer", "expires_in": 300,
			"id_token": signJWT(t, p.signWith, claims),
		})
	})
	p.server = httptest.NewServer(mux)
	t.Cleanup(p.server.Close)
	return p
}

func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	signed := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// signIn runs the browser's part of one sign-in with the given ID token
// claims and returns the callback's response.
func (p *testProvider) signIn(t *testing.T, b *testBundle, claims map[string]any, signWith *rsa.PrivateKey) response {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(b.server.URL + "/auth/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /auth/oidc/login: status %d, want 302", resp.StatusCode)
	}
	target, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(target.String(), p.server.URL+"/authorize") {
		t.Fatalf("redirect to %q, want the provider's authorization endpoint", resp.Header.Get("Location"))
	}
	q := target.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("client_id") != "axtract" || !strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("authorization request %s lacks PKCE S256, the client id or scope openid", target.RawQuery)
	}
	p.mu.Lock()
	p.claims, p.signWith, p.challenge, p.nonce = claims, signWith, q.Get("code_challenge"), q.Get("nonce")
	p.mu.Unlock()

	var state *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "axtract_oidc" {
			state = c
		}
	}
	if state == nil || !state.HttpOnly || !state.Secure {
		t.Fatalf("login sets no HttpOnly Secure state cookie: %v", resp.Cookies())
	}
	return b.do(t, http.MethodGet, "/auth/oidc/callback?code=code-1&state="+url.QueryEscape(q.Get("state")), "", state, nil)
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	config := &auth.OIDCConfig{
		Issuer: p.server.URL, ClientID: "axtract", RedirectURL: "https://axtract.test/auth/oidc/callback",
		RoleMap: map[string]auth.Role{"ops": auth.RoleOperator, "privacy": auth.RolePrivacyOfficer},
	}
	b := setup(t, auth.Options{OIDC: config})
	if err := b.svc.OIDCError(); err != nil {
		t.Fatal(err)
	}
	if m := b.do(t, http.MethodGet, "/auth/methods", "", nil, nil); m.status != http.StatusOK || m.body != "{\"oidc\":true,\"password\":true}\n" {
		t.Errorf("GET /auth/methods: %d %q, want both methods", m.status, m.body)
	}
	now := b.clock.Now()
	claims := func(extra map[string]any) map[string]any {
		c := map[string]any{"iss": p.server.URL, "aud": "axtract", "sub": "u-1", "email": "Olga@Example.org",
			"groups": []string{"ops"}, "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix()}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}

	resp := p.signIn(t, b, claims(nil), p.key)
	if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/" {
		t.Fatalf("callback: %d %s, want 303 to /", resp.status, resp.body)
	}
	cookie := sessionCookie(t, resp)
	if who := b.do(t, http.MethodGet, "/api/whoami", "", cookie, nil); who.body != "olga@example.org operator " {
		t.Errorf("whoami after OpenID Connect sign-in = %q, want the operator olga@example.org", who.body)
	}

	// The same subject signs in to the same account, whose role follows the token.
	resp = p.signIn(t, b, claims(map[string]any{"groups": []string{"ops", "privacy"}, "email": "other@example.org"}), p.key)
	if resp.status != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d %s", resp.status, resp.body)
	}
	if who := b.do(t, http.MethodGet, "/api/whoami", "", sessionCookie(t, resp), nil); who.body != "olga@example.org privacy_officer " {
		t.Errorf("whoami after a role change at the provider = %q", who.body)
	}
	if n := b.scalar(t, "SELECT count(*) FROM axtract.account WHERE oidc_subject = 'u-1' AND password_hash IS NULL"); n != int64(1) {
		t.Errorf("accounts of subject u-1: %v, want 1 without a password", n)
	}

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rejected := []struct {
		name   string
		claims map[string]any
		key    *rsa.PrivateKey
		status int
	}{
		{"foreign key", claims(nil), other, http.StatusUnauthorized},
		{"wrong audience", claims(map[string]any{"aud": "someone-else"}), p.key, http.StatusUnauthorized},
		{"second audience without azp", claims(map[string]any{"aud": []string{"axtract", "other"}}), p.key, http.StatusUnauthorized},
		{"wrong issuer", claims(map[string]any{"iss": "https://evil.test"}), p.key, http.StatusUnauthorized},
		{"expired", claims(map[string]any{"exp": now.Add(-time.Hour).Unix()}), p.key, http.StatusUnauthorized},
		{"wrong nonce", claims(map[string]any{"nonce": "replayed"}), p.key, http.StatusUnauthorized},
		{"no role", claims(map[string]any{"sub": "u-2", "groups": []string{"staff"}}), p.key, http.StatusForbidden},
	}
	for _, tc := range rejected {
		resp := p.signIn(t, b, tc.claims, tc.key)
		if resp.status != tc.status {
			t.Errorf("%s: status %d %s, want %d", tc.name, resp.status, resp.body, tc.status)
		}
		for _, c := range resp.cookies {
			if c.Name == auth.DefaultCookieName && c.Value != "" {
				t.Errorf("%s: a session cookie was set", tc.name)
			}
		}
	}

	// A callback whose state does not match the cookie's is refused.
	bad := b.do(t, http.MethodGet, "/auth/oidc/callback?code=code-1&state=forged", "", &http.Cookie{Name: "axtract_oidc", Value: "a.b.c"}, nil)
	if bad.status != http.StatusBadRequest {
		t.Errorf("callback with a forged state: status %d, want 400", bad.status)
	}
}

func TestOIDCConfigRejectsPartnerRole(t *testing.T) {
	t.Parallel()
	b := setup(t, auth.Options{OIDC: &auth.OIDCConfig{
		Issuer: "https://idp.test", ClientID: "axtract", RedirectURL: "https://axtract.test/auth/oidc/callback",
		RoleMap: map[string]auth.Role{"acme": auth.RolePartner},
	}})
	if err := b.svc.OIDCError(); err == nil || !strings.Contains(err.Error(), "role partner") {
		t.Errorf("OIDCError = %v, want the partner mapping rejected", err)
	}
}

package auth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// OIDCConfig configures sign-in through an OpenID Connect provider with
// the authorization code flow and PKCE. ID tokens must be signed with
// RS256.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// from Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID is the client registered with the provider.
	ClientID string
	// ClientSecretFile is a file holding the client secret on its first
	// line. Empty for a public client.
	ClientSecretFile string
	// RedirectURL is the address of GET /auth/oidc/callback as the
	// provider redirects to it, such as https://axtract.example/auth/oidc/callback.
	RedirectURL string
	// RoleClaim names the ID token claim, a string or an array of strings,
	// whose values RoleMap maps to roles. Default "groups".
	RoleClaim string
	// RoleMap maps values of RoleClaim to roles. When several values map,
	// the first role in the order admin, privacy_officer, operator,
	// analyst wins. RolePartner cannot be mapped: partner accounts are
	// local. A token whose values map to no role signs no one in.
	RoleMap map[string]Role
	// LoginClaim names the claim that becomes the login of a new account.
	// Default "email".
	LoginClaim string
	// AfterLogin is the address the browser is sent to after signing in.
	// Default "/".
	AfterLogin string
	// HTTPClient calls the provider. Default a client with a 10-second
	// timeout.
	HTTPClient *http.Client
}

// rolePrecedence orders roles for RoleMap: the first one a token maps to
// wins.
var rolePrecedence = []Role{RoleAdmin, RolePrivacyOfficer, RoleOperator, RoleAnalyst}

// oidcCookie carries state, nonce and PKCE verifier from the redirect to
// the callback.
const oidcCookie = "axtract_oidc"

// oidcProvider is the provider's discovered endpoints and signing keys.
type oidcProvider struct {
	config OIDCConfig
	oauth  oauth2.Config

	mu      sync.Mutex
	loaded  bool
	jwksURL string
	keys    map[string]*rsa.PublicKey
	keysAt  time.Time
}

func newOIDCProvider(c OIDCConfig) (*oidcProvider, error) {
	if c.Issuer == "" || c.ClientID == "" || c.RedirectURL == "" {
		return nil, errors.New("OpenID Connect needs Issuer, ClientID and RedirectURL")
	}
	if len(c.RoleMap) == 0 {
		return nil, errors.New("OpenID Connect needs a RoleMap from claim values to roles")
	}
	for value, role := range c.RoleMap {
		if role == RolePartner {
			return nil, fmt.Errorf("OpenID Connect RoleMap: %q maps to role partner, which only local accounts hold", value)
		}
		if _, err := ParseRole(string(role)); err != nil {
			return nil, fmt.Errorf("OpenID Connect RoleMap: %q: %w", value, err)
		}
	}
	if c.RoleClaim == "" {
		c.RoleClaim = "groups"
	}
	if c.LoginClaim == "" {
		c.LoginClaim = "email"
	}
	if c.AfterLogin == "" {
		c.AfterLogin = "/"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	secret := ""
	if c.ClientSecretFile != "" {
		data, err := os.ReadFile(c.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("read OpenID Connect client secret: %w", err)
		}
		secret = strings.TrimRight(strings.SplitN(string(data), "\n", 2)[0], "\r")
	}
	return &oidcProvider{
		config: c,
		oauth: oauth2.Config{
			ClientID:     c.ClientID,
			ClientSecret: secret,
			RedirectURL:  c.RedirectURL,
			Scopes:       []string{"openid", "email", "profile"},
		},
	}, nil
}

// discover reads the discovery document once; a failure is retried on
// the next sign-in.
func (p *oidcProvider) discover(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.loaded {
		return nil
	}
	var doc struct {
		Issuer   string `json:"issuer"`
		AuthURL  string `json:"authorization_endpoint"`
		TokenURL string `json:"token_endpoint"`
		JWKSURL  string `json:"jwks_uri"`
	}
	if err := p.getJSON(ctx, strings.TrimSuffix(p.config.Issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return fmt.Errorf("read OpenID Connect discovery document: %w", err)
	}
	if doc.Issuer != p.config.Issuer {
		return fmt.Errorf("OpenID Connect discovery document names issuer %q, want %q", doc.Issuer, p.config.Issuer)
	}
	if doc.AuthURL == "" || doc.TokenURL == "" || doc.JWKSURL == "" {
		return errors.New("OpenID Connect discovery document lacks authorization_endpoint, token_endpoint or jwks_uri")
	}
	p.oauth.Endpoint = oauth2.Endpoint{AuthURL: doc.AuthURL, TokenURL: doc.TokenURL}
	p.jwksURL = doc.JWKSURL
	p.loaded = true
	return nil
}

func (p *oidcProvider) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := p.config.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// key returns the provider's RSA key kid, reading the key set again when
// kid is unknown, at most once a minute.
func (p *oidcProvider) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k, ok := p.keys[kid]; ok {
		return k, nil
	}
	if time.Since(p.keysAt) < time.Minute && p.keys != nil {
		return nil, fmt.Errorf("ID token key %q is not in the provider's key set", kid)
	}
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := p.getJSON(ctx, p.jwksURL, &set); err != nil {
		return nil, fmt.Errorf("read OpenID Connect key set: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		e, errE := base64.RawURLEncoding.DecodeString(k.E)
		if errN != nil || errE != nil || len(e) > 4 {
			continue
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	p.keys, p.keysAt = keys, time.Now()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("ID token key %q is not in the provider's key set", kid)
}

// idClaims are the claims of a verified ID token.
type idClaims map[string]any

// verify checks an ID token's RS256 signature against the provider's keys
// and its iss, aud, azp, exp, iat and nonce claims (OpenID Connect Core
// 1.0, section 3.1.3.7), and returns its claims.
func (p *oidcProvider) verify(ctx context.Context, raw, nonce string, now time.Time) (idClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("ID token is not a signed JWT")
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, fmt.Errorf("ID token header: %w", err)
	}
	// Only RS256 is accepted, so neither "none" nor an HMAC keyed with the
	// public key can pass.
	if header.Alg != "RS256" {
		return nil, fmt.Errorf("ID token algorithm %q is not RS256", header.Alg)
	}
	key, err := p.key(ctx, header.Kid)
	if err != nil {
		return nil, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("ID token signature is not base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return nil, errors.New("ID token signature is invalid")
	}

	var claims idClaims
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, fmt.Errorf("ID token claims: %w", err)
	}
	if iss, _ := claims["iss"].(string); iss != p.config.Issuer {
		return nil, fmt.Errorf("ID token issuer %q is not %q", iss, p.config.Issuer)
	}
	audiences := claims.strings("aud")
	if !contains(audiences, p.config.ClientID) {
		return nil, fmt.Errorf("ID token audience %v does not include client %q", audiences, p.config.ClientID)
	}
	azp, hasAZP := claims["azp"].(string)
	if (hasAZP || len(audiences) > 1) && azp != p.config.ClientID {
		return nil, fmt.Errorf("ID token authorized party %q is not client %q", azp, p.config.ClientID)
	}
	exp, _ := claims["exp"].(float64)
	if exp == 0 || now.After(time.Unix(int64(exp), 0).Add(time.Minute)) {
		return nil, errors.New("ID token has expired")
	}
	if iat, _ := claims["iat"].(float64); iat != 0 && time.Unix(int64(iat), 0).After(now.Add(5*time.Minute)) {
		return nil, errors.New("ID token was issued in the future")
	}
	got, _ := claims["nonce"].(string)
	if subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return nil, errors.New("ID token nonce does not match this sign-in")
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return nil, errors.New("ID token has no subject")
	}
	return claims, nil
}

func decodeSegment(segment string, v any) error {
	data, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return errors.New("not base64url")
	}
	return json.Unmarshal(data, v)
}

// strings returns claim name as a list: a string is a list of one.
func (c idClaims) strings(name string) []string {
	switch v := c[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// role returns the role that the token's RoleClaim values map to, or "".
func (p *oidcProvider) role(claims idClaims) Role {
	mapped := map[Role]bool{}
	for _, v := range claims.strings(p.config.RoleClaim) {
		if r, ok := p.config.RoleMap[v]; ok {
			mapped[r] = true
		}
	}
	for _, r := range rolePrecedence {
		if mapped[r] {
			return r
		}
	}
	return ""
}

var loginPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,127}$`)

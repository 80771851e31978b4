package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Session is a signed-in session as the middleware found it.
type Session struct {
	Principal  *Principal
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	// hash is the SHA-256 of the session id, the row's key.
	hash []byte
}

type sessionKey struct{}

// SessionFromContext returns the session that Middleware found for the
// request of ctx, or nil.
func SessionFromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// randomToken returns 32 bytes from crypto/rand in unpadded base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSessionID returns the SHA-256 of a session id as sent in the
// cookie, or nil when the cookie holds no well-formed id.
func hashSessionID(id string) []byte {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) != 32 {
		return nil
	}
	sum := sha256.Sum256(raw)
	return sum[:]
}

// Middleware reads the session cookie, drops sessions past their idle
// timeout or lifetime, and puts the session's Principal into the request
// context (WithPrincipal). A request without a valid session goes on
// without a principal; the handler decides whether it needs one.
//
// A POST, PUT, PATCH or DELETE with a valid session must carry the
// session's CSRF token in the X-CSRF-Token header, or it gets 403 with
// code CSRF. POST /auth/login is exempt, because it replaces the session
// and accepts only a JSON body, which a cross-site form cannot send. Under
// Options.SameOriginPaths a same-origin Sec-Fetch-Site header also passes.
//
// Wrapping a handler twice checks the session once.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if SessionFromContext(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := s.lookupSession(r)
		if err != nil {
			s.internalError(w, r, "look up session", err)
			return
		}
		if sess == nil {
			next.ServeHTTP(w, r)
			return
		}
		if stateChanging(r.Method) && !s.csrfValid(r, sess) {
			WriteError(w, http.StatusForbidden, CodeCSRF,
				"missing or wrong "+CSRFHeader+" header; send the csrf_token of GET /auth/session")
			return
		}
		ctx := context.WithValue(r.Context(), sessionKey{}, sess)
		ctx = WithPrincipal(ctx, sess.Principal)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// csrfValid reports whether a state-changing request of sess may proceed.
func (s *Service) csrfValid(r *http.Request, sess *Session) bool {
	if r.Method == http.MethodPost && r.URL.Path == "/auth/login" {
		return true
	}
	got := r.Header.Get(CSRFHeader)
	if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) == 1 {
		return true
	}
	if r.Header.Get("Sec-Fetch-Site") != "same-origin" {
		return false
	}
	for _, prefix := range s.opts.SameOriginPaths {
		if strings.HasPrefix(r.URL.Path, prefix) {
			return true
		}
	}
	return false
}

func stateChanging(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// lookupSession returns the request's valid session, or nil. It deletes an
// expired session and stores the request time of an active one.
func (s *Service) lookupSession(r *http.Request) (*Session, error) {
	cookie, err := r.Cookie(s.opts.CookieName)
	if err != nil {
		return nil, nil
	}
	hash := hashSessionID(cookie.Value)
	if hash == nil {
		return nil, nil
	}
	ctx := r.Context()
	sess := &Session{Principal: &Principal{}, hash: hash}
	var partnerID *int64
	var partnerSlug *string
	var disabled bool
	err = s.pool.QueryRow(ctx, `
		SELECT s.csrf_token, s.created_at, s.last_seen_at, s.expires_at,
		       a.account_id, a.login, a.role, a.partner_id, p.slug, a.disabled
		FROM axtract.account_session s
		JOIN axtract.account a ON a.account_id = s.account_id
		LEFT JOIN axtract.partner p ON p.partner_id = a.partner_id
		WHERE s.session_hash = $1`, hash).Scan(
		&sess.CSRFToken, &sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt,
		&sess.Principal.AccountID, &sess.Principal.Login, &sess.Principal.Role, &partnerID, &partnerSlug, &disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	if partnerID != nil {
		sess.Principal.PartnerID = *partnerID
	}
	if partnerSlug != nil {
		sess.Principal.PartnerSlug = *partnerSlug
	}

	now := s.opts.Now()
	if disabled || !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.opts.IdleTimeout)) {
		if _, err := s.pool.Exec(ctx, "DELETE FROM axtract.account_session WHERE session_hash = $1", hash); err != nil {
			return nil, fmt.Errorf("delete expired session: %w", err)
		}
		return nil, nil
	}
	if now.Sub(sess.LastSeenAt) >= touchInterval {
		if _, err := s.pool.Exec(ctx, "UPDATE axtract.account_session SET last_seen_at = $2 WHERE session_hash = $1", hash, now); err != nil {
			return nil, fmt.Errorf("update session: %w", err)
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// createSession stores a new session of account in tx and returns it with
// the id for the cookie.
func (s *Service) createSession(ctx context.Context, tx pgx.Tx, p *Principal, clientAddr string) (*Session, string, error) {
	id := randomToken()
	now := s.opts.Now()
	sess := &Session{
		Principal:  p,
		CSRFToken:  randomToken(),
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.opts.Lifetime),
		hash:       hashSessionID(id),
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO axtract.account_session (session_hash, account_id, csrf_token, client_addr, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $5, $6)`,
		sess.hash, p.AccountID, sess.CSRFToken, clientAddr, now, sess.ExpiresAt)
	if err != nil {
		return nil, "", fmt.Errorf("store session: %w", err)
	}
	return sess, id, nil
}

// setCookie sends the session cookie. It is HttpOnly, so scripts cannot
// read it, Secure, so browsers send it over HTTPS only (and to
// http://localhost), and SameSite=Strict, so no other site's page makes a
// browser send it.
func (s *Service) setCookie(w http.ResponseWriter, sess *Session, id string) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.opts.CookieName,
		Value:    id,
		Path:     "/",
		Expires:  sess.ExpiresAt,
		MaxAge:   int(sess.ExpiresAt.Sub(sess.CreatedAt).Seconds()),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
}

func (s *Service) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.opts.CookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
}

// sessionBody is the JSON of POST /auth/login and GET /auth/session.
type sessionBody struct {
	Login     string    `json:"login"`
	Role      Role      `json:"role"`
	Partner   *string   `json:"partner"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
	// IdleExpiresAt is when the session ends without another request.
	IdleExpiresAt time.Time `json:"idle_expires_at"`
}

func (s *Service) sessionJSON(sess *Session) sessionBody {
	body := sessionBody{
		Login:         sess.Principal.Login,
		Role:          sess.Principal.Role,
		CSRFToken:     sess.CSRFToken,
		ExpiresAt:     sess.ExpiresAt.UTC(),
		IdleExpiresAt: minTime(sess.ExpiresAt, sess.LastSeenAt.Add(s.opts.IdleTimeout)).UTC(),
	}
	if sess.Principal.PartnerSlug != "" {
		slug := sess.Principal.PartnerSlug
		body.Partner = &slug
	}
	return body
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (s *Service) handleSession(w http.ResponseWriter, r *http.Request) {
	sess := SessionFromContext(r.Context())
	if sess == nil {
		WriteError(w, http.StatusUnauthorized, CodeUnauthenticated, "not signed in; POST /auth/login first")
		return
	}
	writeJSON(w, http.StatusOK, s.sessionJSON(sess))
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	if sess := SessionFromContext(r.Context()); sess != nil {
		if _, err := s.pool.Exec(r.Context(), "DELETE FROM axtract.account_session WHERE session_hash = $1", sess.hash); err != nil {
			s.internalError(w, r, "delete session", err)
			return
		}
	}
	s.clearCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// clientAddr returns the host part of the request's remote address.
// NOTE: behind a reverse proxy this is the proxy's address, so the
// per-address limit then counts all clients together. Forwarded headers
// are not trusted because a client can set them.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

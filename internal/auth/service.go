package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configure a Service. Zero fields take the defaults below.
type Options struct {
	// Logger receives sign-in failures and errors. Nil discards them.
	// Nothing secret (passwords, session ids, CSRF tokens) is logged.
	Logger *slog.Logger

	// IdleTimeout ends a session that made no request for this long.
	// Default 30 minutes. A session's last request time is stored at most
	// once a minute, so a session may end up to a minute early.
	IdleTimeout time.Duration
	// Lifetime ends a session this long after sign-in, however active.
	// Default 12 hours.
	Lifetime time.Duration

	// MaxFailures failed sign-ins of one account within FailureWindow lock
	// it for LockoutDuration. Defaults 5, 15 minutes and 15 minutes.
	MaxFailures     int
	FailureWindow   time.Duration
	LockoutDuration time.Duration
	// MaxAddressFailures failed sign-ins from one client address within
	// FailureWindow make further attempts from it fail with 429 until the
	// window has passed. Default 50.
	MaxAddressFailures int

	// Argon2 are the parameters of new password hashes. Default
	// DefaultArgon2Params. A successful sign-in with a hash of weaker
	// parameters stores a new hash.
	Argon2 Argon2Params
	// MaxConcurrentHashes bounds the Argon2 computations running at once,
	// each of which takes Argon2.Memory KiB. Default 4.
	MaxConcurrentHashes int

	// CookieName is the session cookie's name. Default "axtract_session".
	CookieName string
	// SameOriginPaths are path prefixes whose pages cannot send the CSRF
	// header because AxTract did not write them. There a state-changing
	// request also passes when the browser marks it Sec-Fetch-Site:
	// same-origin, a header that no page can set. Default: the River UI,
	// "/riverui/".
	SameOriginPaths []string

	// OIDC enables sign-in through an OpenID Connect provider at
	// /auth/oidc/login. Nil leaves it off.
	OIDC *OIDCConfig

	// Now returns the current time. Default time.Now; tests set a clock.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultIdleTimeout        = 30 * time.Minute
	DefaultLifetime           = 12 * time.Hour
	DefaultMaxFailures        = 5
	DefaultFailureWindow      = 15 * time.Minute
	DefaultLockoutDuration    = 15 * time.Minute
	DefaultMaxAddressFailures = 50
	DefaultCookieName         = "axtract_session"
	// CSRFHeader is the request header that carries a session's CSRF token.
	CSRFHeader = "X-CSRF-Token"
	// touchInterval is how often a session's last request time is stored.
	touchInterval = time.Minute
)

// Service signs accounts in and out and checks sessions. It is safe for
// concurrent use.
type Service struct {
	pool   *pgxpool.Pool
	opts   Options
	logger *slog.Logger
	// hashSlots bounds concurrent Argon2 computations.
	hashSlots chan struct{}
	// dummyHash is verified for unknown logins, so that they take as long
	// as a wrong password of a real account.
	dummyHash string
	// oidc is nil without Options.OIDC; oidcErr is why it could not be
	// set up.
	oidc    *oidcProvider
	oidcErr error
}

// NewService returns a Service on pool with opts. It computes one Argon2id
// hash at start.
func NewService(pool *pgxpool.Pool, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}

	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultLifetime
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = DefaultMaxFailures
	}
	if opts.FailureWindow <= 0 {
		opts.FailureWindow = DefaultFailureWindow
	}
	if opts.LockoutDuration <= 0 {
		opts.LockoutDuration = DefaultLockoutDuration
	}
	if opts.MaxAddressFailures <= 0 {
		opts.MaxAddressFailures = DefaultMaxAddressFailures
	}
	if opts.Argon2.Memory == 0 {
		opts.Argon2 = DefaultArgon2Params
	}
	if opts.MaxConcurrentHashes <= 0 {
		opts.MaxConcurrentHashes = 4
	}
	if opts.CookieName == "" {
		opts.CookieName = DefaultCookieName
	}
	if opts.SameOriginPaths == nil {
		opts.SameOriginPaths = []string{"/riverui/"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}

	s := &Service{pool: pool, opts: opts, logger: opts.Logger, hashSlots: make(chan struct{}, opts.MaxConcurrentHashes)}
	dummy, err := HashPassword(randomToken(), opts.Argon2)
	if err != nil {
		// crypto/rand does not fail on supported platforms; an empty dummy
		// hash would only make unknown logins faster, so log it.
		s.logger.Error("compute dummy password hash", "error", err)
	}
	s.dummyHash = dummy

	if opts.OIDC != nil {
		s.oidc, s.oidcErr = newOIDCProvider(*opts.OIDC)
		if s.oidcErr != nil {
			s.logger.Error("OpenID Connect sign-in is off", "error", s.oidcErr)
		}
	}
	return s
}

// OIDCError returns why Options.OIDC could not be used, or nil. Servers
// call it at start to fail early on a bad configuration.
func (s *Service) OIDCError() error { return s.oidcErr }

// Routes returns the handler of the /auth/ paths:
//
//	POST /auth/login          JSON {login, password}; sets the session cookie
//	POST /auth/logout         ends the session (needs the CSRF header)
//	GET  /auth/session        the signed-in account and its CSRF token
//	GET  /auth/methods        JSON {password, oidc}: the sign-in methods on offer
//	GET  /auth/oidc/login     starts OpenID Connect sign-in (with Options.OIDC)
//	GET  /auth/oidc/callback  the provider's redirect back (with Options.OIDC)
//
// It checks the session itself, so it needs no Middleware around it.
func (s *Service) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/login", s.handleLogin)
	mux.HandleFunc("POST /auth/logout", s.handleLogout)
	mux.HandleFunc("GET /auth/session", s.handleSession)
	mux.HandleFunc("GET /auth/methods", s.handleMethods)
	if s.opts.OIDC != nil {
		mux.HandleFunc("GET /auth/oidc/login", s.handleOIDCLogin)
		mux.HandleFunc("GET /auth/oidc/callback", s.handleOIDCCallback)
	}
	return s.Middleware(mux)
}

// handleMethods writes the sign-in methods the page may offer. It needs no
// session and shows nothing of the provider's configuration.
func (s *Service) handleMethods(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"password": true, "oidc": s.oidc != nil})
}

// errorBody is the JSON of every error response of this package.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes of the JSON error responses.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeLoginFailed     = "LOGIN_FAILED"
	CodeRateLimited     = "RATE_LIMITED"
	CodeCSRF            = "CSRF"
	CodeForbidden       = "FORBIDDEN"
	CodeBadRequest      = "BAD_REQUEST"
	CodeInternal        = "INTERNAL"
)

// WriteError writes a JSON error {"code": ..., "message": ...} with status.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Code: code, Message: message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// internalError logs err once and writes a 500 without its text, which may
// name database objects.
func (s *Service) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.logger.Error(what, "error", err, "path", r.URL.Path)
	WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error; the server log has the details")
}

// acquireHash waits for a free Argon2 slot and returns its release.
func (s *Service) acquireHash(ctx context.Context) (func(), error) {
	select {
	case s.hashSlots <- struct{}{}:
		return func() { <-s.hashSlots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

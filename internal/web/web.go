// Package web assembles AxTract's HTTP server under one mux. It serves the
// self-service portal, whose HTML, CSS and JavaScript modules are embedded in
// the binary, and mounts the handlers of the other packages: GraphQL,
// accounts, the River UI, the partner pull API, signed downloads, health and
// metrics.
//
// The portal needs no build step and loads nothing from another origin. All
// its data comes from /graphql, and it signs in through /auth/login.
package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/axtract/axtract/internal/auth"
)

// Deps are the handlers that New mounts. A nil handler leaves its path
// unmounted, so a request there gets 404 rather than the portal.
type Deps struct {
	// GraphQL serves POST /graphql. It runs behind Session, so resolvers
	// find the principal with auth.FromContext.
	GraphQL http.Handler
	// Auth serves /auth/ (login, logout, session).
	Auth http.Handler
	// Session wraps the handlers that act for a signed-in account
	// (/graphql, /riverui/): it checks the session cookie and the CSRF header
	// and puts the auth.Principal in the request's context. It is required
	// whenever GraphQL or RiverUI is set.
	Session func(http.Handler) http.Handler
	// RiverUI serves /riverui/ for admins and operators. New lets through
	// only requests whose principal holds one of those roles.
	RiverUI http.Handler
	// PullAPI serves /api/v1/, which partners call with their own
	// credentials, so it runs without Session.
	PullAPI http.Handler
	// Download serves /download/{token}. The signed token is the
	// credential, so a request without a session passes; Session still
	// runs first, so that a signed-in partner user gets only its own
	// partner's files.
	Download http.Handler
	// Health serves /healthz, /readyz and /metrics.
	Health http.Handler
}

// New returns the server's root handler. Every response carries the
// headers of securityHeaders; the portal's own responses also carry its
// Content-Security-Policy.
func New(deps Deps) (http.Handler, error) {
	if deps.Session == nil && (deps.GraphQL != nil || deps.RiverUI != nil) {
		return nil, errors.New("web: Deps.Session is required to serve /graphql and /riverui/")
	}
	portal, err := newPortal(deps.RiverUI != nil)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("/", portal)
	if deps.GraphQL != nil {
		mux.Handle("/graphql", deps.Session(deps.GraphQL))
	}
	if deps.Auth != nil {
		mux.Handle("/auth/", deps.Auth)
	}
	if deps.RiverUI != nil {
		mux.Handle("/riverui/", deps.Session(requireRole(deps.RiverUI, auth.RoleAdmin, auth.RoleOperator)))
	}
	if deps.PullAPI != nil {
		mux.Handle("/api/v1/", deps.PullAPI)
	}
	if deps.Download != nil {
		mux.Handle("/download/", deps.Session(deps.Download))
	}
	if deps.Health != nil {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			mux.Handle(path, deps.Health)
		}
	}
	return securityHeaders(mux), nil
}

// requireRole lets a request through to next only when its principal holds
// one of roles. A request without a session is sent to the portal's login
// page, which returns to the same address after signing in.
func requireRole(next http.Handler, roles ...auth.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		if p == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if !p.Is(roles...) {
			http.Error(w, "forbidden: this page is for admins and operators", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

package web

import (
	"net/http"
	"strings"
)

// portalCSP is the Content-Security-Policy of the portal's pages. Scripts,
// styles and data come only from this origin, and no inline script runs.
// The portal draws its charts as SVG elements, which need no inline code.
var portalCSP = strings.Join([]string{
	"default-src 'self'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self' data:",
	"connect-src 'self'",
	"font-src 'self'",
	"object-src 'none'",
	"base-uri 'none'",
	"form-action 'self'",
	"frame-ancestors 'none'",
}, "; ")

// securityHeaders sets the headers that every response carries. The River
// UI under /riverui/ brings its own pages, so the portal's full CSP is set by
// the portal handler alone; framing is denied everywhere.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		// Handlers with pages of their own replace this with a fuller policy.
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

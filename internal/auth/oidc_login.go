package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"
)

var providerErrorPattern = regexp.MustCompile(`^[a-z_]{1,64}$`)

// errOIDCConflict means a new OpenID Connect account's login is already a
// local account's.
var errOIDCConflict = errors.New("login belongs to a local account")

func (s *Service) oidcReady(w http.ResponseWriter, r *http.Request) bool {
	if s.oidc == nil {
		WriteError(w, http.StatusServiceUnavailable, CodeInternal, "OpenID Connect sign-in is misconfigured; the server log has the details")
		return false
	}
	if err := s.oidc.discover(r.Context()); err != nil {
		s.logger.Error("OpenID Connect provider unavailable", "error", err)
		WriteError(w, http.StatusBadGateway, CodeInternal, "the OpenID Connect provider is unavailable; try again later")
		return false
	}
	return true
}

// handleOIDCLogin redirects to the provider with a fresh state, nonce and
// PKCE challenge, which a short-lived cookie keeps for the callback.
func (s *Service) handleOIDCLogin(w http.ResponseWriter, r *http.Request) {
	if !s.oidcReady(w, r) {
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	// SameSite=Lax, because the provider's redirect back is a cross-site
	// navigation, which a Strict cookie would not accompany.
	http.SetCookie(w, &http.Cookie{
		Name:     oidcCookie,
		Value:    state + "." + nonce + "." + verifier,
		Path:     "/auth/oidc/",
		MaxAge:   600,
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteLaxMode,
	})
	target := s.oidc.oauth.AuthCodeURL(state, oauth2.SetAuthURLParam("nonce", nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, target, http.StatusFound)
}

func (s *Service) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	if !s.oidcReady(w, r) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Path: "/auth/oidc/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	query := r.URL.Query()
	if e := query.Get("error"); e != "" {
		if !providerErrorPattern.MatchString(e) {
			e = "an invalid error code"
		}
		WriteError(w, http.StatusUnauthorized, CodeLoginFailed, "the OpenID Connect provider did not sign you in: "+e)
		return
	}
	cookie, err := r.Cookie(oidcCookie)
	parts := []string{}
	if err == nil {
		parts = strings.Split(cookie.Value, ".")
	}
	if len(parts) != 3 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(query.Get("state"))) != 1 {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "sign-in state is missing or does not match; start again at /auth/oidc/login")
		return
	}
	nonce, verifier := parts[1], parts[2]

	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, s.oidc.config.HTTPClient)
	token, err := s.oidc.oauth.Exchange(ctx, query.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		s.logger.Warn("OpenID Connect code exchange failed", "error", err)
		WriteError(w, http.StatusBadGateway, CodeLoginFailed, "the OpenID Connect provider did not exchange the code; start again at /auth/oidc/login")
		return
	}
	raw, _ := token.Extra("id_token").(string)
	if raw == "" {
		s.logger.Warn("OpenID Connect token response has no id_token")
		WriteError(w, http.StatusBadGateway, CodeLoginFailed, "the OpenID Connect provider returned no ID token")
		return
	}
	claims, err := s.oidc.verify(ctx, raw, nonce, s.opts.Now())
	if err != nil {
		s.logger.Warn("OpenID Connect ID token rejected", "error", err)
		WriteError(w, http.StatusUnauthorized, CodeLoginFailed, "the ID token is invalid; start again at /auth/oidc/login")
		return
	}
	role := s.oidc.role(claims)
	if role == "" {
		s.logger.Info("OpenID Connect sign-in maps to no role", "claim", s.oidc.config.RoleClaim)
		WriteError(w, http.StatusForbidden, CodeForbidden,
			fmt.Sprintf("your %s at the provider map to no AxTract role; ask an admin", s.oidc.config.RoleClaim))
		return
	}

	sess, id, err := s.oidcSignIn(r.Context(), claims, role, clientAddr(r))
	switch {
	case errors.Is(err, errLoginFailed):
		WriteError(w, http.StatusUnauthorized, CodeLoginFailed, loginFailedMessage)
		return
	case errors.Is(err, errOIDCConflict):
		WriteError(w, http.StatusConflict, CodeLoginFailed, "your login at the provider is already a local account's; ask an admin")
		return
	case err != nil:
		s.internalError(w, r, "sign in through OpenID Connect", err)
		return
	}
	s.setCookie(w, sess, id)
	http.Redirect(w, r, s.oidc.config.AfterLogin, http.StatusSeeOther)
}

// oidcSignIn finds the account of the token's issuer and subject, or
// creates it, brings its role in line with the token, and starts a
// session.
func (s *Service) oidcSignIn(ctx context.Context, claims idClaims, role Role, addr string) (*Session, string, error) {
	issuer := s.oidc.config.Issuer
	subject, _ := claims["sub"].(string)
	actor := "oidc:" + issuer

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("begin sign-in: %w", err)
	}
	defer tx.Rollback(ctx)

	p := &Principal{}
	var current Role
	var disabled bool
	err = tx.QueryRow(ctx, `
		SELECT account_id, login, role, disabled FROM axtract.account
		WHERE oidc_issuer = $1 AND oidc_subject = $2 FOR UPDATE`, issuer, subject).Scan(&p.AccountID, &p.Login, &current, &disabled)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		login := normalizeLogin(firstString(claims.strings(s.oidc.config.LoginClaim)))
		if !loginPattern.MatchString(login) {
			login = normalizeLogin(subject)
		}
		var taken bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM axtract.account WHERE login = $1)", login).Scan(&taken); err != nil {
			return nil, "", fmt.Errorf("look up login: %w", err)
		}
		if taken {
			s.logger.Warn("OpenID Connect login is a local account's", "login", login)
			return nil, "", errOIDCConflict
		}
		if err := tx.QueryRow(ctx, "SELECT axtract.account_create($1, $2, NULL, NULL, $3)", login, string(role), actor).Scan(&p.AccountID); err != nil {
			return nil, "", fmt.Errorf("create account %q: %w", login, err)
		}
		if _, err := tx.Exec(ctx, "UPDATE axtract.account SET oidc_issuer = $2, oidc_subject = $3 WHERE account_id = $1", p.AccountID, issuer, subject); err != nil {
			return nil, "", fmt.Errorf("link account %q: %w", login, err)
		}
		p.Login = login
	case err != nil:
		return nil, "", fmt.Errorf("look up account: %w", err)
	case disabled:
		if _, err := tx.Exec(ctx, `
			INSERT INTO axtract.login_attempt (at, login, account_id, client_addr, succeeded, reason)
			VALUES ($1, $2, $3, $4, false, $5)`, s.opts.Now(), p.Login, p.AccountID, addr, reasonDisabled); err != nil {
			return nil, "", fmt.Errorf("record sign-in attempt: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return nil, "", fmt.Errorf("commit sign-in attempt: %w", err)
		}
		return nil, "", errLoginFailed
	case current != role:
		if _, err := tx.Exec(ctx, "SELECT axtract.account_role_set($1, $2, NULL, $3)", p.Login, string(role), actor); err != nil {
			return nil, "", fmt.Errorf("update role of %q: %w", p.Login, err)
		}
	}
	p.Role = role

	if _, err := tx.Exec(ctx, `
		INSERT INTO axtract.login_attempt (at, login, account_id, client_addr, succeeded, reason)
		VALUES ($1, $2, $3, $4, true, '')`, s.opts.Now(), p.Login, p.AccountID, addr); err != nil {
		return nil, "", fmt.Errorf("record sign-in attempt: %w", err)
	}
	sess, id, err := s.createSession(ctx, tx, p, addr)
	if err != nil {
		return nil, "", err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, "", fmt.Errorf("commit sign-in: %w", err)
	}
	s.logger.Info("signed in through OpenID Connect", "login", p.Login, "role", string(role), "client_addr", addr)
	return sess, id, nil
}

func firstString(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

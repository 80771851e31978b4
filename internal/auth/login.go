package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// loginFailedMessage is the one message of every failed sign-in, whatever
// the cause, so that a response never reveals whether a login exists.
const loginFailedMessage = "sign-in failed: wrong login or password, or the account is locked or disabled"

// Reasons of failed attempts in axtract.login_attempt.
const (
	reasonPassword = "password"
	reasonUnknown  = "unknown"
	reasonDisabled = "disabled"
	reasonLocked   = "locked"
)

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "application/json" {
		WriteError(w, http.StatusUnsupportedMediaType, CodeBadRequest, "send the login as JSON with Content-Type: application/json")
		return
	}
	var req loginRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, `the body must be JSON {"login": "...", "password": "..."}`)
		return
	}
	login := normalizeLogin(req.Login)
	if login == "" || req.Password == "" {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "login and password are required")
		return
	}
	if len(req.Password) > MaxPasswordBytes {
		// Longer passwords are never stored, so this one cannot be right;
		// refuse before hashing megabytes.
		WriteError(w, http.StatusUnauthorized, CodeLoginFailed, loginFailedMessage)
		return
	}
	addr := clientAddr(r)

	limited, err := s.addressLimited(r.Context(), addr)
	if err != nil {
		s.internalError(w, r, "check sign-in rate", err)
		return
	}
	if limited {
		s.logger.Warn("sign-in rate limit reached", "client_addr", addr)
		w.Header().Set("Retry-After", fmt.Sprint(int(s.opts.FailureWindow.Seconds())))
		WriteError(w, http.StatusTooManyRequests, CodeRateLimited, "too many failed sign-ins from this address; try again later")
		return
	}

	sess, id, err := s.passwordLogin(r.Context(), login, req.Password, addr)
	if errors.Is(err, errLoginFailed) {
		WriteError(w, http.StatusUnauthorized, CodeLoginFailed, loginFailedMessage)
		return
	}
	if err != nil {
		s.internalError(w, r, "sign in", err)
		return
	}
	s.setCookie(w, sess, id)
	writeJSON(w, http.StatusOK, s.sessionJSON(sess))
}

// normalizeLogin trims and lowercases a login as typed, and cuts it to the
// longest length a login may have.
func normalizeLogin(login string) string {
	login = strings.ToLower(strings.TrimSpace(login))
	if len(login) > 128 {
		login = login[:128]
	}
	return login
}

// addressLimited reports whether addr has had MaxAddressFailures failed
// attempts within FailureWindow.
func (s *Service) addressLimited(ctx context.Context, addr string) (bool, error) {
	var failures int
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FROM axtract.login_attempt
		WHERE client_addr = $1 AND NOT succeeded AND at > $2`,
		addr, s.opts.Now().Add(-s.opts.FailureWindow)).Scan(&failures)
	if err != nil {
		return false, fmt.Errorf("count failed sign-ins of %s: %w", addr, err)
	}
	return failures >= s.opts.MaxAddressFailures, nil
}

var errLoginFailed = errors.New("sign-in failed")

// account is the row that a sign-in checks.
type loginAccount struct {
	id            int64
	role          Role
	partnerID     *int64
	partnerSlug   *string
	passwordHash  *string
	disabled      bool
	failed        int
	firstFailedAt *time.Time
	lockedUntil   *time.Time
}

// passwordLogin checks login and password and, when they match an enabled
// account that is not locked, starts a session. Every failure returns
// errLoginFailed after one Argon2id verification, so that unknown logins,
// locked and disabled accounts and wrong passwords take about as long.
// The attempt is recorded whatever the result.
func (s *Service) passwordLogin(ctx context.Context, login, password, addr string) (*Session, string, error) {
	release, err := s.acquireHash(ctx)
	if err != nil {
		return nil, "", err
	}
	defer release()

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("begin sign-in: %w", err)
	}
	defer tx.Rollback(ctx)

	// FOR UPDATE makes concurrent attempts on one account take turns, so
	// parallel guesses cannot get past the failure count.
	var a loginAccount
	err = tx.QueryRow(ctx, `
		SELECT a.account_id, a.role, a.partner_id, p.slug, a.password_hash, a.disabled,
		       a.failed_attempts, a.first_failed_at, a.locked_until
		FROM axtract.account a
		LEFT JOIN axtract.partner p ON p.partner_id = a.partner_id
		WHERE a.login = $1
		FOR UPDATE OF a`, login).Scan(
		&a.id, &a.role, &a.partnerID, &a.partnerSlug, &a.passwordHash, &a.disabled, &a.failed, &a.firstFailedAt, &a.lockedUntil)
	known := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, "", fmt.Errorf("look up account: %w", err)
	}
	now := s.opts.Now()

	hash := s.dummyHash
	if known && a.passwordHash != nil {
		hash = *a.passwordHash
	}
	verr := VerifyPassword(hash, password)
	if verr != nil && !errors.Is(verr, ErrPasswordMismatch) {
		// A stored hash that cannot be read signs no one in.
		s.logger.Error("unreadable password hash", "login", login, "error", verr)
	}
	matched := verr == nil && known && a.passwordHash != nil

	reason := ""
	switch {
	case !known:
		reason = reasonUnknown
	case a.lockedUntil != nil && now.Before(*a.lockedUntil):
		reason = reasonLocked
	case !matched:
		reason = reasonPassword
	case a.disabled:
		reason = reasonDisabled
	}
	var accountID *int64
	if known {
		accountID = &a.id
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO axtract.login_attempt (at, login, account_id, client_addr, succeeded, reason)
		VALUES ($1, $2, $3, $4, $5, $6)`, now, login, accountID, addr, reason == "", reason); err != nil {
		return nil, "", fmt.Errorf("record sign-in attempt: %w", err)
	}

	if reason != "" {
		if reason == reasonPassword {
			if err := s.countFailure(ctx, tx, &a, now); err != nil {
				return nil, "", err
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return nil, "", fmt.Errorf("commit sign-in attempt: %w", err)
		}
		s.logger.Info("sign-in failed", "login", login, "reason", reason, "client_addr", addr)
		return nil, "", errLoginFailed
	}

	if _, err := tx.Exec(ctx, `
		UPDATE axtract.account SET failed_attempts = 0, first_failed_at = NULL, locked_until = NULL
		WHERE account_id = $1`, a.id); err != nil {
		return nil, "", fmt.Errorf("reset failed sign-ins: %w", err)
	}
	if err := s.rehashIfWeak(ctx, tx, a.id, *a.passwordHash, password); err != nil {
		return nil, "", err
	}
	p := &Principal{AccountID: a.id, Login: login, Role: a.role}
	if a.partnerID != nil {
		p.PartnerID = *a.partnerID
	}
	if a.partnerSlug != nil {
		p.PartnerSlug = *a.partnerSlug
	}
	sess, id, err := s.createSession(ctx, tx, p, addr)
	if err != nil {
		return nil, "", err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, "", fmt.Errorf("commit sign-in: %w", err)
	}
	s.logger.Info("signed in", "login", login, "role", string(a.role), "client_addr", addr)
	return sess, id, nil
}

// countFailure adds a wrong password to the account's failure window and
// locks the account when the window holds MaxFailures. A window starts at
// the first failure and lasts FailureWindow.
func (s *Service) countFailure(ctx context.Context, tx pgx.Tx, a *loginAccount, now time.Time) error {
	failed, first := a.failed+1, now
	if a.firstFailedAt != nil && now.Sub(*a.firstFailedAt) < s.opts.FailureWindow {
		first = *a.firstFailedAt
	} else {
		failed = 1
	}
	var lockedUntil *time.Time
	var firstFailed *time.Time = &first
	if failed >= s.opts.MaxFailures {
		until := now.Add(s.opts.LockoutDuration)
		lockedUntil, failed, firstFailed = &until, 0, nil
		s.logger.Warn("account locked after failed sign-ins", "account_id", a.id, "until", until)
	}
	_, err := tx.Exec(ctx, `
		UPDATE axtract.account SET failed_attempts = $2, first_failed_at = $3, locked_until = coalesce($4, locked_until)
		WHERE account_id = $1`, a.id, failed, firstFailed, lockedUntil)
	if err != nil {
		return fmt.Errorf("count failed sign-in: %w", err)
	}
	return nil
}

// rehashIfWeak stores a new hash of password when the stored one has
// weaker parameters than Options.Argon2.
func (s *Service) rehashIfWeak(ctx context.Context, tx pgx.Tx, accountID int64, stored, password string) error {
	params, err := hashParams(stored)
	if err != nil || !params.weaker(s.opts.Argon2) {
		return nil
	}
	hash, err := HashPassword(password, s.opts.Argon2)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE axtract.account SET password_hash = $2, updated_at = now() WHERE account_id = $1", accountID, hash); err != nil {
		return fmt.Errorf("store stronger password hash: %w", err)
	}
	return nil
}

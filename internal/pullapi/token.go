package pullapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scopes of API tokens.
const (
	ScopeList     = "list"
	ScopeDownload = "download"
)

// tokenPrefix starts every token, so a leaked token is easy to recognise in
// a log or a repository scan.
const tokenPrefix = "axt_"

// shownPrefixLen is how many characters of a token listings show: the
// "axt_" marker and 8 random characters, 48 of the token's 256 bits.
const shownPrefixLen = len(tokenPrefix) + 8

// Token is an API token as stored, without the secret.
type Token struct {
	ID         int64
	PartnerID  int64
	Partner    string
	Prefix     string
	Scopes     []string
	Note       string
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// Has reports whether the token carries scope.
func (t *Token) Has(scope string) bool { return slices.Contains(t.Scopes, scope) }

// CreateTokenParams describes a new token.
type CreateTokenParams struct {
	Partner string
	Scopes  []string
	// TTL is how long the token is valid from now; it must be positive.
	TTL  time.Duration
	Note string
}

// CreateToken stores a new API token for a partner and returns its id and
// the token itself. The token is 32 random bytes in base64url after "axt_".
// Only its SHA-256 is stored, so the caller must show it now: it cannot be
// read back.
func CreateToken(ctx context.Context, pool *pgxpool.Pool, p CreateTokenParams) (int64, string, error) {
	for _, s := range p.Scopes {
		if s != ScopeList && s != ScopeDownload {
			return 0, "", fmt.Errorf("invalid scope %q: use %s or %s", s, ScopeList, ScopeDownload)
		}
	}
	if len(p.Scopes) == 0 {
		return 0, "", fmt.Errorf("no scope given: use %s, %s or both", ScopeList, ScopeDownload)
	}
	if p.TTL <= 0 {
		return 0, "", fmt.Errorf("invalid token lifetime %s: must be positive, such as 720h", p.TTL)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	hash := hashToken(token)
	var id int64
	err := pool.QueryRow(ctx, "SELECT axtract.api_token_create($1, $2, $3, $4, now() + $5::interval, $6)",
		p.Partner, hash[:], token[:shownPrefixLen], p.Scopes, p.TTL.String(), p.Note).Scan(&id)
	if err != nil {
		return 0, "", fmt.Errorf("create API token of partner %s: %w", p.Partner, err)
	}
	return id, token, nil
}

// RevokeToken revokes token id. It returns false when the token was already
// revoked.
func RevokeToken(ctx context.Context, pool *pgxpool.Pool, id int64) (bool, error) {
	var revoked bool
	if err := pool.QueryRow(ctx, "SELECT axtract.api_token_revoke($1)", id).Scan(&revoked); err != nil {
		return false, fmt.Errorf("revoke API token %d: %w", id, err)
	}
	return revoked, nil
}

// ListTokens returns the tokens of partner slug, newest first.
func ListTokens(ctx context.Context, pool *pgxpool.Pool, slug string) ([]Token, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM axtract.partner WHERE slug = $1)", slug).Scan(&exists); err != nil {
		return nil, fmt.Errorf("look up partner %s: %w", slug, err)
	}
	if !exists {
		return nil, fmt.Errorf("partner %s not found", slug)
	}
	rows, err := pool.Query(ctx, `
		SELECT t.token_id, t.partner_id, p.slug, t.prefix, t.scopes, t.note,
		       t.expires_at, t.revoked_at, t.last_used_at, t.created_at
		FROM axtract.api_token t
		JOIN axtract.partner p ON p.partner_id = t.partner_id
		WHERE p.slug = $1
		ORDER BY t.token_id DESC`, slug)
	if err != nil {
		return nil, fmt.Errorf("list API tokens of partner %s: %w", slug, err)
	}
	tokens, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Token, error) {
		var t Token
		err := row.Scan(&t.ID, &t.PartnerID, &t.Partner, &t.Prefix, &t.Scopes, &t.Note,
			&t.ExpiresAt, &t.RevokedAt, &t.LastUsedAt, &t.CreatedAt)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list API tokens of partner %s: %w", slug, err)
	}
	return tokens, nil
}

// hashToken returns the SHA-256 of a token. A token carries 256 random bits,
// so unlike a password it needs no slow, salted hash. No one can find a
// token from its hash by trying candidates, and a plain hash lets each
// request find its row through the unique index.
func hashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// Errors of bearer authentication. Their messages go to the client as they
// are.
var (
	errNoToken      = errors.New("missing bearer token: send the header Authorization: Bearer TOKEN")
	errTokenUnknown = errors.New("invalid token: no such token; create one with axtract token create")
	errTokenRevoked = errors.New("token revoked: ask for a new token")
	errTokenExpired = errors.New("token expired: ask for a new token")
)

// authenticate returns the token that the request's Authorization header
// carries, or one of the errors above.
func (h *handler) authenticate(ctx context.Context, header string) (*Token, error) {
	scheme, value, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
		return nil, errNoToken
	}
	hash := hashToken(strings.TrimSpace(value))
	var t Token
	err := h.pool.QueryRow(ctx, `
		SELECT t.token_id, t.partner_id, p.slug, t.prefix, t.scopes, t.expires_at, t.revoked_at
		FROM axtract.api_token t
		JOIN axtract.partner p ON p.partner_id = t.partner_id
		WHERE t.token_hash = $1`, hash[:]).Scan(&t.ID, &t.PartnerID, &t.Partner, &t.Prefix, &t.Scopes, &t.ExpiresAt, &t.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errTokenUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("look up API token: %w", err)
	}
	if t.RevokedAt != nil {
		return nil, errTokenRevoked
	}
	if !h.now().Before(t.ExpiresAt) {
		return nil, errTokenExpired
	}
	// Recording every use would write a row per request; once a minute is
	// enough to tell a live token from an abandoned one.
	if _, err := h.pool.Exec(ctx, `UPDATE axtract.api_token SET last_used_at = now()
		WHERE token_id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, t.ID); err != nil {
		h.logger.Warn("record API token use", "token_id", t.ID, "error", err)
	}
	return &t, nil
}

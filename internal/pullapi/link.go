package pullapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/auth"
)

// minLinkKey is the shortest link key accepted, in bytes: the HMAC-SHA256
// block of security.
const minLinkKey = 32

// SignLink returns the token of a download link for file fileID of partner
// partnerID that is valid until expires; the link is /download/TOKEN. The
// token reads fileID.partnerID.expiry.signature, where expiry is in Unix
// seconds and signature is the base64url HMAC-SHA256 under secret of the
// three numbers. Anyone holding the link can download the file until it
// expires, so hand it only to the partner's signed-in users.
func SignLink(secret []byte, fileID int64, partnerID int64, expires time.Time) string {
	payload := strconv.FormatInt(fileID, 10) + "." + strconv.FormatInt(partnerID, 10) + "." + strconv.FormatInt(expires.Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(linkMAC(secret, payload))
}

// linkMAC signs a link payload. The label keeps these signatures apart from
// any other use of the same key.
func linkMAC(secret []byte, payload string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("axtract download link v1\n"))
	mac.Write([]byte(payload))
	return mac.Sum(nil)
}

// Errors of link verification.
var (
	errLinkInvalid = errors.New("invalid download link: ask the portal for a new one")
	errLinkExpired = errors.New("download link expired: ask the portal for a new one")
)

// verifyLink returns the file and partner ids of a link token, checking its
// signature before its expiry so an expired forgery reads as invalid.
func verifyLink(secret []byte, token string, now time.Time) (fileID, partnerID int64, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 {
		return 0, 0, errLinkInvalid
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return 0, 0, errLinkInvalid
	}
	if !hmac.Equal(sig, linkMAC(secret, parts[0]+"."+parts[1]+"."+parts[2])) {
		return 0, 0, errLinkInvalid
	}
	var nums [3]int64
	for i := range nums {
		if nums[i], err = strconv.ParseInt(parts[i], 10, 64); err != nil {
			return 0, 0, errLinkInvalid
		}
	}
	if !now.Before(time.Unix(nums[2], 0)) {
		return 0, 0, errLinkExpired
	}
	return nums[0], nums[1], nil
}

// LinkKey returns the link key of the instance: the bytes of keyFile when
// it is set, else the key stored in axtract.channel_key, which only the
// AxTract service role can read. The portal calls it to sign links.
func LinkKey(ctx context.Context, pool *pgxpool.Pool, keyFile string) ([]byte, error) {
	if keyFile != "" {
		key, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("read link key: %w", err)
		}
		if len(key) < minLinkKey {
			return nil, fmt.Errorf("link key file %s has %d bytes, fewer than %d: write at least %d random bytes, e.g. head -c 32 /dev/urandom", keyFile, len(key), minLinkKey, minLinkKey)
		}
		return key, nil
	}
	var key []byte
	if err := pool.QueryRow(ctx, "SELECT key FROM axtract.channel_key WHERE name = 'link'").Scan(&key); err != nil {
		return nil, fmt.Errorf("read link key from axtract.channel_key: %w (run axtract migrate)", err)
	}
	return key, nil
}

func loadLinkKey(pool *pgxpool.Pool, keyFile string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return LinkKey(ctx, pool, keyFile)
}

// downloadLink serves GET /download/{token}.
func (h *handler) downloadLink(w http.ResponseWriter, r *http.Request) {
	key, err := h.linkKey()
	if err != nil {
		h.logger.Error("load link key", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "the server cannot check download links; ask the operator")
		return
	}
	fileID, partnerID, err := verifyLink(key, r.PathValue("token"), h.now())
	if err != nil {
		writeError(w, http.StatusForbidden, "invalid_link", err.Error())
		return
	}
	// A signed-in partner user gets only its own partner's links, as if the
	// file did not exist.
	if p := auth.FromContext(r.Context()); p != nil && p.Is(auth.RolePartner) && p.PartnerID != partnerID {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("file %d not found", fileID))
		return
	}
	h.serveFile(w, r, download{fileID: fileID, partnerID: partnerID, via: "link"})
}

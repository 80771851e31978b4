package pullapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/pullapi"
)

// waitAudit waits until n file.download events exist; the handler writes
// each one after the response body, which the client may have read first.
func waitAudit(t *testing.T, db *pgtest.DB, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		details := auditDetails(t, db)
		if len(details) >= n || time.Now().After(deadline) {
			if len(details) != n {
				t.Fatalf("file.download events = %d, want %d: %v", len(details), n, details)
			}
			return details
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeliveriesListsOwnRunsWithCursor(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{})
	var acmeRuns []int64
	for i := range 3 {
		runID, _ := b.deliver(t, "acme-roster", "acme", fmt.Sprintf("acme_%d.csv", i), []byte("a,b\n"))
		acmeRuns = append(acmeRuns, runID)
	}
	b.deliver(t, "beta-roster", "beta", "beta_0.csv", []byte("secret of beta\n"))
	_, token := b.token(t, "acme", time.Hour, "list")

	var seen []int64
	cursor := ""
	for page := 0; page < 5; page++ {
		path := "/api/v1/deliveries?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		resp, body := b.get(t, path, token)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d, body %s", path, resp.StatusCode, body)
		}
		var p pullapi.DeliveryPage
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Deliveries {
			seen = append(seen, d.RunID)
			if d.Feed != "acme-roster" {
				t.Errorf("delivery %d of feed %s, want only acme-roster", d.RunID, d.Feed)
			}
			if len(d.Files) != 1 || !strings.HasPrefix(d.Files[0].Name, "acme_") {
				t.Errorf("delivery %d files = %+v, want one acme_ file", d.RunID, d.Files)
			}
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	want := []int64{acmeRuns[2], acmeRuns[1], acmeRuns[0]}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("runs listed over pages = %v, want %v", seen, want)
	}
}

func TestDeliveriesRejectsBadCursor(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{})
	_, token := b.token(t, "acme", time.Hour, "list")

	resp, body := b.get(t, "/api/v1/deliveries?cursor=not-a-cursor", token)

	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; body %s", resp.StatusCode, body)
	}
	if code, msg := errorOf(t, body); code != "invalid_request" || !strings.Contains(msg, "not-a-cursor") {
		t.Errorf("error = %s %q, want invalid_request naming the cursor", code, msg)
	}
}

func TestDownloadFullRangeAndIfRange(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{})
	content := make([]byte, 100_000)
	rand.Read(content)
	sum := sha256.Sum256(content)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	runID, fileID := b.deliver(t, "acme-roster", "acme", "acme_full.csv.zst", content)
	tokenID, token := b.token(t, "acme", time.Hour, "list", "download")
	path := "/api/v1/files/" + strconv.FormatInt(fileID, 10)

	resp, body := b.get(t, path, token)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, content) {
		t.Fatalf("full download: status %d, %d bytes equal=%t; want 200 and the %d bytes", resp.StatusCode, len(body), bytes.Equal(body, content), len(content))
	}
	if got := resp.Header.Get("ETag"); got != etag {
		t.Errorf("ETag = %s, want %s", got, etag)
	}
	if resp.Header.Get("Last-Modified") == "" {
		t.Error("no Last-Modified header")
	}
	if got := resp.Header.Get("Content-Disposition"); got != `attachment; filename=acme_full.csv.zst` {
		t.Errorf("Content-Disposition = %q", got)
	}

	resp, body = b.get(t, path, token, "Range", "bytes=1000-1999")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, content[1000:2000]) {
		t.Errorf("range: status %d, %d bytes; want 206 and bytes 1000-1999", resp.StatusCode, len(body))
	}
	if got := resp.Header.Get("Content-Range"); got != "bytes 1000-1999/100000" {
		t.Errorf("Content-Range = %q", got)
	}

	resp, body = b.get(t, path, token, "Range", "bytes=99990-", "If-Range", etag)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, content[99990:]) {
		t.Errorf("If-Range with current ETag: status %d, %d bytes; want 206 and the last 10 bytes", resp.StatusCode, len(body))
	}
	resp, body = b.get(t, path, token, "Range", "bytes=0-9", "If-Range", `"stale"`)
	if resp.StatusCode != http.StatusOK || len(body) != len(content) {
		t.Errorf("If-Range with stale ETag: status %d, %d bytes; want 200 and the whole file", resp.StatusCode, len(body))
	}
	resp, _ = b.get(t, path, token, "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with current ETag: status %d, want 304", resp.StatusCode)
	}

	details := waitAudit(t, b.db, 5)
	wantBytes := []float64{100_000, 1000, 10, 100_000, 0}
	wantRange := []any{nil, "bytes=1000-1999", "bytes=99990-", "bytes=0-9", nil}
	for i, d := range details {
		if d["bytes"] != wantBytes[i] {
			t.Errorf("event %d bytes = %v, want %v", i, d["bytes"], wantBytes[i])
		}
		if d["range"] != wantRange[i] {
			t.Errorf("event %d range = %v, want %v", i, d["range"], wantRange[i])
		}
		if d["token_id"] != float64(tokenID) || d["file_id"] != float64(fileID) || d["via"] != "api" {
			t.Errorf("event %d = %v, want token %d, file %d, via api", i, d, tokenID, fileID)
		}
	}
	var partner, run int64
	if err := b.db.Pool.QueryRow(context.Background(), `SELECT partner_id, run_id FROM axtract.audit_event
		WHERE action = 'file.download' ORDER BY event_id LIMIT 1`).Scan(&partner, &run); err != nil {
		t.Fatal(err)
	}
	if run != runID {
		t.Errorf("audit run_id = %d, want %d", run, runID)
	}
	var acme int64
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT partner_id FROM axtract.partner WHERE slug = 'acme'").Scan(&acme); err != nil {
		t.Fatal(err)
	}
	if partner != acme {
		t.Errorf("audit partner_id = %d, want acme's %d", partner, acme)
	}
}

func TestOtherPartnersFileIsNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{})
	_, acmeFile := b.deliver(t, "acme-roster", "acme", "acme.csv", []byte("acme data\n"))
	_, betaToken := b.token(t, "beta", time.Hour, "list", "download")

	resp, foreign := b.get(t, fmt.Sprintf("/api/v1/files/%d", acmeFile), betaToken)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("beta fetching acme's file: status %d, want 404", resp.StatusCode)
	}
	if bytes.Contains(foreign, []byte("acme data")) {
		t.Error("response to beta contains acme's file content")
	}
	resp, missing := b.get(t, fmt.Sprintf("/api/v1/files/%d", acmeFile+1000), betaToken)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing file: status %d, want 404", resp.StatusCode)
	}
	// Both responses must read alike apart from the id, so a caller cannot
	// tell a foreign file from a missing one.
	normalise := func(body []byte, id int64) string {
		return strings.ReplaceAll(string(body), strconv.FormatInt(id, 10), "ID")
	}
	if normalise(foreign, acmeFile) != normalise(missing, acmeFile+1000) {
		t.Errorf("foreign file answer %s differs from missing file answer %s", foreign, missing)
	}
	if n := len(auditDetails(t, b.db)); n != 0 {
		t.Errorf("file.download events = %d after two 404s, want 0", n)
	}
}

func TestTokensExpiredRevokedUnknownRejected(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{})
	ctx := context.Background()
	expiredID, expired := b.token(t, "acme", time.Hour, "list")
	if _, err := b.db.Pool.Exec(ctx, "UPDATE axtract.api_token SET expires_at = now() - interval '1 second' WHERE token_id = $1", expiredID); err != nil {
		t.Fatal(err)
	}
	revokedID, revoked := b.token(t, "acme", time.Hour, "list")
	if ok, err := pullapi.RevokeToken(ctx, b.db.Pool, revokedID); err != nil || !ok {
		t.Fatalf("RevokeToken = %t, %v; want true", ok, err)
	}
	if ok, err := pullapi.RevokeToken(ctx, b.db.Pool, revokedID); err != nil || ok {
		t.Errorf("second RevokeToken = %t, %v; want false", ok, err)
	}

	for _, c := range []struct {
		name, token, code, message string
	}{
		{"expired", expired, "invalid_token", "token expired"},
		{"revoked", revoked, "invalid_token", "token revoked"},
		{"unknown", "axt_" + strings.Repeat("A", 43), "invalid_token", "no such token"},
		{"missing", "", "invalid_request", "missing bearer token"},
	} {
		resp, body := b.get(t, "/api/v1/deliveries", c.token)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s token: status %d, want 401", c.name, resp.StatusCode)
			continue
		}
		if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s token: WWW-Authenticate = %q", c.name, resp.Header.Get("WWW-Authenticate"))
		}
		code, msg := errorOf(t, body)
		if code != c.code || !strings.Contains(msg, c.message) {
			t.Errorf("%s token: error %s %q, want %s containing %q", c.name, code, msg, c.code, c.message)
		}
	}
}

func TestTokenScopeEnforced(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{})
	_, fileID := b.deliver(t, "acme-roster", "acme", "acme.csv", []byte("x\n"))
	_, listOnly := b.token(t, "acme", time.Hour, "list")
	_, downloadOnly := b.token(t, "acme", time.Hour, "download")

	if resp, _ := b.get(t, fmt.Sprintf("/api/v1/files/%d", fileID), listOnly); resp.StatusCode != http.StatusForbidden {
		t.Errorf("list-only token downloading: status %d, want 403", resp.StatusCode)
	}
	if resp, _ := b.get(t, "/api/v1/deliveries", downloadOnly); resp.StatusCode != http.StatusForbidden {
		t.Errorf("download-only token listing: status %d, want 403", resp.StatusCode)
	}
	if resp, _ := b.get(t, fmt.Sprintf("/api/v1/files/%d", fileID), downloadOnly); resp.StatusCode != http.StatusOK {
		t.Errorf("download-only token downloading: status %d, want 200", resp.StatusCode)
	}
}

func TestTokenStoredAsHashOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{})
	id, token := b.token(t, "acme", time.Hour, "list")

	var stored []byte
	var row string
	if err := b.db.Pool.QueryRow(context.Background(),
		"SELECT token_hash, t::text FROM axtract.api_token t WHERE token_id = $1", id).Scan(&stored, &row); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(token))
	if !bytes.Equal(stored, sum[:]) {
		t.Errorf("token_hash = %x, want SHA-256 of the token %x", stored, sum)
	}
	if strings.Contains(row, token[4:]) {
		t.Errorf("stored row %s contains the token", row)
	}
	tokens, err := pullapi.ListTokens(context.Background(), b.db.Pool, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 1 || tokens[0].Prefix != token[:12] {
		t.Errorf("ListTokens = %+v, want one token with prefix %s", tokens, token[:12])
	}
}

func TestRateLimitPerToken(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{RequestsPerSecond: 0.01, Burst: 2})
	_, first := b.token(t, "acme", time.Hour, "list")
	_, second := b.token(t, "acme", time.Hour, "list")

	for i := range 2 {
		if resp, body := b.get(t, "/api/v1/deliveries", first); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d, body %s", i, resp.StatusCode, body)
		}
	}
	resp, body := b.get(t, "/api/v1/deliveries", first)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d, want 429", resp.StatusCode)
	}
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 101 {
		t.Errorf("Retry-After = %q, want seconds until the next unit (about 100)", resp.Header.Get("Retry-After"))
	}
	if code, _ := errorOf(t, body); code != "rate_limited" {
		t.Errorf("error = %s, want rate_limited", code)
	}
	if resp, _ := b.get(t, "/api/v1/deliveries", second); resp.StatusCode != http.StatusOK {
		t.Errorf("another token of the same partner: status %d, want 200", resp.StatusCode)
	}
}

func TestSignedLinkDownload(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{})
	ctx := context.Background()
	content := []byte("member_id\n1\n2\n")
	_, fileID := b.deliver(t, "acme-roster", "acme", "acme_link.csv", content)
	var acme, beta int64
	if err := b.db.Pool.QueryRow(ctx, "SELECT (SELECT partner_id FROM axtract.partner WHERE slug = 'acme'), (SELECT partner_id FROM axtract.partner WHERE slug = 'beta')").Scan(&acme, &beta); err != nil {
		t.Fatal(err)
	}
	key, err := pullapi.LinkKey(ctx, b.db.Pool, "")
	if err != nil {
		t.Fatal(err)
	}

	link := pullapi.SignLink(key, fileID, acme, time.Now().Add(time.Hour))
	resp, body := b.get(t, "/download/"+link, "", "Range", "bytes=0-8")
	if resp.StatusCode != http.StatusPartialContent || string(body) != "member_id" {
		t.Errorf("signed link with range: status %d, body %q; want 206 and member_id", resp.StatusCode, body)
	}
	details := waitAudit(t, b.db, 1)
	if details[0]["via"] != "link" || details[0]["range"] != "bytes=0-8" || details[0]["bytes"] != float64(9) {
		t.Errorf("audit detail = %v, want via link, range bytes=0-8, 9 bytes", details[0])
	}

	tampered := strings.Replace(link, fmt.Sprintf("%d.", fileID), fmt.Sprintf("%d.", fileID+1), 1)
	expired := pullapi.SignLink(key, fileID, acme, time.Now().Add(-time.Second))
	otherKey := pullapi.SignLink(bytes.Repeat([]byte{7}, 32), fileID, acme, time.Now().Add(time.Hour))
	for _, c := range []struct {
		name, link, message string
		status              int
	}{
		{"tampered", tampered, "invalid download link", http.StatusForbidden},
		{"other key", otherKey, "invalid download link", http.StatusForbidden},
		{"expired", expired, "download link expired", http.StatusForbidden},
		{"other partner", pullapi.SignLink(key, fileID, beta, time.Now().Add(time.Hour)), "not found", http.StatusNotFound},
	} {
		resp, body := b.get(t, "/download/"+c.link, "")
		if resp.StatusCode != c.status {
			t.Errorf("%s link: status %d, want %d", c.name, resp.StatusCode, c.status)
			continue
		}
		if _, msg := errorOf(t, body); !strings.Contains(msg, c.message) {
			t.Errorf("%s link: message %q, want %q", c.name, msg, c.message)
		}
	}
}

func TestMissingFileOnDiskIsGone(t *testing.T) {
	t.Parallel()
	b := setup(t, pullapi.Options{})
	_, fileID := b.deliver(t, "acme-roster", "acme", "acme_gone.csv", []byte("x\n"))
	_, token := b.token(t, "acme", time.Hour, "download")
	if err := os.Remove(filepath.Join(b.dir, "acme", "acme_gone.csv")); err != nil {
		t.Fatal(err)
	}

	resp, body := b.get(t, fmt.Sprintf("/api/v1/files/%d", fileID), token)

	if resp.StatusCode != http.StatusGone {
		t.Fatalf("status %d, want 410; body %s", resp.StatusCode, body)
	}
}

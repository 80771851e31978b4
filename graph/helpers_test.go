package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/auth"
	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/pgtest"
)

// bundle is one test's database, seeded with two partners, and the
// GraphQL handler over it.
type bundle struct {
	db      *pgtest.DB
	h       *handler
	acmeID  int64
	betaID  int64
	runs    map[string]int64 // by name: acme-ok, acme-failed, beta-ok, ...
	members []string         // member ids, in order
}

// Principals of every role. The partner users belong to acme and beta.
var (
	admin    = &auth.Principal{AccountID: 1, Login: "ada", Role: auth.RoleAdmin}
	analyst  = &auth.Principal{AccountID: 2, Login: "ann", Role: auth.RoleAnalyst}
	officer  = &auth.Principal{AccountID: 3, Login: "pia", Role: auth.RolePrivacyOfficer}
	operator = &auth.Principal{AccountID: 4, Login: "otto", Role: auth.RoleOperator}
)

func partnerUser(b *bundle, slug string) *auth.Principal {
	id := b.acmeID
	if slug == "beta" {
		id = b.betaID
	}
	return &auth.Principal{AccountID: 10 + id, Login: slug + "-user", Role: auth.RolePartner, PartnerID: id, PartnerSlug: slug}
}

// setup seeds a fresh database:
//   - 40 generated members with claims (internal/generate);
//   - partner acme (payment) with view roster over members, consents for the
//     first 10 members, a portal destination and feed acme-roster;
//   - partner beta (research) with a Safe Harbor claims view, consents for
//     members 10 to 19, a local destination and feed beta-claims;
//   - runs of both feeds in several states, and files of the succeeded ones.
func setup(t testing.TB) *bundle {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := generate.Generate(ctx, db.Pool, generate.Config{Members: 40, ClaimLines: 200, PharmacyClaims: 40,
		Labs: 20, Seed: 11, Workers: 1}, nil); err != nil {
		t.Fatalf("generate: %v", err)
	}
	b := &bundle{db: db, runs: map[string]int64{}}
	mustExec(t, b, `SELECT axtract.partner_create('acme', 'Acme PBM', 'payment', 'ops@acme.example')`)
	mustExec(t, b, `SELECT axtract.partner_create('beta', 'Beta Research', 'research')`)
	mustQuery(t, b, `SELECT partner_id FROM axtract.partner WHERE slug = 'acme'`, &b.acmeID)
	mustQuery(t, b, `SELECT partner_id FROM axtract.partner WHERE slug = 'beta'`, &b.betaID)

	rows, err := db.Pool.Query(ctx, `SELECT member_id::text FROM mart.member ORDER BY member_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		b.members = append(b.members, id)
	}
	rows.Close()

	mustExec(t, b, `SELECT axtract.consent_grant_all('acme',
		'SELECT member_id FROM mart.member ORDER BY member_id LIMIT 10', '2020-01-01')`)
	mustExec(t, b, `SELECT axtract.consent_grant_all('beta',
		'SELECT member_id FROM mart.member ORDER BY member_id OFFSET 10 LIMIT 10', '2020-01-01')`)

	mustExec(t, b, `SELECT axtract.view_define('acme', 'roster', $1)`, rosterSpec)
	mustExec(t, b, `SELECT axtract.view_define('beta', 'claims', $1)`, researchSpec)
	mustExec(t, b, `SELECT axtract.destination_define('acme', 'portal', 'portal', '{}')`)
	mustExec(t, b, `SELECT axtract.destination_define('beta', 'drop', 'local', '{"dir": "/var/tmp/axtract-graph-test"}')`)
	mustExec(t, b, `SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'portal',
		'{"schedule": "0 6 * * *", "time_zone": "America/Chicago", "encrypt": false}')`)
	mustExec(t, b, `SELECT axtract.feed_define('beta-claims', 'beta', 'claims', 'drop', '{"encrypt": false}')`)

	b.addRun(t, "acme-ok", "acme-roster", "succeeded", -3)
	b.addRun(t, "acme-failed", "acme-roster", "failed", -2)
	b.addRun(t, "acme-running", "acme-roster", "running", -1)
	b.addRun(t, "beta-ok", "beta-claims", "succeeded", -3)
	b.addRun(t, "beta-failed", "beta-claims", "failed", -2)
	mustExec(t, b, `INSERT INTO axtract.run_file (run_id, name, kind, rows, bytes, sha256)
		VALUES ($1, 'acme-roster_1.csv', 'data', 10, 1234, repeat('a', 64)),
		       ($1, 'acme-roster_1.manifest.json', 'manifest', NULL, 200, repeat('b', 64)),
		       ($2, 'beta-claims_1.csv', 'data', 7, 999, repeat('c', 64))`, b.runs["acme-ok"], b.runs["beta-ok"])

	h, err := newHandler(db.Pool, Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		DownloadURL: func(_ context.Context, fileID, partnerID int64) (string, error) {
			return fmt.Sprintf("/download/%d.%d", fileID, partnerID), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.h = h
	return b
}

const rosterSpec = `{"dataset": "members", "columns": ["member_id", "first_name", "last_name", "birth_date", "zip"]}`

const researchSpec = `{"dataset": "members", "profile": "safe_harbor",
	"columns": [{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
	            {"column": "birth_date", "as": "birth_year", "transform": "year"}, "gender"]}`

// addRun inserts a run of feed in status, with its slot daysAgo days from now.
func (b *bundle) addRun(t testing.TB, name, feed, status string, daysAgo int) {
	t.Helper()
	var id int64
	mustQuery(t, b, `
		INSERT INTO axtract.run (feed_id, slot, trigger, status, attempts, rows, bytes, error, started_at, finished_at)
		SELECT f.feed_id, now() + make_interval(days => $2), 'schedule', $3, 1,
		       CASE WHEN $3 = 'succeeded' THEN 10 END, CASE WHEN $3 = 'succeeded' THEN 1434 END,
		       CASE WHEN $3 = 'failed' THEN 'connect to sftp.internal.example:22: refused' END,
		       now() + make_interval(days => $2), CASE WHEN $3 <> 'running' THEN now() + make_interval(days => $2, secs => 4) END
		FROM axtract.feed f WHERE f.name = $1
		RETURNING run_id`, &id, feed, daysAgo, status)
	b.runs[name] = id
}

func mustExec(t testing.TB, b *bundle, sql string, args ...any) {
	t.Helper()
	if _, err := b.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func mustQuery(t testing.TB, b *bundle, sql string, dst any, args ...any) {
	t.Helper()
	if err := b.db.Pool.QueryRow(context.Background(), sql, args...).Scan(dst); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// gqlError is one entry of a response's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func (e gqlError) code() string { c, _ := e.Extensions["code"].(string); return c }

// response is a GraphQL response as a client reads it.
type response struct {
	status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// codes returns the error codes of r, in order.
func (r *response) codes() []string {
	var out []string
	for _, e := range r.Errors {
		out = append(out, e.code())
	}
	return out
}

func (r *response) hasCode(code string) bool { return slices.Contains(r.codes(), code) }

// decode unmarshals r's data into dst.
func (r *response) decode(t testing.TB, dst any) {
	t.Helper()
	if err := json.Unmarshal(r.Data, dst); err != nil {
		t.Fatalf("decode data %s: %v", r.Data, err)
	}
}

// do sends one operation as principal p (nil for none) through the handler.
func (b *bundle) do(t testing.TB, p *auth.Principal, query string, vars map[string]any) *response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return b.post(t, p, body)
}

// ok sends an operation and fails the test on any error in the response.
func (b *bundle) ok(t testing.TB, p *auth.Principal, query string, vars map[string]any) *response {
	t.Helper()
	r := b.do(t, p, query, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("query as %s returned errors %+v\nquery: %s", roleOf(p), r.Errors, query)
	}
	return r
}

func (b *bundle) post(t testing.TB, p *auth.Principal, body []byte) *response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if p != nil {
		req = req.WithContext(auth.WithPrincipal(req.Context(), p))
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	r := &response{status: rec.Code}
	if err := json.Unmarshal(rec.Body.Bytes(), r); err != nil {
		t.Fatalf("response %d is not a GraphQL response: %v\n%s", rec.Code, err, rec.Body.String())
	}
	return r
}

func roleOf(p *auth.Principal) string {
	if p == nil {
		return "nobody"
	}
	return string(p.Role)
}

// count returns the number of rows sql selects.
func count(t testing.TB, b *bundle, sql string, args ...any) int {
	t.Helper()
	var n int
	mustQuery(t, b, "SELECT count(*) FROM ("+sql+") AS q", &n, args...)
	return n
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// collectStrings returns every string value under key in a JSON document.
func collectStrings(data json.RawMessage, key string) []string {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				if s, ok := child.(string); ok && k == key {
					out = append(out, s)
				}
				walk(child)
			}
		case []any:
			for _, child := range x {
				walk(child)
			}
		}
	}
	walk(v)
	return out
}

func containsString(list []string, s string) bool { return slices.Contains(list, s) }

// rawPost sends body as principal p and returns the response body.
func (b *bundle) rawPost(t testing.TB, p *auth.Principal, body []byte) []byte {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req = req.WithContext(auth.WithPrincipal(req.Context(), p))
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	return rec.Body.Bytes()
}

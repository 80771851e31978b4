package graph

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/axtract/axtract/internal/auth"
)

// op is one operation of the roles test and who may run it.
type op struct {
	name    string
	query   string
	vars    map[string]any
	allowed func(p *auth.Principal) bool
}

func can(actions ...auth.Action) func(*auth.Principal) bool {
	return func(p *auth.Principal) bool {
		for _, a := range actions {
			if auth.Can(p, a) {
				return true
			}
		}
		return false
	}
}

func all(checks ...func(*auth.Principal) bool) func(*auth.Principal) bool {
	return func(p *auth.Principal) bool {
		for _, c := range checks {
			if !c(p) {
				return false
			}
		}
		return true
	}
}

func adminOnly(p *auth.Principal) bool { return p.Role == auth.RoleAdmin }

// runRead is who may list feeds and runs: staff with run.read, and partner
// users (delivery.read) for their own partner.
var runRead = can(auth.ActionRunRead, auth.ActionDeliveryRead)

func TestRolesMatchAccountsTable(t *testing.T) {
	b := setup(t)
	var draftID int64
	mustQuery(t, b, `SELECT axtract.request_create('acme', 'view', 'drafted', $1, NULL, 'someone')`, &draftID, rosterSpec)
	draft := fmt.Sprint(draftID)
	var approvedID int64
	mustQuery(t, b, `SELECT axtract.request_create('acme', 'feed', 'fed', $1, '{"name": "req-feed", "destination": "portal",
		"options": {"encrypt": false}}', 'someone')`, &approvedID, rosterSpec)
	mustExec(t, b, `SELECT axtract.request_submit($1, 'someone')`, approvedID)
	mustExec(t, b, `SELECT axtract.request_approve($1, 'reviewer')`, approvedID)
	acmeOK := fmt.Sprint(b.runs["acme-ok"])
	failed := fmt.Sprint(b.runs["acme-failed"])
	held := holdRun(t, b)

	ops := []op{
		{name: "datasets", query: `{ datasets { name } }`, allowed: can(auth.ActionCatalogRead)},
		{name: "dataset columns", query: `{ dataset(name: "members") { columns { name classification } } }`,
			allowed: can(auth.ActionCatalogRead)},
		{name: "partner contact", query: `{ partners { edges { node { slug contactEmail } } } }`,
			allowed: can(auth.ActionCatalogRead)},
		{name: "partner views", query: `{ partner(slug: "acme") { views { name compiledSql } } }`,
			allowed: can(auth.ActionCatalogRead)},
		{name: "templates", query: `{ requestTemplates { name } }`, allowed: can(auth.ActionCatalogRead)},
		{name: "calendars", query: `{ calendars { name } }`, allowed: can(auth.ActionCatalogRead)},
		{name: "schedulePreview", query: `{ schedulePreview(schedule: "0 6 * * *") { slot } }`, allowed: can(auth.ActionRunRead)},
		{name: "preview", query: `query($s: JSON!) { viewPreview(partner: "acme", spec: $s, limit: 1) { valid } }`,
			vars:    map[string]any{"s": map[string]any{"dataset": "members", "columns": []string{"member_id"}}},
			allowed: can(auth.ActionPreview)},
		{name: "requests", query: `{ requests { edges { node { id status } } } }`, allowed: can(auth.ActionRequestRead)},
		{name: "consents", query: `{ partner(slug: "acme") { consents { edges { node { memberId } } } } }`,
			allowed: can(auth.ActionConsentManage)},
		{name: "member disclosures", query: `query($m: ID!) { memberDisclosures(memberId: $m) { runId } }`,
			vars: map[string]any{"m": b.members[0]}, allowed: can(auth.ActionDisclosureRead)},
		{name: "partner disclosures", query: `{ partnerDisclosures(partner: "acme", from: "2020-01-01", to: "2030-01-01") { edges { node { runId } } } }`,
			allowed: can(auth.ActionDisclosureRead)},
		{name: "audit", query: `{ auditEvents(first: 5) { edges { node { action } } } }`, allowed: can(auth.ActionAuditRead)},
		{name: "feeds", query: `{ feeds { edges { node { name format } } } }`, allowed: runRead},
		{name: "runs", query: `{ runs { edges { node { id status rows } } } }`, allowed: runRead},
		{name: "run error", query: `query($id: ID!) { run(id: $id) { error } }`, vars: map[string]any{"id": failed},
			allowed: can(auth.ActionRunRead)},
		{name: "download link", query: `query($id: ID!) { run(id: $id) { files { name downloadUrl } } }`,
			vars: map[string]any{"id": acmeOK}, allowed: all(runRead, can(auth.ActionDeliveryDownload))},
		{name: "dashboard", query: `{ dashboard { runsByStatus { status count } } }`, allowed: can(auth.ActionRunRead)},
		{name: "nested runs", query: `{ partner(slug: "acme") { feeds { edges { node { runs { edges { node { id } } } } } } } }`,
			allowed: runRead},
		{name: "nested view", query: `{ feed(name: "acme-roster") { view { name spec } } }`, allowed: can(auth.ActionRunRead)},
		// Request.liveFeed has no directive of its own: the Feed type's
		// roles decide.
		{name: "request live feed", query: `query($id: ID!) { request(id: $id) { liveFeed { name } } }`,
			vars: map[string]any{"id": fmt.Sprint(approvedID)}, allowed: all(can(auth.ActionRequestRead), runRead)},
		{name: "nested destination config", query: `{ partner(slug: "acme") { destinations { name config } } }`,
			allowed: func(p *auth.Principal) bool { return p.Is(auth.RoleAdmin, auth.RoleOperator) }},

		{name: "create request", query: `mutation($in: RequestInput!) { createRequest(input: $in) { id } }`,
			vars: map[string]any{"in": map[string]any{"partner": "acme", "kind": "VIEW", "viewName": "authz_probe",
				"spec": map[string]any{"dataset": "members", "columns": []string{"member_id"}}}},
			allowed: can(auth.ActionRequestDraft)},
		{name: "submit request", query: `mutation($id: ID!) { submitRequest(id: $id) { status } }`,
			vars: map[string]any{"id": draft}, allowed: can(auth.ActionRequestDraft)},
		{name: "approve request", query: `mutation($id: ID!) { approveRequest(id: $id) { status } }`,
			vars: map[string]any{"id": "999999"}, allowed: can(auth.ActionRequestReview)},
		{name: "reject request", query: `mutation($id: ID!) { rejectRequest(id: $id, comment: "no") { status } }`,
			vars: map[string]any{"id": "999999"}, allowed: can(auth.ActionRequestReview)},
		{name: "grant consent", query: `mutation($m: ID!) { grantConsent(input: {partner: "acme", memberId: $m, from: "2024-01-01"}) }`,
			vars: map[string]any{"m": b.members[30]}, allowed: can(auth.ActionConsentManage)},
		{name: "revoke consent", query: `mutation($m: ID!) { revokeConsent(partner: "acme", memberId: $m) }`,
			vars: map[string]any{"m": b.members[31]}, allowed: can(auth.ActionConsentManage)},
		{name: "consent default", query: `mutation { setConsentDefault(partner: "acme", default: OPT_IN) { slug } }`,
			allowed: can(auth.ActionConsentManage)},
		{name: "add exception", query: `mutation { addColumnException(input: {partner: "beta", dataset: "members",
			column: "city", reason: "study design", expiresAt: "2099-01-01T00:00:00Z"}) { id inForce } }`,
			allowed: can(auth.ActionExceptionManage)},
		{name: "record agreement", query: `mutation { recordDataUseAgreement(input: {partner: "beta", reference: "DUA-1",
			signedOn: "2025-01-01", effectiveFrom: "2025-01-01"}) { id inForce } }`, allowed: can(auth.ActionExceptionManage)},
		{name: "retry run", query: `mutation($id: ID!) { retryRun(id: $id) { status } }`, vars: map[string]any{"id": failed},
			allowed: can(auth.ActionRunManage)},
		{name: "pause feed", query: `mutation { pauseFeed(name: "beta-claims") { paused } }`, allowed: can(auth.ActionRunManage)},
		{name: "resume feed", query: `mutation { resumeFeed(name: "beta-claims") { paused } }`, allowed: can(auth.ActionRunManage)},
		{name: "run now", query: `mutation { runFeedNow(name: "beta-claims") { id status } }`, allowed: can(auth.ActionRunManage)},
		{name: "backfill", query: `mutation { backfillFeed(name: "acme-roster", from: "2020-01-01", to: "2020-01-02") }`,
			allowed: can(auth.ActionRunManage)},
		{name: "feed quality rules", query: `{ feed(name: "acme-roster") { qualityRules } }`, allowed: can(auth.ActionRunRead)},
		{name: "run quality", query: `query($id: ID!) { run(id: $id) { quality { outcome violations { message } } } }`,
			vars: map[string]any{"id": held}, allowed: can(auth.ActionRunRead)},
		{name: "set feed quality", query: `mutation { setFeedQuality(feed: "beta-claims", rules: {min_rows: 1}) { name } }`,
			allowed: can(auth.ActionRequestDraft)},
		// Run 999999 does not exist: a caller who may act gets NOT_FOUND.
		{name: "release run", query: `mutation { releaseRun(id: "999999") { status } }`, allowed: can(auth.ActionRunManage)},
		{name: "discard run", query: `mutation { discardRun(id: "999999", reason: "probe") { status } }`,
			allowed: can(auth.ActionRunManage)},
		{name: "create partner", query: `mutation { createPartner(input: {slug: "gamma", name: "Gamma", purposeOfUse: TREATMENT}) { slug } }`,
			allowed: adminOnly},
		{name: "define destination", query: `mutation { defineDestination(input: {partner: "acme", name: "drop2", kind: LOCAL,
			config: {dir: "/var/tmp/axtract-graph-test"}}) { name } }`, allowed: adminOnly},
		{name: "define view", query: `mutation($s: JSON!) { defineView(partner: "acme", name: "direct", spec: $s) { version } }`,
			vars: map[string]any{"s": map[string]any{"dataset": "members", "columns": []string{"member_id"}}}, allowed: adminOnly},
		{name: "revoke login", query: `mutation { revokePartnerLogin(partner: "acme", login: "nobody") }`, allowed: adminOnly},
	}

	principals := []*auth.Principal{admin, analyst, officer, operator, partnerUser(b, "acme")}
	denied := 0
	for _, o := range ops {
		if !o.allowed(admin) {
			t.Errorf("%s: the table denies admin, which is in every row", o.name)
		}
		for _, p := range principals {
			if !o.allowed(p) {
				denied++
			}
			r := b.do(t, p, o.query, o.vars)
			want := o.allowed(p)
			if got := !r.hasCode(string(CodeForbidden)); got != want {
				t.Errorf("%s as %s: allowed = %v, want %v (errors %+v)", o.name, p.Role, got, want, r.Errors)
			}
			if want && r.hasCode(string(CodeInternal)) {
				t.Errorf("%s as %s: internal error %+v", o.name, p.Role, r.Errors)
			}
		}
	}
	if denied == 0 {
		t.Error("no operation was denied to any role, so the test proves nothing")
	}
}

func TestUnauthenticated(t *testing.T) {
	b := setup(t)
	r := b.do(t, nil, `{ me { login } }`, nil)
	if r.status != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", r.status)
	}
	if !r.hasCode(string(CodeUnauthenticated)) {
		t.Errorf("codes = %v, want UNAUTHENTICATED", r.codes())
	}
	if b.h.rootCalls.Load() != 0 {
		t.Errorf("resolvers ran for an unauthenticated request")
	}
}

func TestUnknownRoleForbidden(t *testing.T) {
	b := setup(t)
	r := b.do(t, &auth.Principal{Login: "x", Role: "auditor"}, `{ me { login } }`, nil)
	if !r.hasCode(string(CodeForbidden)) {
		t.Errorf("codes = %v, want FORBIDDEN for a role the schema does not know", r.codes())
	}
}

func TestPartnerScoping(t *testing.T) {
	b := setup(t)
	acme := partnerUser(b, "acme")
	betaRun := fmt.Sprint(b.runs["beta-ok"])

	var direct struct {
		Partner *struct{ Slug string }
		Feed    *struct{ Name string }
		Run     *struct{ ID string }
	}
	b.ok(t, acme, `query($id: ID!) { partner(slug: "beta") { slug } feed(name: "beta-claims") { name } run(id: $id) { id } }`,
		map[string]any{"id": betaRun}).decode(t, &direct)
	if direct.Partner != nil || direct.Feed != nil || direct.Run != nil {
		t.Errorf("acme user read beta objects by name or id: %+v", direct)
	}

	for _, q := range []string{
		`{ runs(feed: "beta-claims") { edges { node { id } } } }`,
		`{ feeds(partner: "beta") { edges { node { id } } } }`,
	} {
		if r := b.do(t, acme, q, nil); !r.hasCode(string(CodeNotFound)) {
			t.Errorf("%s as acme: codes %v, want NOT_FOUND", q, r.codes())
		}
	}

	// Every path that lists runs returns acme's runs only.
	paths := map[string]string{
		"runs":                    `{ runs(first: 100) { edges { node { id feed { partner { slug } } } } } }`,
		"partners.runs":           `{ partners { edges { node { runs(first: 20) { edges { node { id feed { partner { slug } } } } } } } } }`,
		"me.partner.runs":         `{ me { partner { runs(first: 100) { edges { node { id feed { partner { slug } } } } } } } }`,
		"feeds.runs":              `{ feeds { edges { node { runs(first: 20) { edges { node { id feed { partner { slug } } } } } } } } }`,
		"run.feed.partner.runs":   fmt.Sprintf(`{ run(id: "%d") { feed { partner { runs(first: 20) { edges { node { id feed { partner { slug } } } } } } } } }`, b.runs["acme-ok"]),
		"partner(acme).feeds":     `{ partner(slug: "acme") { feeds { edges { node { runs(first: 20) { edges { node { id feed { partner { slug } } } } } } } } } }`,
		"feed(acme).partner.runs": `{ feed(name: "acme-roster") { partner { runs(first: 100) { edges { node { id feed { partner { slug } } } } } } } }`,
	}
	for name, q := range paths {
		r := b.ok(t, acme, q, nil)
		slugs := collectStrings(r.Data, "slug")
		if len(slugs) == 0 {
			t.Errorf("%s: no runs returned: %s", name, r.Data)
		}
		for _, s := range slugs {
			if s != "acme" {
				t.Errorf("%s: acme user reached a run of partner %s: %s", name, s, r.Data)
			}
		}
		ids := collectStrings(r.Data, "id")
		for _, id := range ids {
			if id == betaRun || id == fmt.Sprint(b.runs["beta-failed"]) {
				t.Errorf("%s: acme user reached beta run %s", name, id)
			}
		}
	}

	var partners struct {
		Partners struct {
			Edges []struct{ Node struct{ Slug string } }
		}
	}
	b.ok(t, acme, `{ partners { edges { node { slug } } } }`, nil).decode(t, &partners)
	if len(partners.Partners.Edges) != 1 || partners.Partners.Edges[0].Node.Slug != "acme" {
		t.Errorf("acme user lists partners %+v, want acme only", partners)
	}

	// Staff see both partners' runs.
	staff := collectStrings(b.ok(t, operator, paths["runs"], nil).Data, "slug")
	if !containsString(staff, "beta") || !containsString(staff, "acme") {
		t.Errorf("operator sees partners %v, want acme and beta", staff)
	}
}

func TestDownloadLinks(t *testing.T) {
	b := setup(t)
	acme := partnerUser(b, "acme")
	var got struct {
		Run struct {
			Files []struct {
				Name        string
				Kind        string
				DownloadURL *string
			}
		}
	}
	b.ok(t, acme, `query($id: ID!) { run(id: $id) { files { name kind downloadUrl } } }`,
		map[string]any{"id": fmt.Sprint(b.runs["acme-ok"])}).decode(t, &got)
	if len(got.Run.Files) != 2 {
		t.Fatalf("files = %+v, want the data file and the manifest", got.Run.Files)
	}
	data := got.Run.Files[0]
	if data.Kind != "DATA" || data.DownloadURL == nil || !contains(*data.DownloadURL, fmt.Sprintf(".%d", b.acmeID)) {
		t.Errorf("data file = %+v, want a download link signed for partner %d", data, b.acmeID)
	}
	// The portal folder keeps the manifest too, and the pull API serves it.
	if manifest := got.Run.Files[1]; manifest.Kind != "MANIFEST" || manifest.DownloadURL == nil {
		t.Errorf("manifest = %+v, want a download link", manifest)
	}

	// A local destination keeps no file for the portal, so no link.
	var beta struct {
		Run struct {
			Files []struct{ DownloadURL *string }
		}
	}
	b.ok(t, admin, `query($id: ID!) { run(id: $id) { files { downloadUrl } } }`,
		map[string]any{"id": fmt.Sprint(b.runs["beta-ok"])}).decode(t, &beta)
	if len(beta.Run.Files) != 1 || beta.Run.Files[0].DownloadURL != nil {
		t.Errorf("beta files = %+v, want one file without a link", beta.Run.Files)
	}
}

func TestIntrospectionStaffOnly(t *testing.T) {
	b := setup(t)
	q := `{ __schema { queryType { name } } }`
	b.ok(t, analyst, q, nil)
	for _, q := range []string{q, `{ __type(name: "Run") { name } }`, `query { ... on Query { __schema { types { name } } } }`} {
		r := b.do(t, partnerUser(b, "acme"), q, nil)
		if len(r.Errors) == 0 {
			t.Errorf("partner user ran introspection %s: %s", q, r.Data)
			continue
		}
		if code := r.Errors[0].Extensions["code"]; code != "FORBIDDEN" {
			t.Errorf("partner introspection %s: code %v, want FORBIDDEN", q, code)
		}
	}
}

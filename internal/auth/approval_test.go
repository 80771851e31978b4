package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/auth"
	"github.com/axtract/axtract/internal/format/formats"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

const rosterSpec = `{"dataset": "members", "columns": ["member_id", "first_name", "gender"]}`

type approvalBundle struct {
	db *pgtest.DB
}

// setupApproval creates partner acme (operations) with a local
// destination, and accounts ann and al (analysts), pat and paula (privacy
// officers), olga (operator) and root (admin).
func setupApproval(t *testing.T) *approvalBundle {
	t.Helper()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `SELECT axtract.destination_define('acme', 'drop', 'local', '{"dir": "/srv/outbound/acme"}')`); err != nil {
		t.Fatal(err)
	}
	for login, role := range map[string]auth.Role{
		"ann": auth.RoleAnalyst, "al": auth.RoleAnalyst, "pat": auth.RolePrivacyOfficer, "paula": auth.RolePrivacyOfficer,
		"olga": auth.RoleOperator, "root": auth.RoleAdmin,
	} {
		if _, err := auth.CreateAccount(ctx, db.Pool, auth.NewAccount{Login: login, Role: role, Password: testPassword}, fastParams); err != nil {
			t.Fatal(err)
		}
	}
	return &approvalBundle{db: db}
}

func (b *approvalBundle) exec(t *testing.T, sql string, args ...any) error {
	t.Helper()
	_, err := b.db.Pool.Exec(context.Background(), sql, args...)
	return err
}

func (b *approvalBundle) mustExec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if err := b.exec(t, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (b *approvalBundle) id(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := b.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return id
}

func (b *approvalBundle) createView(t *testing.T, name, spec, actor string) int64 {
	t.Helper()
	return b.id(t, "SELECT axtract.request_create('acme', 'view', $1, $2::jsonb, NULL, $3)", name, spec, actor)
}

// liveSpec returns the spec of the live view acme.name, or nil when none
// is defined.
func (b *approvalBundle) liveSpec(t *testing.T, name string) map[string]any {
	t.Helper()
	var spec map[string]any
	var exists bool
	err := b.db.Pool.QueryRow(context.Background(), `
		SELECT v.spec, to_regclass('partner_acme.' || $1) IS NOT NULL
		FROM axtract.partner_view v JOIN axtract.partner p USING (partner_id)
		WHERE p.slug = 'acme' AND v.name = $1`, name).Scan(&spec, &exists)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if !exists {
		t.Fatalf("view %s has a catalog row but no partner_acme view", name)
	}
	return spec
}

func (b *approvalBundle) status(t *testing.T, id int64) string {
	t.Helper()
	var s string
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT status FROM axtract.request WHERE request_id = $1", id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// audit returns "action:actor" of the request's audit events in order.
func (b *approvalBundle) audit(t *testing.T, id int64) []string {
	t.Helper()
	rows, err := b.db.Pool.Query(context.Background(), `
		SELECT action || ':' || actor FROM axtract.audit_event
		WHERE action LIKE 'request.%' AND (detail->>'request_id')::bigint = $1
		ORDER BY event_id`, id)
	if err != nil {
		t.Fatal(err)
	}
	events, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func requireSQLState(t *testing.T, err error, code, what string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("%s: error %v, want SQLSTATE %s", what, err, code)
	}
	if pgErr.Code != code {
		t.Fatalf("%s: SQLSTATE %s (%s), want %s", what, pgErr.Code, pgErr.Message, code)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRequestApproveMakesViewLive(t *testing.T) {
	t.Parallel()
	b := setupApproval(t)
	id := b.createView(t, "roster", rosterSpec, "ann")
	if b.liveSpec(t, "roster") != nil {
		t.Fatal("a draft is live")
	}
	b.mustExec(t, "SELECT axtract.request_submit($1, 'ann')", id)
	if b.liveSpec(t, "roster") != nil {
		t.Fatal("a submitted request is live")
	}
	b.mustExec(t, "SELECT axtract.request_approve($1, 'pat', 'purpose fits')", id)

	var want map[string]any
	_ = json.Unmarshal([]byte(rosterSpec), &want)
	got := b.liveSpec(t, "roster")
	if got == nil {
		t.Fatal("approved view is not live")
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("live spec = %s, want the approved %s", gotJSON, wantJSON)
	}
	if s := b.status(t, id); s != "approved" {
		t.Errorf("status = %s, want approved", s)
	}
	if v := b.id(t, "SELECT view_version FROM axtract.request WHERE request_id = $1", id); v != 1 {
		t.Errorf("view_version = %d, want 1", v)
	}
	events := b.audit(t, id)
	if want := []string{"request.create:ann", "request.submit:ann", "request.approve:pat"}; !equalStrings(events, want) {
		t.Errorf("audit events = %v, want %v", events, want)
	}
	if n := b.id(t, "SELECT count(*) FROM axtract.audit_event WHERE action = 'view.define' AND detail->>'view' = 'roster'"); n != 1 {
		t.Errorf("view.define events = %d, want 1", n)
	}
}

func TestRequestRejectedNeverLive(t *testing.T) {
	t.Parallel()
	b := setupApproval(t)
	id := b.createView(t, "roster", rosterSpec, "ann")
	b.mustExec(t, "SELECT axtract.request_submit($1, 'ann')", id)

	requireSQLState(t, b.exec(t, "SELECT axtract.request_reject($1, 'pat', '  ')", id), "22023", "reject without a comment")
	b.mustExec(t, "SELECT axtract.request_reject($1, 'pat', 'first_name is more than the purpose needs')", id)
	if b.liveSpec(t, "roster") != nil {
		t.Error("a rejected request is live")
	}
	requireSQLState(t, b.exec(t, "SELECT axtract.request_approve($1, 'paula')", id), "55000", "approve a rejected request")
	if b.liveSpec(t, "roster") != nil {
		t.Error("approving a rejected request made it live")
	}
	events := b.audit(t, id)
	if want := []string{"request.create:ann", "request.submit:ann", "request.reject:pat"}; !equalStrings(events, want) {
		t.Errorf("audit events = %v, want %v", events, want)
	}
}

func TestRequestSelfApprovalRefused(t *testing.T) {
	t.Parallel()
	b := setupApproval(t)

	// An admin may draft and review, but not review their own request.
	id := b.createView(t, "roster", rosterSpec, "root")
	b.mustExec(t, "SELECT axtract.request_submit($1, 'root')", id)
	requireSQLState(t, b.exec(t, "SELECT axtract.request_approve($1, 'root')", id), "42501", "admin approving own request")

	// A DBA working in SQL under a name without an account is held to the same rule.
	id2 := b.createView(t, "roster2", rosterSpec, "dba_jo")
	b.mustExec(t, "SELECT axtract.request_submit($1, 'dba_jo')", id2)
	requireSQLState(t, b.exec(t, "SELECT axtract.request_approve($1, 'DBA_JO')", id2), "42501", "DBA approving own request")

	// Roles: an analyst or operator may not approve; a privacy officer may not draft.
	requireSQLState(t, b.exec(t, "SELECT axtract.request_approve($1, 'al')", id), "42501", "analyst approving")
	requireSQLState(t, b.exec(t, "SELECT axtract.request_approve($1, 'olga')", id), "42501", "operator approving")
	requireSQLState(t, b.exec(t, "SELECT axtract.request_create('acme', 'view', 'x', $1::jsonb, NULL, 'pat')", rosterSpec),
		"42501", "privacy officer drafting")
	if b.liveSpec(t, "roster") != nil || b.liveSpec(t, "roster2") != nil {
		t.Fatal("a refused approval made a view live")
	}

	b.mustExec(t, "SELECT axtract.request_approve($1, 'pat')", id)
	if b.liveSpec(t, "roster") == nil {
		t.Error("view not live after another reviewer's approval")
	}
}

func TestRequestEditApprovedStartsVersion(t *testing.T) {
	t.Parallel()
	b := setupApproval(t)
	v1 := b.createView(t, "roster", rosterSpec, "ann")
	b.mustExec(t, "SELECT axtract.request_submit($1, 'ann')", v1)
	b.mustExec(t, "SELECT axtract.request_approve($1, 'pat')", v1)

	spec2 := `{"dataset": "members", "columns": ["member_id", "first_name", "last_name", "gender"]}`
	v2 := b.id(t, "SELECT axtract.request_update($1, $2::jsonb, NULL, 'al')", v1, spec2)
	if v2 == v1 {
		t.Fatalf("editing approved request %d changed it in place", v1)
	}
	if s := b.status(t, v1); s != "approved" {
		t.Errorf("edited approved request status = %s, want approved", s)
	}
	if s := b.status(t, v2); s != "draft" {
		t.Errorf("new version status = %s, want draft", s)
	}
	if n := b.id(t, "SELECT version FROM axtract.request WHERE request_id = $1 AND previous_id = $2", v2, v1); n != 2 {
		t.Errorf("new version = %d, want 2 with previous_id %d", n, v1)
	}
	if cols := b.liveSpec(t, "roster")["columns"].([]any); len(cols) != 3 {
		t.Errorf("live view has %d columns before the new version is approved, want 3", len(cols))
	}

	// A second open request for the same view is refused.
	requireSQLState(t, b.exec(t, "SELECT axtract.request_create('acme', 'view', 'roster', $1::jsonb, NULL, 'ann')", rosterSpec),
		"23505", "second open request")
	// A draft is edited in place.
	if same := b.id(t, "SELECT axtract.request_update($1, $2::jsonb, NULL, 'al')", v2, spec2); same != v2 {
		t.Errorf("editing draft %d returned %d", v2, same)
	}
	b.mustExec(t, "SELECT axtract.request_submit($1, 'al')", v2)
	requireSQLState(t, b.exec(t, "SELECT axtract.request_update($1, $2::jsonb, NULL, 'al')", v2, rosterSpec),
		"55000", "editing a submitted request")
	requireSQLState(t, b.exec(t, "SELECT axtract.request_approve($1, 'al')", v2), "42501", "analyst approving")
	b.mustExec(t, "SELECT axtract.request_approve($1, 'paula')", v2)
	if cols := b.liveSpec(t, "roster")["columns"].([]any); len(cols) != 4 {
		t.Errorf("live view has %d columns after version 2 is approved, want 4", len(cols))
	}
	if n := b.id(t, "SELECT view_version FROM axtract.request WHERE request_id = $1", v2); n != 2 {
		t.Errorf("view_version of version 2 = %d, want 2", n)
	}
	events := b.audit(t, v2)
	want := []string{"request.create:al", "request.update:al", "request.submit:al", "request.approve:paula"}
	if !equalStrings(events, want) {
		t.Errorf("audit events of version 2 = %v, want %v", events, want)
	}
}

func TestRequestFeedApproval(t *testing.T) {
	t.Parallel()
	b := setupApproval(t)
	feed := `{"name": "acme-roster", "destination": "drop", "options": {"compression": "gzip", "encrypt": false, "schedule": "0 6 * * 1"}}`
	id := b.id(t, "SELECT axtract.request_create('acme', 'feed', 'roster', $1::jsonb, $2::jsonb, 'ann')", rosterSpec, feed)
	b.mustExec(t, "SELECT axtract.request_submit($1, 'ann')", id)
	if n := b.id(t, "SELECT count(*) FROM axtract.feed"); n != 0 {
		t.Fatalf("%d feeds before approval, want 0", n)
	}
	b.mustExec(t, "SELECT axtract.request_approve($1, 'pat')", id)

	var compression, schedule string
	var encrypt bool
	err := b.db.Pool.QueryRow(context.Background(), `
		SELECT f.compression, f.schedule, f.encrypt FROM axtract.feed f
		JOIN axtract.request r ON r.feed_id = f.feed_id WHERE r.request_id = $1 AND f.name = 'acme-roster'`, id).
		Scan(&compression, &schedule, &encrypt)
	if err != nil {
		t.Fatalf("feed of approved request: %v", err)
	}
	if compression != "gzip" || schedule != "0 6 * * 1" || encrypt {
		t.Errorf("feed = %s, %s, encrypt %v; want gzip, 0 6 * * 1, encrypt false", compression, schedule, encrypt)
	}
}

func TestRequestSubmitRefusesInvalidFeed(t *testing.T) {
	t.Parallel()
	b := setupApproval(t)
	requireSQLState(t, b.exec(t, `SELECT axtract.request_create('acme', 'feed', 'roster', $1::jsonb,
		'{"name": "acme-roster", "destination": "nowhere"}', 'ann')`, rosterSpec), "P0002", "unknown destination")

	feed := `{"name": "acme-roster", "destination": "drop", "options": {"colour": "blue"}}`
	id := b.id(t, "SELECT axtract.request_create('acme', 'feed', 'roster', $1::jsonb, $2::jsonb, 'ann')", rosterSpec, feed)
	requireSQLState(t, b.exec(t, "SELECT axtract.request_submit($1, 'ann')", id), "22023", "unknown feed option")
	if s := b.status(t, id); s != "draft" {
		t.Errorf("status after a refused submit = %s, want draft", s)
	}
	if b.liveSpec(t, "roster") != nil {
		t.Error("the dry run of submit left the view defined")
	}
}

func TestRequestReviewShowsDisclosure(t *testing.T) {
	t.Parallel()
	b := setupApproval(t)
	ctx := context.Background()
	if _, err := partner.Create(ctx, b.db.Pool, partner.CreateParams{Slug: "uni", Name: "University", Purpose: "research"}); err != nil {
		t.Fatal(err)
	}
	spec := `{"dataset": "members", "columns": [{"column": "member_id", "transform": "pseudonym"}, "first_name",
		{"column": "birth_date", "transform": "year"}], "filters": [{"column": "state", "op": "=", "value": "MA"}]}`
	id := b.id(t, "SELECT axtract.request_create('uni', 'view', 'cohort', $1::jsonb, NULL, 'ann')", spec)

	var review struct {
		Partner struct {
			Slug    string `json:"slug"`
			Purpose string `json:"purpose_of_use"`
		} `json:"partner"`
		Allowed []string `json:"allowed_classifications"`
		Columns []struct {
			Column         string `json:"column"`
			Transform      string `json:"transform"`
			Classification string `json:"classification"`
			After          string `json:"classification_after"`
			Allowed        bool   `json:"allowed"`
		} `json:"columns"`
		Filters []struct {
			Column  string `json:"column"`
			Allowed bool   `json:"allowed"`
		} `json:"filters"`
		Minimum struct {
			OK       bool   `json:"ok"`
			SQLState string `json:"sqlstate"`
			Message  string `json:"message"`
		} `json:"minimum_necessary"`
		Compiled *string `json:"compiled_sql"`
	}
	var raw []byte
	if err := b.db.Pool.QueryRow(ctx, "SELECT axtract.request_review($1)", id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &review); err != nil {
		t.Fatal(err)
	}
	if review.Partner.Slug != "uni" || review.Partner.Purpose != "research" {
		t.Errorf("review partner = %+v, want uni with purpose research", review.Partner)
	}
	if len(review.Allowed) != 3 {
		t.Errorf("allowed classifications of research = %v, want 3", review.Allowed)
	}
	if len(review.Columns) != 3 {
		t.Fatalf("review has %d columns, want 3: %s", len(review.Columns), raw)
	}
	if c := review.Columns[0]; c.Transform != "pseudonym" || c.Classification != "direct_identifier" || c.After != "quasi_identifier" || !c.Allowed {
		t.Errorf("pseudonymized member_id = %+v, want direct_identifier to quasi_identifier, allowed", c)
	}
	if c := review.Columns[1]; c.Column != "first_name" || c.Allowed {
		t.Errorf("first_name = %+v, want not allowed for research", c)
	}
	if len(review.Filters) != 1 || !review.Filters[0].Allowed {
		t.Errorf("filters = %+v, want the state filter allowed", review.Filters)
	}
	if review.Minimum.OK || review.Minimum.SQLState != "42501" {
		t.Errorf("minimum necessary = %+v, want failed with 42501", review.Minimum)
	}
	if review.Compiled != nil {
		t.Errorf("compiled_sql = %q, want null for a view that does not compile", *review.Compiled)
	}
	requireSQLState(t, b.exec(t, "SELECT axtract.request_submit($1, 'ann')", id), "42501", "submit a view the purpose does not allow")
}

func TestRequestTemplatesCompile(t *testing.T) {
	t.Parallel()
	b := setupApproval(t)
	ctx := context.Background()
	rows, err := b.db.Pool.Query(ctx, "SELECT name, purpose_of_use FROM axtract.request_template WHERE builtin ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	type template struct{ name, purpose string }
	templates, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (template, error) {
		var tpl template
		return tpl, r.Scan(&tpl.name, &tpl.purpose)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fhir_patient_access", "pbm_eligibility", "provider_network_roster", "research_deidentified_claims"}
	var names []string
	for _, tpl := range templates {
		names = append(names, tpl.name)
	}
	if !equalStrings(names, want) {
		t.Fatalf("templates = %v, want %v", names, want)
	}

	for i, tpl := range templates {
		slug := "p" + string(rune('a'+i))
		if _, err := partner.Create(ctx, b.db.Pool, partner.CreateParams{Slug: slug, Name: tpl.name, Purpose: tpl.purpose}); err != nil {
			t.Fatal(err)
		}
		b.mustExec(t, `SELECT axtract.destination_define($1, 'drop', 'local', '{"dir": "/srv/outbound"}')`, slug)
		feed := `{"name": "` + slug + `-feed", "destination": "drop"}`
		id := b.id(t, "SELECT axtract.request_create($1, 'feed', 'v', NULL, $2::jsonb, 'ann', $3)", slug, feed, tpl.name)
		if err := b.exec(t, "SELECT axtract.request_submit($1, 'ann')", id); err != nil {
			t.Errorf("template %s for a %s partner: submit: %v", tpl.name, tpl.purpose, err)
			continue
		}
		if err := b.exec(t, "SELECT axtract.request_approve($1, 'pat')", id); err != nil {
			t.Errorf("template %s: approve: %v", tpl.name, err)
			continue
		}
		var same bool
		err := b.db.Pool.QueryRow(ctx, `
			SELECT f.compression = coalesce(t.feed_options->>'compression', 'zstd')
			FROM axtract.feed f, axtract.request_template t WHERE f.name = $1 AND t.name = $2`, slug+"-feed", tpl.name).Scan(&same)
		if err != nil || !same {
			t.Errorf("template %s: feed compression does not follow the template's options (%v)", tpl.name, err)
		}
		// A template's "{view}" becomes the request's view, and the live
		// feed's format options pass the format's own checks.
		var kind string
		var options []byte
		if err := b.db.Pool.QueryRow(ctx, `SELECT format, format_options FROM axtract.feed WHERE name = $1`, slug+"-feed").Scan(&kind, &options); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(options), "{view}") {
			t.Errorf("template %s: feed options %s still name {view}", tpl.name, options)
		}
		if _, err := formats.New(kind, options); err != nil {
			t.Errorf("template %s: format %s rejects the options %s: %v", tpl.name, kind, options, err)
		}
		if tpl.name == "fhir_patient_access" && (kind != "fhir" || !strings.Contains(string(options), `"Patient": "v"`)) {
			t.Errorf("fhir template made a %s feed with options %s, want fhir with Patient from view v", kind, options)
		}
	}
}

func TestViewDefineDirectStaysAudited(t *testing.T) {
	t.Parallel()
	b := setupApproval(t)
	b.mustExec(t, "SELECT axtract.view_define('acme', 'direct', $1::jsonb)", rosterSpec)
	if b.liveSpec(t, "direct") == nil {
		t.Fatal("view_define did not define the view")
	}
	if n := b.id(t, "SELECT count(*) FROM axtract.audit_event WHERE action = 'view.define' AND detail->>'view' = 'direct'"); n != 1 {
		t.Errorf("view.define events = %d, want 1", n)
	}
	// A request for a live view that was defined directly starts at version 1
	// and shows the live spec to the reviewer.
	id := b.createView(t, "direct", rosterSpec, "ann")
	var same bool
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT (axtract.request_review($1)->'live'->>'same_spec')::boolean", id).Scan(&same); err != nil {
		t.Fatal(err)
	}
	if !same {
		t.Error("review of a request equal to the live view reports a different spec")
	}
}

func TestRequestGoAPIChecksRoles(t *testing.T) {
	t.Parallel()
	b := setupApproval(t)
	ctx := context.Background()
	ann := &auth.Principal{Login: "ann", Role: auth.RoleAnalyst}
	pat := &auth.Principal{Login: "pat", Role: auth.RolePrivacyOfficer}
	olga := &auth.Principal{Login: "olga", Role: auth.RoleOperator}

	if _, err := auth.CreateRequest(ctx, b.db.Pool, olga, auth.RequestParams{Partner: "acme", Kind: auth.RequestKindView, View: "roster", Spec: json.RawMessage(rosterSpec)}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("operator creating a request: %v, want ErrForbidden", err)
	}
	if _, err := auth.CreateRequest(ctx, b.db.Pool, nil, auth.RequestParams{Partner: "acme", Kind: auth.RequestKindView, View: "roster"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("no principal creating a request: %v, want ErrForbidden", err)
	}
	id, err := auth.CreateRequest(ctx, b.db.Pool, ann, auth.RequestParams{Partner: "acme", Kind: auth.RequestKindView, View: "roster", Spec: json.RawMessage(rosterSpec)})
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.SubmitRequest(ctx, b.db.Pool, ann, id); err != nil {
		t.Fatal(err)
	}
	if err := auth.ApproveRequest(ctx, b.db.Pool, ann, id, ""); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("analyst approving: %v, want ErrForbidden", err)
	}
	review, err := auth.ReviewRequest(ctx, b.db.Pool, pat, id)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Approval struct {
			OK bool `json:"ok"`
		} `json:"approval"`
	}
	if err := json.Unmarshal(review, &parsed); err != nil || !parsed.Approval.OK {
		t.Errorf("review %s: approval dry run not ok (%v)", review, err)
	}
	if err := auth.ApproveRequest(ctx, b.db.Pool, pat, id, "fits the purpose"); err != nil {
		t.Fatal(err)
	}
	approved, err := auth.ListRequests(ctx, b.db.Pool, ann, "approved")
	if err != nil {
		t.Fatal(err)
	}
	if len(approved) != 1 || approved[0].ID != id || approved[0].ReviewedBy != "pat" || approved[0].ViewVersion == nil || *approved[0].ViewVersion != 1 {
		t.Errorf("approved requests = %+v, want request %d reviewed by pat at view version 1", approved, id)
	}
	if approved[0].Feed != nil {
		t.Errorf("view request has feed %s, want none", approved[0].Feed)
	}
	if drafts, _ := auth.ListRequests(ctx, b.db.Pool, ann, "draft"); len(drafts) != 0 {
		t.Errorf("drafts = %d, want 0", len(drafts))
	}
}

package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/migrate"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/privacy"
)

// Members of the consent tests.
var (
	memberInForce  = memberID(1) // grant to optin since last year
	memberFuture   = memberID(2) // grant to optin from tomorrow
	memberEnded    = memberID(3) // grant to optin that ended yesterday
	memberNone     = memberID(4) // no consent at all
	memberRevoked  = memberID(5) // grant to optin, then revoked
	memberSUD      = memberID(6) // grant to optin; a substance use claim and another claim
	memberDenied   = memberID(7) // denial to optout
	memberByPurpse = memberID(8) // grant to every operations partner
)

// Claims of the consent tests.
var (
	claimSUD      = claimID(1) // memberSUD, alcohol dependence (F10.20)
	claimCold     = claimID(2) // memberSUD, upper respiratory infection
	claimNicotine = claimID(3) // memberInForce, nicotine dependence (F17.210), in no category
)

// consentSetup creates partners optin (opt_in) and optout (opt_out), both
// for operations, with a roster view and a claims view each, and the
// members, claims and consents above.
func consentSetup(t *testing.T) *pgtest.DB {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	for i := 1; i <= 8; i++ {
		insertMembers(t, db, member{id: memberID(i), first: "First", last: "Last", birth: "1980-01-01", zip: "02155"})
	}
	insertClaim(t, db, claimSUD, memberSUD, "F10.20")
	insertClaim(t, db, claimCold, memberSUD, "J06.9")
	insertClaim(t, db, claimNicotine, memberInForce, "F17.210")

	for _, slug := range []string{"optin", "optout"} {
		createPartner(t, db, slug, "operations")
		defineView(t, db, slug, "roster", `{"dataset": "members", "columns": ["member_id"]}`)
		defineView(t, db, slug, "claims", `{"dataset": "medical_claims", "columns": ["claim_id", "member_id"]}`)
	}
	if err := partner.SetConsentDefault(ctx, db.Pool, "optout", partner.ConsentOptOut); err != nil {
		t.Fatal(err)
	}

	day := today()
	yesterday, tomorrow := day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)
	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberInForce, From: day.AddDate(-1, 0, 0)})
	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberFuture, From: tomorrow})
	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberEnded, From: day.AddDate(-1, 0, 0), To: &yesterday})
	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberRevoked, From: day.AddDate(-1, 0, 0)})
	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberSUD, From: day.AddDate(-1, 0, 0)})
	grant(t, db, partner.ConsentParams{Purpose: "operations", MemberID: memberByPurpse, From: day})
	grant(t, db, partner.ConsentParams{Partner: "optout", MemberID: memberDenied, From: day, Deny: true})
	if n, err := partner.RevokeConsent(ctx, db.Pool, "optin", memberRevoked); err != nil || n != 1 {
		t.Fatalf("revoke = %d, %v; want 1 grant revoked", n, err)
	}
	return db
}

func TestConsentsOptInAndOptOut(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)

	equalSets(t, "optin roster", queryAsPartner(t, db, "optin", "SELECT member_id::text FROM partner_optin.roster"),
		[]string{memberInForce, memberSUD, memberByPurpse})
	equalSets(t, "optout roster", queryAsPartner(t, db, "optout", "SELECT member_id::text FROM partner_optout.roster"),
		[]string{memberInForce, memberFuture, memberEnded, memberNone, memberRevoked, memberSUD, memberByPurpse})

	// The substance use claim needs a category consent under either
	// default; the member's other claims stay visible.
	equalSets(t, "optin claims", queryAsPartner(t, db, "optin", "SELECT claim_id::text FROM partner_optin.claims"),
		[]string{claimCold, claimNicotine})
	equalSets(t, "optout claims", queryAsPartner(t, db, "optout", "SELECT claim_id::text FROM partner_optout.claims"),
		[]string{claimCold, claimNicotine})
}

func TestCategoryConsentShowsSensitiveRows(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()

	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberSUD, Category: "substance_use", From: today()})
	equalSets(t, "optin claims after the category grant", queryAsPartner(t, db, "optin", "SELECT claim_id::text FROM partner_optin.claims"),
		[]string{claimSUD, claimCold, claimNicotine})
	equalSets(t, "optout claims", queryAsPartner(t, db, "optout", "SELECT claim_id::text FROM partner_optout.claims"),
		[]string{claimCold, claimNicotine})

	n, err := partner.RevokeCategoryConsent(ctx, db.Pool, "optin", memberSUD, "substance_use")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("revoked category grants = %d, want 1", n)
	}
	equalSets(t, "optin claims after the category revocation", queryAsPartner(t, db, "optin", "SELECT claim_id::text FROM partner_optin.claims"),
		[]string{claimCold, claimNicotine})
	equalSets(t, "optin roster after the category revocation", queryAsPartner(t, db, "optin", "SELECT member_id::text FROM partner_optin.roster"),
		[]string{memberInForce, memberSUD, memberByPurpse})
}

func TestCategoryGrantNeedsGeneralConsent(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	// memberNone has no general consent to optin, so a category grant
	// alone shows nothing.
	insertClaim(t, db, claimID(4), memberNone, "F11.20")
	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberNone, Category: "substance_use", From: today()})
	got := queryAsPartner(t, db, "optin", "SELECT claim_id::text FROM partner_optin.claims WHERE member_id = '"+memberNone+"'")
	equalSets(t, "claims of a member with only a category grant", got, nil)
}

func TestRevocationAndRegrant(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()

	// A revocation to the opt-out partner records a denial, which hides the
	// member from the next query.
	if _, err := partner.RevokeConsent(ctx, db.Pool, "optout", memberNone); err != nil {
		t.Fatal(err)
	}
	got := queryAsPartner(t, db, "optout", "SELECT member_id::text FROM partner_optout.roster WHERE member_id = '"+memberNone+"'")
	equalSets(t, "optout roster after revocation", got, nil)

	// A later grant supersedes the denial.
	grant(t, db, partner.ConsentParams{Partner: "optout", MemberID: memberNone, From: today()})
	got = queryAsPartner(t, db, "optout", "SELECT member_id::text FROM partner_optout.roster WHERE member_id = '"+memberNone+"'")
	equalSets(t, "optout roster after a new grant", got, []string{memberNone})

	// Revoking a partner's consent outweighs a grant to its purpose of use.
	if _, err := partner.RevokeConsent(ctx, db.Pool, "optin", memberByPurpse); err != nil {
		t.Fatal(err)
	}
	got = queryAsPartner(t, db, "optin", "SELECT member_id::text FROM partner_optin.roster WHERE member_id = '"+memberByPurpse+"'")
	equalSets(t, "optin roster after revoking a purpose-scoped member", got, nil)
}

// TestSessionSettingsChangeNothing sets everything a partner login can set
// and checks that the login reads the same rows of its own view and none of
// the other partner's.
func TestSessionSettingsChangeNothing(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()
	conn := connectLogin(t, db, "optin")
	const own = "SELECT member_id::text FROM partner_optin.roster"
	want := []string{memberInForce, memberSUD, memberByPurpse}
	equalSets(t, "roster before any setting", mustCollect(t, conn, own), want)

	settings := []string{
		// Today in UTC+14 is tomorrow in UTC for part of the day, and in
		// UTC-12 it is yesterday: the consents starting tomorrow and ending
		// yesterday must stay out.
		"SET TimeZone = 'Pacific/Kiritimati'",
		"SET TimeZone = 'Etc/GMT+12'",
		"SET search_path = partner_optout, axtract, mart, public",
		"SET axtract.partner_id = '2'",
		"SET DateStyle = 'SQL, DMY'",
		"SET enable_hashjoin = off",
		"SET enable_seqscan = off",
		"SET work_mem = '64kB'",
	}
	for _, stmt := range settings {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		equalSets(t, "roster after "+stmt, mustCollect(t, conn, own), want)
		equalSets(t, "claims after "+stmt, mustCollect(t, conn, "SELECT claim_id::text FROM partner_optin.claims"),
			[]string{claimCold, claimNicotine})
		_, err := conn.Exec(ctx, "SELECT count(*) FROM partner_optout.roster")
		requireSQLState(t, err, "42501", "other partner's view after "+stmt)
	}

	// row_security = off makes a query that policies would filter fail
	// rather than see more.
	if _, err := conn.Exec(ctx, "SET row_security = off"); err != nil {
		t.Fatal(err)
	}
	_, err := conn.Exec(ctx, own)
	requireSQLState(t, err, "42501", "roster with row_security off")
	if _, err := conn.Exec(ctx, "RESET row_security"); err != nil {
		t.Fatal(err)
	}

	for _, role := range []string{db.Name + "_p_optout", db.Name + "_o_optin", db.Name + "_o_optout"} {
		_, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{role}.Sanitize())
		requireSQLState(t, err, "42501", "SET ROLE "+role)
	}
	_, err = conn.Exec(ctx, "SET SESSION AUTHORIZATION "+pgx.Identifier{db.Name + "_o_optin"}.Sanitize())
	requireSQLState(t, err, "42501", "SET SESSION AUTHORIZATION")
	equalSets(t, "roster at the end", mustCollect(t, conn, own), want)
}

func mustCollect(t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	got, err := collectText(context.Background(), conn, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return got
}

func TestConsentLoad(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()

	// Columns in another order and case; the denial supersedes
	// memberInForce's grant, and memberNone gets a grant and a category
	// grant.
	csv := "Kind,MEMBER_ID,effective_from,category,effective_to,source\n" +
		"deny," + memberInForce + ",2020-01-01,,,portal\n" +
		"grant," + memberNone + ",2020-01-01,,2099-12-31,\n" +
		"grant," + memberNone + ",2020-01-01,substance_use,,\n"
	insertClaim(t, db, claimID(4), memberNone, "F11.20")
	result, err := privacy.LoadConsents(ctx, db.Pool, strings.NewReader(csv), privacy.LoadParams{Name: "consents.csv", Partner: "optin"})
	if err != nil {
		t.Fatal(err)
	}
	if result.Consents != 3 {
		t.Errorf("consents = %d, want 3", result.Consents)
	}
	if result.Superseded != 1 {
		t.Errorf("superseded = %d, want 1", result.Superseded)
	}
	equalSets(t, "optin roster after the load", queryAsPartner(t, db, "optin", "SELECT member_id::text FROM partner_optin.roster"),
		[]string{memberNone, memberSUD, memberByPurpse})
	equalSets(t, "optin claims after the load", queryAsPartner(t, db, "optin", "SELECT claim_id::text FROM partner_optin.claims"),
		[]string{claimCold, claimID(4)})

	var sources string
	err = db.Pool.QueryRow(ctx, `SELECT string_agg(DISTINCT source, ',' ORDER BY source) FROM axtract.consent
		WHERE consent_id > (SELECT max(consent_id) - 3 FROM axtract.consent)`).Scan(&sources)
	if err != nil {
		t.Fatal(err)
	}
	if sources != "load,portal" {
		t.Errorf("sources of the loaded rows = %q, want load,portal", sources)
	}
}

// TestDecisionsSupersedeOnlyTheirDays records decisions whose dates do not
// cover today over decisions in force today: those stay in force today.
func TestDecisionsSupersedeOnlyTheirDays(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()
	day := today()
	date := func(years, days int) *time.Time {
		d := day.AddDate(years, 0, days)
		return &d
	}
	optoutRoster := func() []string {
		return queryAsPartner(t, db, "optout", "SELECT member_id::text FROM partner_optout.roster")
	}
	optinRoster := func() []string {
		return queryAsPartner(t, db, "optin", "SELECT member_id::text FROM partner_optin.roster")
	}
	everyoneBut := func(denied ...string) []string {
		var ids []string
		for i := 1; i <= 8; i++ {
			if !slices.Contains(denied, memberID(i)) {
				ids = append(ids, memberID(i))
			}
		}
		return ids
	}

	// memberDenied's denial to optout has held since today. A grant for two
	// years ago and one from next month leave it in force today.
	grant(t, db, partner.ConsentParams{Partner: "optout", MemberID: memberDenied, From: *date(-2, 0), To: date(-2, 180)})
	equalSets(t, "optout roster after a grant for a past year", optoutRoster(), everyoneBut(memberDenied))
	grant(t, db, partner.ConsentParams{Partner: "optout", MemberID: memberDenied, From: *date(0, 30)})
	equalSets(t, "optout roster after a grant from next month", optoutRoster(), everyoneBut(memberDenied))
	// The denial now ends the day before the grant starts.
	var to time.Time
	err := db.Pool.QueryRow(ctx, `SELECT effective_to FROM axtract.consent
		WHERE member_id = $1 AND kind = 'deny' AND revoked_at IS NULL`, memberDenied).Scan(&to)
	if err != nil {
		t.Fatalf("the denial in force: %v", err)
	}
	if want := day.AddDate(0, 0, 29); !to.Equal(want) {
		t.Errorf("the denial ends %s, want %s", to.Format(time.DateOnly), want.Format(time.DateOnly))
	}

	// memberInForce's grant to optin has held since last year. A denial
	// from next month ends it then, not today; one for last month changes
	// nothing today either.
	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberInForce, From: *date(0, 30), Deny: true})
	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberInForce, From: *date(0, -40), To: date(0, -30), Deny: true})
	equalSets(t, "optin roster after denials of other days", optinRoster(), []string{memberInForce, memberSUD, memberByPurpse})
	// The grant is now in force on the days before last month's denial,
	// between the two denials, and not after.
	got, err := collectText(ctx, db.Pool, `SELECT effective_from || '..' || coalesce(effective_to::text, '') FROM axtract.consent
		WHERE member_id = $1 AND kind = 'grant' AND revoked_at IS NULL ORDER BY effective_from`, memberInForce)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		date(-1, 0).Format(time.DateOnly) + ".." + date(0, -41).Format(time.DateOnly),
		date(0, -29).Format(time.DateOnly) + ".." + date(0, 29).Format(time.DateOnly),
	}
	if !slices.Equal(got, want) {
		t.Errorf("grants in force = %v, want %v", got, want)
	}

	// The same through a CSV load: a grant for a past year leaves a
	// denial of today alone.
	csv := "member_id,kind,effective_from,effective_to\n" +
		memberDenied + ",grant,2020-01-01,2020-12-31\n"
	result, err := privacy.LoadConsents(ctx, db.Pool, strings.NewReader(csv), privacy.LoadParams{Name: "history.csv", Partner: "optout"})
	if err != nil {
		t.Fatal(err)
	}
	if result.Superseded != 0 {
		t.Errorf("a load of a past grant superseded %d decisions, want 0", result.Superseded)
	}
	equalSets(t, "optout roster after loading a past grant", optoutRoster(), everyoneBut(memberDenied))

	// A grant over today does supersede the denial.
	grant(t, db, partner.ConsentParams{Partner: "optout", MemberID: memberDenied, From: *date(0, -1)})
	equalSets(t, "optout roster after a grant from yesterday", optoutRoster(), everyoneBut())
}

func TestConsentLoadRejectsInvalidRows(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()
	const header = "member_id,effective_from,effective_to,category,kind,partner,purpose_of_use\n"
	good := memberNone + ",2025-01-01,,,grant,optin,\n"

	cases := []struct {
		name, csv    string
		line         int
		column, text string
	}{
		{"unknown column", "member_id,effective_from,password\n", 1, "password", "unknown column"},
		{"missing required column", "member_id,category\n", 1, "effective_from", "required column missing"},
		{"duplicate column", "member_id,effective_from,member_id\n", 1, "member_id", "appears twice"},
		{"bad member id", header + good + "not-a-uuid,2025-01-01,,,grant,optin,\n", 3, "member_id", "not a UUID"},
		{"bad date", header + good + memberNone + ",2025-02-30,,,grant,optin,\n", 3, "effective_from", "not a date"},
		{"end before start", header + memberNone + ",2025-02-01,2025-01-01,,grant,optin,\n", 2, "effective_to", "before effective_from"},
		{"bad kind", header + memberNone + ",2025-01-01,,,maybe,optin,\n", 2, "kind", "not grant or deny"},
		{"partner and purpose", header + memberNone + ",2025-01-01,,,grant,optin,research\n", 2, "purpose_of_use", "not both"},
		{"bad purpose", header + memberNone + ",2025-01-01,,,grant,,marketing\n", 2, "purpose_of_use", "not one of"},
		{"unknown member", header + good + good + "00000000-0000-4000-8000-999999999999,2025-01-01,,,grant,optin,\n", 4, "member_id", "member not found"},
		{"unknown partner", header + good + memberNone + ",2025-01-01,,,grant,nobody,\n", 3, "partner", "partner not found"},
		{"unknown category", header + memberNone + ",2025-01-01,,gambling,grant,optin,\n", 2, "category", "not a sensitive category"},
		{"field count", header + memberNone + ",2025-01-01\n", 2, "", "number of fields"},
	}
	for _, c := range cases {
		_, err := privacy.LoadConsents(ctx, db.Pool, strings.NewReader(c.csv), privacy.LoadParams{Name: "consents.csv"})
		var loadErr *privacy.LoadError
		if !errors.As(err, &loadErr) {
			t.Errorf("%s: err = %v, want a *LoadError", c.name, err)
			continue
		}
		if loadErr.Line != c.line || loadErr.Column != c.column {
			t.Errorf("%s: error at line %d, column %q, want line %d, column %q (%v)", c.name, loadErr.Line, loadErr.Column, c.line, c.column, err)
		}
		requireContains(t, loadErr.Error(), c.text, c.name+": error")
		requireContains(t, loadErr.Error(), "consents.csv line", c.name+": error")
	}

	// Nothing of the failed loads was kept.
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.consent WHERE member_id = $1", memberNone).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("consents of %s after failed loads = %d, want 0", memberNone, n)
	}
}

func TestClaimWithTwoCategoriesNeedsBoth(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	claim := claimID(5)
	insertClaim(t, db, claim, memberInForce, "F10.20", "F32.9")
	var cats string
	if err := db.Pool.QueryRow(context.Background(), `SELECT sensitive_categories::text FROM mart.claim_line WHERE claim_id = $1`,
		claim).Scan(&cats); err != nil {
		t.Fatal(err)
	}
	if cats != "{mental_health,substance_use}" {
		t.Fatalf("claim line categories = %s, want {mental_health,substance_use}", cats)
	}
	visible := func(step string, want bool) {
		t.Helper()
		got := queryAsPartner(t, db, "optin", "SELECT claim_id::text FROM partner_optin.claims WHERE claim_id = '"+claim+"'")
		if (len(got) == 1) != want {
			t.Errorf("%s: claim visible = %v, want %v", step, len(got) == 1, want)
		}
	}

	visible("no category grant", false)
	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberInForce, Category: "substance_use", From: today()})
	visible("substance_use granted to the partner", false)
	// A grant to the partner's purpose counts as one to the partner.
	grant(t, db, partner.ConsentParams{Purpose: "operations", MemberID: memberInForce, Category: "mental_health", From: today()})
	visible("mental_health granted to the purpose too", true)
	grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberInForce, Category: "mental_health", From: today(), Deny: true})
	visible("mental_health denied to the partner", false)
}

func TestUncataloguedCategoryHidesRow(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()
	// F63.0 (pathological gambling) is in mental_health (F20-F99) and, once
	// added, in a gambling category of its own.
	mustExec(t, db, `INSERT INTO axtract.sensitive_category (category, description) VALUES ('gambling', 'Gambling disorders')`)
	mustExec(t, db, `INSERT INTO axtract.sensitive_code (code_system, code, category) VALUES ('ICD-10-CM', 'F630', 'gambling')`)
	claim := claimID(6)
	insertClaim(t, db, claim, memberSUD, "F63.0")
	for _, c := range []string{"gambling", "mental_health"} {
		grant(t, db, partner.ConsentParams{Partner: "optin", MemberID: memberSUD, Category: c, From: today()})
	}
	claims := func() []string {
		return queryAsPartner(t, db, "optin", "SELECT claim_id::text FROM partner_optin.claims")
	}
	equalSets(t, "claims with both categories granted", claims(), []string{claim, claimCold, claimNicotine})

	// Renaming the category rewrites the policies. The stored rows keep the
	// old name until their categories are computed again, and a category
	// the policy does not know hides the row.
	mustExec(t, db, `UPDATE axtract.sensitive_category SET category = 'gambling_disorder' WHERE category = 'gambling'`)
	equalSets(t, "claims after the rename", claims(), []string{claimCold, claimNicotine})
	if _, err := db.Pool.Exec(ctx, `SELECT * FROM axtract.sensitive_categories_recompute()`); err != nil {
		t.Fatal(err)
	}
	equalSets(t, "claims after the recompute", claims(), []string{claim, claimCold, claimNicotine})
}

func TestMalformedMemberIDIsNamed(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()
	want := `member id "M-42" is not a UUID`
	_, err := partner.RecordConsent(ctx, db.Pool, partner.ConsentParams{Partner: "optin", MemberID: "M-42", From: today()})
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("grant to a malformed member id: err = %v, want one containing %s", err, want)
	}
	if _, err := partner.RevokeConsent(ctx, db.Pool, "optin", "M-42"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("revoke of a malformed member id: err = %v, want one containing %s", err, want)
	}
	if _, err := privacy.MemberDisclosures(ctx, db.Pool, "M-42"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("disclosures of a malformed member id: err = %v, want one containing %s", err, want)
	}
}

// TestMigrateLeavesPoliciesOfReaders runs migrate while a transaction
// reads a mart table, as a long extract does, and checks that it neither
// waits for the reader nor keeps a policy that was altered by hand.
func TestMigrateLeavesPoliciesOfReaders(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()
	policy := db.Name + "_consent_optin"
	policyOID := func() int {
		return queryInt(t, db, "SELECT oid::integer FROM pg_policy WHERE polname = $1 AND polrelid = 'mart.claim_line'::regclass", policy)
	}
	before := policyOID()

	reader, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback(ctx)
	if _, err := reader.Exec(ctx, "SELECT count(*) FROM mart.claim_line"); err != nil {
		t.Fatal(err)
	}
	migrateCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := migrate.Up(migrateCtx, db.Pool, migrate.Config{}); err != nil {
		t.Fatalf("migrate while a transaction reads mart.claim_line: %v", err)
	}
	if err := reader.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if after := policyOID(); after != before {
		t.Errorf("migrate created the unchanged policy again (oid %d, was %d)", after, before)
	}

	// A policy changed behind AxTract's back is created again.
	mustExec(t, db, fmt.Sprintf("ALTER POLICY %s ON mart.member USING (true)", policy))
	if err := migrate.Up(ctx, db.Pool, migrate.Config{}); err != nil {
		t.Fatal(err)
	}
	equalSets(t, "optin roster after migrate", queryAsPartner(t, db, "optin", "SELECT member_id::text FROM partner_optin.roster"),
		[]string{memberInForce, memberSUD, memberByPurpse})
}

// TestRefreshUndoesPolicyTampering checks that privacy_refresh drops a
// policy that widens what a partner reads, turns row-level security back
// on, and leaves the policies alone when only the caller's search_path
// differs.
func TestRefreshUndoesPolicyTampering(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()
	owner := db.Name + "_o_optin"
	want := []string{memberInForce, memberSUD, memberByPurpse}
	roster := func() []string {
		return queryAsPartner(t, db, "optin", "SELECT member_id::text FROM partner_optin.roster")
	}

	mustExec(t, db, fmt.Sprintf("CREATE POLICY everyone ON mart.member FOR SELECT TO %s USING (true)", owner))
	mustExec(t, db, "CREATE POLICY anyone ON mart.member FOR SELECT TO PUBLIC USING (true)")
	mustExec(t, db, "SELECT axtract.privacy_refresh()")
	equalSets(t, "roster after refresh with extra policies", roster(), want)
	if n := queryInt(t, db, "SELECT count(*) FROM pg_policy WHERE polname IN ('everyone', 'anyone')"); n != 0 {
		t.Errorf("%d extra policies left after the refresh, want 0", n)
	}

	mustExec(t, db, "ALTER TABLE mart.member DISABLE ROW LEVEL SECURITY")
	mustExec(t, db, "SELECT axtract.privacy_refresh()")
	equalSets(t, "roster after refresh with row-level security off", roster(), want)

	policy := db.Name + "_consent_optin"
	oid := func() int {
		return queryInt(t, db, "SELECT oid::integer FROM pg_policy WHERE polname = $1 AND polrelid = 'mart.member'::regclass", policy)
	}
	before := oid()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, stmt := range []string{"SET search_path = mart, axtract, public", "SELECT axtract.privacy_refresh()", "RESET search_path"} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if after := oid(); after != before {
		t.Errorf("a refresh with another search_path created the unchanged policy again (oid %d, was %d)", after, before)
	}
}

// TestDeletedPartnerReadsNothing deletes an opt_out partner, whose denials
// go with it, and checks that its role then reads no member.
func TestDeletedPartnerReadsNothing(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	mustExec(t, db, "DELETE FROM axtract.partner WHERE slug = 'optout'")
	mustExec(t, db, "SELECT axtract.privacy_refresh()")
	got, err := tryQueryAsPartner(db, "optout", "SELECT member_id::text FROM partner_optout.roster")
	if err == nil && len(got) > 0 {
		t.Errorf("deleted partner read %d members, want none", len(got))
	}
}

// TestExplainShowsNothingOfHiddenRows runs, as partner logins, pairs of
// queries whose conditions hold or do not hold for a row the consent
// policies hide, and checks that EXPLAIN ANALYZE prints the same plan for
// both once the constants are set aside. Without the fence of
// axtract.partner_view_query, PostgreSQL ran such leakproof conditions
// before the policies, and the plan showed whether the hidden row matched.
func TestExplainShowsNothingOfHiddenRows(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()
	defineView(t, db, "optout", "names", `{"dataset": "members", "columns": ["member_id", "first_name"]}`)
	optout, optin := connectLogin(t, db, "optout"), connectLogin(t, db, "optin")

	explain := func(conn *pgx.Conn, sql, constant string) string {
		t.Helper()
		rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "+sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		// Heap fetches of index-only scans follow the visibility map,
		// which the queries themselves change, not the conditions.
		lines = slices.DeleteFunc(lines, func(l string) bool { return strings.Contains(l, "Heap Fetches:") })
		return strings.ReplaceAll(strings.Join(lines, "\n"), constant, "CONSTANT")
	}
	cases := []struct {
		name            string
		conn            *pgx.Conn
		query           string
		matching, other string
	}{
		// memberDenied opted out of optout; its first name is First.
		{"value of an opted-out member", optout,
			"SELECT 1 FROM names WHERE member_id = '" + memberDenied + "' AND first_name = ANY (ARRAY['CONSTANT'])", "First", "Nobody"},
		// Only memberDenied's id lies in the first range, nobody's in the
		// second.
		{"range around an opted-out member", optout,
			"SELECT 1 FROM names WHERE member_id BETWEEN 'CONSTANT'::uuid AND 'CONSTANT'::uuid", memberDenied, memberID(99)},
		// memberSUD's substance use claim is hidden from optin, which has
		// no category consent.
		{"withheld category row", optin,
			"SELECT 1 FROM claims WHERE member_id = '" + memberSUD + "' AND claim_id = 'CONSTANT'", claimSUD, claimID(99)},
	}
	for _, c := range cases {
		matchPlan := explain(c.conn, strings.ReplaceAll(c.query, "CONSTANT", c.matching), c.matching)
		otherPlan := explain(c.conn, strings.ReplaceAll(c.query, "CONSTANT", c.other), c.other)
		if matchPlan != otherPlan {
			t.Errorf("%s: EXPLAIN ANALYZE differs for a condition that matches a hidden row and one that does not:\n%s\n---\n%s",
				c.name, matchPlan, otherPlan)
		}
	}
}

// TestConcurrentDecisionsSplitOnce records two grants for days inside one
// denial from two transactions at once. Each splits the denial; the second
// must split what the first left, not the original denial again.
func TestConcurrentDecisionsSplitOnce(t *testing.T) {
	t.Parallel()
	db := consentSetup(t)
	ctx := context.Background()
	mustExec(t, db, `SELECT axtract.consent_deny('optin', $1::uuid, DATE '2030-01-01')`, memberNone)

	first, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	if _, err := first.Exec(ctx, `SELECT axtract.consent_grant('optin', $1::uuid, DATE '2030-12-01', DATE '2030-12-31')`, memberNone); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		_, err := db.Pool.Exec(ctx, `SELECT axtract.consent_grant('optin', $1::uuid, DATE '2031-03-01', DATE '2031-03-31')`, memberNone)
		second <- err
	}()
	select {
	case err := <-second:
		t.Fatalf("the second grant did not wait for the first transaction: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}

	got, err := collectText(ctx, db.Pool, `SELECT kind || ' ' || effective_from || '..' || coalesce(effective_to::text, '')
		FROM axtract.consent WHERE member_id = $1 AND partner_id IS NOT NULL AND revoked_at IS NULL
		ORDER BY effective_from`, memberNone)
	if err != nil {
		t.Fatal(err)
	}
	// collectText sorts, so the denials come first.
	want := []string{
		"deny 2030-01-01..2030-11-30",
		"deny 2031-01-01..2031-02-28",
		"deny 2031-04-01..",
		"grant 2030-12-01..2030-12-31",
		"grant 2031-03-01..2031-03-31",
	}
	if !slices.Equal(got, want) {
		t.Errorf("decisions in force = %v, want %v", got, want)
	}
}

package privacy_test

import (
	"context"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/pgtest"
)

// deidSetup creates partner research with a general consent for every
// member already in the mart.
func deidSetup(t *testing.T, db *pgtest.DB, slug string) {
	t.Helper()
	createPartner(t, db, slug, "research")
	mustExec(t, db, "SELECT axtract.consent_grant_all($1, 'SELECT member_id FROM mart.member', DATE '2020-01-01')", slug)
}

// byMember runs sql as partner slug; its first column must be a pseudonym
// and its second a value. Returns the values by member id.
func byMember(t *testing.T, db *pgtest.DB, slug, sql string) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows := queryAsPartner(t, db, slug, "SELECT member_key::text || '|' || coalesce(v::text, 'NULL') FROM ("+sql+") AS q(member_key, v)")
	names := map[string]string{}
	for _, r := range rows {
		var member string
		key, value, _ := cut(r)
		err := db.Pool.QueryRow(ctx, `SELECT ps.member_id::text FROM axtract.member_pseudonym ps
			JOIN axtract.partner p USING (partner_id) WHERE p.slug = $1 AND ps.pseudonym = $2::uuid`, slug, key).Scan(&member)
		if err != nil {
			t.Fatalf("look up pseudonym: %v", err)
		}
		names[member] = value
	}
	return names
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '|' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestSafeHarborAges(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	day := today()
	aged89 := day.AddDate(-89, -1, 0)
	aged90 := day.AddDate(-90, 0, 0) // 90 today
	aged104 := day.AddDate(-104, 0, 0)
	insertMembers(t, db,
		member{id: memberID(89), birth: aged89.Format(time.DateOnly)},
		member{id: memberID(90), birth: aged90.Format(time.DateOnly)},
		member{id: memberID(104), birth: aged104.Format(time.DateOnly)})
	deidSetup(t, db, "research")
	defineView(t, db, "research", "ages", `{"dataset": "members", "profile": "safe_harbor", "columns": [
		{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
		{"column": "birth_date", "as": "birth_year", "transform": "year"},
		{"column": "birth_date", "as": "age", "transform": "age"},
		{"column": "birth_date", "as": "age_band", "transform": "age_band"}]}`)

	cases := []struct {
		column string
		want   map[string]string
	}{
		{"birth_year", map[string]string{memberID(89): aged89.Format("2006"), memberID(90): "NULL", memberID(104): "NULL"}},
		{"age", map[string]string{memberID(89): "89", memberID(90): "90+", memberID(104): "90+"}},
		{"age_band", map[string]string{memberID(89): "85-89", memberID(90): "90+", memberID(104): "90+"}},
	}
	for _, c := range cases {
		got := byMember(t, db, "research", "SELECT member_key, "+c.column+" FROM partner_research.ages")
		for m, want := range c.want {
			if got[m] != want {
				t.Errorf("%s of member %s = %q, want %q", c.column, m, got[m], want)
			}
		}
	}
}

func TestSafeHarborZip3(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	insertMembers(t, db,
		member{id: memberID(1), birth: "1970-01-01", zip: "03601"}, // 036: 20,000 people or fewer in 2000
		member{id: memberID(2), birth: "1970-01-01", zip: "05901-1234"},
		member{id: memberID(3), birth: "1970-01-01", zip: "02155"},
		member{id: memberID(4), birth: "1970-01-01", zip: "2155"}, // lost its leading zero: no ZIP code
		member{id: memberID(5), birth: "1970-01-01", zip: ""})
	deidSetup(t, db, "research")
	defineView(t, db, "research", "zips", `{"dataset": "members", "profile": "safe_harbor", "columns": [
		{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
		{"column": "zip", "transform": "zip3"}]}`)

	got := byMember(t, db, "research", "SELECT member_key, zip FROM partner_research.zips")
	want := map[string]string{memberID(1): "000", memberID(2): "000", memberID(3): "021", memberID(4): "NULL", memberID(5): "NULL"}
	for m, w := range want {
		if got[m] != w {
			t.Errorf("zip3 of member %s = %q, want %q", m, got[m], w)
		}
	}

	// The 2020 list ships empty, so Safe Harbor views cannot use it until
	// a DBA fills it in.
	mustExec(t, db, "SELECT axtract.partner_privacy_set('research', '2020')")
	_, err := tryDefineView(db, "research", "zips2020", `{"dataset": "members", "profile": "safe_harbor", "columns": [
		{"column": "zip", "transform": "zip3"}]}`)
	pgErr := requireSQLState(t, err, "22023", "Safe Harbor view on the 2020 list")
	requireContains(t, pgErr.Message, "ZIP list version 2020 of partner research is not populated", "message")
	_, err = tryQueryAsPartner(db, "research", "SELECT zip FROM partner_research.zips")
	requireSQLState(t, err, "42501", "existing Safe Harbor view after the switch to 2020")

	mustExec(t, db, "INSERT INTO axtract.zip3_restricted (version, zip3) VALUES ('2020', '021')")
	mustExec(t, db, "UPDATE axtract.zip3_list SET populated = true WHERE version = '2020'")
	defineView(t, db, "research", "zips", `{"dataset": "members", "profile": "safe_harbor", "columns": [
		{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
		{"column": "zip", "transform": "zip3"}]}`)
	got = byMember(t, db, "research", "SELECT member_key, zip FROM partner_research.zips")
	if got[memberID(3)] != "000" || got[memberID(1)] != "036" {
		t.Errorf("zip3 on the 2020 list = %v, want 000 for 021 and 036 for 036", got)
	}

	// A switch to a populated list defines the views that name the old one
	// again, so the partner's next read uses the new list.
	versionBefore := queryInt(t, db, "SELECT version FROM axtract.partner_view WHERE name = 'zips'")
	mustExec(t, db, "SELECT axtract.partner_privacy_set('research', '2000')")
	got = byMember(t, db, "research", "SELECT member_key, zip FROM partner_research.zips")
	if got[memberID(3)] != "021" || got[memberID(1)] != "000" {
		t.Errorf("zip3 after the switch back to the 2000 list = %v, want 021 for 021 and 000 for 036", got)
	}
	if v := queryInt(t, db, "SELECT version FROM axtract.partner_view WHERE name = 'zips'"); v != versionBefore+1 {
		t.Errorf("view version after the switch = %d, want %d", v, versionBefore+1)
	}
}

func tryDefineView(db *pgtest.DB, slug, name, spec string) (string, error) {
	var compiled string
	err := db.Pool.QueryRow(context.Background(), "SELECT axtract.view_define($1, $2, $3::jsonb)", slug, name, spec).Scan(&compiled)
	return compiled, err
}

func TestPseudonymsStablePerPartner(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		insertMembers(t, db, member{id: memberID(i), birth: "1970-01-01"})
		insertClaim(t, db, claimID(i), memberID(i), "J06.9")
	}
	const members = `{"dataset": "members", "columns": [{"column": "member_id", "as": "member_key", "transform": "pseudonym"}, "gender"]}`
	const claims = `{"dataset": "medical_claims", "columns": [{"column": "member_id", "as": "member_key", "transform": "pseudonym"}, "paid_amount"]}`
	for _, slug := range []string{"alpha", "beta"} {
		deidSetup(t, db, slug)
		defineView(t, db, slug, "members", members)
		defineView(t, db, slug, "claims", claims)
	}

	first := queryAsPartner(t, db, "alpha", "SELECT member_key::text FROM partner_alpha.members")
	mustExec(t, db, "SELECT axtract.pseudonyms_refresh(partner_id) FROM axtract.partner")
	second := queryAsPartner(t, db, "alpha", "SELECT member_key::text FROM partner_alpha.members")
	equalSets(t, "alpha's pseudonyms on the second read", second, first)
	equalSets(t, "alpha's pseudonyms in its claims view", queryAsPartner(t, db, "alpha", "SELECT member_key::text FROM partner_alpha.claims"), first)
	if len(first) != 5 {
		t.Fatalf("alpha's pseudonyms = %v, want 5", first)
	}

	beta := queryAsPartner(t, db, "beta", "SELECT member_key::text FROM partner_beta.members")
	for _, p := range beta {
		for _, q := range first {
			if p == q {
				t.Errorf("pseudonym %s is both alpha's and beta's", p)
			}
		}
	}
	for _, m := range []string{memberID(1), memberID(2)} {
		for _, p := range first {
			if p == m {
				t.Errorf("alpha's pseudonym %s is a member id", p)
			}
		}
	}

	conn := connectLogin(t, db, "alpha")
	for _, sql := range []string{
		"SELECT axtract.pseudonyms_refresh(1)",
		"SELECT axtract.date_shifts_refresh(1)",
		"SELECT * FROM axtract.member_pseudonym",
		"SELECT * FROM axtract.member_date_shift",
		"SELECT * FROM axtract.zip3_restricted",
		"SELECT * FROM mart.claim_line",
	} {
		_, err := conn.Exec(ctx, sql)
		requireSQLState(t, err, "42501", sql)
	}
}

func TestDateShiftStableAcrossTablesAndRuns(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for i := 1; i <= 6; i++ {
		insertMembers(t, db, member{id: memberID(i), birth: "1970-01-01"})
		insertClaim(t, db, claimID(i), memberID(i), "J06.9")
		mustExec(t, db, `INSERT INTO mart.claim_line (claim_id, line_number, member_id, service_from, procedure_code, procedure_code_system)
			VALUES ($1, 2, $2, DATE '2025-03-11', '99214', 'CPT')`, claimID(i), memberID(i))
	}
	for _, slug := range []string{"alpha", "beta"} {
		deidSetup(t, db, slug)
		mustExec(t, db, "SELECT axtract.partner_privacy_set($1, p_date_shift_max_days => 30)", slug)
		defineView(t, db, slug, "lines", `{"dataset": "medical_claims", "columns": [
			{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
			{"column": "service_from", "transform": "date_shift"},
			{"column": "member_birth_date", "transform": "date_shift"}]}`)
		defineView(t, db, slug, "people", `{"dataset": "members", "columns": [
			{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
			{"column": "birth_date", "transform": "date_shift"}]}`)
	}

	shifts := func(slug string) map[string]int {
		t.Helper()
		out := map[string]int{}
		check := func(what, view, column, real string) {
			for m, v := range byMember(t, db, slug, "SELECT member_key, "+column+" FROM partner_"+slug+"."+view) {
				got, err := time.Parse(time.DateOnly, v)
				if err != nil {
					t.Fatalf("%s of %s: %v", what, m, err)
				}
				realDate, _ := time.Parse(time.DateOnly, real)
				shift := int(got.Sub(realDate).Hours() / 24)
				if shift == 0 || shift < -30 || shift > 30 {
					t.Errorf("%s shift of member %s for %s = %d days, want 1 to 30 days either way", what, m, slug, shift)
				}
				if prev, ok := out[m]; ok && prev != shift {
					t.Errorf("%s shift of member %s for %s = %d days, another table shifts it %d", what, m, slug, shift, prev)
				}
				out[m] = shift
			}
		}
		check("birth date", "people", "birth_date", "1970-01-01")
		check("birth date in claims", "lines", "member_birth_date", "1970-01-01")
		// The interval between a member's two service dates is kept.
		gaps := queryAsPartner(t, db, slug, "SELECT (max(service_from) - min(service_from))::text FROM partner_"+slug+".lines GROUP BY member_key")
		for _, g := range gaps {
			if g != "10" {
				t.Errorf("gap between shifted service dates for %s = %s days, want 10", slug, g)
			}
		}
		return out
	}

	alpha := shifts("alpha")
	if len(alpha) != 6 {
		t.Fatalf("alpha's shifts = %v, want 6 members", alpha)
	}
	mustExec(t, db, "SELECT axtract.pseudonyms_refresh(partner_id) FROM axtract.partner")
	again := shifts("alpha")
	for m, s := range alpha {
		if again[m] != s {
			t.Errorf("shift of member %s changed from %d to %d between runs", m, s, again[m])
		}
	}
	beta := shifts("beta")
	same := 0
	for m, s := range alpha {
		if beta[m] == s {
			same++
		}
	}
	if same == len(alpha) {
		t.Errorf("alpha and beta shift all %d members alike: %v", same, alpha)
	}
	var stored int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.member_date_shift").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 12 {
		t.Errorf("stored shifts = %d, want one per member and partner (12)", stored)
	}
}

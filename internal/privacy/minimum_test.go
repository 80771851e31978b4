package privacy_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

// minimumSetup creates partner research (purpose research) with a consent
// for one member.
func minimumSetup(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	insertMembers(t, db, member{id: memberID(1), first: "Ann", last: "Lee", birth: "1970-01-02", zip: "02155"})
	createPartner(t, db, "research", "research")
	grant(t, db, partner.ConsentParams{Partner: "research", MemberID: memberID(1), From: today()})
	return db
}

func TestResearchFirstNameNeedsException(t *testing.T) {
	t.Parallel()
	db := minimumSetup(t)
	ctx := context.Background()
	const spec = `{"dataset": "members", "columns": [{"column": "member_id", "transform": "pseudonym"}, "first_name"]}`

	_, err := partner.DefineView(ctx, db.Pool, "research", "names", []byte(spec))
	pgErr := requireSQLState(t, err, "42501", "first_name for research")
	requireContains(t, pgErr.Message, "minimum necessary: column first_name of dataset members is a direct_identifier", "message")
	requireContains(t, pgErr.Message, "purpose of use research does not allow", "message")
	requireContains(t, pgErr.Detail, "research allows ordinary, quasi_identifier, sensitive", "detail")

	var exception int64
	err = db.Pool.QueryRow(ctx, `SELECT axtract.column_exception_add('research', 'members', 'first_name',
		'Pat Privacy Officer', 'IRB waiver 2026-17 for mailing study invitations', now() + interval '30 days')`).Scan(&exception)
	if err != nil {
		t.Fatal(err)
	}
	defineView(t, db, "research", "names", spec)
	equalSets(t, "first names with the exception", queryAsPartner(t, db, "research", "SELECT first_name FROM partner_research.names"),
		[]string{"Ann"})

	// Once the exception has expired, the view cannot be defined again, and
	// the next grant sync takes the column from the view owner, so the
	// existing view fails too.
	mustExec(t, db, "UPDATE axtract.column_exception SET expires_at = now() - interval '1 second' WHERE exception_id = $1", exception)
	_, err = partner.DefineView(ctx, db.Pool, "research", "names", []byte(spec))
	requireSQLState(t, err, "42501", "first_name after the exception expired")
	mustExec(t, db, "SELECT axtract.privacy_refresh()")
	_, err = tryQueryAsPartner(db, "research", "SELECT first_name FROM partner_research.names")
	requireSQLState(t, err, "42501", "existing view after the exception expired")
}

func TestExceptionRejectsPastExpiry(t *testing.T) {
	t.Parallel()
	db := minimumSetup(t)
	_, err := db.Pool.Exec(context.Background(), `SELECT axtract.column_exception_add('research', 'members', 'first_name',
		'Pat', 'reason', now() - interval '1 day')`)
	requireSQLState(t, err, "22023", "exception expiring in the past")
}

func TestHandWrittenOwnerViewCannotReadDisallowedColumn(t *testing.T) {
	t.Parallel()
	db := minimumSetup(t)
	ctx := context.Background()
	defineView(t, db, "research", "cohort", `{"dataset": "members", "columns": [
		{"column": "member_id", "transform": "pseudonym"}, {"column": "birth_date", "transform": "year"}, "gender"]}`)

	// A view owned by the view owner but written by hand, as a mistaken
	// compiler or a DBA might write it, over a column that no compiled
	// view may read for research.
	owner := pgx.Identifier{db.Name + "_o_research"}.Sanitize()
	identity := pgx.Identifier{db.Name + "_p_research"}.Sanitize()
	for _, stmt := range []string{
		"CREATE VIEW partner_research.by_hand WITH (security_barrier = true) AS SELECT m.first_name, m.ssn FROM mart.member m",
		"ALTER VIEW partner_research.by_hand OWNER TO " + owner,
		"GRANT SELECT ON partner_research.by_hand TO " + identity,
	} {
		mustExec(t, db, stmt)
	}
	_, err := tryQueryAsPartner(db, "research", "SELECT first_name FROM partner_research.by_hand")
	pgErr := requireSQLState(t, err, "42501", "hand-written view over first_name")
	requireContains(t, pgErr.Message, "permission denied for table member", "message")

	// The compiled view still works.
	got := queryAsPartner(t, db, "research", "SELECT gender FROM partner_research.cohort")
	equalSets(t, "genders of the cohort view", got, []string{"F"})

	var first, birth bool
	err = db.Pool.QueryRow(ctx, `SELECT has_column_privilege($1, 'mart.member', 'first_name', 'SELECT'),
		has_column_privilege($1, 'mart.member', 'birth_date', 'SELECT')`, db.Name+"_o_research").Scan(&first, &birth)
	if err != nil {
		t.Fatal(err)
	}
	if first {
		t.Error("research's view owner can read mart.member.first_name")
	}
	if !birth {
		t.Error("research's view owner cannot read mart.member.birth_date, which its view reads through transform year")
	}
}

func TestTransformsChangeClassification(t *testing.T) {
	t.Parallel()
	db := minimumSetup(t)
	ctx := context.Background()

	cases := []struct {
		name, spec string
		code       string // "" when the view compiles
	}{
		{"raw member id", `{"dataset": "members", "columns": ["member_id"]}`, "42501"},
		{"pseudonym", `{"dataset": "members", "columns": [{"column": "member_id", "transform": "pseudonym"}]}`, ""},
		{"masked SSN", `{"dataset": "members", "columns": [{"column": "ssn", "transform": "mask", "keep": 4}]}`, "42501"},
		{"initials", `{"dataset": "members", "columns": [{"column": "last_name", "transform": "truncate", "length": 1}]}`, "42501"},
		{"filter on a direct identifier", `{"dataset": "members", "columns": ["gender"],
			"filters": [{"column": "last_name", "op": "=", "value": "Lee"}]}`, "42501"},
		{"quasi-identifiers", `{"dataset": "members", "columns": ["birth_date", "zip", "gender"]}`, ""},
	}
	for _, c := range cases {
		_, err := partner.DefineView(ctx, db.Pool, "research", "v", []byte(c.spec))
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v, want the view to compile", c.name, err)
			}
			continue
		}
		requireSQLState(t, err, c.code, c.name)
	}

	// DBAs edit the purpose rules in SQL.
	mustExec(t, db, "INSERT INTO axtract.purpose_classification VALUES ('research', 'direct_identifier')")
	defineView(t, db, "research", "ids", `{"dataset": "members", "columns": ["member_id"]}`)
}

func TestLimitedDataSetNeedsAgreement(t *testing.T) {
	t.Parallel()
	db := minimumSetup(t)
	ctx := context.Background()
	const spec = `{"dataset": "members", "profile": "limited_data_set", "columns": [
		{"column": "member_id", "transform": "pseudonym"}, "birth_date", "city", "state", "zip"]}`

	_, err := partner.DefineView(ctx, db.Pool, "research", "lds", []byte(spec))
	pgErr := requireSQLState(t, err, "42501", "limited data set without an agreement")
	requireContains(t, pgErr.Message, "no data use agreement in force", "message")

	day := today()
	var dua int64
	err = db.Pool.QueryRow(ctx, "SELECT axtract.dua_record('research', 'DUA-2026-004, contracts folder', $1::date, $1::date, $2::date)",
		day.Format(time.DateOnly), day.AddDate(1, 0, 0).Format(time.DateOnly)).Scan(&dua)
	if err != nil {
		t.Fatal(err)
	}
	defineView(t, db, "research", "lds", spec)
	equalSets(t, "ZIP codes of the limited data set", queryAsPartner(t, db, "research", "SELECT zip FROM partner_research.lds"),
		[]string{"02155"})
	equalSets(t, "birth dates of the limited data set", queryAsPartner(t, db, "research", "SELECT birth_date::text FROM partner_research.lds"),
		[]string{"1970-01-02"})

	mustExec(t, db, "INSERT INTO axtract.purpose_classification VALUES ('research', 'direct_identifier')")
	_, err = partner.DefineView(ctx, db.Pool, "research", "lds_names", []byte(`{"dataset": "members", "profile": "limited_data_set",
		"columns": ["first_name", "zip"]}`))
	pgErr = requireSQLState(t, err, "22023", "limited data set with a name")
	requireContains(t, pgErr.Message, "first_name is a direct identifier (names)", "message")

	// A revoked agreement takes the view's grants.
	mustExec(t, db, "SELECT axtract.dua_revoke($1)", dua)
	_, err = tryQueryAsPartner(db, "research", "SELECT zip FROM partner_research.lds")
	requireSQLState(t, err, "42501", "limited data set after the agreement was revoked")
}

func TestSafeHarborRejectsIdentifiers(t *testing.T) {
	t.Parallel()
	db := minimumSetup(t)
	ctx := context.Background()
	mustExec(t, db, "INSERT INTO axtract.purpose_classification VALUES ('research', 'direct_identifier')")
	mustExec(t, db, "SELECT axtract.partner_privacy_set('research', p_date_shift_max_days => 30)")

	cases := []struct {
		name, columns, filters string
		ok                     bool
	}{
		{"full date", `["birth_date"]`, `[]`, false},
		{"month", `[{"column": "birth_date", "transform": "month"}]`, `[]`, false},
		{"shifted date", `[{"column": "birth_date", "transform": "date_shift"}]`, `[]`, false},
		{"five-digit ZIP", `["zip"]`, `[]`, false},
		{"ZIP cut to three by hand", `[{"column": "zip", "transform": "truncate", "length": 3}]`, `[]`, false},
		{"city", `["city"]`, `[]`, false},
		{"name", `["first_name"]`, `[]`, false},
		{"raw member id", `["member_id"]`, `[]`, false},
		{"year, age, zip3 and pseudonym",
			`[{"column": "member_id", "transform": "pseudonym"}, {"column": "birth_date", "transform": "year"},
			  {"column": "birth_date", "as": "age", "transform": "age"}, {"column": "zip", "transform": "zip3"}, "state", "gender"]`,
			`[]`, true},
		{"date filter on a year boundary", `["gender"]`, `[{"column": "birth_date", "op": ">=", "value": "1960-01-01"}]`, true},
		{"date filter inside a year", `["gender"]`, `[{"column": "birth_date", "op": ">=", "value": "1960-03-01"}]`, false},
		{"date filter with =", `["gender"]`, `[{"column": "birth_date", "op": "=", "value": "1960-01-01"}]`, false},
		// Two bounds would single out those born in 1930, aged over 89.
		{"birth year of members aged 90 or older", `["gender"]`, `[{"column": "birth_date", "op": ">=", "value": "1930-01-01"},
			{"column": "birth_date", "op": "<", "value": "1931-01-01"}]`, false},
		{"upper bound among members aged 90 or older", `["gender"]`, `[{"column": "birth_date", "op": "<", "value": "1920-01-01"}]`, false},
		{"ZIP filter", `["gender"]`, `[{"column": "zip", "op": "=", "value": "02155"}]`, false},
		{"NULL test on a ZIP", `["gender"]`, `[{"column": "zip", "op": "not_null"}]`, true},
	}
	for _, c := range cases {
		spec := `{"dataset": "members", "profile": "safe_harbor", "columns": ` + c.columns + `, "filters": ` + c.filters + `}`
		_, err := partner.DefineView(ctx, db.Pool, "research", "sh", []byte(spec))
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v, want the view to compile", c.name, err)
			}
			continue
		}
		requireSQLState(t, err, "22023", c.name)
	}

	_, err := partner.DefineView(ctx, db.Pool, "research", "sh", []byte(`{"dataset": "conditions", "profile": "safe_harbor",
		"columns": ["code", "description"]}`))
	pgErr := requireSQLState(t, err, "22023", "free-text description")
	requireContains(t, pgErr.Message, "description is free text", "message")

	_, err = partner.DefineView(ctx, db.Pool, "research", "sh", []byte(`{"dataset": "members", "profile": "anonymous", "columns": ["gender"]}`))
	requireSQLState(t, err, "22023", "unknown profile")
}

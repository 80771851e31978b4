package privacy

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Consent CSV columns. member_id and effective_from are required; a row
// names its scope with partner (a slug) or purpose_of_use, or takes
// LoadParams.Partner.
var consentColumns = []string{"member_id", "effective_from", "effective_to", "category", "kind", "partner", "purpose_of_use", "source"}

var purposes = []string{"treatment", "payment", "operations", "research", "public_health"}

// LoadParams configures a consent load.
type LoadParams struct {
	// Name names the input in errors, such as its file name. Default
	// "input".
	Name string
	// Partner is the slug of the partner of rows that name neither a
	// partner nor a purpose of use. Empty means such rows are invalid.
	Partner string
	// Source is the source of rows without one. Default "load".
	Source string
}

// LoadResult counts what a load changed.
type LoadResult struct {
	// Consents is the number of consent rows recorded, one per CSV row.
	Consents int64
	// Superseded is the number of earlier decisions of the opposite kind
	// that the load revoked.
	Superseded int64
}

// LoadError is an invalid row of a consent CSV. Line is the file's line
// number (the header is line 1). It never holds a field's value, which may
// identify a member.
type LoadError struct {
	Name    string
	Line    int
	Column  string
	Problem string
}

func (e *LoadError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s line %d: %s", e.Name, e.Line, e.Problem)
	}
	return fmt.Sprintf("%s line %d, column %s: %s", e.Name, e.Line, e.Column, e.Problem)
}

// LoadConsents loads consent decisions from CSV in one transaction of pool:
// every row is recorded, or none is. See LoadConsentsTx.
func LoadConsents(ctx context.Context, pool *pgxpool.Pool, r io.Reader, p LoadParams) (*LoadResult, error) {
	var result *LoadResult
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		result, err = LoadConsentsTx(ctx, tx, r, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// LoadConsentsTx loads consent decisions from CSV within tx. Columns are
// matched by header name, in any order and case. member_id and
// effective_from (YYYY-MM-DD, UTC) are required. The others are optional:
// effective_to (empty for open-ended), category (empty for the member's
// records in general), kind (grant or deny, default grant), partner,
// purpose_of_use and source. Rows stream through COPY into a temporary staging table and are
// then checked against the mart and the control schema and inserted with
// one statement, which also supersedes each member's earlier decisions of
// the opposite kind for the same scope and category on the days the new
// ones cover, as axtract.consent_record does (axtract.consent_apply).
// Decisions of both kinds for one member and scope within one file are
// both kept, and the denial outweighs the grant while both are in force.
//
// An invalid row fails the load with a *LoadError naming its line and
// column; the caller must then roll tx back.
func LoadConsentsTx(ctx context.Context, tx pgx.Tx, r io.Reader, p LoadParams) (*LoadResult, error) {
	if p.Name == "" {
		p.Name = "input"
	}
	if p.Source == "" {
		p.Source = "load"
	}
	src, err := newConsentSource(r, p)
	if err != nil {
		return nil, err
	}

	if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE axtract_consent_stage (
		line           integer NOT NULL,
		member_id      uuid NOT NULL,
		effective_from date NOT NULL,
		effective_to   date,
		category       text,
		kind           text NOT NULL,
		partner        text,
		purpose_of_use text,
		source         text NOT NULL
	) ON COMMIT DROP`); err != nil {
		return nil, fmt.Errorf("load %s: create staging table: %w", p.Name, err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"axtract_consent_stage"}, stageColumns, src)
	if src.err != nil {
		return nil, src.err
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: copy rows: %w", p.Name, err)
	}

	if err := checkReferences(ctx, tx, p.Name); err != nil {
		return nil, err
	}
	result := &LoadResult{}
	if err := tx.QueryRow(ctx, insertStagedSQL).Scan(&result.Consents, &result.Superseded); err != nil {
		return nil, fmt.Errorf("load %s: insert consents: %w", p.Name, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO axtract.audit_event (action, detail)
		VALUES ('consent.load', jsonb_build_object('input', $1::text, 'consents', $2::bigint, 'superseded', $3::bigint))`,
		p.Name, result.Consents, result.Superseded)
	if err != nil {
		return nil, fmt.Errorf("load %s: audit: %w", p.Name, err)
	}
	return result, nil
}

var stageColumns = []string{"line", "member_id", "effective_from", "effective_to", "category", "kind", "partner", "purpose_of_use", "source"}

// referenceChecks find the first staged row whose value names nothing.
var referenceChecks = []struct {
	column, problem, sql string
}{
	{"member_id", "member not found in mart.member",
		`SELECT s.line FROM axtract_consent_stage s
		 WHERE NOT EXISTS (SELECT FROM mart.member m WHERE m.member_id = s.member_id) ORDER BY s.line LIMIT 1`},
	{"partner", "partner not found",
		`SELECT s.line FROM axtract_consent_stage s
		 WHERE s.partner IS NOT NULL AND NOT EXISTS (SELECT FROM axtract.partner p WHERE p.slug = s.partner) ORDER BY s.line LIMIT 1`},
	{"category", "not a sensitive category of axtract.sensitive_category",
		`SELECT s.line FROM axtract_consent_stage s
		 WHERE s.category IS NOT NULL AND NOT EXISTS (SELECT FROM axtract.sensitive_category c WHERE c.category = s.category)
		 ORDER BY s.line LIMIT 1`},
}

func checkReferences(ctx context.Context, tx pgx.Tx, name string) error {
	for _, c := range referenceChecks {
		var line int
		err := tx.QueryRow(ctx, c.sql).Scan(&line)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("load %s: check column %s: %w", name, c.column, err)
		}
		return &LoadError{Name: name, Line: line, Column: c.column, Problem: c.problem}
	}
	return nil
}

// insertStagedSQL inserts the staged rows through axtract.consent_apply,
// which also supersedes earlier decisions where the dates overlap.
const insertStagedSQL = `
SELECT a.inserted, a.superseded
FROM axtract.consent_apply(
    'SELECT s.member_id, p.partner_id, s.purpose_of_use, s.kind, s.category, s.effective_from, s.effective_to, s.source, s.line
     FROM axtract_consent_stage s LEFT JOIN axtract.partner p ON p.slug = s.partner') AS a`

// consentSource parses CSV records into staging rows for CopyFrom. The
// first invalid row stops it and is kept in err.
type consentSource struct {
	reader *csv.Reader
	params LoadParams
	index  map[string]int
	values []any
	err    error
}

func newConsentSource(r io.Reader, p LoadParams) (*consentSource, error) {
	reader := csv.NewReader(r)
	reader.ReuseRecord = true
	header, err := reader.Read()
	if errors.Is(err, io.EOF) {
		return nil, &LoadError{Name: p.Name, Line: 1, Problem: "empty input; the first line must be the header"}
	}
	if err != nil {
		return nil, csvError(p.Name, err)
	}
	index := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(consentColumns, name) {
			return nil, &LoadError{Name: p.Name, Line: 1, Column: h,
				Problem: "unknown column; the columns are " + strings.Join(consentColumns, ", ")}
		}
		if _, dup := index[name]; dup {
			return nil, &LoadError{Name: p.Name, Line: 1, Column: name, Problem: "appears twice"}
		}
		index[name] = i
	}
	for _, required := range []string{"member_id", "effective_from"} {
		if _, ok := index[required]; !ok {
			return nil, &LoadError{Name: p.Name, Line: 1, Column: required, Problem: "required column missing"}
		}
	}
	return &consentSource{reader: reader, params: p, index: index}, nil
}

func (s *consentSource) Next() bool {
	if s.err != nil {
		return false
	}
	record, err := s.reader.Read()
	if errors.Is(err, io.EOF) {
		return false
	}
	if err != nil {
		s.err = csvError(s.params.Name, err)
		return false
	}
	line, _ := s.reader.FieldPos(0)
	s.values, s.err = s.parse(record, line)
	return s.err == nil
}

func (s *consentSource) Values() ([]any, error) { return s.values, nil }

func (s *consentSource) Err() error { return s.err }

// field returns the trimmed value of column name, or "" when the file has
// no such column.
func (s *consentSource) field(record []string, name string) string {
	i, ok := s.index[name]
	if !ok {
		return ""
	}
	return strings.TrimSpace(record[i])
}

func (s *consentSource) parse(record []string, line int) ([]any, error) {
	invalid := func(column, problem string) error {
		return &LoadError{Name: s.params.Name, Line: line, Column: column, Problem: problem}
	}

	var member pgtype.UUID
	if v := s.field(record, "member_id"); v == "" {
		return nil, invalid("member_id", "missing")
	} else if err := member.Scan(v); err != nil {
		return nil, invalid("member_id", "not a UUID")
	}
	from, err := parseDate(s.field(record, "effective_from"))
	if err != nil || from == nil {
		return nil, invalid("effective_from", "missing or not a date in YYYY-MM-DD form")
	}
	to, err := parseDate(s.field(record, "effective_to"))
	if err != nil {
		return nil, invalid("effective_to", "not a date in YYYY-MM-DD form")
	}
	if to != nil && to.Before(*from) {
		return nil, invalid("effective_to", "before effective_from")
	}

	kind := strings.ToLower(s.field(record, "kind"))
	switch kind {
	case "":
		kind = "grant"
	case "grant", "deny":
	default:
		return nil, invalid("kind", "not grant or deny")
	}
	partner, purpose := s.field(record, "partner"), strings.ToLower(s.field(record, "purpose_of_use"))
	switch {
	case partner != "" && purpose != "":
		return nil, invalid("purpose_of_use", "a row names a partner or a purpose of use, not both")
	case purpose != "" && !slices.Contains(purposes, purpose):
		return nil, invalid("purpose_of_use", "not one of "+strings.Join(purposes, ", "))
	case partner == "" && purpose == "":
		if s.params.Partner == "" {
			return nil, invalid("partner", "missing, and no default partner was given: add a partner column or pass --partner SLUG")
		}
		partner = s.params.Partner
	}
	source := s.field(record, "source")
	if source == "" {
		source = s.params.Source
	}
	return []any{line, member, *from, dateOrNil(to), textOrNil(s.field(record, "category")), kind,
		textOrNil(partner), textOrNil(purpose), source}, nil
}

func csvError(name string, err error) error {
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		problem := parseErr.Err.Error()
		if errors.Is(parseErr.Err, csv.ErrFieldCount) {
			problem = "has a different number of fields than the header"
		}
		return &LoadError{Name: name, Line: parseErr.Line, Problem: problem}
	}
	return fmt.Errorf("read %s: %w", name, err)
}

func parseDate(v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func dateOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func textOrNil(v string) any {
	if v == "" {
		return nil
	}
	return v
}

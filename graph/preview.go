package graph

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/graph/model"
)

// A view preview shows the first rows of a draft spec exactly as the
// partner would read them, and stores nothing. In one transaction that is
// always rolled back, it
//
//  1. compiles the spec with axtract.view_compile, the compiler
//     axtract.view_define and request approval use, so a rejected spec
//     returns the messages approval would raise;
//  2. creates the view in the partner's schema under a random name, owned
//     by the partner's view owner and readable by the partner's role, as
//     view_define does;
//  3. switches to the partner's role with the extract's session settings
//     and selects the first rows from the view, so the consent policies,
//     column grants and transforms all apply;
//  4. rolls back, which drops the view and every other change.
//
// When the view owner lacks a grant on a column the spec reads, step 2
// calls axtract.view_define itself, which also grants the columns. Those
// grants rewrite the ACLs of mart tables, so such previews wait for each
// other until each rolls back. Previews over columns the partner's views
// already read do not, unless they add pseudonyms for members loaded since
// the partner's last run: those inserts wait for each other the same way.

func (r *Resolver) viewPreview(ctx context.Context, slug string, spec json.RawMessage, limit *int) (*model.ViewPreview, error) {
	n := 20
	if limit != nil {
		n = *limit
	}
	if n < 0 || n > maxPreviewRows {
		return nil, invalid("limit must be between 0 and %d, not %d", maxPreviewRows, n)
	}
	partnerID, err := r.partnerIDBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, r.opts.PreviewTimeout)
	defer cancel()
	// Each preview runs DDL and a query as the partner; a few at a time
	// finish sooner than many that compete for the same cores.
	select {
	case r.previews <- struct{}{}:
		defer func() { <-r.previews }()
	case <-ctx.Done():
		return nil, newError(CodeLimitExceeded, "too many previews are running; try again")
	}
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return nil, sqlError(err, "begin preview")
	}
	// The rollback is the point: nothing of the preview may persist.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	var compiled string
	var sources []string
	err = tx.QueryRow(ctx, `SELECT compiled_sql, source_columns FROM axtract.view_compile($1, $2)`,
		partnerID, []byte(spec)).Scan(&compiled, &sources)
	if err != nil {
		return rejectedPreview(err)
	}

	view, role, err := createPreviewView(ctx, tx, slug, partnerID, spec, compiled, sources)
	if err != nil {
		return rejectedPreview(err)
	}
	columns, err := previewColumns(ctx, tx, view)
	if err != nil {
		return nil, sqlError(err, "read preview columns")
	}

	// The same settings as the extract (internal/extract), so values print
	// as they would in a delivered file. Exec without arguments sends the
	// statements in one round trip.
	setup := strings.Join([]string{
		"SET LOCAL statement_timeout = " + strconv.FormatInt(r.opts.PreviewTimeout.Milliseconds(), 10),
		"SET LOCAL TimeZone = 'UTC'",
		"SET LOCAL DateStyle = 'ISO, YMD'",
		"SET LOCAL IntervalStyle = 'iso_8601'",
		"SET LOCAL extra_float_digits = 1",
		"SET LOCAL ROLE " + pgx.Identifier{role}.Sanitize(),
	}, "; ")
	if _, err := tx.Exec(ctx, setup); err != nil {
		return nil, sqlError(err, "prepare preview session")
	}

	// The simple protocol returns text, which is what COPY writes and what a
	// partner's client shows, and prepares no statement for a view name that
	// is new every time.
	rows, err := tx.Query(ctx, "SELECT * FROM "+view+" LIMIT "+strconv.Itoa(n+1), pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return rejectedPreview(err)
	}
	defer rows.Close()
	out := &model.ViewPreview{Valid: true, Validation: []*model.ValidationMessage{}, CompiledSQL: &compiled,
		Columns: columns, Rows: [][]*string{}}
	for rows.Next() {
		if len(out.Rows) == n {
			out.Truncated = true
			break
		}
		raw := rows.RawValues()
		row := make([]*string, len(raw))
		for i, v := range raw {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		out.Rows = append(out.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return rejectedPreview(err)
	}
	return out, nil
}

// createPreviewView creates the draft view in the partner's schema and
// returns its quoted name and the partner's role.
func createPreviewView(ctx context.Context, tx pgx.Tx, slug string, partnerID int64, spec json.RawMessage,
	compiled string, sources []string) (view, role string, err error) {
	var schema, owner string
	var granted, needsPseudonyms bool
	err = tx.QueryRow(ctx, `
		SELECT axtract.partner_schema($1), axtract.partner_owner_role($1), axtract.partner_role($1),
		       coalesce(bool_and(CASE WHEN c LIKE '%.*'
		                              THEN has_any_column_privilege(axtract.partner_owner_role($1),
		                                       split_part(c, '.', 1) || '.' || split_part(c, '.', 2), 'SELECT')
		                              ELSE has_column_privilege(axtract.partner_owner_role($1),
		                                       split_part(c, '.', 1) || '.' || split_part(c, '.', 2),
		                                       split_part(c, '.', 3), 'SELECT') END), true),
		       coalesce(bool_or(c IN ('axtract.member_pseudonym.*', 'axtract.member_date_shift.*')), false)
		FROM unnest($2::text[]) AS c`, slug, sources).Scan(&schema, &owner, &role, &granted, &needsPseudonyms)
	if err != nil {
		return "", "", err
	}

	name := "axtract_preview_" + randomSuffix()
	view = pgx.Identifier{schema, name}.Sanitize()
	if !granted {
		if _, err := tx.Exec(ctx, `SELECT axtract.view_define($1, $2, $3)`, slug, name, []byte(spec)); err != nil {
			return "", "", err
		}
		return view, role, nil
	}

	// compiled comes from view_compile, which quotes every identifier and
	// literal, as view_define relies on too.
	create := strings.Join([]string{
		"CREATE VIEW " + view + " WITH (security_barrier = true) AS " + compiled,
		"ALTER VIEW " + view + " OWNER TO " + pgx.Identifier{owner}.Sanitize(),
		"GRANT SELECT ON " + view + " TO " + pgx.Identifier{role}.Sanitize(),
	}, "; ")
	if _, err := tx.Exec(ctx, create); err != nil {
		return "", "", fmt.Errorf("create preview view: %w", err)
	}
	if needsPseudonyms {
		// Members loaded since the partner's last run have no pseudonym yet.
		if _, err := tx.Exec(ctx, `SELECT axtract.pseudonyms_refresh($1)`, partnerID); err != nil {
			return "", "", err
		}
	}
	return view, role, nil
}

func previewColumns(ctx context.Context, tx pgx.Tx, view string) ([]*model.PreviewColumn, error) {
	rows, err := tx.Query(ctx, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, view)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*model.PreviewColumn
	for rows.Next() {
		var c model.PreviewColumn
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			return nil, err
		}
		out = append(out, &c)
	}
	return out, rows.Err()
}

// rejectedPreview returns the validation message of a spec the compiler or
// the database rejected, or the error when it is not about the spec.
func rejectedPreview(err error) (*model.ViewPreview, error) {
	msg, ok := validationMessage(err)
	if !ok {
		return nil, sqlError(err, "preview view")
	}
	return &model.ViewPreview{Valid: false, Validation: []*model.ValidationMessage{msg},
		Columns: []*model.PreviewColumn{}, Rows: [][]*string{}}, nil
}

// validationMessage turns a rejection of a spec into a message with a code.
func validationMessage(err error) (*model.ValidationMessage, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return nil, false
	}
	mapped := sqlError(err, "compile view")
	var e *Error
	if !errors.As(mapped, &e) {
		return nil, false
	}
	code := e.Reason
	switch {
	case code != "":
	case e.Code == CodeNotFound:
		code = "NOT_FOUND"
	case e.Code == CodeValidation:
		code = "INVALID"
	case e.Code == CodeForbidden && pgErr.Code == "42501":
		// A permission the view owner lacks, such as a column a lapsed
		// exception no longer covers.
		code = "MINIMUM_NECESSARY"
	default:
		return nil, false
	}
	m := &model.ValidationMessage{Code: code, Message: e.Message}
	if e.Hint != "" {
		m.Hint = &e.Hint
	}
	return m, true
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

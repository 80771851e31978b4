package graph

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/graph/model"
)

// A view preview shows the first rows of a draft spec exactly as the
// partner would read them, and stores nothing. It
//
//  1. compiles the spec with axtract.view_compile, the compiler
//     axtract.view_define and request approval use, so a rejected spec
//     returns the messages approval would raise;
//  2. in one transaction that is always rolled back, switches to the
//     partner's view-owner role with the extract's session settings and
//     selects the first rows of the compiled query.
//
// A partner's view reads its tables with the privileges and consent
// policies of its owner. The compiled query calls only built-in functions,
// which behave the same for every role, so the rows are those the partner
// would read from the view, and no view is created. Step 2 goes to the
// database as one message, so a preview takes two round trips.
//
// When the view owner lacks a grant on a column the spec reads, step 2
// instead calls axtract.view_define, which also grants the columns, and
// reads the view it created as the partner's role. Those grants rewrite
// the ACLs of mart tables, so such previews wait for each other until each
// rolls back.
//
// A preview assigns no pseudonyms or date shifts: members loaded since the
// partner's last run show NULL there, as in the partner's own query of its
// views, until the next run assigns them theirs. Random values made up for
// the preview would differ from the ones the run then draws. The
// view_define path is the exception, because view_define assigns them; they
// are rolled back with the rest.

// previewPlan compiles a spec for partner slug, within the caller's scope
// (0 for staff). It returns whether the partner's view owner may read
// every source column.
const previewPlan = `
	SELECT v.compiled_sql, axtract.partner_schema(p.slug), axtract.partner_owner_role(p.slug),
	       axtract.partner_role(p.slug),
	       coalesce((SELECT bool_and(CASE WHEN c LIKE '%.*'
	                     THEN has_any_column_privilege(axtract.partner_owner_role(p.slug),
	                              split_part(c, '.', 1) || '.' || split_part(c, '.', 2), 'SELECT')
	                     ELSE has_column_privilege(axtract.partner_owner_role(p.slug),
	                              split_part(c, '.', 1) || '.' || split_part(c, '.', 2),
	                              split_part(c, '.', 3), 'SELECT') END)
	                 FROM unnest(v.source_columns) AS c), true)
	FROM axtract.partner p
	CROSS JOIN LATERAL axtract.view_compile(p.partner_id, $2) AS v
	WHERE p.slug = $1 AND ($3 = 0 OR p.partner_id = $3)`

func (r *Resolver) viewPreview(ctx context.Context, slug string, spec json.RawMessage, limit *int) (*model.ViewPreview, error) {
	n := defaultPreviewRows
	if limit != nil {
		n = *limit
	}
	if n < 0 || n > maxPreviewRows {
		return nil, invalid("limit must be between 0 and %d, not %d", maxPreviewRows, n)
	}
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, r.opts.PreviewTimeout)
	defer cancel()
	// A few previews at a time finish sooner than many that compete for
	// the same cores.
	select {
	case r.previews <- struct{}{}:
		defer func() { <-r.previews }()
	case <-ctx.Done():
		return nil, newError(CodeLimitExceeded, "too many previews are running; try again")
	}
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return nil, sqlError(err, "begin preview")
	}
	defer conn.Release()
	// The rollback is the point: nothing of the preview may persist. The
	// pool also closes a connection returned inside a transaction.
	defer func() {
		if conn.Conn().PgConn().TxStatus() != 'I' {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()

	var compiled, schema, owner, role string
	var granted bool
	err = conn.QueryRow(ctx, previewPlan, slug, []byte(spec), scope).Scan(&compiled, &schema, &owner, &role, &granted)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("partner %s not found", slug)
	}
	if err != nil {
		return rejectedPreview(err)
	}

	// The same settings as the extract (internal/extract), so values print
	// as they would in a delivered file.
	script := []string{
		"SET LOCAL statement_timeout = " + strconv.FormatInt(r.opts.PreviewTimeout.Milliseconds(), 10),
		"SET LOCAL TimeZone = 'UTC'",
		"SET LOCAL DateStyle = 'ISO, YMD'",
		"SET LOCAL IntervalStyle = 'iso_8601'",
		"SET LOCAL extra_float_digits = 1",
		// The first rows come sooner from one process, and the planner
		// skips the parallel plans it would otherwise cost and reject.
		"SET LOCAL max_parallel_workers_per_gather = 0",
	}
	limitRows := " LIMIT " + strconv.Itoa(n+1)
	out := &model.ViewPreview{Valid: true, Validation: []*model.ValidationMessage{}, CompiledSQL: &compiled,
		Rows: [][]*string{}}
	var fields []pgconn.FieldDescription
	if granted {
		// compiled comes from view_compile, which quotes every identifier
		// and literal, as view_define relies on too.
		fields, err = r.previewAsOwner(ctx, conn, script, owner, "SELECT * FROM ("+compiled+") AS preview"+limitRows, n, out)
	} else {
		name := "axtract_preview_" + randomSuffix()
		if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
			return nil, sqlError(err, "begin preview")
		}
		if _, err := conn.Exec(ctx, `SELECT axtract.view_define($1, $2, $3)`, slug, name, []byte(spec)); err != nil {
			return rejectedPreview(err)
		}
		script = append(script, "SET LOCAL ROLE "+pgx.Identifier{role}.Sanitize(),
			"SELECT * FROM "+pgx.Identifier{schema, name}.Sanitize()+limitRows, "ROLLBACK")
		fields, _, err = readPreviewRows(ctx, conn.Conn().PgConn(), script, len(script)-2, n, out)
	}
	if err != nil {
		return rejectedPreview(err)
	}
	if out.Columns, err = r.previewColumns(ctx, conn, fields); err != nil {
		return nil, sqlError(err, "read preview columns")
	}
	return out, nil
}

// previewAsOwner runs query, the compiled spec with its limit, as role
// owner after the session settings in settings, in a transaction that it
// rolls back, all in one message. The query runs as a prepared statement
// of the connection (previewplan.go), prepared in that message when the
// connection has none for it yet.
func (r *Resolver) previewAsOwner(ctx context.Context, conn *pgxpool.Conn, settings []string, owner, query string, n int,
	out *model.ViewPreview) ([]pgconn.FieldDescription, error) {
	pg := conn.Conn().PgConn()
	stmts := statementsOf(pg)
	name := previewStatementName(owner, query)
	for attempt := 0; ; attempt++ {
		var script []string
		prepared := stmts.has(name)
		if !prepared {
			// DEALLOCATE is not transactional, so it may come first.
			if old := stmts.evict(); old != "" {
				script = append(script, "DEALLOCATE "+pgx.Identifier{old}.Sanitize())
			}
		}
		script = append(script, "BEGIN")
		script = append(script, settings...)
		script = append(script, "SET LOCAL ROLE "+pgx.Identifier{owner}.Sanitize())
		prepareAt := -1
		if !prepared {
			prepareAt = len(script)
			script = append(script, "PREPARE "+pgx.Identifier{name}.Sanitize()+" AS "+query)
		}
		script = append(script, "EXECUTE "+pgx.Identifier{name}.Sanitize(), "ROLLBACK")

		fields, done, err := readPreviewRows(ctx, pg, script, len(script)-2, n, out)
		// PREPARE outlasts the rollback, and an error after it does not
		// undo it.
		if prepareAt >= 0 && done > prepareAt {
			stmts.add(name)
		}
		var pgErr *pgconn.PgError
		if err == nil || attempt > 0 || !errors.As(err, &pgErr) || pgErr.Code != "26000" {
			return fields, err
		}
		// The connection lost prepared statements that it was thought to
		// have, as after DISCARD ALL. Read them back and try once more.
		if pg.TxStatus() != 'I' {
			if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
				return nil, err
			}
		}
		if err := stmts.reload(ctx, conn); err != nil {
			return nil, err
		}
		out.Rows, out.Truncated = out.Rows[:0], false
	}
}

// readPreviewRows sends the statements of script as one message and reads
// at most n rows of statement selectAt into out, setting out.Truncated when
// there are more. It returns the columns of that statement's result and
// how many statements succeeded. The simple protocol returns text, which is
// what COPY writes and what a partner's client shows.
func readPreviewRows(ctx context.Context, conn *pgconn.PgConn, script []string, selectAt, n int,
	out *model.ViewPreview) ([]pgconn.FieldDescription, int, error) {
	var fields []pgconn.FieldDescription
	done := 0
	results := conn.Exec(ctx, strings.Join(script, "; "))
	for i := 0; results.NextResult(); i++ {
		rr := results.ResultReader()
		if i == selectAt {
			fields = slices.Clone(rr.FieldDescriptions())
			for rr.NextRow() {
				if len(out.Rows) == n {
					out.Truncated = true
					continue
				}
				raw := rr.Values()
				row := make([]*string, len(raw))
				for j, v := range raw {
					if v != nil {
						s := string(v)
						row[j] = &s
					}
				}
				out.Rows = append(out.Rows, row)
			}
		}
		if _, err := rr.Close(); err != nil {
			_ = results.Close()
			return nil, done, err
		}
		done++
	}
	return fields, done, results.Close()
}

// typeNames caches format_type of built-in types by OID and type modifier.
// Built-in types do not change, so only other types are looked up on
// every preview.
var typeNames sync.Map

type typeKey struct {
	oid uint32
	mod int32
}

// firstNormalOID is the first OID PostgreSQL gives objects that are not
// built in.
const firstNormalOID = 16384

// previewColumns returns the names of a preview's columns and their types
// as format_type prints them.
func (r *Resolver) previewColumns(ctx context.Context, conn *pgxpool.Conn, fields []pgconn.FieldDescription) ([]*model.PreviewColumn, error) {
	out := make([]*model.PreviewColumn, len(fields))
	var oids []uint32
	var mods []int32
	for i, f := range fields {
		out[i] = &model.PreviewColumn{Name: f.Name}
		if t, ok := typeNames.Load(typeKey{f.DataTypeOID, f.TypeModifier}); ok {
			out[i].Type = t.(string)
			continue
		}
		oids = append(oids, f.DataTypeOID)
		mods = append(mods, f.TypeModifier)
	}
	if len(oids) == 0 {
		return out, nil
	}
	rows, err := conn.Query(ctx, `SELECT t.o, t.m, format_type(t.o, t.m) FROM unnest($1::oid[], $2::integer[]) AS t(o, m)`, oids, mods)
	if err != nil {
		return nil, err
	}
	names := map[typeKey]string{}
	for rows.Next() {
		var k typeKey
		var name string
		if err := rows.Scan(&k.oid, &k.mod, &name); err != nil {
			return nil, err
		}
		names[k] = name
		if k.oid < firstNormalOID {
			typeNames.Store(k, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, f := range fields {
		if out[i].Type == "" {
			out[i].Type = names[typeKey{f.DataTypeOID, f.TypeModifier}]
		}
	}
	return out, nil
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

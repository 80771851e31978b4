package graph

import (
	"context"
	"encoding/json"

	"github.com/axtract/axtract/graph/model"
)

// Requests and approvals are the functions of sql/87_approval.sql: each
// mutation calls one with the signed-in login as the actor, and the SQL
// checks the actor's account, the request's state and the four-eyes rule.

func (r *Resolver) requestByID(ctx context.Context, id int64) (*model.Request, error) {
	return one(ctx, r, "read request", scanRequest,
		`SELECT `+requestColumns+` FROM axtract.request q WHERE q.request_id = $1`, id)
}

func (r *Resolver) mustRequest(ctx context.Context, id int64) (*model.Request, error) {
	q, err := r.requestByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if q == nil {
		return nil, notFound("request %d not found", id)
	}
	return q, nil
}

func (r *Resolver) requestsPage(ctx context.Context, statuses []model.RequestStatus, first *int, after *string) (*model.RequestConnection, error) {
	size, err := pageSize(first, 20)
	if err != nil {
		return nil, err
	}
	afterID, err := decodeIDCursor("request", after)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	rows, err := collect(ctx, r, "list requests", scanRequest,
		`SELECT `+requestColumns+` FROM axtract.request q
		 WHERE (cardinality($1::text[]) = 0 OR q.status = ANY ($1)) AND ($2 = 0 OR q.request_id < $2)
		 ORDER BY q.request_id DESC LIMIT $3`, names, afterID, size+1)
	if err != nil {
		return nil, err
	}
	rows, info := page(rows, size, after, func(q *model.Request) string { return encodeCursor("request", q.ID) })
	conn := &model.RequestConnection{PageInfo: info, Edges: make([]*model.RequestEdge, len(rows))}
	for i, q := range rows {
		conn.Edges[i] = &model.RequestEdge{Cursor: encodeCursor("request", q.ID), Node: q}
	}
	return conn, nil
}

func (r *Resolver) requestTemplates(ctx context.Context) ([]*model.RequestTemplate, error) {
	rows, err := r.pool.Query(ctx, `SELECT name, title, description, purpose_of_use, spec, feed_options, builtin
		FROM axtract.request_template ORDER BY name`)
	if err != nil {
		return nil, sqlError(err, "list request templates")
	}
	defer rows.Close()
	var out []*model.RequestTemplate
	for rows.Next() {
		var t model.RequestTemplate
		var spec, options []byte
		if err := rows.Scan(&t.Name, &t.Title, &t.Description, &t.PurposeOfUse, &spec, &options, &t.Builtin); err != nil {
			return nil, sqlError(err, "list request templates")
		}
		t.Spec, t.FeedOptions = spec, options
		out = append(out, &t)
	}
	return out, sqlError(rows.Err(), "list request templates")
}

// nullJSON passes an absent JSON argument to SQL as NULL.
func nullJSON(raw json.RawMessage) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return []byte(raw)
}

func (r *Resolver) createRequest(ctx context.Context, in model.RequestInput) (*model.Request, error) {
	var id int64
	err := r.pool.QueryRow(ctx, `SELECT axtract.request_create($1, $2, $3, $4, $5, $6, $7)`,
		in.Partner, string(in.Kind), in.ViewName, nullJSON(in.Spec), nullJSON(in.Feed), actor(ctx), in.Template).Scan(&id)
	if err != nil {
		return nil, sqlError(err, "create request")
	}
	return r.mustRequest(ctx, id)
}

func (r *Resolver) updateRequest(ctx context.Context, id int64, in model.RequestUpdateInput) (*model.Request, error) {
	var draft int64
	err := r.pool.QueryRow(ctx, `SELECT axtract.request_update($1, $2, $3, $4)`,
		id, nullJSON(in.Spec), nullJSON(in.Feed), actor(ctx)).Scan(&draft)
	if err != nil {
		return nil, sqlError(err, "update request")
	}
	return r.mustRequest(ctx, draft)
}

// requestStep runs a state change of request id, such as request_submit,
// and returns the request after it.
func (r *Resolver) requestStep(ctx context.Context, id int64, what, query string, args ...any) (*model.Request, error) {
	if _, err := r.pool.Exec(ctx, query, append([]any{id, actor(ctx)}, args...)...); err != nil {
		return nil, sqlError(err, what)
	}
	return r.mustRequest(ctx, id)
}

// requestReview returns axtract.request_review of q, which runs its checks
// in subtransactions and writes nothing.
func (r *Resolver) requestReview(ctx context.Context, q *model.Request) (json.RawMessage, error) {
	var review []byte
	if err := r.pool.QueryRow(ctx, `SELECT axtract.request_review($1)`, q.RequestID).Scan(&review); err != nil {
		return nil, sqlError(err, "review request")
	}
	return review, nil
}

// specValidation compiles spec for partnerID and returns why it fails, or
// an empty list.
func (r *Resolver) specValidation(ctx context.Context, partnerID int64, spec json.RawMessage) ([]*model.ValidationMessage, error) {
	_, err := r.pool.Exec(ctx, `SELECT FROM axtract.view_compile($1, $2)`, partnerID, []byte(spec))
	if err == nil {
		return []*model.ValidationMessage{}, nil
	}
	msg, ok := validationMessage(err)
	if !ok {
		return nil, sqlError(err, "compile view")
	}
	return []*model.ValidationMessage{msg}, nil
}

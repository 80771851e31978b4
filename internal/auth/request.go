package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrForbidden is returned, wrapped, when a principal may not take an
// action. Test for it with errors.Is.
var ErrForbidden = errors.New("forbidden")

// Require returns nil when p may take action, and otherwise an error that
// wraps ErrForbidden and names the role and the action.
func Require(p *Principal, action Action) error {
	if Can(p, action) {
		return nil
	}
	if p == nil {
		return fmt.Errorf("%w: sign in to %s", ErrForbidden, action)
	}
	return fmt.Errorf("%w: role %s may not %s", ErrForbidden, p.Role, action)
}

// Request kinds.
const (
	RequestKindView = "view"
	RequestKindFeed = "feed"
)

// RequestParams describes a new request. docs/approval.md has the rules.
type RequestParams struct {
	Partner string
	// Kind is RequestKindView or RequestKindFeed.
	Kind string
	View string
	// Spec is the view spec; nil takes the template's, or for a feed
	// request the live view's.
	Spec json.RawMessage
	// Feed is {"name", "destination", "options"} for a feed request.
	Feed json.RawMessage
	// Template names a row of axtract.request_template, or is empty.
	Template string
}

// CreateRequest creates a draft request for p and returns its id.
func CreateRequest(ctx context.Context, q Querier, p *Principal, r RequestParams) (int64, error) {
	if err := Require(p, ActionRequestDraft); err != nil {
		return 0, err
	}
	var id int64
	err := q.QueryRow(ctx, "SELECT axtract.request_create($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7)",
		r.Partner, r.Kind, r.View, rawOrNil(r.Spec), rawOrNil(r.Feed), p.Login, nullIfEmpty(r.Template)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create request for view %s of %s: %w", r.View, r.Partner, err)
	}
	return id, nil
}

// UpdateRequest edits request id; nil spec or feed keeps the request's.
// It returns the id of the draft that contains the edit, which is a new
// version when the request was approved or rejected.
func UpdateRequest(ctx context.Context, q Querier, p *Principal, id int64, spec, feed json.RawMessage) (int64, error) {
	if err := Require(p, ActionRequestDraft); err != nil {
		return 0, err
	}
	var draft int64
	err := q.QueryRow(ctx, "SELECT axtract.request_update($1, $2::jsonb, $3::jsonb, $4)", id, rawOrNil(spec), rawOrNil(feed), p.Login).Scan(&draft)
	if err != nil {
		return 0, fmt.Errorf("update request %d: %w", id, err)
	}
	return draft, nil
}

// SubmitRequest sends draft id for review.
func SubmitRequest(ctx context.Context, q Querier, p *Principal, id int64) error {
	return requestStep(ctx, q, p, ActionRequestDraft, "submit", "SELECT axtract.request_submit($1, $2)", id)
}

// ApproveRequest approves request id, which makes its view and feed live.
func ApproveRequest(ctx context.Context, q Querier, p *Principal, id int64, comment string) error {
	return requestStep(ctx, q, p, ActionRequestReview, "approve", "SELECT axtract.request_approve($1, $2, $3)", id, nullIfEmpty(comment))
}

// RejectRequest rejects request id with comment, the required reason.
func RejectRequest(ctx context.Context, q Querier, p *Principal, id int64, comment string) error {
	return requestStep(ctx, q, p, ActionRequestReview, "reject", "SELECT axtract.request_reject($1, $2, $3)", id, comment)
}

func requestStep(ctx context.Context, q Querier, p *Principal, action Action, verb, sql string, id int64, extra ...any) error {
	if err := Require(p, action); err != nil {
		return err
	}
	args := append([]any{id, p.Login}, extra...)
	if _, err := q.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("%s request %d: %w", verb, id, err)
	}
	return nil
}

// ReviewRequest returns what request id would disclose, as JSON; the keys
// are listed in docs/approval.md.
func ReviewRequest(ctx context.Context, q Querier, p *Principal, id int64) (json.RawMessage, error) {
	if err := Require(p, ActionRequestRead); err != nil {
		return nil, err
	}
	var review []byte
	if err := q.QueryRow(ctx, "SELECT axtract.request_review($1)", id).Scan(&review); err != nil {
		return nil, fmt.Errorf("review request %d: %w", id, err)
	}
	return review, nil
}

// Request is a row of axtract.request.
type Request struct {
	ID            int64
	Partner       string
	Kind          string
	View          string
	Version       int
	Status        string
	Spec          json.RawMessage
	Feed          json.RawMessage
	Template      string
	PreviousID    *int64
	CreatedBy     string
	CreatedAt     time.Time
	SubmittedBy   string
	SubmittedAt   *time.Time
	ReviewedBy    string
	ReviewedAt    *time.Time
	ReviewComment string
	ViewVersion   *int
}

// ListRequests returns the requests with status (all when empty), newest
// first.
func ListRequests(ctx context.Context, q Querier, p *Principal, status string) ([]Request, error) {
	if err := Require(p, ActionRequestRead); err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `
		SELECT r.request_id, p.slug, r.kind, r.view_name, r.version, r.status, r.spec, r.feed,
		       coalesce(r.template, ''), r.previous_id, r.created_by, r.created_at,
		       coalesce(r.submitted_by, ''), r.submitted_at, coalesce(r.reviewed_by, ''), r.reviewed_at,
		       coalesce(r.review_comment, ''), r.view_version
		FROM axtract.request r
		JOIN axtract.partner p ON p.partner_id = r.partner_id
		WHERE $1 = '' OR r.status = $1
		ORDER BY r.request_id DESC`, status)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	requests, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Request, error) {
		var r Request
		err := row.Scan(&r.ID, &r.Partner, &r.Kind, &r.View, &r.Version, &r.Status, &r.Spec, &r.Feed,
			&r.Template, &r.PreviousID, &r.CreatedBy, &r.CreatedAt,
			&r.SubmittedBy, &r.SubmittedAt, &r.ReviewedBy, &r.ReviewedAt, &r.ReviewComment, &r.ViewVersion)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return requests, nil
}

// rawOrNil passes empty JSON as SQL NULL.
func rawOrNil(raw json.RawMessage) *string {
	if len(raw) == 0 {
		return nil
	}
	s := string(raw)
	return &s
}

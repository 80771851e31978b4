package graph

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/axtract/axtract/graph/model"
)

func (r *Resolver) memberDisclosures(ctx context.Context, memberID string) ([]*model.Disclosure, error) {
	if !isUUID(memberID) {
		return nil, invalid("member id is not a UUID: give the member_id of mart.member")
	}
	rows, err := r.pool.Query(ctx, `SELECT run_id, disclosed_at, partner, purpose_of_use, feed, view_name, view_version, view_spec
		FROM axtract.disclosures_of_member($1::uuid)`, memberID)
	if err != nil {
		return nil, sqlError(err, "list disclosures of member")
	}
	defer rows.Close()
	out := []*model.Disclosure{}
	for rows.Next() {
		var d model.Disclosure
		var runID int64
		var spec []byte
		if err := rows.Scan(&runID, &d.DisclosedAt, &d.Partner, &d.PurposeOfUse, &d.Feed, &d.ViewName, &d.ViewVersion, &spec); err != nil {
			return nil, sqlError(err, "list disclosures of member")
		}
		d.RunID, d.ViewSpec = idString(runID), spec
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlError(err, "list disclosures of member")
	}
	if len(out) == 0 {
		// An id no member has had is NOT_FOUND, so a typo does not read as
		// a member whose data no run disclosed. Deleted members keep their
		// number.
		var known bool
		err := r.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM axtract.member_number WHERE member_id = $1::uuid)`, memberID).Scan(&known)
		if err != nil {
			return nil, sqlError(err, "look up member")
		}
		if !known {
			return nil, notFound("member %s not found: no member of the mart has had this id", memberID)
		}
	}
	return out, nil
}

// disclosure cursors hold disclosed_at (Unix microseconds) and run_id, the
// order axtract.disclosures_of_partner returns.
func disclosureCursor(d *model.Disclosure) string {
	return encodeCursor("disclosure", fmt.Sprintf("%d.%s", d.DisclosedAt.UnixMicro(), d.RunID))
}

func (r *Resolver) partnerDisclosures(ctx context.Context, slug string, from, to time.Time, first *int, after *string) (*model.DisclosureConnection, error) {
	size, err := pageSize(first, 50)
	if err != nil {
		return nil, err
	}
	if to.Before(from) {
		return nil, invalid("to %s is before from %s", to.Format(dateLayout), from.Format(dateLayout))
	}
	key, err := decodeCursor("disclosure", after)
	if err != nil {
		return nil, err
	}
	var afterAt time.Time
	var afterRun int64
	if key != "" {
		at, run, _ := strings.Cut(key, ".")
		micros, err1 := strconv.ParseInt(at, 10, 64)
		id, err2 := strconv.ParseInt(run, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, invalid("invalid cursor %q: pass the endCursor of the previous page", *after)
		}
		afterAt, afterRun = time.UnixMicro(micros), id
	}

	if _, err := r.partnerIDBySlug(ctx, slug); err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, `
		SELECT d.run_id, d.disclosed_at, d.purpose_of_use, d.feed, d.view_name, d.view_version, d.members
		FROM axtract.disclosures_of_partner($1, $2, $3) d
		WHERE $4 = 0 OR (d.disclosed_at, d.run_id) > ($5, $4)
		ORDER BY d.disclosed_at, d.run_id
		LIMIT $6`, slug, from, to, afterRun, afterAt, size+1)
	if err != nil {
		return nil, sqlError(err, "list disclosures of partner")
	}
	defer rows.Close()
	var list []*model.Disclosure
	for rows.Next() {
		d := model.Disclosure{Partner: slug}
		var runID, members int64
		if err := rows.Scan(&runID, &d.DisclosedAt, &d.PurposeOfUse, &d.Feed, &d.ViewName, &d.ViewVersion, &members); err != nil {
			return nil, sqlError(err, "list disclosures of partner")
		}
		d.RunID, d.Members = idString(runID), &members
		list = append(list, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlError(err, "list disclosures of partner")
	}

	list, info := page(list, size, after, disclosureCursor)
	conn := &model.DisclosureConnection{PageInfo: info, Edges: make([]*model.DisclosureEdge, len(list))}
	for i, d := range list {
		conn.Edges[i] = &model.DisclosureEdge{Cursor: disclosureCursor(d), Node: d}
	}
	return conn, nil
}

func (r *Resolver) auditPage(ctx context.Context, partner, feed, action *string, first *int, after *string) (*model.AuditEventConnection, error) {
	size, err := pageSize(first, 50)
	if err != nil {
		return nil, err
	}
	afterID, err := decodeIDCursor("audit", after)
	if err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, `
		SELECT e.event_id, e.at, e.actor, e.action, p.slug, f.name, e.run_id, e.detail
		FROM axtract.audit_event e
		LEFT JOIN axtract.partner p ON p.partner_id = e.partner_id
		LEFT JOIN axtract.feed f ON f.feed_id = e.feed_id
		WHERE ($1::text IS NULL OR p.slug = $1) AND ($2::text IS NULL OR f.name = $2)
		  AND ($3::text IS NULL OR e.action = $3) AND ($4 = 0 OR e.event_id < $4)
		ORDER BY e.event_id DESC
		LIMIT $5`, partner, feed, action, afterID, size+1)
	if err != nil {
		return nil, sqlError(err, "list audit events")
	}
	defer rows.Close()
	var list []*model.AuditEvent
	for rows.Next() {
		var e model.AuditEvent
		var id int64
		var runID *int64
		var detail []byte
		if err := rows.Scan(&id, &e.At, &e.Actor, &e.Action, &e.Partner, &e.Feed, &runID, &detail); err != nil {
			return nil, sqlError(err, "list audit events")
		}
		e.ID, e.Detail = idString(id), detail
		if runID != nil {
			s := idString(*runID)
			e.RunID = &s
		}
		list = append(list, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlError(err, "list audit events")
	}

	list, info := page(list, size, after, func(e *model.AuditEvent) string { return encodeCursor("audit", e.ID) })
	conn := &model.AuditEventConnection{PageInfo: info, Edges: make([]*model.AuditEventEdge, len(list))}
	for i, e := range list {
		conn.Edges[i] = &model.AuditEventEdge{Cursor: encodeCursor("audit", e.ID), Node: e}
	}
	return conn, nil
}

const dateLayout = "2006-01-02"

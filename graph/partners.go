package graph

import (
	"context"
	"strconv"

	"github.com/axtract/axtract/graph/model"
)

func (r *Resolver) partnersPage(ctx context.Context, first *int, after *string) (*model.PartnerConnection, error) {
	scope, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	size, err := pageSize(first, 20)
	if err != nil {
		return nil, err
	}
	key, err := decodeCursor("partner", after)
	if err != nil {
		return nil, err
	}
	rows, err := collect(ctx, r, "list partners", scanPartner,
		`SELECT `+partnerColumns+` FROM axtract.partner p
		 WHERE ($1 = 0 OR p.partner_id = $1) AND p.slug > $2
		 ORDER BY p.slug LIMIT $3`, scope, key, size+1)
	if err != nil {
		return nil, err
	}
	rows, info := page(rows, size, after, func(p *model.Partner) string { return encodeCursor("partner", p.Slug) })
	conn := &model.PartnerConnection{PageInfo: info, Edges: make([]*model.PartnerEdge, len(rows))}
	for i, p := range rows {
		conn.Edges[i] = &model.PartnerEdge{Cursor: encodeCursor("partner", p.Slug), Node: p}
	}
	return conn, nil
}

func (r *Resolver) dataUseAgreements(ctx context.Context, partnerID int64) ([]*model.DataUseAgreement, error) {
	rows, err := r.pool.Query(ctx, `
		SELECT a.dua_id, a.reference, a.signed_on, a.effective_from, a.effective_to, a.recorded_by, a.recorded_at,
		       a.revoked_at,
		       a.revoked_at IS NULL AND a.effective_from <= (now() AT TIME ZONE 'UTC')::date
		           AND (a.effective_to IS NULL OR a.effective_to >= (now() AT TIME ZONE 'UTC')::date)
		FROM axtract.data_use_agreement a
		WHERE a.partner_id = $1
		ORDER BY a.recorded_at DESC, a.dua_id DESC`, partnerID)
	if err != nil {
		return nil, sqlError(err, "list data use agreements")
	}
	defer rows.Close()
	var out []*model.DataUseAgreement
	for rows.Next() {
		var a model.DataUseAgreement
		var id int64
		if err := rows.Scan(&id, &a.Reference, &a.SignedOn, &a.EffectiveFrom, &a.EffectiveTo, &a.RecordedBy,
			&a.RecordedAt, &a.RevokedAt, &a.InForce); err != nil {
			return nil, sqlError(err, "list data use agreements")
		}
		a.ID = strconv.FormatInt(id, 10)
		out = append(out, &a)
	}
	return out, sqlError(rows.Err(), "list data use agreements")
}

func (r *Resolver) dataUseAgreementByID(ctx context.Context, id int64) (*model.DataUseAgreement, error) {
	var partnerID int64
	if err := r.pool.QueryRow(ctx, `SELECT partner_id FROM axtract.data_use_agreement WHERE dua_id = $1`, id).Scan(&partnerID); err != nil {
		return nil, sqlError(err, "read data use agreement")
	}
	all, err := r.dataUseAgreements(ctx, partnerID)
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		if a.ID == strconv.FormatInt(id, 10) {
			return a, nil
		}
	}
	return nil, notFound("data use agreement %d not found", id)
}

const exceptionColumns = `e.exception_id, e.dataset, e.column_name, e.approved_by, e.reason, e.approved_at, e.expires_at,
	e.revoked_at, e.revoked_at IS NULL AND e.expires_at > now()`

func scanException(row interface{ Scan(...any) error }) (*model.ColumnException, error) {
	var e model.ColumnException
	var id int64
	if err := row.Scan(&id, &e.Dataset, &e.Column, &e.ApprovedBy, &e.Reason, &e.ApprovedAt, &e.ExpiresAt,
		&e.RevokedAt, &e.InForce); err != nil {
		return nil, err
	}
	e.ID = strconv.FormatInt(id, 10)
	return &e, nil
}

func (r *Resolver) columnExceptions(ctx context.Context, partnerID int64, includeInactive bool) ([]*model.ColumnException, error) {
	rows, err := r.pool.Query(ctx, `SELECT `+exceptionColumns+` FROM axtract.column_exception e
		WHERE e.partner_id = $1 AND ($2 OR (e.revoked_at IS NULL AND e.expires_at > now()))
		ORDER BY e.approved_at DESC, e.exception_id DESC`, partnerID, includeInactive)
	if err != nil {
		return nil, sqlError(err, "list column exceptions")
	}
	defer rows.Close()
	var out []*model.ColumnException
	for rows.Next() {
		e, err := scanException(rows)
		if err != nil {
			return nil, sqlError(err, "list column exceptions")
		}
		out = append(out, e)
	}
	return out, sqlError(rows.Err(), "list column exceptions")
}

func (r *Resolver) columnExceptionByID(ctx context.Context, id int64) (*model.ColumnException, error) {
	e, err := scanException(r.pool.QueryRow(ctx, `SELECT `+exceptionColumns+` FROM axtract.column_exception e
		WHERE e.exception_id = $1`, id))
	if err != nil {
		return nil, sqlError(err, "read column exception")
	}
	return e, nil
}

func (r *Resolver) partnerLogins(ctx context.Context, partnerID int64) ([]*model.PartnerLogin, error) {
	rows, err := r.pool.Query(ctx, `
		SELECT l.login_id, l.login,
		       (SELECT lr.role_name FROM axtract.partner_login_role lr
		        WHERE lr.login_id = l.login_id AND lr.dropped_at IS NULL ORDER BY lr.generation DESC LIMIT 1),
		       l.connection_limit, l.valid_until, l.created_at, l.expired_at, l.revoked_at
		FROM axtract.partner_login l
		WHERE l.partner_id = $1
		ORDER BY l.login, l.login_id`, partnerID)
	if err != nil {
		return nil, sqlError(err, "list partner logins")
	}
	defer rows.Close()
	var out []*model.PartnerLogin
	for rows.Next() {
		var l model.PartnerLogin
		var id int64
		if err := rows.Scan(&id, &l.Login, &l.Role, &l.ConnectionLimit, &l.ValidUntil, &l.CreatedAt, &l.ExpiredAt, &l.RevokedAt); err != nil {
			return nil, sqlError(err, "list partner logins")
		}
		l.ID = strconv.FormatInt(id, 10)
		out = append(out, &l)
	}
	return out, sqlError(rows.Err(), "list partner logins")
}

func (r *Resolver) partnerKeys(ctx context.Context, partnerID int64) ([]*model.PartnerKey, error) {
	rows, err := r.pool.Query(ctx, `SELECT fingerprint, created_at FROM axtract.partner_key
		WHERE partner_id = $1 ORDER BY created_at DESC, fingerprint`, partnerID)
	if err != nil {
		return nil, sqlError(err, "list partner keys")
	}
	defer rows.Close()
	var out []*model.PartnerKey
	for rows.Next() {
		var k model.PartnerKey
		if err := rows.Scan(&k.Fingerprint, &k.CreatedAt); err != nil {
			return nil, sqlError(err, "list partner keys")
		}
		out = append(out, &k)
	}
	return out, sqlError(rows.Err(), "list partner keys")
}

func (r *Resolver) consentSummary(ctx context.Context, p *model.Partner) (*model.ConsentSummary, error) {
	var s model.ConsentSummary
	err := r.pool.QueryRow(ctx, `
		WITH today AS (SELECT (now() AT TIME ZONE 'UTC')::date AS d),
		c AS (
		    SELECT c.kind, c.partner_id,
		           c.revoked_at IS NULL AND c.effective_from <= today.d
		               AND (c.effective_to IS NULL OR c.effective_to >= today.d) AS in_force,
		           c.revoked_at IS NULL AND c.effective_from > today.d AS scheduled
		    FROM axtract.consent c, today
		    WHERE c.partner_id = $1 OR c.purpose_of_use = $2
		)
		SELECT count(*) FILTER (WHERE in_force AND partner_id IS NOT NULL AND kind = 'grant'),
		       count(*) FILTER (WHERE in_force AND partner_id IS NOT NULL AND kind = 'deny'),
		       count(*) FILTER (WHERE in_force AND partner_id IS NULL),
		       count(*) FILTER (WHERE scheduled),
		       count(*) FILTER (WHERE NOT in_force AND NOT scheduled)
		FROM c`, p.PartnerID, string(p.PurposeOfUse)).Scan(&s.GrantsInForce, &s.DenialsInForce, &s.PurposeDecisionsInForce,
		&s.Scheduled, &s.Inactive)
	if err != nil {
		return nil, sqlError(err, "summarize consents")
	}
	return &s, nil
}

func (r *Resolver) consentsPage(ctx context.Context, p *model.Partner, first *int, after *string) (*model.ConsentConnection, error) {
	size, err := pageSize(first, 20)
	if err != nil {
		return nil, err
	}
	afterID, err := decodeIDCursor("consent", after)
	if err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, `
		SELECT c.consent_id, c.member_id::text, c.kind, pp.slug, c.purpose_of_use, c.category, c.effective_from,
		       c.effective_to, c.revoked_at, c.source, c.recorded_at
		FROM axtract.consent c
		LEFT JOIN axtract.partner pp ON pp.partner_id = c.partner_id
		WHERE (c.partner_id = $1 OR c.purpose_of_use = $2) AND ($3 = 0 OR c.consent_id < $3)
		ORDER BY c.consent_id DESC
		LIMIT $4`, p.PartnerID, string(p.PurposeOfUse), afterID, size+1)
	if err != nil {
		return nil, sqlError(err, "list consents")
	}
	defer rows.Close()
	var list []*model.Consent
	for rows.Next() {
		var c model.Consent
		var id int64
		if err := rows.Scan(&id, &c.MemberID, &c.Kind, &c.Partner, &c.PurposeOfUse, &c.Category, &c.EffectiveFrom,
			&c.EffectiveTo, &c.RevokedAt, &c.Source, &c.RecordedAt); err != nil {
			return nil, sqlError(err, "list consents")
		}
		c.ID = strconv.FormatInt(id, 10)
		list = append(list, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlError(err, "list consents")
	}

	list, info := page(list, size, after, func(c *model.Consent) string { return encodeCursor("consent", c.ID) })
	conn := &model.ConsentConnection{PageInfo: info, Edges: make([]*model.ConsentEdge, len(list))}
	for i, c := range list {
		conn.Edges[i] = &model.ConsentEdge{Cursor: encodeCursor("consent", c.ID), Node: c}
	}
	return conn, nil
}

func (r *Resolver) destinations(ctx context.Context, partnerID int64) ([]*model.Destination, error) {
	return collect(ctx, r, "list destinations", scanDestination,
		`SELECT `+destinationColumns+` FROM axtract.destination d WHERE d.partner_id = $1 ORDER BY d.name`, partnerID)
}

func (r *Resolver) views(ctx context.Context, partnerID int64) ([]*model.View, error) {
	return collect(ctx, r, "list views", scanView,
		`SELECT `+viewColumns+` FROM axtract.partner_view v WHERE v.partner_id = $1 ORDER BY v.name`, partnerID)
}

func (r *Resolver) viewByName(ctx context.Context, partnerID int64, name string) (*model.View, error) {
	return one(ctx, r, "read view", scanView,
		`SELECT `+viewColumns+` FROM axtract.partner_view v WHERE v.partner_id = $1 AND v.name = $2`, partnerID, name)
}

package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is the part of a pool, connection or transaction that the read
// functions of this package use.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ErrReadOnly is returned by RecordDisclosures when the transaction is
// read-only, because the record is written in the extract's transaction.
var ErrReadOnly = errors.New("the extract transaction is read-only")

// Window is the watermark window of an incremental run: the rows whose
// Column value is after From (from the first row when From is nil) and at
// most To. Values are text of the column's type. A window with To nil, or
// with From equal to To, holds no rows.
type Window struct {
	Column string  `json:"column"`
	From   *string `json:"from"`
	To     *string `json:"to"`
}

// RecordDisclosures records which members run runID disclosed through view
// viewName of partner partnerSlug, and returns how many.
//
// tx must be the run's extract transaction, called right after the COPY, so
// that the record is read from the same REPEATABLE READ snapshot as the
// file, and commits or rolls back with the delivery. The transaction may be
// running as the partner's identity role (SET LOCAL ROLE), which cannot see
// member ids. So RecordDisclosures switches back to the session's login
// role, reads the view's member-id view, and then restores the role it
// found. The partner's consent policies filter the member-id view exactly
// as they filter the partner view. The login role must be the one that
// defined the view, as the AxTract service role is.
//
// The transaction must be READ WRITE; a read-only one fails with
// ErrReadOnly before anything is read. A run that reads several views
// records each; recording a run's view again replaces that view's record.
func RecordDisclosures(ctx context.Context, tx pgx.Tx, runID int64, partnerSlug, viewName string) (int64, error) {
	return record(ctx, tx, runID, partnerSlug, viewName, nil)
}

// RecordWindowDisclosures is RecordDisclosures for an incremental run that
// copied only the rows of window w.
func RecordWindowDisclosures(ctx context.Context, tx pgx.Tx, runID int64, partnerSlug, viewName string, w Window) (int64, error) {
	return record(ctx, tx, runID, partnerSlug, viewName, &w)
}

// RecordDisclosureKeys records which members run runID disclosed through
// view viewName of partner partnerSlug from the member keys that the
// extract read from the rows it delivered. keys are the distinct values of
// the view's member key column, and kind is member_id or pseudonym, as
// axtract.view_member_key returns them. A key that names no member fails
// the call, and the transaction must then roll back. tx is the run's
// extract transaction, as for RecordDisclosures.
func RecordDisclosureKeys(ctx context.Context, tx pgx.Tx, runID int64, partnerSlug, viewName, kind string, keys [][16]byte) (int64, error) {
	n, err := asLoginRole(ctx, tx, func() (int64, error) {
		var n int64
		err := tx.QueryRow(ctx, "SELECT axtract.disclosure_record_keys($1, $2, $3, $4, $5::uuid[])",
			runID, partnerSlug, viewName, kind, keys).Scan(&n)
		return n, err
	})
	if err != nil {
		return 0, fmt.Errorf("record disclosures of run %d (view %s.%s): %w", runID, partnerSlug, viewName, err)
	}
	return n, nil
}

func record(ctx context.Context, tx pgx.Tx, runID int64, partnerSlug, viewName string, w *Window) (int64, error) {
	n, err := recordAs(ctx, tx, runID, partnerSlug, viewName, w)
	if err != nil {
		return 0, fmt.Errorf("record disclosures of run %d (view %s.%s): %w", runID, partnerSlug, viewName, err)
	}
	return n, nil
}

func recordAs(ctx context.Context, tx pgx.Tx, runID int64, partnerSlug, viewName string, w *Window) (int64, error) {
	var window []byte
	if w != nil {
		var err error
		if window, err = json.Marshal(w); err != nil {
			return 0, err
		}
	}
	return asLoginRole(ctx, tx, func() (int64, error) {
		var n int64
		err := tx.QueryRow(ctx, "SELECT axtract.disclosure_record($1, $2, $3, $4::jsonb)", runID, partnerSlug, viewName, window).Scan(&n)
		return n, err
	})
}

// asLoginRole runs record in tx as the session's login role and then
// restores the role tx had, which may be a partner's (SET LOCAL ROLE). It
// fails with ErrReadOnly when tx is read-only.
func asLoginRole(ctx context.Context, tx pgx.Tx, record func() (int64, error)) (int64, error) {
	var readOnly, role string
	err := tx.QueryRow(ctx, "SELECT current_setting('transaction_read_only'), current_user").Scan(&readOnly, &role)
	if err != nil {
		return 0, err
	}
	if readOnly == "on" {
		return 0, fmt.Errorf("%w; begin it READ WRITE (the partner role has no write privilege, so its COPY still cannot write)", ErrReadOnly)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE NONE"); err != nil {
		return 0, fmt.Errorf("reset role: %w", err)
	}
	n, err := record()
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		return 0, fmt.Errorf("restore role %s: %w", role, err)
	}
	return n, nil
}

// MemberDisclosure is one run that disclosed a member's data.
type MemberDisclosure struct {
	RunID       int64
	DisclosedAt time.Time
	Partner     string
	PartnerName string // empty when the partner no longer exists
	Purpose     string
	Feed        string // empty when the feed no longer exists
	View        string
	ViewVersion int32
	ViewSpec    json.RawMessage
}

// ErrNotFound is returned, wrapped, by MemberDisclosures for a member id
// that no member has had, and by PartnerDisclosures for a slug that names
// no partner and no recorded disclosure.
var ErrNotFound = errors.New("not found")

// MemberDisclosures returns every recorded run that disclosed member
// memberID's data, oldest first. A member of the mart, or one deleted from
// it after a disclosure, has an empty list when nothing disclosed it.
func MemberDisclosures(ctx context.Context, q Querier, memberID string) ([]MemberDisclosure, error) {
	rows, err := q.Query(ctx, `
		SELECT run_id, disclosed_at, partner, coalesce(partner_name, ''), purpose_of_use, coalesce(feed, ''),
		       view_name, view_version, coalesce(view_spec, 'null')
		FROM axtract.disclosures_of_member($1::uuid)`, memberID)
	if err != nil {
		return nil, fmt.Errorf("list disclosures of member: %w", MemberIDError(err, memberID))
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (MemberDisclosure, error) {
		var d MemberDisclosure
		err := row.Scan(&d.RunID, &d.DisclosedAt, &d.Partner, &d.PartnerName, &d.Purpose, &d.Feed, &d.View, &d.ViewVersion, &d.ViewSpec)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list disclosures of member: %w", MemberIDError(err, memberID))
	}
	if len(list) == 0 {
		// Members get a number when they are loaded, and keep it when
		// they are deleted.
		var known bool
		err := q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM axtract.member_number WHERE member_id = $1::uuid)`, memberID).Scan(&known)
		if err != nil {
			return nil, fmt.Errorf("look up member: %w", err)
		}
		if !known {
			return nil, fmt.Errorf("member %s %w: no member of the mart has had this id; check it against mart.member.member_id", memberID, ErrNotFound)
		}
	}
	return list, nil
}

// PartnerDisclosure is one run's disclosure to a partner.
type PartnerDisclosure struct {
	RunID       int64
	DisclosedAt time.Time
	Purpose     string
	Feed        string // empty when the feed no longer exists
	View        string
	ViewVersion int32
	Members     int64
}

// PartnerDisclosures returns the disclosures to partner slug from UTC date
// from through UTC date to, oldest first.
func PartnerDisclosures(ctx context.Context, q Querier, slug string, from, to time.Time) ([]PartnerDisclosure, error) {
	rows, err := q.Query(ctx, `
		SELECT run_id, disclosed_at, purpose_of_use, coalesce(feed, ''), view_name, view_version, members
		FROM axtract.disclosures_of_partner($1, $2::date, $3::date)`,
		slug, from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("list disclosures to %s: %w", slug, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PartnerDisclosure, error) {
		var d PartnerDisclosure
		err := row.Scan(&d.RunID, &d.DisclosedAt, &d.Purpose, &d.Feed, &d.View, &d.ViewVersion, &d.Members)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list disclosures to %s: %w", slug, err)
	}
	if len(list) == 0 {
		// A deleted partner's disclosures keep its slug.
		var known bool
		err := q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM axtract.partner WHERE slug = $1)
			OR EXISTS (SELECT FROM axtract.disclosure WHERE partner_slug = $1)`, slug).Scan(&known)
		if err != nil {
			return nil, fmt.Errorf("look up partner %s: %w", slug, err)
		}
		if !known {
			return nil, fmt.Errorf("partner %s %w: no partner has this slug and no disclosure names it; axtract partner list shows the partners", slug, ErrNotFound)
		}
	}
	return list, nil
}

// MemberIDError returns err, or in its place an error that names memberID
// and the expected form when PostgreSQL rejected memberID as a UUID, the
// type of mart.member.member_id.
func MemberIDError(err error, memberID string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "22P02" && strings.Contains(pgErr.Message, "type uuid") {
		return fmt.Errorf("member id %q is not a UUID: give the member's mart.member.member_id, such as 0b6c3f1e-2d4a-4c8b-9e7f-1a2b3c4d5e6f", memberID)
	}
	return err
}

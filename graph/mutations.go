package graph

import (
	"context"
	"encoding/json"
	"time"

	"github.com/axtract/axtract/graph/model"
	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/pipeline"
)

// Every mutation here is one call of a control-schema function, so the
// portal enforces exactly what a DBA in psql gets. The functions write
// their own audit events. Their actor column holds the database user, so
// the portal login goes into the function's arguments where it takes one.

func dateArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(dateLayout)
}

func (r *Resolver) recordConsent(ctx context.Context, fn string, in model.ConsentInput) (string, error) {
	if !isUUID(in.MemberID) {
		return "", invalid("member id is not a UUID: give the member_id of mart.member")
	}
	if fn == "consent_grant" && in.From == nil {
		return "", invalid("from is required for a grant: give the first day (UTC) the consent is in force")
	}
	source := "portal"
	if in.Source != nil && *in.Source != "" {
		source = *in.Source
	}
	var id int64
	err := r.pool.QueryRow(ctx, `SELECT axtract.`+fn+`($1, $2::uuid, $3::date, $4::date, $5, $6)`,
		in.Partner, in.MemberID, dateArg(in.From), dateArg(in.To), source, in.Category).Scan(&id)
	if err != nil {
		return "", sqlError(err, "record consent")
	}
	return idString(id), nil
}

func (r *Resolver) revokeConsent(ctx context.Context, partner, memberID string, category *string) (int, error) {
	if !isUUID(memberID) {
		return 0, invalid("member id is not a UUID: give the member_id of mart.member")
	}
	var n int
	err := r.pool.QueryRow(ctx, `SELECT axtract.consent_revoke($1, $2::uuid, $3)`, partner, memberID, category).Scan(&n)
	return n, sqlError(err, "revoke consent")
}

func (r *Resolver) setConsentDefault(ctx context.Context, partner string, def model.ConsentDefault) (*model.Partner, error) {
	if _, err := r.pool.Exec(ctx, `SELECT axtract.partner_consent_default_set($1, $2)`, partner, string(def)); err != nil {
		return nil, sqlError(err, "set consent default")
	}
	return r.partnerBySlug(ctx, partner)
}

func (r *Resolver) addColumnException(ctx context.Context, in model.ColumnExceptionInput) (*model.ColumnException, error) {
	var id int64
	err := r.pool.QueryRow(ctx, `SELECT axtract.column_exception_add($1, $2, $3, $4, $5, $6)`,
		in.Partner, in.Dataset, in.Column, actor(ctx), in.Reason, in.ExpiresAt).Scan(&id)
	if err != nil {
		return nil, sqlError(err, "add column exception")
	}
	return r.columnExceptionByID(ctx, id)
}

func (r *Resolver) revokeColumnException(ctx context.Context, id int64) (*model.ColumnException, error) {
	if _, err := r.pool.Exec(ctx, `SELECT axtract.column_exception_revoke($1)`, id); err != nil {
		return nil, sqlError(err, "revoke column exception")
	}
	return r.columnExceptionByID(ctx, id)
}

func (r *Resolver) recordDUA(ctx context.Context, in model.DataUseAgreementInput) (*model.DataUseAgreement, error) {
	var id int64
	err := r.pool.QueryRow(ctx, `SELECT axtract.dua_record($1, $2, $3::date, $4::date, $5::date)`,
		in.Partner, in.Reference, in.SignedOn.Format(dateLayout), in.EffectiveFrom.Format(dateLayout),
		dateArg(in.EffectiveTo)).Scan(&id)
	if err != nil {
		return nil, sqlError(err, "record data use agreement")
	}
	return r.dataUseAgreementByID(ctx, id)
}

func (r *Resolver) revokeDUA(ctx context.Context, id int64) (*model.DataUseAgreement, error) {
	if _, err := r.pool.Exec(ctx, `SELECT axtract.dua_revoke($1)`, id); err != nil {
		return nil, sqlError(err, "revoke data use agreement")
	}
	return r.dataUseAgreementByID(ctx, id)
}

// Run control.

func (r *Resolver) retryRun(ctx context.Context, id int64) (*model.Run, error) {
	if _, err := r.pool.Exec(ctx, `SELECT axtract.run_retry($1)`, id); err != nil {
		return nil, sqlError(err, "retry run")
	}
	return r.runByID(ctx, id)
}

func (r *Resolver) rerunRun(ctx context.Context, id int64) (*model.Run, error) {
	var newID int64
	if err := r.pool.QueryRow(ctx, `SELECT axtract.run_rerun($1)`, id).Scan(&newID); err != nil {
		return nil, sqlError(err, "re-run run")
	}
	return r.runByID(ctx, newID)
}

func (r *Resolver) pauseFeed(ctx context.Context, name string, pause bool, skipMissed bool) (*model.Feed, error) {
	var err error
	if pause {
		_, err = r.pool.Exec(ctx, `SELECT axtract.feed_pause($1)`, name)
	} else {
		_, err = r.pool.Exec(ctx, `SELECT axtract.feed_resume($1, $2)`, name, skipMissed)
	}
	if err != nil {
		return nil, sqlError(err, "pause or resume feed")
	}
	return r.feedByName(ctx, name)
}

// runFeedNow creates a manual run at the current instant and its River job
// in one statement (axtract.runs_create), so no worker client is needed.
func (r *Resolver) runFeedNow(ctx context.Context, name string) (*model.Run, error) {
	f, err := r.feedByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, notFound("feed %s not found", name)
	}
	var ids []int64
	err = r.pool.QueryRow(ctx, `SELECT axtract.runs_create(ARRAY[$1::bigint], ARRAY[clock_timestamp()], 'manual')`,
		f.FeedID).Scan(&ids)
	if err != nil {
		return nil, sqlError(err, "run feed "+name)
	}
	if len(ids) == 0 {
		return nil, newError(CodeConflict, "feed %s already has a run at this instant; try again", name)
	}
	return r.runByID(ctx, ids[0])
}

func (r *Resolver) backfillFeed(ctx context.Context, name string, from, to time.Time) (int, error) {
	var n int
	err := r.pool.QueryRow(ctx, `SELECT axtract.feed_backfill($1, $2::date, $3::date)`,
		name, from.Format(dateLayout), to.Format(dateLayout)).Scan(&n)
	return n, sqlError(err, "backfill feed "+name)
}

// Administration.

func (r *Resolver) createPartner(ctx context.Context, in model.PartnerInput) (*model.Partner, error) {
	if _, err := r.pool.Exec(ctx, `SELECT axtract.partner_create($1, $2, $3, $4)`,
		in.Slug, in.Name, string(in.PurposeOfUse), in.ContactEmail); err != nil {
		return nil, sqlError(err, "create partner")
	}
	return r.partnerBySlug(ctx, in.Slug)
}

func (r *Resolver) addPartnerKey(ctx context.Context, partner, armored string) (*model.PartnerKey, error) {
	recipient, err := pipeline.ParseRecipient(armored, time.Now())
	if err != nil {
		return nil, invalid("OpenPGP key rejected: %v", err)
	}
	if _, err := r.pool.Exec(ctx, `SELECT axtract.partner_key_add($1, $2, $3)`, partner, recipient.Fingerprint(), armored); err != nil {
		return nil, sqlError(err, "add partner key")
	}
	var key model.PartnerKey
	err = r.pool.QueryRow(ctx, `
		SELECT k.fingerprint, k.created_at FROM axtract.partner_key k JOIN axtract.partner p USING (partner_id)
		WHERE p.slug = $1 AND k.fingerprint = upper($2)`, partner, recipient.Fingerprint()).Scan(&key.Fingerprint, &key.CreatedAt)
	if err != nil {
		return nil, sqlError(err, "read partner key")
	}
	return &key, nil
}

func (r *Resolver) revokePartnerLogin(ctx context.Context, partner, login string) (int, error) {
	var n int
	err := r.pool.QueryRow(ctx, `SELECT axtract.partner_login_revoke($1, $2)`, partner, login).Scan(&n)
	return n, sqlError(err, "revoke partner login")
}

func (r *Resolver) defineDestination(ctx context.Context, in model.DestinationInput) (*model.Destination, error) {
	// Files the config names may live on the workers' machines, so only
	// what fails every run is an error here.
	if _, err := extract.CheckDestination(string(in.Kind), []byte(in.Config)); err != nil {
		return nil, invalid("%v", err)
	}
	var id int64
	err := r.pool.QueryRow(ctx, `SELECT axtract.destination_define($1, $2, $3, $4)`,
		in.Partner, in.Name, string(in.Kind), []byte(in.Config)).Scan(&id)
	if err != nil {
		return nil, sqlError(err, "define destination")
	}
	return r.destinationByID(ctx, id)
}

func (r *Resolver) defineView(ctx context.Context, partner, name string, spec json.RawMessage) (*model.View, error) {
	if _, err := r.pool.Exec(ctx, `SELECT axtract.view_define($1, $2, $3)`, partner, name, []byte(spec)); err != nil {
		return nil, sqlError(err, "define view")
	}
	partnerID, err := r.partnerIDBySlug(ctx, partner)
	if err != nil {
		return nil, err
	}
	return r.viewByName(ctx, partnerID, name)
}

func (r *Resolver) defineFeed(ctx context.Context, in model.FeedInput) (*model.Feed, error) {
	options := []byte(in.Options)
	if len(options) == 0 || string(options) == "null" {
		options = []byte("{}")
	}
	var id int64
	err := r.pool.QueryRow(ctx, `SELECT axtract.feed_define($1, $2, $3, $4, $5)`,
		in.Name, in.Partner, in.View, in.Destination, options).Scan(&id)
	if err != nil {
		return nil, sqlError(err, "define feed")
	}
	return r.feedByID(ctx, id)
}

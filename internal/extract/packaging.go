package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/formats"
	"github.com/axtract/axtract/internal/pipeline"
	"github.com/axtract/axtract/internal/store"
)

// SigningKeyFileEnv names the environment variable with the path of the
// instance's OpenPGP signing key, used when Runner.SigningKeyFile is empty.
const SigningKeyFileEnv = "AXTRACT_SIGNING_KEY_FILE"

// numberedFormats are the feed formats whose files carry a control number
// (format.Info.ControlNumber): the ISA13 of an X12 interchange, or a value
// of a fixed-width header or trailer. Runs of other formats take none, so
// a partner's X12 numbers have no gaps from its other feeds.
var numberedFormats = map[string]bool{"x12-834": true, "fixed": true}

// format builds the feed's format. An invalid configuration is a permanent
// failure: the feed must be defined again.
func (r *Runner) format(feed store.FeedByIDRow) (format.Format, error) {
	newFormat := r.NewFormat
	if newFormat == nil {
		newFormat = formats.New
	}
	form, err := newFormat(feed.Format, feed.FormatOptions)
	if err != nil {
		return nil, permanent(fmt.Errorf("format %s of feed %s with options %s: %w; define the feed again with valid format options",
			feed.Format, feed.Name, formatOptions(feed.FormatOptions), err))
	}
	return form, nil
}

// packaging returns the compression and OpenPGP layers of the feed's files
// and adds key expiry warnings to res.
func (r *Runner) packaging(ctx context.Context, q *store.Queries, feed store.FeedByIDRow, res *Result, logger *slog.Logger) (pipeline.Config, error) {
	now := r.now()
	cfg := pipeline.Config{Compression: feed.Compression, Now: now}
	if feed.Encrypt {
		recipient, warning, err := r.recipient(ctx, q, feed.PartnerID, feed.PartnerSlug)
		if err != nil {
			return cfg, err
		}
		if warning != "" {
			logger.Warn("partner key expires soon", "partner", feed.PartnerSlug, "warning", warning)
			res.Warnings = append(res.Warnings, warning)
		}
		cfg.Recipient = recipient
	}
	if feed.Sign {
		if !feed.Encrypt {
			return cfg, permanent(fmt.Errorf("feed %s signs its files but does not encrypt them; define it again with encrypt true or sign false", feed.Name))
		}
		signer, err := r.signer(now)
		if err != nil {
			return cfg, err
		}
		if soon, at := signer.ExpiresSoon(now); soon {
			warning := fmt.Sprintf("signing key %s expires on %s", signer.Fingerprint(), at.Format(time.DateOnly))
			logger.Warn("signing key expires soon", "warning", warning)
			res.Warnings = append(res.Warnings, warning)
		}
		cfg.Signer = signer
	}
	// Each data file names its own zip entry later, in newPlan.
	check := cfg
	if check.Compression == pipeline.CompressionZip {
		check.ZipEntry = feed.Name
	}
	if err := check.Validate(); err != nil {
		return cfg, permanent(fmt.Errorf("packaging of feed %s: %w", feed.Name, err))
	}
	return cfg, nil
}

func (r *Runner) recipient(ctx context.Context, q *store.Queries, partnerID int64, slug string) (*pipeline.Recipient, string, error) {
	key, err := q.PartnerKeyNewest(ctx, partnerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", permanent(fmt.Errorf("partner %s has no OpenPGP key; add one with axtract partner key add %s FILE, or set the feed's encrypt option to false", slug, slug))
	}
	if err != nil {
		return nil, "", fmt.Errorf("load key of partner %s: %w", slug, err)
	}
	now := r.now()
	recipient, err := pipeline.ParseRecipient(key.Armored, now)
	if err != nil {
		return nil, "", permanent(fmt.Errorf("key %s of partner %s: %w", key.Fingerprint, slug, err))
	}
	warning := ""
	if soon, at := recipient.ExpiresSoon(now); soon {
		warning = fmt.Sprintf("key %s of partner %s expires on %s", key.Fingerprint, slug, at.Format(time.DateOnly))
	}
	return recipient, warning, nil
}

// signer loads the instance's signing key. A missing, unreadable or
// unusable key is permanent, because no retry finds a better one until an
// operator acts.
func (r *Runner) signer(now time.Time) (*pipeline.Signer, error) {
	path := r.SigningKeyFile
	if path == "" {
		path = os.Getenv(SigningKeyFileEnv)
	}
	if path == "" {
		return nil, permanent(fmt.Errorf("no OpenPGP signing key is configured; set %s to the path of an armored private key, or define the feed with sign false",
			SigningKeyFileEnv))
	}
	signer, err := pipeline.LoadSigner(path, now)
	if err != nil {
		return nil, permanent(err)
	}
	return signer, nil
}

// controlNumber returns the run's X12 interchange control number. The
// first attempt takes the partner's next number in a statement of its own,
// as the worker's role and outside the snapshot, so the counter's row is
// locked only for that statement. Retries reuse the number, so a partner
// that received a file from an attempt whose recording failed receives
// the same interchange again and can discard it as a duplicate.
func controlNumber(ctx context.Context, q *store.Queries, run store.AxtractRun, slug string) (int64, error) {
	if run.ControlNumber != nil {
		return *run.ControlNumber, nil
	}
	n, err := q.RunControlNumberTake(ctx, run.RunID)
	if errors.Is(err, pgx.ErrNoRows) {
		// Another attempt took one since the run was read.
		again, err := q.RunGet(ctx, run.RunID)
		if err != nil || again.ControlNumber == nil {
			return 0, fmt.Errorf("read control number of run %d: %w", run.RunID, err)
		}
		return *again.ControlNumber, nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23514" {
		return 0, permanent(fmt.Errorf("partner %s has used every interchange control number up to 999999999; "+
			"agree a restart with the partner and reset axtract.partner_control_number", slug))
	}
	if err != nil {
		return 0, fmt.Errorf("take control number of run %d: %w", run.RunID, err)
	}
	return n, nil
}

// formatOptions returns the feed's format options as JSON for messages.
func formatOptions(options []byte) json.RawMessage {
	if len(options) == 0 {
		return json.RawMessage("{}")
	}
	return options
}

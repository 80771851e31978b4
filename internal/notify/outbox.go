package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EmailSender drains the axtract.notification outbox over SMTP. It is safe
// to run in several processes at once: each notice is locked while it is
// sent, and the others skip it.
type EmailSender struct {
	Pool   *pgxpool.Pool
	SMTP   *SMTPConfig
	Logger *slog.Logger
	// MaxAttempts is how many times a notice is tried before it is
	// abandoned. Default: 8.
	MaxAttempts int
	// RetryBase is the wait after the first failed attempt; each further
	// failure doubles it, up to RetryMax. Defaults: 1 minute and 1 hour.
	RetryBase, RetryMax time.Duration
	// Now returns the current time for the Date header. Default: time.Now.
	Now func() time.Time
}

// SendResult counts what one SendDue call did.
type SendResult struct {
	Sent, Failed, Abandoned int
}

// SendDue sends notices that are due, oldest first, at most limit of them,
// and returns what happened. Each attempt, sent or failed, appends an
// audit event. An error is returned only when the outbox cannot be read or
// updated; a failed send is recorded on the notice and retried later.
//
// A sender that dies between sending and committing leaves the notice to
// be sent again, so a recipient can, rarely, get a notice twice.
func (s *EmailSender) SendDue(ctx context.Context, limit int) (SendResult, error) {
	var res SendResult
	for range limit {
		done, err := s.sendOne(ctx, &res)
		if err != nil || done {
			return res, err
		}
	}
	return res, nil
}

// sendOne sends the oldest due notice; done is true when none is due.
func (s *EmailSender) sendOne(ctx context.Context, res *SendResult) (done bool, err error) {
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin outbox transaction: %w", err)
	}
	defer tx.Rollback(ctx)
	var n Notice
	err = tx.QueryRow(ctx, `
		SELECT notification_id, kind, feed_id, run_id, recipients, subject, detail, created_at, attempts
		FROM axtract.notification
		WHERE sent_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= now()
		ORDER BY next_attempt_at, notification_id
		LIMIT 1
		FOR UPDATE SKIP LOCKED`).Scan(&n.ID, &n.Kind, &n.FeedID, &n.RunID, &n.Recipients, &n.Subject, &n.Detail, &n.CreatedAt, &n.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read outbox: %w", err)
	}

	attempt := n.Attempts + 1
	sendErr := s.deliver(ctx, &n)
	detail := map[string]any{"notification_id": n.ID, "kind": n.Kind, "attempt": attempt, "recipients": len(n.Recipients)}
	var action string
	switch {
	case sendErr == nil:
		action = "notification.sent"
		_, err = tx.Exec(ctx, `UPDATE axtract.notification SET sent_at = now(), attempts = $2, last_error = NULL
			WHERE notification_id = $1`, n.ID, attempt)
		res.Sent++
		s.logger().Info("sent notice", "notification_id", n.ID, "kind", n.Kind, "attempt", attempt)
	case len(n.Recipients) == 0 || attempt >= s.maxAttempts():
		action = "notification.abandoned"
		detail["error"] = sendErr.Error()
		_, err = tx.Exec(ctx, `UPDATE axtract.notification SET abandoned_at = now(), attempts = $2, last_error = $3
			WHERE notification_id = $1`, n.ID, attempt, sendErr.Error())
		res.Abandoned++
		s.logger().Error("abandoned notice", "notification_id", n.ID, "kind", n.Kind, "attempt", attempt, "error", sendErr)
	default:
		action = "notification.failed"
		wait := s.backoff(attempt)
		detail["error"] = sendErr.Error()
		detail["retry_in_seconds"] = wait.Seconds()
		_, err = tx.Exec(ctx, `UPDATE axtract.notification
			SET attempts = $2, last_error = $3, next_attempt_at = now() + $4::interval
			WHERE notification_id = $1`, n.ID, attempt, sendErr.Error(), wait.String())
		res.Failed++
		s.logger().Warn("notice failed; will retry", "notification_id", n.ID, "kind", n.Kind, "attempt", attempt, "retry_in", wait, "error", sendErr)
	}
	if err != nil {
		return false, fmt.Errorf("record attempt of notification %d: %w", n.ID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO axtract.audit_event (action, feed_id, run_id, partner_id, detail)
		VALUES ($1, $2, $3, (SELECT partner_id FROM axtract.feed WHERE feed_id = $2), $4)`,
		action, n.FeedID, n.RunID, detail); err != nil {
		return false, fmt.Errorf("audit attempt of notification %d: %w", n.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit attempt of notification %d: %w", n.ID, err)
	}
	return false, nil
}

func (s *EmailSender) deliver(ctx context.Context, n *Notice) error {
	if len(n.Recipients) == 0 {
		return errors.New("no recipients: set the feed's contacts or the partner's contact_email")
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	msg, err := Message(n, s.SMTP.From, now())
	if err != nil {
		return err
	}
	return s.SMTP.send(ctx, n.Recipients, bytes.NewReader(msg))
}

func (s *EmailSender) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return 8
}

// backoff returns the wait after failed attempt number attempt.
func (s *EmailSender) backoff(attempt int) time.Duration {
	base, ceiling := s.RetryBase, s.RetryMax
	if base <= 0 {
		base = time.Minute
	}
	if ceiling <= 0 {
		ceiling = time.Hour
	}
	wait := base
	for i := 1; i < attempt && wait < ceiling; i++ {
		wait *= 2
	}
	return min(wait, ceiling)
}

func (s *EmailSender) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

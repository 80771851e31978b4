package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Headers of a webhook request.
const (
	HeaderTimestamp = "X-AxTract-Timestamp"
	HeaderSignature = "X-AxTract-Signature"
	HeaderEvent     = "X-AxTract-Event"
	HeaderDelivery  = "X-AxTract-Delivery"
)

// Sign returns the X-AxTract-Signature value of a request: "sha256=" and
// the hex HMAC-SHA256 under secret of the timestamp, a dot and the body.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a received webhook request: the signature must match and
// the timestamp (Unix seconds) must be within maxAge of now, which stops a
// captured request from being replayed later. Receivers written in Go can
// call it; docs/channels.md shows the same check in shell.
func Verify(secret []byte, timestamp, signature string, body []byte, maxAge time.Duration, now time.Time) error {
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid %s %q: want Unix seconds", HeaderTimestamp, timestamp)
	}
	if age := now.Sub(time.Unix(seconds, 0)); age > maxAge || age < -maxAge {
		return fmt.Errorf("%s %s is %s away from now, more than %s", HeaderTimestamp, timestamp, age.Round(time.Second), maxAge)
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, timestamp, body))) {
		return fmt.Errorf("%s does not match the body", HeaderSignature)
	}
	return nil
}

// ErrDeliveryNotFound is returned by Deliver for a delivery that no longer
// exists, such as one of a deleted webhook; retrying cannot help.
var ErrDeliveryNotFound = errors.New("webhook delivery not found")

// WebhookSender sends the requests of axtract.webhook_delivery rows.
type WebhookSender struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Client sends the requests. Default: a client that follows no
	// redirects, so a 3xx response counts as a failed attempt. Each attempt's
	// time limit is the webhook's timeout, whatever the client's.
	Client *http.Client
	// Now returns the time of the timestamp header. Default: time.Now.
	Now func() time.Time
}

// Deliver makes attempt number attempt of delivery id: it POSTs the stored
// body to the webhook's URL, signed with the webhook's secret, records the
// outcome on the row and appends a webhook.attempt audit event with the
// status code. It returns nil when the receiver responded 2xx, or when the
// delivery already succeeded.
func (s *WebhookSender) Deliver(ctx context.Context, id int64, attempt int) error {
	var (
		target, body, event string
		secret              []byte
		timeoutMS           int64
		webhookID, partner  int64
		runID               *int64
		delivered           *time.Time
	)
	err := s.Pool.QueryRow(ctx, `
		SELECT w.webhook_id, w.partner_id, w.url, w.secret, (extract(epoch FROM w.timeout) * 1000)::bigint,
		       d.run_id, d.event, d.body, d.delivered_at
		FROM axtract.webhook_delivery d
		JOIN axtract.webhook w ON w.webhook_id = d.webhook_id
		WHERE d.delivery_id = $1`, id).Scan(&webhookID, &partner, &target, &secret, &timeoutMS, &runID, &event, &body, &delivered)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("webhook delivery %d: %w", id, ErrDeliveryNotFound)
	}
	if err != nil {
		return fmt.Errorf("read webhook delivery %d: %w", id, err)
	}
	if delivered != nil {
		return nil
	}

	status, sendErr := s.post(ctx, target, secret, time.Duration(timeoutMS)*time.Millisecond, id, event, []byte(body))
	detail := map[string]any{"delivery_id": id, "webhook_id": webhookID, "event": event, "attempt": attempt, "url": redactURL(target)}
	if status != 0 {
		detail["status"] = status
	}
	var lastError *string
	if sendErr != nil {
		msg := sendErr.Error()
		lastError = &msg
		detail["error"] = msg
	}
	if _, err := s.Pool.Exec(ctx, `
		WITH updated AS (
			UPDATE axtract.webhook_delivery
			SET attempts = attempts + 1,
			    last_status = $2,
			    last_error = $3,
			    delivered_at = CASE WHEN $3::text IS NULL THEN now() END
			WHERE delivery_id = $1
		)
		INSERT INTO axtract.audit_event (action, partner_id, run_id, detail)
		VALUES ('webhook.attempt', $4, $5, $6)`,
		id, nullStatus(status), lastError, partner, runID, detail); err != nil {
		return fmt.Errorf("record attempt of webhook delivery %d: %w", id, err)
	}
	if sendErr != nil {
		s.logger().Warn("webhook attempt failed", "delivery_id", id, "webhook_id", webhookID, "event", event,
			"attempt", attempt, "status", status, "error", sendErr)
		return sendErr
	}
	s.logger().Info("webhook delivered", "delivery_id", id, "webhook_id", webhookID, "event", event, "attempt", attempt, "status", status)
	return nil
}

// post sends one signed request and returns the status code, 0 when no
// response came.
func (s *WebhookSender) post(ctx context.Context, target string, secret []byte, timeout time.Duration, id int64, event string, body []byte) (int, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, fmt.Errorf("invalid webhook URL %q: use an http or https URL", redactURL(target))
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(string(body)))
	if err != nil {
		return 0, fmt.Errorf("build webhook request: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	timestamp := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "AxTract-Webhook/1")
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(id, 10))
	req.Header.Set(HeaderTimestamp, timestamp)
	req.Header.Set(HeaderSignature, Sign(secret, timestamp, body))

	resp, err := s.client().Do(req)
	if err != nil {
		// The error text of net/http repeats the URL, which may carry a
		// token in its query; the redacted form is logged instead.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return 0, fmt.Errorf("POST %s: %w", redactURL(target), err)
	}
	defer resp.Body.Close()
	// Read a little of the response so the connection can be reused; its
	// content is not kept.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("POST %s: receiver responded %s", redactURL(target), resp.Status)
	}
	return resp.StatusCode, nil
}

func (s *WebhookSender) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *WebhookSender) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// redactURL drops the user information and query of a URL, where receivers
// sometimes put credentials.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "..."
	}
	return u.String()
}

func nullStatus(status int) *int {
	if status == 0 {
		return nil
	}
	return &status
}

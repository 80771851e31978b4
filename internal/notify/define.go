package notify

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Webhook events.
const (
	EventDelivered = "run.delivered"
	EventFailed    = "run.failed"
)

// WebhookParams describes a webhook.
type WebhookParams struct {
	Partner string
	// Feed limits the webhook to one feed of the partner; empty covers all.
	Feed   string
	URL    string
	Secret []byte
	Events []string
	// Timeout bounds one attempt. Zero means 10 seconds.
	Timeout time.Duration
}

// Webhook is a defined webhook, without its secret.
type Webhook struct {
	ID         int64
	Partner    string
	Feed       *string
	URL        string
	Events     []string
	Timeout    time.Duration
	DisabledAt *time.Time
	CreatedAt  time.Time
	// Pending counts deliveries not yet made; Failing those among them
	// whose last attempt failed.
	Pending, Failing int
}

// DefineWebhook defines the webhook of p.Partner (and p.Feed) at p.URL, or
// replaces the secret, events and timeout of the one already there.
func DefineWebhook(ctx context.Context, pool *pgxpool.Pool, p WebhookParams) (int64, error) {
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, fmt.Errorf("invalid webhook URL %q: use an http:// or https:// URL with a host", p.URL)
	}
	for _, e := range p.Events {
		if e != EventDelivered && e != EventFailed {
			return 0, fmt.Errorf("invalid webhook event %q: use %s or %s", e, EventDelivered, EventFailed)
		}
	}
	if len(p.Secret) < 16 {
		return 0, fmt.Errorf("webhook secret has %d bytes, fewer than 16: use e.g. openssl rand -hex 32", len(p.Secret))
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	var feed *string
	if p.Feed != "" {
		feed = &p.Feed
	}
	var id int64
	err = pool.QueryRow(ctx, "SELECT axtract.webhook_define($1, $2, $3, $4, $5, $6::interval)",
		p.Partner, p.URL, p.Secret, p.Events, feed, timeout.String()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("define webhook of partner %s: %w", p.Partner, err)
	}
	return id, nil
}

// ListWebhooks returns the webhooks of partner slug, or of every partner
// when slug is empty.
func ListWebhooks(ctx context.Context, pool *pgxpool.Pool, slug string) ([]Webhook, error) {
	rows, err := pool.Query(ctx, `
		SELECT w.webhook_id, p.slug, f.name, w.url, w.events, (extract(epoch FROM w.timeout) * 1000)::bigint,
		       w.disabled_at, w.created_at,
		       count(d.delivery_id) FILTER (WHERE d.delivered_at IS NULL),
		       count(d.delivery_id) FILTER (WHERE d.delivered_at IS NULL AND d.last_error IS NOT NULL)
		FROM axtract.webhook w
		JOIN axtract.partner p ON p.partner_id = w.partner_id
		LEFT JOIN axtract.feed f ON f.feed_id = w.feed_id
		LEFT JOIN axtract.webhook_delivery d ON d.webhook_id = w.webhook_id
		WHERE $1 = '' OR p.slug = $1
		GROUP BY w.webhook_id, p.slug, f.name
		ORDER BY p.slug, w.webhook_id`, slug)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	hooks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Webhook, error) {
		var w Webhook
		var ms int64
		err := row.Scan(&w.ID, &w.Partner, &w.Feed, &w.URL, &w.Events, &ms, &w.DisabledAt, &w.CreatedAt, &w.Pending, &w.Failing)
		w.Timeout = time.Duration(ms) * time.Millisecond
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return hooks, nil
}

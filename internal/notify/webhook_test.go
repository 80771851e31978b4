package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/axtract/axtract/internal/migrate"
	"github.com/axtract/axtract/internal/notify"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/worker"
)

var webhookSecret = []byte("0123456789abcdef0123456789abcdef")

// hookRequest is one request a receiver got, and whether its signature
// matched, checked here without the package's own Sign.
type hookRequest struct {
	body      []byte
	event     string
	signature bool
}

// receiver is an HTTP server on 127.0.0.1 that responds with 503 to the first
// failures requests and with 204 after that.
type receiver struct {
	url      string
	mu       sync.Mutex
	requests []hookRequest
	failures int
	delay    time.Duration
}

func startReceiver(t *testing.T, failures int, delay time.Duration) *receiver {
	t.Helper()
	r := &receiver{failures: failures, delay: delay}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		mac := hmac.New(sha256.New, webhookSecret)
		mac.Write([]byte(req.Header.Get("X-AxTract-Timestamp") + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		r.mu.Lock()
		r.requests = append(r.requests, hookRequest{body: body, event: req.Header.Get("X-AxTract-Event"),
			signature: req.Header.Get("X-AxTract-Signature") == want})
		fail := len(r.requests) <= r.failures
		r.mu.Unlock()
		if r.delay > 0 {
			time.Sleep(r.delay)
		}
		if fail {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(server.Close)
	r.url = server.URL + "/hooks/axtract"
	return r
}

func (r *receiver) received() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.requests...)
}

func defineWebhook(t *testing.T, db *pgtest.DB, url string, timeout time.Duration, events ...string) int64 {
	t.Helper()
	id, err := notify.DefineWebhook(context.Background(), db.Pool, notify.WebhookParams{
		Partner: "acme", URL: url, Secret: webhookSecret, Events: events, Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// attemptStatuses returns the status of each webhook.attempt event, 0 for
// an attempt without a response.
func attemptStatuses(t *testing.T, db *pgtest.DB) []int {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT coalesce((detail->>'status')::int, 0)
		FROM axtract.audit_event WHERE action = 'webhook.attempt' ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var statuses []int
	for rows.Next() {
		var s int
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, s)
	}
	return statuses
}

func TestWebhookSignedAndRetriedByRiver(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	recv := startReceiver(t, 2, 0)
	defineWebhook(t, db, recv.url, 5*time.Second, notify.EventDelivered, notify.EventFailed)
	runID := deliverRun(t, db)

	workers := river.NewWorkers()
	river.AddWorker(workers, &worker.WebhookWorker{
		Sender:    &notify.WebhookSender{Pool: db.Pool},
		RetryBase: 50 * time.Millisecond,
	})
	client, err := river.NewClient(riverpgxv5.New(db.Pool), &river.Config{
		Schema:   migrate.RiverSchema,
		Queues:   map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:  workers,
		TestOnly: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Stop(context.Background()) })

	deadline := time.Now().Add(60 * time.Second)
	var delivered *time.Time
	for delivered == nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if err := db.Pool.QueryRow(ctx, "SELECT delivered_at FROM axtract.webhook_delivery WHERE run_id = $1", runID).Scan(&delivered); err != nil {
			t.Fatal(err)
		}
	}
	if delivered == nil {
		t.Fatalf("webhook not delivered within 60s; receiver got %d requests", len(recv.received()))
	}

	reqs := recv.received()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3 (two 503s, then success)", len(reqs))
	}
	for i, r := range reqs {
		if !r.signature {
			t.Errorf("request %d: signature does not verify", i)
		}
		if r.event != "run.delivered" {
			t.Errorf("request %d: X-AxTract-Event %q", i, r.event)
		}
		if string(r.body) != string(reqs[0].body) {
			t.Errorf("request %d body differs from the first: retries must send the same body", i)
		}
	}
	var body struct {
		Event   string `json:"event"`
		Feed    string `json:"feed"`
		Partner string `json:"partner"`
		RunID   int64  `json:"run_id"`
		At      string `json:"at"`
		Files   []struct {
			Name   string `json:"name"`
			Rows   *int64 `json:"rows"`
			Bytes  int64  `json:"bytes"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatalf("body %s: %v", reqs[0].body, err)
	}
	if body.Event != "run.delivered" || body.Feed != "acme-roster" || body.Partner != "acme" || body.RunID != runID {
		t.Errorf("body = %+v", body)
	}
	if _, err := time.Parse(time.RFC3339, body.At); err != nil {
		t.Errorf("at %q is not RFC 3339: %v", body.At, err)
	}
	if len(body.Files) != 2 || body.Files[0].Name != "acme-roster_20261201.csv" || body.Files[0].Rows == nil ||
		*body.Files[0].Rows != 5 || body.Files[0].Bytes != 321 || body.Files[0].SHA256 != strings.Repeat("a", 64) {
		t.Errorf("files = %+v", body.Files)
	}
	if v := containsAny(reqs[0].body, memberValues(t, db)); v != "" {
		t.Errorf("body contains member value %q", v)
	}
	if got := attemptStatuses(t, db); !slices.Equal(got, []int{503, 503, 204}) {
		t.Errorf("audited statuses %v, want [503 503 204]", got)
	}
}

func TestWebhookFailedRunEvent(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	recv := startReceiver(t, 0, 0)
	defineWebhook(t, db, recv.url, 5*time.Second, notify.EventFailed)
	deliverRun(t, db)
	var runID, deliveries int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO axtract.run (feed_id, slot, trigger)
		SELECT feed_id, TIMESTAMPTZ '2026-12-05 06:00Z', 'manual' FROM axtract.feed WHERE name = 'acme-roster'
		RETURNING run_id`).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "SELECT axtract.run_fail($1, 'disk full', true)", runID); err != nil {
		t.Fatal(err)
	}
	var deliveryID int64
	if err := db.Pool.QueryRow(ctx, "SELECT count(*), max(delivery_id) FROM axtract.webhook_delivery").Scan(&deliveries, &deliveryID); err != nil {
		t.Fatal(err)
	}
	if deliveries != 1 {
		t.Fatalf("deliveries = %d, want 1: the failed run only, as the webhook takes run.failed alone", deliveries)
	}
	var jobs int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM river.river_job WHERE kind = 'axtract.webhook' AND (args->>'delivery_id')::bigint = $1", deliveryID).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 1 {
		t.Errorf("River jobs of the delivery = %d, want 1", jobs)
	}

	if err := (&notify.WebhookSender{Pool: db.Pool}).Deliver(ctx, deliveryID, 1); err != nil {
		t.Fatal(err)
	}

	reqs := recv.received()
	if len(reqs) != 1 || !reqs[0].signature {
		t.Fatalf("receiver got %d requests (signature ok: %v), want 1 signed", len(reqs), reqs)
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body["event"] != "run.failed" || body["run_id"] != float64(runID) {
		t.Errorf("body = %v, want run.failed of run %d", body, runID)
	}
	if files, ok := body["files"].([]any); !ok || len(files) != 0 {
		t.Errorf("files = %v, want an empty list", body["files"])
	}
	if strings.Contains(string(reqs[0].body), "disk full") {
		t.Error("body carries the run's error text")
	}
}

func TestWebhookAttemptTimesOut(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	recv := startReceiver(t, 0, time.Second)
	defineWebhook(t, db, recv.url, 200*time.Millisecond, notify.EventDelivered)
	runID := deliverRun(t, db)
	var deliveryID int64
	if err := db.Pool.QueryRow(ctx, "SELECT delivery_id FROM axtract.webhook_delivery WHERE run_id = $1", runID).Scan(&deliveryID); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	err := (&notify.WebhookSender{Pool: db.Pool}).Deliver(ctx, deliveryID, 1)

	if err == nil {
		t.Fatal("Deliver to a receiver slower than the timeout succeeded, want an error")
	}
	if elapsed := time.Since(start); elapsed > 900*time.Millisecond {
		t.Errorf("Deliver took %s, want about the 200ms timeout", elapsed)
	}
	var attempts int
	var lastError string
	var delivered *time.Time
	if err := db.Pool.QueryRow(ctx, "SELECT attempts, last_error, delivered_at FROM axtract.webhook_delivery WHERE delivery_id = $1", deliveryID).
		Scan(&attempts, &lastError, &delivered); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || !strings.Contains(lastError, "deadline exceeded") || delivered != nil {
		t.Errorf("after a timeout: attempts %d, last_error %q, delivered_at %v", attempts, lastError, delivered)
	}
	if got := attemptStatuses(t, db); !slices.Equal(got, []int{0}) {
		t.Errorf("audited statuses %v, want one attempt without a status", got)
	}
}

func TestDefineWebhookRejectsBadInput(t *testing.T) {
	t.Parallel()
	db := setup(t)
	for _, c := range []struct {
		name   string
		params notify.WebhookParams
		want   string
	}{
		{"file URL", notify.WebhookParams{Partner: "acme", URL: "file:///etc/passwd", Secret: webhookSecret, Events: []string{"run.delivered"}}, "invalid webhook URL"},
		{"short secret", notify.WebhookParams{Partner: "acme", URL: "https://hooks.acme.example/x", Secret: []byte("short"), Events: []string{"run.delivered"}}, "fewer than 16"},
		{"unknown event", notify.WebhookParams{Partner: "acme", URL: "https://hooks.acme.example/x", Secret: webhookSecret, Events: []string{"run.started"}}, "invalid webhook event"},
		{"unknown partner", notify.WebhookParams{Partner: "nope", URL: "https://hooks.acme.example/x", Secret: webhookSecret, Events: []string{"run.failed"}}, "partner nope not found"},
	} {
		_, err := notify.DefineWebhook(context.Background(), db.Pool, c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestVerifyChecksSignatureAndAge(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"run.delivered"}`)
	sig := notify.Sign(webhookSecret, "1800000000", body)

	if err := notify.Verify(webhookSecret, "1800000000", sig, body, 5*time.Minute, now); err != nil {
		t.Errorf("Verify of a fresh, matching request: %v", err)
	}
	if err := notify.Verify(webhookSecret, "1800000000", sig, []byte(`{"event":"run.failed"}`), 5*time.Minute, now); err == nil {
		t.Error("Verify of a changed body succeeded")
	}
	if err := notify.Verify(webhookSecret, "1800000000", sig, body, 5*time.Minute, now.Add(10*time.Minute)); err == nil {
		t.Error("Verify of a ten-minute-old request succeeded")
	}
}

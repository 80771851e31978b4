package notify_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/notify"
	"github.com/axtract/axtract/worker"
)

// TestExtractedRunNoticeHasNoMemberData runs a real extract of member names
// into a folder and checks that the notice and the webhook body it leads to
// name the file and its counts but no value the file holds.
func TestExtractedRunNoticeHasNoMemberData(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	dir := t.TempDir()
	config, _ := json.Marshal(map[string]string{"dir": dir})
	for _, sql := range []string{
		"SELECT axtract.consent_grant_all('acme', 'SELECT member_id FROM mart.member', DATE '2020-01-01')",
		"SELECT axtract.destination_define('acme', 'drop', 'local', '" + string(config) + "')",
		`UPDATE axtract.feed SET compression = 'none', manifest = false WHERE name = 'acme-roster'`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	recv := startReceiver(t, 0, 0)
	defineWebhook(t, db, recv.url, 5*time.Second, notify.EventDelivered)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runID, _, err := worker.CreateManualRunTx(ctx, tx, "acme-roster", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	res, err := (&extract.Runner{Pool: db.Pool}).Run(ctx, runID, true)
	if err != nil {
		t.Fatalf("run %d: %v", runID, err)
	}
	if res.Rows != 5 {
		t.Fatalf("extract delivered %d rows, want 5", res.Rows)
	}

	server := startSMTP(t, false)
	sender := newSender(db, server, notify.SecurityStartTLS, "plain", writePassword(t, "s3cret-pass"))
	if sent, err := sender.SendDue(ctx, 10); err != nil || sent.Sent != 1 {
		t.Fatalf("SendDue = %+v, %v; want one sent", sent, err)
	}
	_, body := parseMessage(t, server.received()[0].data)
	if !strings.Contains(body, res.FileName) || !strings.Contains(body, "Rows:    5") {
		t.Errorf("body lacks the file %s or the row count:\n%s", res.FileName, body)
	}
	values := memberValues(t, db)
	file, err := os.ReadFile(filepath.Join(dir, res.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if containsAny(file, values) == "" {
		t.Fatalf("delivered file holds no member value, so the checks below prove nothing:\n%s", file)
	}
	if v := containsAny([]byte(body), values); v != "" {
		t.Errorf("notice contains member value %q:\n%s", v, body)
	}

	var deliveryID int64
	if err := db.Pool.QueryRow(ctx, "SELECT delivery_id FROM axtract.webhook_delivery WHERE run_id = $1", runID).Scan(&deliveryID); err != nil {
		t.Fatalf("webhook delivery of run %d: %v", runID, err)
	}
	if err := (&notify.WebhookSender{Pool: db.Pool}).Deliver(ctx, deliveryID, 1); err != nil {
		t.Fatal(err)
	}
	reqs := recv.received()
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].body), res.FileName) {
		t.Fatalf("receiver got %d requests; want one naming %s", len(reqs), res.FileName)
	}
	if v := containsAny(reqs[0].body, values); v != "" {
		t.Errorf("webhook body contains member value %q: %s", v, reqs[0].body)
	}
}

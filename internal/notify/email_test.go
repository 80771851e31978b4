package notify_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/notify"
	"github.com/axtract/axtract/internal/pgtest"
)

func newSender(db *pgtest.DB, server *smtpServer, security, auth, passwordFile string) *notify.EmailSender {
	return &notify.EmailSender{
		Pool: db.Pool,
		SMTP: &notify.SMTPConfig{
			Addr:         server.addr,
			From:         "axtract@plan.example",
			Security:     security,
			Username:     "axtract",
			PasswordFile: passwordFile,
			Auth:         auth,
			Timeout:      10 * time.Second,
			TLS:          &tls.Config{RootCAs: server.pool},
		},
		RetryBase: time.Minute,
	}
}

// parseMessage returns the headers and the decoded body of a message.
func parseMessage(t *testing.T, data []byte) (mail.Header, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header, string(body)
}

func TestDeliveredRunEmailOverStartTLS(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	server := startSMTP(t, false)
	runID := deliverRun(t, db)
	sender := newSender(db, server, notify.SecurityStartTLS, "plain", writePassword(t, "s3cret-pass"))

	res, err := sender.SendDue(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}

	if res.Sent != 1 || res.Failed != 0 || res.Abandoned != 0 {
		t.Fatalf("SendDue = %+v, want one sent", res)
	}
	msgs := server.received()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if !m.tls || m.user != "axtract" {
		t.Errorf("message over TLS %t as %q, want TLS as axtract", m.tls, m.user)
	}
	if m.from != "axtract@plan.example" {
		t.Errorf("envelope sender %q", m.from)
	}
	if !slices.Equal(m.to, []string{"ops@acme.example", "data@acme.example"}) {
		t.Errorf("envelope recipients %q, want the feed's contacts", m.to)
	}
	header, body := parseMessage(t, m.data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(header.Get("Subject"))
	if want := "Feed acme-roster: run " + itoa(runID) + " delivered 5 rows"; subject != want {
		t.Errorf("Subject = %q, want %q", subject, want)
	}
	if header.Get("From") != "axtract@plan.example" || header.Get("To") != "ops@acme.example, data@acme.example" {
		t.Errorf("From %q To %q", header.Get("From"), header.Get("To"))
	}
	if header.Get("X-AxTract-Notice") != "run_delivered" || header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("X-AxTract-Notice %q, Auto-Submitted %q", header.Get("X-AxTract-Notice"), header.Get("Auto-Submitted"))
	}
	for _, want := range []string{
		"Feed acme-roster delivered run " + itoa(runID) + " to partner acme.",
		"Rows:    5",
		"Files:   2",
		"acme-roster_20261201.csv",
		"kind data, 5 rows, 321 bytes",
		"acme-roster_20261201.manifest.json",
		"sha256 " + strings.Repeat("a", 64),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	values := memberValues(t, db)
	if v := containsAny(m.data, values); v != "" {
		t.Errorf("message contains member value %q", v)
	}
	if v := containsAny([]byte(body), values); v != "" {
		t.Errorf("decoded body contains member value %q", v)
	}

	var sent *time.Time
	var attempts int
	if err := db.Pool.QueryRow(ctx, "SELECT sent_at, attempts FROM axtract.notification WHERE run_id = $1 AND kind = 'run_delivered'", runID).Scan(&sent, &attempts); err != nil {
		t.Fatal(err)
	}
	if sent == nil || attempts != 1 {
		t.Errorf("notice sent_at %v attempts %d, want set and 1", sent, attempts)
	}
	var audits int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.audit_event WHERE action = 'notification.sent' AND run_id = $1", runID).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 1 {
		t.Errorf("notification.sent events = %d, want 1", audits)
	}
	if res, err := sender.SendDue(ctx, 10); err != nil || res != (notify.SendResult{}) {
		t.Errorf("second SendDue = %+v, %v; want nothing to send", res, err)
	}
}

func TestFailedRunEmailOmitsErrorText(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	server := startSMTP(t, true)
	var runID int64
	var name string
	if err := db.Pool.QueryRow(ctx, `INSERT INTO axtract.run (feed_id, slot, trigger, attempts)
		SELECT feed_id, TIMESTAMPTZ '2026-12-02 06:00Z', 'manual', 3 FROM axtract.feed WHERE name = 'acme-roster'
		RETURNING run_id, (SELECT first_name FROM mart.member LIMIT 1)`).Scan(&runID, &name); err != nil {
		t.Fatal(err)
	}
	// A PostgreSQL error can quote the value it failed on; this one quotes
	// a member's name, which must not reach the message.
	if _, err := db.Pool.Exec(ctx, "SELECT axtract.run_fail($1, $2, true)", runID, `invalid input syntax for type date: "`+name+`"`); err != nil {
		t.Fatal(err)
	}
	sender := newSender(db, server, notify.SecurityTLS, "login", writePassword(t, "s3cret-pass"))

	res, err := sender.SendDue(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}

	if res.Sent != 1 {
		t.Fatalf("SendDue = %+v, want one sent", res)
	}
	m := server.received()[0]
	if !m.tls {
		t.Error("message not sent over implicit TLS")
	}
	header, body := parseMessage(t, m.data)
	if header.Get("X-AxTract-Notice") != "run_failed" {
		t.Errorf("X-AxTract-Notice = %q", header.Get("X-AxTract-Notice"))
	}
	for _, want := range []string{"run " + itoa(runID) + " failed after 3 attempt(s)", "axtract feed runs acme-roster", "axtract feed retry " + itoa(runID)} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if v := containsAny([]byte(body), memberValues(t, db)); v != "" {
		t.Errorf("body contains member value %q:\n%s", v, body)
	}
}

func TestEmailRetriedAfterFailure(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	server := startSMTP(t, false)
	server.setPassword("other")
	runID := deliverRun(t, db)
	sender := newSender(db, server, notify.SecurityStartTLS, "plain", writePassword(t, "s3cret-pass"))

	res, err := sender.SendDue(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || res.Sent != 0 {
		t.Fatalf("SendDue with a wrong password = %+v, want one failed", res)
	}
	var attempts int
	var lastError string
	var wait float64
	if err := db.Pool.QueryRow(ctx, `SELECT attempts, last_error, extract(epoch FROM next_attempt_at - now())
		FROM axtract.notification WHERE run_id = $1`, runID).Scan(&attempts, &lastError, &wait); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || !strings.Contains(lastError, "AUTH PLAIN") || wait < 50 || wait > 61 {
		t.Errorf("after a failure: attempts %d, last_error %q, next attempt in %.0fs; want 1, an AUTH error, about 60s", attempts, lastError, wait)
	}
	if strings.Contains(lastError, "s3cret-pass") {
		t.Errorf("last_error %q contains the password", lastError)
	}
	if res, _ := sender.SendDue(ctx, 10); res != (notify.SendResult{}) {
		t.Errorf("SendDue before the retry time = %+v, want nothing", res)
	}

	server.setPassword("s3cret-pass")
	if _, err := db.Pool.Exec(ctx, "UPDATE axtract.notification SET next_attempt_at = now() WHERE run_id = $1", runID); err != nil {
		t.Fatal(err)
	}
	res, err = sender.SendDue(ctx, 10)
	if err != nil || res.Sent != 1 {
		t.Fatalf("SendDue after the fix = %+v, %v; want one sent", res, err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT action, (detail->>'attempt')::int FROM axtract.audit_event
		WHERE action LIKE 'notification.%' ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var events []string
	for rows.Next() {
		var action string
		var attempt int
		if err := rows.Scan(&action, &attempt); err != nil {
			t.Fatal(err)
		}
		events = append(events, action+"#"+itoa(int64(attempt)))
	}
	if want := []string{"notification.failed#1", "notification.sent#2"}; !slices.Equal(events, want) {
		t.Errorf("audit events %q, want %q", events, want)
	}
}

func TestHeldRunsCreateNotices(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	var queued int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO axtract.run (feed_id, slot, trigger)
		SELECT feed_id, TIMESTAMPTZ '2026-12-03 06:00Z', 'manual' FROM axtract.feed WHERE name = 'acme-roster'
		RETURNING run_id`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "SELECT axtract.feed_pause('acme-roster')"); err != nil {
		t.Fatal(err)
	}
	// Two runs created while the feed is paused, in one statement.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO axtract.run (feed_id, slot, trigger)
		SELECT feed_id, s, 'backfill' FROM axtract.feed,
		       unnest(ARRAY[TIMESTAMPTZ '2026-11-01 06:00Z', TIMESTAMPTZ '2026-11-02 06:00Z']) s
		WHERE name = 'acme-roster'`); err != nil {
		t.Fatal(err)
	}

	rows, err := db.Pool.Query(ctx, `SELECT subject, jsonb_array_length(detail->'runs'), detail->>'resume'
		FROM axtract.notification WHERE kind = 'run_held' ORDER BY notification_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var subject, resume string
		var runs int
		if err := rows.Scan(&subject, &runs, &resume); err != nil {
			t.Fatal(err)
		}
		got = append(got, subject+" |"+itoa(int64(runs))+"| "+resume)
	}
	want := []string{
		"Feed acme-roster: run " + itoa(queued) + " held (feed paused) |1| axtract feed resume acme-roster",
		"Feed acme-roster: 2 runs held (feed paused) |2| axtract feed resume acme-roster",
	}
	if !slices.Equal(got, want) {
		t.Errorf("held notices:\n%q\nwant\n%q", got, want)
	}
}

func TestMessageBodyForHeldNotice(t *testing.T) {
	t.Parallel()
	run := int64(7)
	n := &notify.Notice{
		ID: 1, Kind: "run_held", RunID: &run, Recipients: []string{"ops@acme.example"},
		Subject: "Feed acme-roster: run 7 held (feed paused)",
		Detail:  []byte(`{"feed": "acme-roster", "reason": "feed paused", "runs": [{"run_id": 7, "slot": "2026-12-03T06:00:00+00:00"}], "resume": "axtract feed resume acme-roster", "error": "must not appear"}`),
	}

	data, err := notify.Message(n, "axtract@plan.example", time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}

	_, body := parseMessage(t, data)
	for _, want := range []string{"1 run(s) are held", "Reason:  feed paused", "run 7, slot 2026-12-03 06:00 UTC", "Resume with: axtract feed resume acme-roster"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "must not appear") {
		t.Errorf("body shows a detail field outside the allowed list:\n%s", body)
	}
}

func TestMessageRejectsHeaderInjection(t *testing.T) {
	t.Parallel()
	n := &notify.Notice{ID: 1, Kind: "run_late", Recipients: []string{"ops@acme.example\r\nBcc: x@evil.example"}, Subject: "s"}

	if _, err := notify.Message(n, "axtract@plan.example", time.Now()); err == nil {
		t.Error("Message with a line break in a recipient succeeded, want an error")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestNoticeWithoutRecipientsAbandoned(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	server := startSMTP(t, false)
	if _, err := db.Pool.Exec(ctx, "UPDATE axtract.feed SET contacts = '{}' WHERE name = 'acme-roster'"); err != nil {
		t.Fatal(err)
	}
	deliverRun(t, db)
	var runID int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO axtract.run (feed_id, slot, trigger)
		SELECT feed_id, TIMESTAMPTZ '2026-12-06 06:00Z', 'manual' FROM axtract.feed WHERE name = 'acme-roster'
		RETURNING run_id`).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "SELECT axtract.run_fail($1, 'disk full', true)", runID); err != nil {
		t.Fatal(err)
	}
	sender := newSender(db, server, notify.SecurityStartTLS, "plain", writePassword(t, "s3cret-pass"))

	res, err := sender.SendDue(ctx, 10)

	if err != nil {
		t.Fatal(err)
	}
	if res != (notify.SendResult{Abandoned: 1}) {
		t.Errorf("SendDue = %+v, want the failed run's notice abandoned and no delivered notice at all", res)
	}
	if n := len(server.received()); n != 0 {
		t.Errorf("server received %d messages, want 0", n)
	}
	var lastError string
	if err := db.Pool.QueryRow(ctx, "SELECT last_error FROM axtract.notification WHERE run_id = $1 AND abandoned_at IS NOT NULL", runID).Scan(&lastError); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lastError, "no recipients") {
		t.Errorf("last_error = %q, want no recipients", lastError)
	}
}

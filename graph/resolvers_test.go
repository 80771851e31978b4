package graph

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type runPage struct {
	Runs struct {
		Edges []struct {
			Cursor string
			Node   struct{ ID string }
		}
		PageInfo struct {
			HasNextPage     bool
			HasPreviousPage bool
			EndCursor       *string
		}
	}
}

func TestRunsPagination(t *testing.T) {
	b := setup(t)
	q := `query($after: String) { runs(first: 2, after: $after) {
		edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`
	var seen []string
	var after any
	for pageNo := 0; ; pageNo++ {
		var p runPage
		b.ok(t, operator, q, map[string]any{"after": after}).decode(t, &p)
		if got := p.Runs.PageInfo.HasPreviousPage; got != (pageNo > 0) {
			t.Errorf("page %d: hasPreviousPage = %v", pageNo, got)
		}
		for _, e := range p.Runs.Edges {
			seen = append(seen, e.Node.ID)
		}
		if len(p.Runs.Edges) > 0 && p.Runs.Edges[len(p.Runs.Edges)-1].Cursor != *p.Runs.PageInfo.EndCursor {
			t.Errorf("page %d: endCursor is not the last edge's cursor", pageNo)
		}
		if !p.Runs.PageInfo.HasNextPage {
			break
		}
		if len(p.Runs.Edges) != 2 {
			t.Fatalf("page %d has %d runs and a next page, want 2", pageNo, len(p.Runs.Edges))
		}
		after = *p.Runs.PageInfo.EndCursor
		if pageNo > 10 {
			t.Fatal("pagination does not end")
		}
	}
	want := []string{}
	for _, name := range []string{"beta-failed", "beta-ok", "acme-running", "acme-failed", "acme-ok"} {
		want = append(want, fmt.Sprint(b.runs[name]))
	}
	if !slices.Equal(seen, want) {
		t.Errorf("pages returned runs %v, want newest first %v", seen, want)
	}

	for _, bad := range []map[string]any{{"after": "not-a-cursor"}, {"after": encodeCursor("feed", "x")}} {
		if r := b.do(t, operator, q, bad); !r.hasCode(string(CodeValidation)) {
			t.Errorf("cursor %v: codes %v, want VALIDATION", bad["after"], r.codes())
		}
	}
	if r := b.do(t, operator, `{ runs(first: 101) { edges { cursor } } }`, nil); !r.hasCode(string(CodeValidation)) {
		t.Errorf("first 101: codes %v, want VALIDATION", r.codes())
	}
}

func TestPartnersAndFeedsPagination(t *testing.T) {
	b := setup(t)
	var first struct {
		Partners struct {
			Edges    []struct{ Node struct{ Slug string } }
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	b.ok(t, analyst, `{ partners(first: 1) { edges { node { slug } } pageInfo { hasNextPage endCursor } } }`, nil).decode(t, &first)
	if len(first.Partners.Edges) != 1 || first.Partners.Edges[0].Node.Slug != "acme" || !first.Partners.PageInfo.HasNextPage {
		t.Fatalf("first page = %+v, want acme and a next page", first.Partners)
	}
	var second struct {
		Partners struct {
			Edges    []struct{ Node struct{ Slug string } }
			PageInfo struct{ HasNextPage bool }
		}
	}
	b.ok(t, analyst, `query($a: String) { partners(first: 1, after: $a) { edges { node { slug } } pageInfo { hasNextPage } } }`,
		map[string]any{"a": first.Partners.PageInfo.EndCursor}).decode(t, &second)
	if len(second.Partners.Edges) != 1 || second.Partners.Edges[0].Node.Slug != "beta" || second.Partners.PageInfo.HasNextPage {
		t.Errorf("second page = %+v, want beta and no next page", second.Partners)
	}
}

func TestDashboard(t *testing.T) {
	b := setup(t)
	// The running acme run missed its deadline an hour ago.
	mustExec(t, b, `UPDATE axtract.run SET deadline_at = now() - interval '1 hour' WHERE run_id = $1`, b.runs["acme-running"])
	var d struct {
		Dashboard struct {
			RunsByStatus []struct {
				Status string
				Count  int64
			}
			LateRuns  int
			Attention []struct {
				State string
				Feed  struct{ Name string }
			}
			RecentRuns []struct {
				ID         string
				Rows       *int64
				DurationMs *int64
				Late       bool
			}
			Running []struct {
				Run        struct{ ID string }
				RowsCopied *int64
			}
		}
	}
	b.ok(t, operator, `{ dashboard {
		runsByStatus { status count } lateRuns
		attention { state feed { name } }
		recentRuns(first: 10) { id rows durationMs late }
		running { run { id } rowsCopied } } }`, nil).decode(t, &d)

	counts := map[string]int64{}
	for _, c := range d.Dashboard.RunsByStatus {
		counts[c.Status] = c.Count
	}
	if counts["SUCCEEDED"] != 2 || counts["FAILED"] != 2 || counts["RUNNING"] != 1 || counts["QUEUED"] != 0 ||
		counts["HELD"] != 0 || len(counts) != 7 {
		t.Errorf("runsByStatus = %v", counts)
	}

	if d.Dashboard.LateRuns != 1 {
		t.Errorf("lateRuns = %d, want 1", d.Dashboard.LateRuns)
	}

	var states []string
	for _, a := range d.Dashboard.Attention {
		states = append(states, a.State+" "+a.Feed.Name)
	}
	if want := []string{"LATE acme-roster", "FAILED beta-claims"}; !slices.Equal(states, want) {
		t.Errorf("attention = %v, want %v", states, want)
	}

	if len(d.Dashboard.RecentRuns) != 5 {
		t.Fatalf("recentRuns has %d runs, want 5", len(d.Dashboard.RecentRuns))
	}
	for _, r := range d.Dashboard.RecentRuns {
		if r.DurationMs == nil {
			t.Errorf("run %s has no duration", r.ID)
		}
		if r.ID == fmt.Sprint(b.runs["acme-ok"]) && (r.Rows == nil || *r.Rows != 10 || *r.DurationMs != 4000) {
			t.Errorf("run acme-ok: rows %v duration %v, want 10 rows in 4000 ms", r.Rows, r.DurationMs)
		}
		if r.Late != (r.ID == fmt.Sprint(b.runs["acme-running"])) {
			t.Errorf("run %s late = %v", r.ID, r.Late)
		}
	}

	if len(d.Dashboard.Running) != 1 || d.Dashboard.Running[0].Run.ID != fmt.Sprint(b.runs["acme-running"]) {
		t.Errorf("running = %+v, want acme-running", d.Dashboard.Running)
	}
}

func TestFeedNextRuns(t *testing.T) {
	b := setup(t)
	var got struct {
		Feed struct {
			Schedule string
			NextRuns []struct {
				LocalTime string
				TimeZone  string
			}
		}
	}
	b.ok(t, operator, `{ feed(name: "acme-roster") { schedule nextRuns(count: 3) { localTime timeZone } } }`, nil).decode(t, &got)
	if len(got.Feed.NextRuns) != 3 {
		t.Fatalf("nextRuns = %+v, want 3", got.Feed.NextRuns)
	}
	for _, s := range got.Feed.NextRuns {
		if !strings.HasSuffix(s.LocalTime, "T06:00:00") || s.TimeZone != "America/Chicago" {
			t.Errorf("slot %+v, want 06:00 in America/Chicago", s)
		}
	}
}

// blockingWriter accepts its first write and then blocks until release
// closes, so a COPY TO STDOUT into it stays in progress.
type blockingWriter struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	<-w.release
	return len(p), nil
}

func TestDashboardShowsCopyProgress(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	runID := b.runs["acme-running"]

	// A COPY under the application name that the running run's extract
	// sets, which stalls once the server's send buffer is full.
	conn, err := b.db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL application_name = 'axtract run %d'", runID)); err != nil {
		t.Fatal(err)
	}
	w := &blockingWriter{started: make(chan struct{}), release: make(chan struct{})}
	copyCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := conn.Conn().PgConn().CopyTo(copyCtx, w, "COPY (SELECT g FROM generate_series(1, 5000000) g) TO STDOUT")
		done <- err
	}()
	defer func() {
		cancel()
		close(w.release)
		<-done
		_ = tx.Rollback(context.Background())
	}()
	<-w.started

	var d struct {
		Dashboard struct {
			Running []struct {
				Run        struct{ ID string }
				RowsCopied *int64
			}
		}
	}
	b.ok(t, operator, `{ dashboard { running { run { id } rowsCopied } } }`, nil).decode(t, &d)
	if len(d.Dashboard.Running) != 1 {
		t.Fatalf("running = %+v, want the one running run", d.Dashboard.Running)
	}
	got := d.Dashboard.Running[0]
	if got.Run.ID != fmt.Sprint(runID) {
		t.Errorf("running run %s, want %d", got.Run.ID, runID)
	}
	if got.RowsCopied == nil || *got.RowsCopied <= 0 {
		t.Errorf("rowsCopied = %v, want the rows of the stalled COPY", got.RowsCopied)
	}
}

func TestMemberDisclosuresOfUnknownMember(t *testing.T) {
	b := setup(t)
	query := `query($m: ID!) { memberDisclosures(memberId: $m) { runId } }`
	if r := b.do(t, officer, query, map[string]any{"m": "00000000-0000-4000-8000-999999999999"}); !r.hasCode("NOT_FOUND") {
		t.Errorf("unknown member: codes %v, want NOT_FOUND", r.codes())
	}
	// A member of the mart that no run disclosed has an empty list.
	var got struct{ MemberDisclosures []struct{ RunID string } }
	b.ok(t, officer, query, map[string]any{"m": b.members[len(b.members)-1]}).decode(t, &got)
	if len(got.MemberDisclosures) != 0 {
		t.Errorf("disclosures of an undisclosed member = %v, want none", got.MemberDisclosures)
	}
}

func TestConsentSummaryCounts(t *testing.T) {
	b := setup(t)
	// acme has grants for the first 10 members since 2020. One is revoked,
	// which also records a denial from today, and member 10 gets a grant
	// from next month.
	mustExec(t, b, `SELECT axtract.consent_revoke('acme', $1::uuid)`, b.members[0])
	mustExec(t, b, `SELECT axtract.consent_grant('acme', $1::uuid, (now() AT TIME ZONE 'UTC')::date + 30)`, b.members[10])
	var got struct {
		Partner struct {
			ConsentSummary struct{ GrantsInForce, DenialsInForce, PurposeDecisionsInForce, Scheduled, Inactive int64 }
		}
	}
	b.ok(t, officer, `{ partner(slug: "acme") { consentSummary {
		grantsInForce denialsInForce purposeDecisionsInForce scheduled inactive } } }`, nil).decode(t, &got)
	c := got.Partner.ConsentSummary
	if c.GrantsInForce != 9 || c.DenialsInForce != 1 || c.PurposeDecisionsInForce != 0 || c.Scheduled != 1 || c.Inactive != 1 {
		t.Errorf("consent summary = %+v, want 9 grants and 1 denial in force, 1 scheduled, 1 inactive", c)
	}
}

func TestDefineDestinationRejectsBadHostKey(t *testing.T) {
	b := setup(t)
	r := b.do(t, admin, `mutation($c: JSON!) { defineDestination(input: {partner: "acme", name: "partner-sftp", kind: SFTP, config: $c}) { name } }`,
		map[string]any{"c": map[string]any{"host": "sftp.example.test", "user": "u", "host_key": "ssh-ed25519 AAAA...",
			"private_key_file": "/nonexistent/id"}})
	if !r.hasCode("VALIDATION") {
		t.Errorf("codes %v, want VALIDATION for a host key that does not parse", r.codes())
	}
	if n := count(t, b, `SELECT FROM axtract.destination WHERE name = 'partner-sftp'`); n != 0 {
		t.Errorf("%d destinations defined after the rejection, want 0", n)
	}
}

func TestSchedulePreviewAppliesCalendar(t *testing.T) {
	b := setup(t)
	preview := func(rule string) []time.Time {
		t.Helper()
		var got struct {
			SchedulePreview []struct {
				LocalTime string
				TimeZone  string
			}
		}
		b.ok(t, analyst, `query($r: String) {
			schedulePreview(schedule: "0 6 * * *", timeZone: "America/Chicago", calendar: "us_federal", holidayRule: $r, count: 7) {
				localTime timeZone
			}
		}`, map[string]any{"r": rule}).decode(t, &got)
		var days []time.Time
		for _, s := range got.SchedulePreview {
			local, err := time.Parse("2006-01-02T15:04:05", s.LocalTime)
			if err != nil {
				t.Fatalf("localTime %q: %v", s.LocalTime, err)
			}
			if local.Hour() != 6 || s.TimeZone != "America/Chicago" {
				t.Errorf("slot %+v, want 06:00 in America/Chicago", s)
			}
			days = append(days, local)
		}
		return days
	}
	weekend := func(days []time.Time) int {
		n := 0
		for _, d := range days {
			if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
				n++
			}
		}
		return n
	}

	// Seven daily slots in a row cover a weekend, and skip leaves it out.
	if every := preview("none"); len(every) != 7 || weekend(every) != 2 {
		t.Errorf("rule none: %v, want 7 slots with 2 on a weekend", every)
	}
	if skipped := preview("skip"); len(skipped) != 7 || weekend(skipped) != 0 {
		t.Errorf("rule skip: %v, want 7 slots on business days", skipped)
	}

	for query, code := range map[string]string{
		`{ schedulePreview(schedule: "0 25 * * *") { slot } }`:                       "VALIDATION",
		`{ schedulePreview(schedule: "@daily", timeZone: "Mars/Olympus") { slot } }`: "VALIDATION",
		`{ schedulePreview(schedule: "@daily", calendar: "nowhere") { slot } }`:      "NOT_FOUND",
		`{ schedulePreview(schedule: "@daily", count: 101) { slot } }`:               "VALIDATION",
		`{ schedulePreview(schedule: "@daily", holidayRule: "sometimes") { slot } }`: "VALIDATION",
	} {
		if r := b.do(t, analyst, query, nil); !r.hasCode(code) {
			t.Errorf("%s: codes %v, want %s", query, r.codes(), code)
		}
	}
}

func TestOperatorMutations(t *testing.T) {
	b := setup(t)
	var paused struct{ PauseFeed struct{ Paused bool } }
	b.ok(t, operator, `mutation { pauseFeed(name: "acme-roster") { paused } }`, nil).decode(t, &paused)
	if !paused.PauseFeed.Paused || count(t, b, `SELECT FROM axtract.audit_event WHERE action = 'feed.pause'`) != 1 {
		t.Errorf("pauseFeed: paused %v, audit events %d", paused.PauseFeed.Paused,
			count(t, b, `SELECT FROM axtract.audit_event WHERE action = 'feed.pause'`))
	}
	b.ok(t, operator, `mutation { resumeFeed(name: "acme-roster") { paused } }`, nil)

	var now struct {
		RunFeedNow struct{ ID, Status, Trigger string }
	}
	b.ok(t, operator, `mutation { runFeedNow(name: "acme-roster") { id status trigger } }`, nil).decode(t, &now)
	if now.RunFeedNow.Status != "QUEUED" || now.RunFeedNow.Trigger != "MANUAL" {
		t.Errorf("runFeedNow = %+v, want a queued manual run", now.RunFeedNow)
	}
	if n := count(t, b, `SELECT FROM river.river_job WHERE args->>'run_id' = $1`, now.RunFeedNow.ID); n != 1 {
		t.Errorf("run %s has %d River jobs, want 1", now.RunFeedNow.ID, n)
	}

	var retried struct{ RetryRun struct{ Status string } }
	b.ok(t, operator, `mutation($id: ID!) { retryRun(id: $id) { status } }`,
		map[string]any{"id": fmt.Sprint(b.runs["acme-failed"])}).decode(t, &retried)
	if retried.RetryRun.Status != "QUEUED" {
		t.Errorf("retryRun status = %s, want QUEUED", retried.RetryRun.Status)
	}
	// A run that did not fail cannot be retried, and the SQL function's
	// message names the run's status.
	r := b.do(t, operator, `mutation($id: ID!) { retryRun(id: $id) { status } }`,
		map[string]any{"id": fmt.Sprint(b.runs["acme-ok"])})
	if !r.hasCode(string(CodeValidation)) || !strings.Contains(r.Errors[0].Message, "not failed") {
		t.Errorf("retry of a succeeded run: %+v, want VALIDATION naming the status", r.Errors)
	}
	if r := b.do(t, operator, `mutation { pauseFeed(name: "nosuch") { paused } }`, nil); !r.hasCode(string(CodeNotFound)) {
		t.Errorf("pause of unknown feed: codes %v, want NOT_FOUND", r.codes())
	}
}

func TestRequestApprovalFlow(t *testing.T) {
	b := setup(t)
	spec := map[string]any{"dataset": "members", "columns": []string{"member_id", "zip"}}
	var created struct{ CreateRequest struct{ ID, Status string } }
	b.ok(t, analyst, `mutation($in: RequestInput!) { createRequest(input: $in) { id status } }`, map[string]any{
		"in": map[string]any{"partner": "acme", "kind": "VIEW", "viewName": "zips", "spec": spec}}).decode(t, &created)
	id := created.CreateRequest.ID
	if created.CreateRequest.Status != "DRAFT" {
		t.Fatalf("new request status %s, want DRAFT", created.CreateRequest.Status)
	}
	b.ok(t, analyst, `mutation($id: ID!) { submitRequest(id: $id) { status } }`, map[string]any{"id": id})

	// The analyst role may not approve requests, its own or others'.
	if r := b.do(t, analyst, `mutation($id: ID!) { approveRequest(id: $id) { status } }`, map[string]any{"id": id}); !r.hasCode(string(CodeForbidden)) {
		t.Errorf("analyst approving: codes %v, want FORBIDDEN", r.codes())
	}
	if count(t, b, `SELECT FROM axtract.partner_view WHERE name = 'zips'`) != 0 {
		t.Fatal("view exists before approval")
	}

	var review struct {
		Request struct {
			Review     map[string]any
			Validation []struct{ Code string }
		}
	}
	b.ok(t, officer, `query($id: ID!) { request(id: $id) { review validation { code } } }`, map[string]any{"id": id}).decode(t, &review)
	if review.Request.Review["compiled_sql"] == nil || len(review.Request.Validation) != 0 {
		t.Errorf("review = %+v, want the compiled SQL and no validation message", review.Request)
	}

	var approved struct {
		ApproveRequest struct {
			Status      string
			ReviewedBy  string
			ViewVersion int
		}
	}
	b.ok(t, officer, `mutation($id: ID!) { approveRequest(id: $id, comment: "fine") { status reviewedBy viewVersion } }`,
		map[string]any{"id": id}).decode(t, &approved)
	if approved.ApproveRequest.Status != "APPROVED" || approved.ApproveRequest.ReviewedBy != officer.Login || approved.ApproveRequest.ViewVersion != 1 {
		t.Errorf("approved = %+v", approved.ApproveRequest)
	}
	if count(t, b, `SELECT FROM axtract.partner_view WHERE name = 'zips'`) != 1 {
		t.Error("approval did not define the view")
	}

	// An admin may hold both roles but not review a request of its own.
	var own struct{ CreateRequest struct{ ID string } }
	b.ok(t, admin, `mutation($in: RequestInput!) { createRequest(input: $in) { id } }`, map[string]any{
		"in": map[string]any{"partner": "acme", "kind": "VIEW", "viewName": "own", "spec": spec}}).decode(t, &own)
	b.ok(t, admin, `mutation($id: ID!) { submitRequest(id: $id) { status } }`, map[string]any{"id": own.CreateRequest.ID})
	r := b.do(t, admin, `mutation($id: ID!) { approveRequest(id: $id) { status } }`, map[string]any{"id": own.CreateRequest.ID})
	if !r.hasCode(string(CodeForbidden)) {
		t.Errorf("self-approval: codes %v, want FORBIDDEN from the four-eyes rule", r.codes())
	}

	// Submitting a spec approval would reject fails with the compiler's reason.
	var bad struct{ CreateRequest struct{ ID string } }
	b.ok(t, analyst, `mutation($in: RequestInput!) { createRequest(input: $in) { id } }`, map[string]any{
		"in": map[string]any{"partner": "beta", "kind": "VIEW", "viewName": "names",
			"spec": map[string]any{"dataset": "members", "columns": []string{"first_name"}}}}).decode(t, &bad)
	r = b.do(t, analyst, `mutation($id: ID!) { submitRequest(id: $id) { status } }`, map[string]any{"id": bad.CreateRequest.ID})
	if !r.hasCode(string(CodeValidation)) || r.Errors[0].Extensions["reason"] != "MINIMUM_NECESSARY" {
		t.Errorf("submit of a minimum-necessary violation: %+v, want VALIDATION with reason MINIMUM_NECESSARY", r.Errors)
	}
}

func TestConsentMutationsHideMemberIDs(t *testing.T) {
	b := setup(t)
	member := b.members[25]
	var granted struct{ GrantConsent string }
	b.ok(t, officer, `mutation($m: ID!) { grantConsent(input: {partner: "acme", memberId: $m, from: "2024-01-01"}) }`,
		map[string]any{"m": member}).decode(t, &granted)
	if n := count(t, b, `SELECT FROM axtract.consent WHERE consent_id = $1 AND member_id = $2 AND kind = 'grant'`,
		granted.GrantConsent, member); n != 1 {
		t.Errorf("grantConsent recorded %d rows, want 1", n)
	}

	unknown := "00000000-0000-4000-8000-00000000abcd"
	r := b.do(t, officer, `mutation($m: ID!) { grantConsent(input: {partner: "acme", memberId: $m, from: "2024-01-01"}) }`,
		map[string]any{"m": unknown})
	if !r.hasCode(string(CodeNotFound)) {
		t.Fatalf("grant to unknown member: codes %v, want NOT_FOUND", r.codes())
	}
	if strings.Contains(r.Errors[0].Message, unknown) {
		t.Errorf("error message %q names the member id", r.Errors[0].Message)
	}
	if r := b.do(t, officer, `mutation { revokeConsent(partner: "acme", memberId: "x") }`, nil); !r.hasCode(string(CodeValidation)) {
		t.Errorf("revoke with a bad id: codes %v, want VALIDATION", r.codes())
	}
}

func TestBadDateIsValidation(t *testing.T) {
	b := setup(t)
	r := b.do(t, operator, `mutation { backfillFeed(name: "acme-roster", from: "yesterday", to: "2020-01-02") }`, nil)
	if !r.hasCode(string(CodeValidation)) {
		t.Errorf("bad date: codes %v (%+v), want VALIDATION", r.codes(), r.Errors)
	}
}

func TestDashboardSnapshotRefreshes(t *testing.T) {
	b := setup(t)
	h, err := newHandler(b.db.Pool, Options{Logger: b.h.logger, DashboardMaxAge: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b.h = h
	failed := func() int64 {
		var d struct {
			Dashboard struct {
				RunsByStatus []struct {
					Status string
					Count  int64
				}
			}
		}
		b.ok(t, operator, `{ dashboard { runsByStatus { status count } } }`, nil).decode(t, &d)
		for _, c := range d.Dashboard.RunsByStatus {
			if c.Status == "FAILED" {
				return c.Count
			}
		}
		return -1
	}
	if n := failed(); n != 2 {
		t.Fatalf("failed runs = %d, want 2", n)
	}

	b.addRun(t, "acme-failed-2", "acme-roster", "failed", -5)
	if n := failed(); n != 2 {
		t.Errorf("failed runs within the snapshot's age = %d, want the snapshot's 2", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for failed() != 3 {
		if time.Now().After(deadline) {
			t.Fatal("the dashboard never showed the new failed run")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDashboardResponsesKeyedByRole(t *testing.T) {
	b := setup(t)
	q := `{ dashboard { recentRuns(first: 5) { id files { downloadUrl } } } }`
	if r := b.do(t, analyst, q, nil); !r.hasCode(string(CodeForbidden)) {
		t.Fatalf("analyst: codes %v, want FORBIDDEN on downloadUrl", r.codes())
	}
	// The same query text right after, as admin, must not get the analyst's
	// cached response.
	r := b.ok(t, admin, q, nil)
	if urls := collectStrings(r.Data, "downloadUrl"); len(urls) != 2 {
		t.Errorf("admin sees download links %v, want those of acme's data file and manifest", urls)
	}
	if r := b.do(t, analyst, q, nil); !r.hasCode(string(CodeForbidden)) {
		t.Errorf("analyst again: codes %v, want FORBIDDEN", r.codes())
	}
}

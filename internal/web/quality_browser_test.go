package web_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardHoldsAndReleasesRun sets quality rules in the portal as an
// analyst, lets a run break them and be held, and releases one held run and
// discards another as an operator.
func TestDashboardHoldsAndReleasesRun(t *testing.T) {
	findChromium(t)
	env := newPortalEnv(t)
	shots := artifactsDir(t)
	b := newBrowser(t, env.url, shots)
	ctx := context.Background()

	dropDir := t.TempDir()
	config, _ := json.Marshal(map[string]string{"dir": dropDir})
	for _, sql := range []string{
		`SELECT axtract.view_define('research', 'claims', spec) FROM axtract.request_template WHERE name = 'research_deidentified_claims'`,
		"SELECT axtract.destination_define('research', 'drop', 'local', '" + string(config) + "')",
		`SELECT axtract.feed_define('research-drop', 'research', 'claims', 'drop', '{"encrypt": false, "compression": "none", "max_attempts": 1}')`,
	} {
		if _, err := env.db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	b.login("ana")
	b.waitFor("the quality rules form", `document.querySelector('#quality-rules select[name="quality-feed"]') !== null`)
	b.choose(`#quality-rules select[name="quality-feed"]`, "research-drop")
	b.waitFor("the feed's rules", `document.querySelector('#quality-rules[data-feed="research-drop"]') !== null`)
	b.fill(`#quality-rules input[name="min-rows"]`, "1000000")
	b.choose(`#quality-rules select[name="on-fail"]`, "hold")
	b.do("save the rules", chromedp.Click(chromedp.CSS(`#quality-rules button.save-quality`)))
	b.waitFor("the stored rules", `(document.querySelector('#quality-stored') || {}).textContent.includes('"on_fail": "hold"')`)
	var rules string
	if err := env.db.Pool.QueryRow(ctx, `SELECT q.rules::text FROM axtract.feed_quality q JOIN axtract.feed f USING (feed_id)
		WHERE f.name = 'research-drop'`).Scan(&rules); err != nil {
		t.Fatalf("read stored rules: %v", err)
	}
	if !strings.Contains(rules, `"min_rows": 1000000`) {
		t.Errorf("stored rules = %s, want min_rows 1000000", rules)
	}
	if b.evalInt(`document.querySelectorAll('#held button.release').length`) != 0 {
		t.Error("an analyst sees Release buttons")
	}
	b.logout()

	b.login("otto")
	b.waitFor("the feed on the dashboard", `document.querySelector('#feeds-table tr[data-feed="research-drop"] button.run-now') !== null`)
	if b.evalInt(`document.querySelector('#quality-rules') ? 1 : 0`) != 0 {
		t.Error("an operator sees the quality rules form")
	}
	hold := func() int64 {
		t.Helper()
		b.do("run the feed now", chromedp.Click(chromedp.CSS(`#feeds-table tr[data-feed="research-drop"] button.run-now`)))
		return waitForStatus(t, env, "research-drop", "held")
	}
	first := hold()
	b.do("reload the dashboard", chromedp.Navigate(env.url+"/dashboard"))
	b.waitFor("the held run", `document.querySelector('#held tr[data-run="`+itoa(first)+`"] button.release') !== null`)
	if got := b.text("#held"); !strings.Contains(got, "min_rows") || !strings.Contains(got, "expected at least 1000000") {
		t.Errorf("held runs lack the broken rule:\n%s", got)
	}
	// The dashboard's counts are a snapshot of up to two seconds, renewed as
	// the page polls.
	b.waitFor("the held feed in the attention list", `(document.querySelector('#attention') || {}).textContent.includes('held')`)
	b.screenshot("dashboard-held")

	b.do("release the run", chromedp.Click(chromedp.CSS(`#held tr[data-run="`+itoa(first)+`"] button.release`)))
	if got := waitForStatus(t, env, "research-drop", "succeeded"); got != first {
		t.Errorf("released run %d delivered, want %d", got, first)
	}
	var outcome string
	if err := env.db.Pool.QueryRow(ctx, `SELECT outcome FROM axtract.run_quality WHERE run_id = $1`, first).Scan(&outcome); err != nil {
		t.Fatal(err)
	}
	if outcome != "released" {
		t.Errorf("outcome of the released run = %s, want released", outcome)
	}

	second := hold()
	b.do("reload the dashboard", chromedp.Navigate(env.url+"/dashboard"))
	row := `#held tr[data-run="` + itoa(second) + `"]`
	b.waitFor("the second held run", `document.querySelector('`+row+` button.discard') !== null`)
	b.fill(row+` input.discard-reason`, "claims load was incomplete")
	b.do("discard the run", chromedp.Click(chromedp.CSS(row+` button.discard`)))
	waitForStatus(t, env, "research-drop", "discarded")
	b.waitFor("the empty held list", `(document.querySelector('#held') || {}).textContent.includes('No run is held')`)
}

// waitForStatus waits up to a minute for the newest run of feed to reach
// status and returns its id.
func waitForStatus(t *testing.T, env *portalEnv, feed, status string) int64 {
	t.Helper()
	var id int64
	var got string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		err := env.db.Pool.QueryRow(context.Background(), `SELECT r.run_id, r.status FROM axtract.run r
			JOIN axtract.feed f USING (feed_id) WHERE f.name = $1 ORDER BY r.run_id DESC LIMIT 1`, feed).Scan(&id, &got)
		if err == nil && got == status {
			return id
		}
	}
	var runErr string
	env.db.Pool.QueryRow(context.Background(), `SELECT coalesce(error, '') FROM axtract.run WHERE run_id = $1`, id).Scan(&runErr)
	t.Fatalf("newest run %d of feed %s is %q (error %q) after a minute, want %s", id, feed, got, runErr, status)
	return 0
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

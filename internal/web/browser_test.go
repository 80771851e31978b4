package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/axtract/axtract/graph"
	"github.com/axtract/axtract/internal/auth"
	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/generate"
	"github.com/axtract/axtract/internal/metrics"
	"github.com/axtract/axtract/internal/opsui"
	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/pullapi"
	"github.com/axtract/axtract/internal/web"
	"github.com/axtract/axtract/worker"
)

// testArgon2 keeps password hashing cheap in tests; production uses
// auth.DefaultArgon2Params.
var testArgon2 = auth.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLength: 16, KeyLength: 32}

// findChromium returns the Chromium binary: AXTRACT_CHROMIUM, else
// /usr/bin/chromium, else chromium or chromium-browser on PATH. Without
// one the test skips, except under CI=true, where it fails.
func findChromium(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("AXTRACT_CHROMIUM"), "/usr/bin/chromium"}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			candidates = append(candidates, p)
		}
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if info, err := os.Stat(c); err == nil && !info.IsDir() {
			return c
		}
	}
	msg := "Chromium not found at AXTRACT_CHROMIUM, /usr/bin/chromium or on PATH; install it with scripts/setup.sh (Debian package chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// artifactsDir returns the folder for screenshots: AXTRACT_ARTIFACTS_DIR,
// else a new temporary folder that the test leaves in place.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("AXTRACT_ARTIFACTS_DIR")
	if dir == "" {
		d, err := os.MkdirTemp("", "axtract-portal-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	fmt.Fprintf(os.Stderr, "portal screenshots: %s\n", dir)
	return dir
}

// portalEnv is a migrated database with a research partner, its consents,
// agreement and portal destination, staff and partner accounts, the full
// HTTP server on 127.0.0.1 and River workers.
type portalEnv struct {
	db       *pgtest.DB
	url      string
	filesDir string
}

const testPassword = "correct horse battery staple"

func newPortalEnv(t *testing.T) *portalEnv {
	t.Helper()
	return newPortalEnvWith(t, nil)
}

// newPortalEnvWith is newPortalEnv with OpenID Connect sign-in configured
// by oidc, or off when it is nil.
func newPortalEnvWith(t *testing.T, oidc *auth.OIDCConfig) *portalEnv {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	logger := slog.New(slog.DiscardHandler)
	filesDir := t.TempDir()

	if _, err := generate.Generate(ctx, db.Pool, generate.Config{
		Members: 60, ClaimLines: 240, PharmacyClaims: 30, Labs: 30, Providers: 10, Workers: 1,
	}, logger); err != nil {
		t.Fatalf("generate mart: %v", err)
	}
	dest, _ := json.Marshal(map[string]string{"dir": filesDir})
	for _, sql := range []string{
		"SELECT axtract.partner_create('research', 'Research Institute', 'research', 'data@research.example')",
		"SELECT axtract.dua_record('research', 'DUA-2026-07', current_date - 30, current_date - 30)",
		"SELECT axtract.consent_grant_all('research', 'SELECT member_id FROM mart.member', current_date - 365)",
		"SELECT axtract.destination_define('research', 'portal', 'portal', '" + string(dest) + "')",
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for _, a := range []auth.NewAccount{
		{Login: "ana", Role: auth.RoleAnalyst},
		{Login: "pat", Role: auth.RolePrivacyOfficer},
		{Login: "otto", Role: auth.RoleOperator},
		{Login: "rita", Role: auth.RolePartner, Partner: "research"},
	} {
		a.Password = testPassword
		if _, err := auth.CreateAccount(ctx, db.Pool, a, testArgon2); err != nil {
			t.Fatalf("create account %s: %v", a.Login, err)
		}
	}

	client, err := worker.NewClient(worker.Config{
		Pool: db.Pool, Logger: logger, Workers: 2, TickInterval: time.Hour,
		Runner: &extract.Runner{Pool: db.Pool, Logger: logger},
	})
	if err != nil {
		t.Fatal(err)
	}
	workCtx, cancel := context.WithCancel(ctx)
	if err := client.Start(workCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
		defer stop()
		client.Stop(stopCtx)
		cancel()
	})
	accounts := auth.NewService(db.Pool, auth.Options{Logger: logger, Argon2: testArgon2, OIDC: oidc})
	if err := accounts.OIDCError(); err != nil {
		t.Fatal(err)
	}
	jobs, err := opsui.Handler(workCtx, client, logger)
	if err != nil {
		t.Fatalf("River UI: %v", err)
	}
	files := pullapi.NewHandler(db.Pool, pullapi.Options{Logger: logger})
	handler, err := web.New(web.Deps{
		GraphQL: graph.NewHandler(db.Pool, graph.Options{
			Logger:      logger,
			DownloadURL: web.DownloadLinks(db.Pool, "", 0),
		}),
		Auth:     accounts.Routes(),
		Session:  accounts.Middleware,
		RiverUI:  jobs,
		PullAPI:  files,
		Download: files,
		Health:   metrics.New().Handler(db.Pool),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	return &portalEnv{db: db, url: srv.URL, filesDir: filesDir}
}

// browserSession drives one headless Chromium tab against the test server.
type browserSession struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string

	mu      sync.Mutex
	foreign []string
}

func newBrowser(t *testing.T, base, shots string) *browserSession {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(findChromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("no-pings", true),
		// Host names resolve to nothing, so no page can reach another host
		// by name; the test server is an IP literal.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	b := &browserSession{t: t, ctx: ctx, base: base, shots: shots}
	if err := chromedp.Listen(ctx, func(ev any) {
		req, ok := ev.(*network.EventRequestWillBeSent)
		if !ok || req.Request == nil {
			return
		}
		u := req.Request.URL
		if strings.HasPrefix(u, base+"/") || u == base || strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "about:") || strings.HasPrefix(u, "blob:") {
			return
		}
		b.mu.Lock()
		b.foreign = append(b.foreign, u)
		b.mu.Unlock()
	}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.foreign) > 0 {
			t.Errorf("the portal requested URLs outside the test server: %v", b.foreign)
		}
	})
	return b
}

func (b *browserSession) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage text: %s", what, err, b.pageText())
	}
}

// waitFor polls the JavaScript condition until it is truthy.
func (b *browserSession) waitFor(what, condition string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](condition, chromedp.WithPollingTimeout(40*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		b.t.Fatalf("wait for %s (%s): %v\npage text: %s", what, condition, err, b.pageText())
	}
}

func (b *browserSession) text(selector string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("(document.querySelector(%q) || {}).innerText || ''", selector)))
	if err != nil {
		b.t.Fatalf("read %s: %v", selector, err)
	}
	return s
}

func (b *browserSession) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("location.pathname + '\\n' + document.body.innerText"))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	if len(s) > 3000 {
		s = s[:3000] + "..."
	}
	return s
}

// choose sets a select element's value the way a person does, so its
// change listeners run.
func (b *browserSession) choose(selector, value string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false;
		el.value = %q; el.dispatchEvent(new Event('change', { bubbles: true })); return el.value === %q; })()`, selector, value, value)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil || !ok {
		b.t.Fatalf("choose %q in %s: ok=%v err=%v\npage text: %s", value, selector, ok, err, b.pageText())
	}
}

// fill replaces an input's value and fires its input and change events.
func (b *browserSession) fill(selector, value string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; el.value = %q;
		el.dispatchEvent(new Event('input', { bubbles: true })); el.dispatchEvent(new Event('change', { bubbles: true })); return true; })()`, selector, value)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil || !ok {
		b.t.Fatalf("fill %s: ok=%v err=%v\npage text: %s", selector, ok, err, b.pageText())
	}
}

// evalInt evaluates a JavaScript expression that returns a number or a
// promise of one.
func (b *browserSession) evalInt(js string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int64](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return n
}

func (b *browserSession) login(user string) {
	b.t.Helper()
	b.loginFrom("/login", user)
}

// loginFrom opens path while signed out, which leads to the login form, and
// signs in as user there.
func (b *browserSession) loginFrom(path, user string) {
	b.t.Helper()
	b.do("open "+path+" to sign in as "+user,
		chromedp.Navigate(b.base+path),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
	)
	b.waitFor("sign-in of "+user, `location.pathname !== '/login' && document.querySelector('#account .who') !== null`)
}

func (b *browserSession) logout() {
	b.t.Helper()
	b.do("sign out", chromedp.Click(chromedp.CSS(`#account button`)))
	b.waitFor("the login page", `location.pathname === '/login' && document.querySelector('input[name="login"]') !== null`)
}

// goTo follows a navigation link of the page, as a person does.
func (b *browserSession) goTo(path, ready string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const a = document.querySelector('#nav a[href=%q]'); if (!a) return false; a.click(); return true; })()`, path)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil || !ok {
		b.t.Fatalf("no navigation link to %s: ok=%v err=%v\npage text: %s", path, ok, err, b.pageText())
	}
	b.waitFor(path, fmt.Sprintf("location.pathname === %q && (%s)", path, ready))
}

// screenshot saves the page at phone and desktop widths as NAME-phone.png
// and NAME-desktop.png.
func (b *browserSession) screenshot(name string) {
	b.t.Helper()
	for _, size := range []struct {
		label         string
		width, height int64
	}{{"phone", 390, 844}, {"desktop", 1440, 900}} {
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size.width, size.height), chromedp.Sleep(150*time.Millisecond)); err != nil {
			cancel()
			b.t.Fatalf("resize to %s: %v", size.label, err)
		}
		// A page wider than the viewport scrolls sideways on a phone.
		width, err := chromedp.Run(ctx, chromedp.Evaluate[int64]("document.documentElement.scrollWidth"))
		if err != nil {
			cancel()
			b.t.Fatalf("measure %s at %s size: %v", name, size.label, err)
		}
		if width > size.width {
			b.t.Errorf("page %s is %d px wide at %s size, wider than the %d px viewport", name, width, size.label, size.width)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			b.t.Fatalf("screenshot %s %s: %v", name, size.label, err)
		}
		path := filepath.Join(b.shots, name+"-"+size.label+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("restore the desktop viewport", chromedp.EmulateViewport(1440, 900))
}

// TestLoginOffersSingleSignOn checks that the login page links to the
// OpenID Connect sign-in when the server has it. The provider is never
// contacted: internal/auth tests the redirect and the callback.
func TestLoginOffersSingleSignOn(t *testing.T) {
	findChromium(t)
	idp := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(idp.Close)
	env := newPortalEnvWith(t, &auth.OIDCConfig{Issuer: idp.URL, ClientID: "axtract",
		RedirectURL: "https://axtract.test/auth/oidc/callback", RoleMap: map[string]auth.Role{"staff": auth.RoleAnalyst}})
	b := newBrowser(t, env.url, artifactsDir(t))

	b.do("open the login page", chromedp.Navigate(env.url+"/login"))
	b.waitFor("the single sign-on link", `(() => {
		const a = document.querySelector('#sso-login');
		return a !== null && a.getAttribute('href') === '/auth/oidc/login';
	})()`)
	b.screenshot("login-sso")
}

// TestPortalViewToDownload walks the portal end to end in Chromium. An
// analyst designs a view from a template and submits it, and a privacy
// officer approves it. The analyst requests a feed, and the officer approves
// that too. An operator runs the feed, the dashboard shows the run and its
// file, and a partner user downloads the file.
func TestPortalViewToDownload(t *testing.T) {
	findChromium(t) // skip before the database work when there is no browser
	env := newPortalEnv(t)
	shots := artifactsDir(t)
	b := newBrowser(t, env.url, shots)
	ctx := context.Background()

	// Login page.
	b.do("open the portal", chromedp.Navigate(env.url+"/"))
	b.waitFor("the login form", `location.pathname === '/login' && document.querySelector('input[name="login"]') !== null`)
	// This server has no single sign-on, so the page offers none.
	b.waitFor("the password form alone", `document.querySelector('form.login[data-methods="loaded"]') !== null
		&& document.querySelector('#sso-login') === null`)
	b.screenshot("login")

	// Keyboard: the skip link is the first focusable element, Enter on it
	// moves focus to the main region, and the help panel opens with Enter.
	// The login page puts focus in the login field.
	b.waitFor("focus in the login field", `document.activeElement && document.activeElement.name === 'login'`)
	b.waitFor("the skip link first in focus order",
		`document.querySelector('a[href], button:not([hidden]), input, select, textarea, [tabindex]:not([tabindex="-1"])').classList.contains('skip-link')`)
	b.do("follow the skip link", chromedp.Focus(chromedp.CSS(".skip-link")), chromedp.KeyEvent("\r"))
	b.waitFor("focus on the main region", `document.activeElement && document.activeElement.id === 'main'`)
	b.do("focus the help panel", chromedp.Focus(chromedp.CSS("#help summary")), chromedp.KeyEvent("\r"))
	b.waitFor("the open help panel", `document.querySelector('#help').open === true`)

	// The analyst designs the view from the Safe Harbor research template.
	b.login("ana")
	b.waitFor("the dashboard", `location.pathname === '/dashboard' && document.querySelector('#run-stats li') !== null`)
	b.goTo("/views/new", `document.querySelector('select[name="template"] option[value="research_deidentified_claims"]') !== null`)
	b.choose(`select[name="template"]`, "research_deidentified_claims")
	b.waitFor("the preview rows", `document.querySelectorAll('#preview-table tbody tr').length > 0`)
	b.waitFor("a passing minimum-necessary check", `document.querySelector('#check').dataset.ok === 'true'`)
	header := b.text("#preview-table thead")
	for _, col := range []string{"member_key", "service_year", "member_zip3"} {
		if !strings.Contains(header, col) {
			t.Errorf("preview columns %q lack %s", header, col)
		}
	}
	if strings.Contains(header, "member_id") {
		t.Errorf("preview shows member_id, which the template pseudonymizes: %q", header)
	}
	b.screenshot("view-designer")
	b.do("submit the view", chromedp.Click(chromedp.CSS("#submit-view")))
	b.waitFor("the submitted request", `document.querySelector('#submit-result').classList.contains('ok')`)
	if got := b.text("#submit-result"); !strings.Contains(got, "submitted") {
		t.Errorf("submit result = %q, want it to say submitted", got)
	}
	b.logout()

	// The privacy officer follows a link to the approvals page, signs in on
	// the way and lands back there, then reviews and approves the request.
	b.loginFrom("/approvals", "pat")
	b.waitFor("the approvals page after sign-in", `location.pathname === '/approvals' && document.querySelector('article.request') !== null`)
	card := b.text("article.request")
	for _, want := range []string{"research_deidentified_claims", "pseudonym", "research", "in force"} {
		if !strings.Contains(card, want) {
			t.Errorf("request card lacks %q:\n%s", want, card)
		}
	}
	b.screenshot("approvals")
	b.do("approve the view", chromedp.Click(chromedp.CSS("article.request button.approve")))
	b.waitFor("the decided request", `(document.querySelector('#decided-table') || {}).innerText?.includes('approved')`)
	var views int
	if err := env.db.Pool.QueryRow(ctx, `SELECT count(*) FROM axtract.partner_view v JOIN axtract.partner p USING (partner_id)
		WHERE p.slug = 'research' AND v.name = 'research_deidentified_claims'`).Scan(&views); err != nil {
		t.Fatal(err)
	}
	if views != 1 {
		t.Fatalf("views after approval = %d, want 1", views)
	}
	b.logout()

	// The analyst requests a feed of the approved view to the portal.
	b.login("ana")
	b.goTo("/feeds/new", `document.querySelector('select[name="view"] option[value="research_deidentified_claims"]') !== null`)
	b.fill(`input[name="feed-name"]`, "research-claims")
	b.fill(`input[name="schedule"]`, "0 6 * * *")
	b.choose(`select[name="compression"]`, "none")
	b.choose(`select[name="time-zone"]`, "America/Chicago")
	b.choose(`select[name="calendar"]`, "us_federal")
	b.choose(`select[name="holiday-rule"]`, "skip")
	b.do("turn encryption off", chromedp.Click(chromedp.CSS(`#encrypt`)))
	// A daily schedule that skips non-business days: the server's preview
	// lists five weekdays.
	b.waitFor("the next-run preview on business days", `(() => {
		const items = [...document.querySelectorAll('#next-runs ol li')];
		return items.length === 5 && items.every((li) => {
			const day = new Date(li.textContent.slice(0, 10) + 'T00:00:00Z').getUTCDay();
			return day >= 1 && day <= 5;
		});
	})()`)
	b.screenshot("feed-designer")
	b.do("submit the feed", chromedp.Click(chromedp.CSS(`#feed-form button[type="submit"]`)))
	b.waitFor("the submitted feed request", `document.querySelector('#feed-result').classList.contains('ok')`)
	b.logout()

	b.login("pat")
	b.goTo("/approvals", `document.querySelector('article.request') !== null`)
	b.do("approve the feed", chromedp.Click(chromedp.CSS("article.request button.approve")))
	b.waitFor("no pending request", `document.querySelector('article.request') === null && document.querySelector('#decided-table') !== null`)
	var feeds int
	if err := env.db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.feed WHERE name = 'research-claims'").Scan(&feeds); err != nil {
		t.Fatal(err)
	}
	if feeds != 1 {
		t.Fatalf("feeds after approval = %d, want 1", feeds)
	}
	b.do("open the partner page", chromedp.Navigate(env.url+"/partners/research"))
	b.waitFor("the partner page", `document.querySelector('#p-dua') !== null && document.body.innerText.includes('DUA-2026-07')`)
	b.screenshot("partner")
	b.logout()

	// The operator runs the feed; the workers deliver it to the portal.
	b.login("otto")
	b.waitFor("the dashboard", `location.pathname === '/dashboard' && document.querySelector('#run-stats li') !== null`)
	if got := b.text("#nav"); !strings.Contains(got, "Job queue") {
		t.Errorf("operator navigation %q lacks the Job queue link", got)
	}
	riverStatus := b.evalInt(`fetch('/riverui/', { credentials: 'same-origin' }).then((r) => r.status)`)
	if riverStatus != 200 {
		t.Errorf("GET /riverui/ as operator = %d, want 200", riverStatus)
	}
	// Pause and resume the feed, then run it, with the dashboard's buttons.
	b.waitFor("the feed on the dashboard", `document.querySelector('#feeds-table tr[data-feed="research-claims"] button.pause') !== null`)
	b.do("pause the feed", chromedp.Click(chromedp.CSS(`#feeds-table tr[data-feed="research-claims"] button.pause`)))
	b.waitFor("the paused feed", `document.querySelector('#feeds-table tr[data-feed="research-claims"] button.resume') !== null`)
	var paused bool
	if err := env.db.Pool.QueryRow(ctx, "SELECT paused FROM axtract.feed WHERE name = 'research-claims'").Scan(&paused); err != nil || !paused {
		t.Errorf("feed paused = %v (%v) after Pause, want true", paused, err)
	}
	b.do("resume the feed", chromedp.Click(chromedp.CSS(`#feeds-table tr[data-feed="research-claims"] button.resume`)))
	b.waitFor("the resumed feed", `document.querySelector('#feeds-table tr[data-feed="research-claims"] button.pause') !== null`)
	b.do("run the feed now", chromedp.Click(chromedp.CSS(`#feeds-table tr[data-feed="research-claims"] button.run-now`)))
	var status string
	var runID int64
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		err := env.db.Pool.QueryRow(ctx, `SELECT r.run_id, r.status FROM axtract.run r
			JOIN axtract.feed f USING (feed_id) WHERE f.name = 'research-claims' ORDER BY r.run_id DESC LIMIT 1`).Scan(&runID, &status)
		if err == nil && (status == "succeeded" || status == "failed") {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if status != "succeeded" {
		var runErr string
		env.db.Pool.QueryRow(ctx, "SELECT coalesce(error, '') FROM axtract.run ORDER BY run_id DESC LIMIT 1").Scan(&runErr)
		t.Fatalf("run status = %q (error %q), want succeeded", status, runErr)
	}
	var fileName string
	if err := env.db.Pool.QueryRow(ctx, "SELECT name FROM axtract.run_file WHERE run_id = $1 AND kind = 'data'", runID).Scan(&fileName); err != nil {
		t.Fatalf("data file of run %d: %v", runID, err)
	}
	b.do("reload the dashboard", chromedp.Navigate(env.url+"/dashboard"))
	b.waitFor("the run on the dashboard", `(document.querySelector('#runs-table') || {}).innerText?.includes('research-claims') && document.querySelector('#runs-table .file') !== null`)
	runs := b.text("#runs-table")
	if !strings.Contains(runs, "succeeded") {
		t.Errorf("dashboard runs table lacks the succeeded run:\n%s", runs)
	}
	b.screenshot("dashboard")
	b.logout()

	// The partner user downloads the file.
	b.login("rita")
	b.waitFor("the deliveries page", `location.pathname === '/deliveries' && document.querySelector('a.download') !== null`)
	b.screenshot("deliveries")
	downloads := t.TempDir()
	waitCtx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	progress := chromedp.BrowserEvents(waitCtx, browser.DownloadProgress)
	b.do("download the file",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior:      browser.SetDownloadBehaviorBehaviorAllowAndName,
				DownloadPath:  downloads,
				EventsEnabled: new(true),
			})
			return err
		}),
		chromedp.Click(chromedp.CSS("a.download")),
	)
	var guid string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("wait for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the browser canceled the download")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
	}
	got, err := os.ReadFile(filepath.Join(downloads, guid))
	if guid == "" || err != nil {
		t.Fatalf("read the downloaded file %q: %v", guid, err)
	}
	want, err := os.ReadFile(filepath.Join(env.filesDir, "research", fileName))
	if err != nil {
		t.Fatalf("read the delivered file: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("downloaded %d bytes that differ from the %d delivered bytes", len(got), len(want))
	}
	if firstLine, _, _ := bytes.Cut(got, []byte("\n")); !bytes.Contains(firstLine, []byte("member_key")) {
		t.Errorf("downloaded file starts with %q, want the header with member_key", firstLine)
	}
}

// TestDashboardRetriesFailedRun runs a feed whose folder is missing, so
// the run fails. The dashboard lists the feed as failed, and after the
// folder is created the operator's Retry delivers the same run.
func TestDashboardRetriesFailedRun(t *testing.T) {
	findChromium(t)
	env := newPortalEnv(t)
	shots := artifactsDir(t)
	b := newBrowser(t, env.url, shots)
	ctx := context.Background()

	dropDir := filepath.Join(t.TempDir(), "drop")
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

	b.login("otto")
	b.waitFor("the feed on the dashboard", `document.querySelector('#feeds-table tr[data-feed="research-drop"] button.run-now') !== null`)
	b.do("run the feed now", chromedp.Click(chromedp.CSS(`#feeds-table tr[data-feed="research-drop"] button.run-now`)))
	runID, status := waitForRun(t, env, "research-drop")
	if status != "failed" {
		t.Fatalf("run into a missing folder = %s, want failed", status)
	}

	b.do("reload the dashboard", chromedp.Navigate(env.url+"/dashboard"))
	b.waitFor("the failed feed in the attention list", `document.querySelector('#attention button.retry') !== null`)
	if got := b.text("#attention"); !strings.Contains(got, "research-drop") || !strings.Contains(got, "failed") {
		t.Errorf("attention list lacks the failed feed:\n%s", got)
	}
	b.screenshot("dashboard-failed")

	if err := os.MkdirAll(dropDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.do("retry the run", chromedp.Click(chromedp.CSS("#attention button.retry")))
	// The retry is recorded before the run leaves the failed state, so wait
	// for the record before waiting for the run to finish again.
	var retries int
	for deadline := time.Now().Add(20 * time.Second); retries == 0 && time.Now().Before(deadline); {
		if err := env.db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.audit_event WHERE action = 'run.retry' AND run_id = $1", runID).Scan(&retries); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if retries != 1 {
		t.Fatalf("run.retry audit events = %d, want 1", retries)
	}
	retriedID, status := waitForRun(t, env, "research-drop")
	if retriedID != runID {
		t.Errorf("retry made run %d, want the failed run %d again", retriedID, runID)
	}
	if status != "succeeded" {
		var runErr string
		env.db.Pool.QueryRow(ctx, "SELECT coalesce(error, '') FROM axtract.run WHERE run_id = $1", runID).Scan(&runErr)
		t.Fatalf("retried run = %s (error %q), want succeeded", status, runErr)
	}
	files, _ := filepath.Glob(filepath.Join(dropDir, "research-drop_*.csv"))
	if len(files) != 1 {
		t.Errorf("data files in the folder = %v, want one", files)
	}
}

// waitForRun waits up to a minute for the newest run of feed to finish and
// returns its id and status.
func waitForRun(t *testing.T, env *portalEnv, feed string) (int64, string) {
	t.Helper()
	ctx := context.Background()
	var id int64
	var status string
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		err := env.db.Pool.QueryRow(ctx, `SELECT r.run_id, r.status FROM axtract.run r
			JOIN axtract.feed f USING (feed_id) WHERE f.name = $1 ORDER BY r.run_id DESC LIMIT 1`, feed).Scan(&id, &status)
		if err == nil && (status == "succeeded" || status == "failed") {
			return id, status
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("no finished run of feed %s within a minute (last status %q)", feed, status)
	return 0, ""
}

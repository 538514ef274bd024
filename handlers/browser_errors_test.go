package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"closr/store"
)

// TestBrowserCSPWatchCatchesViolations proves the check every browser test
// makes at its end would see a violation: a page sent with Closr's own
// Content-Security-Policy header but with inline script and style is
// reported, while Closr's pages (here the ones no flow test opens) are not.
func TestBrowserCSPWatchCatchesViolations(t *testing.T) {
	e := newEnv(t)
	closrCSP := e.client().get("/login").Header.Get("Content-Security-Policy")
	if !strings.Contains(closrCSP, "script-src 'self'") {
		t.Fatalf("Closr's CSP = %q", closrCSP)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", closrCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>inline</title><style>h1{color:red}</style><h1>x</h1><script>document.title = "ran"</script>`))
	}))
	t.Cleanup(bad.Close)

	ctx := startBrowser(t)
	csp := watchCSP(ctx)
	var title string
	for _, page := range []string{"/login", "/signup", "/no-such-page", "/thanks"} {
		if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+page), pageReady()); err != nil {
			t.Fatal(err)
		}
	}
	if v := csp.violations(); len(v) > 0 {
		t.Fatalf("Closr's pages violate their CSP:\n%s", strings.Join(v, "\n"))
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(bad.URL), chromedp.Title(&title)); err != nil {
		t.Fatal(err)
	}
	if title == "ran" {
		t.Fatal("the inline script ran: the CSP header was not applied")
	}
	waitFor(t, "the violations to be reported", func() bool { return len(csp.violations()) >= 2 })
	v := strings.Join(csp.violations(), "\n")
	if !strings.Contains(v, "script-src") || !strings.Contains(v, "style-src") {
		t.Fatalf("reported violations do not name script-src and style-src:\n%s", v)
	}
}

// TestBrowserStorageBusyShowsAlert: HTMX swaps no 5xx answer, so app.js
// shows the server's message in an alert inside the card that sent the
// request. While another process holds the database's write lock, Generate
// and Add domain say storage is busy and create nothing; once the lock goes,
// Generate works and the alert is gone. With the server gone, the alert
// says Closr cannot be reached.
func TestBrowserStorageBusyShowsAlert(t *testing.T) {
	e := newEnvWith(t, envOptions{store: store.Options{BusyTimeout: 200 * time.Millisecond}})
	// HTMX reports the failures this test makes to the console.
	ctx := newBrowserAllowing(t, regexp.MustCompile(`^console.error: "(Response Status Error Code 503 from |htmx:sendError|htmx:afterRequest)`))
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	team := e.agent("ana@example.com").TeamID

	release := holdWriteLock(t, e)
	alertIn := func(card string) (text, role string) {
		t.Helper()
		sel := card + ` [data-testid="request-error"]`
		err := chromedp.Run(ctx,
			chromedp.Poll(`(document.querySelector('`+sel+`') || {}).textContent`, nil),
			chromedp.Text(sel, &text, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector('`+sel+`').getAttribute("role")`, &role),
		)
		if err != nil {
			t.Fatalf("no alert in %s: %v", card, err)
		}
		return text, role
	}

	err := chromedp.Run(ctx,
		pageReady(),
		chromedp.SendKeys("#key-label", "Webflow form", chromedp.ByQuery),
		chromedp.Click(`form.generate button`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	text, role := alertIn("#api-keys")
	if !strings.Contains(text, "storage is busy") || !strings.Contains(text, "Nothing was saved") || role != "alert" {
		t.Fatalf("Generate while locked: alert %q (role %q)", text, role)
	}
	screenshot(t, ctx, "storage-busy")
	err = chromedp.Run(ctx,
		openSetup("web-tracker"),
		chromedp.SendKeys("#tracked-domain", "sunsetrealty.com", chromedp.ByQuery),
		chromedp.Click(`#web-tracker form.generate button`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := alertIn("#web-tracker"); !strings.Contains(text, "storage is busy") {
		t.Fatalf("Add domain while locked: alert %q", text)
	}
	release()
	if n := e.activeKeys(team); n != 0 {
		t.Fatalf("%d keys created while storage was locked", n)
	}
	if d, err := e.db.TrackedDomains(context.Background(), team); err != nil || len(d) != 0 {
		t.Fatalf("tracked domains after the locked add: %v %v", d, err)
	}

	// Storage is back: the same click works and the alert goes.
	var alerts int
	err = chromedp.Run(ctx,
		chromedp.Click(`form.generate button`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="copy-now"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="request-error"]').length`, &alerts),
	)
	if err != nil {
		t.Fatal(err)
	}
	if alerts != 0 || e.activeKeys(team) != 1 {
		t.Fatalf("after the lock went: %d alerts left, %d keys", alerts, e.activeKeys(team))
	}

	// The server is gone: a network failure is said too.
	e.srv.Close()
	err = chromedp.Run(ctx, chromedp.Click(`[data-testid="done"]`, chromedp.ByQuery),
		chromedp.SetValue("#key-label", "Zapier", chromedp.ByQuery),
		chromedp.Click(`form.generate button`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := alertIn("#api-keys"); !strings.Contains(text, "Could not reach Closr") {
		t.Fatalf("Generate with the server gone: alert %q", text)
	}
}

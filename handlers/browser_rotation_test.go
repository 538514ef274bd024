package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"closr/store"
)

// editableSite is the agent's website on another origin (Chromium sends
// *.localhost to this machine): its contact page holds whatever form HTML
// the agent last pasted into it.
type editableSite struct {
	mu   sync.Mutex
	form string
	URL  string
}

func newEditableSite(t *testing.T) *editableSite {
	s := &editableSite{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>Contact</title></head><body><h1>Contact Sunset Realty</h1>%s</body></html>`, s.form)
	}))
	t.Cleanup(srv.Close)
	s.URL = strings.Replace(srv.URL, "127.0.0.1", "agent-site.localhost", 1)
	return s
}

// waitText waits (15 s at most) until the element's text contains want,
// and returns the text; on failure it says what the text was.
func waitText(t *testing.T, ctx context.Context, sel, want string) string {
	t.Helper()
	var got string
	wait, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// The site's tab was in front: timers in a tab behind are slowed down.
	err := chromedp.Run(wait, page.BringToFront(), chromedp.Poll(`(document.querySelector(`+strconv.Quote(sel)+`) || {textContent: ""}).textContent.includes(`+strconv.Quote(want)+`)`, nil, chromedp.WithPollingInterval(100*time.Millisecond)))
	chromedp.Run(ctx, chromedp.Evaluate(`(document.querySelector(`+strconv.Quote(sel)+`) || {textContent: "(none)"}).textContent`, &got))
	if err != nil {
		t.Fatalf("%s never said %q; it says %q", sel, want, got)
	}
	return strings.TrimSpace(got)
}

// paste puts a form on the site, as the agent does in their site builder.
func (s *editableSite) paste(form string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.form = form
}

// The guide's rotation recipe, in the browser: rotate; the panel's form
// snippet holds the new key and is what gets pasted into the site; Test
// this key; the live status flips on the integration's first request;
// Revoke old key, confirmed with the old key's last use; then a post with
// the old key is refused and shows in the Revoked keys list.
func TestBrowserRotationRecipe(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	dialogs := acceptDialogs(ctx)
	base := e.srv.URL
	site := newEditableSite(t)
	signupInBrowser(t, ctx, base, "ana@example.com")

	// The key in use today: generated here, its form snippet on the site.
	var oldKey, oldForm string
	err := chromedp.Run(ctx,
		pageReady(),
		chromedp.SendKeys("#key-label", "Webflow contact form", chromedp.ByQuery),
		chromedp.Click(`form.generate button`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="copy-now"]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid="new-key"]`, &oldKey, chromedp.ByQuery),
		chromedp.TextContent(`#new-form-code`, &oldForm, chromedp.ByQuery),
		chromedp.Click(`[data-testid="done"]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	site.paste(oldForm)
	siteTab, cancel := chromedp.NewContext(ctx) // the site builder, in a second tab
	defer cancel()
	send := func(email string) string {
		t.Helper()
		var heading string
		err := chromedp.Run(siteTab,
			page.BringToFront(),
			chromedp.Navigate(site.URL+"/contact"),
			chromedp.WaitVisible(`input[name="email"]`, chromedp.ByQuery),
			chromedp.SendKeys(`input[name="email"]`, email, chromedp.ByQuery),
			chromedp.Click(`button[type="submit"]`, chromedp.ByQuery),
			// Closr's thank-you or error page (the site's has no main).
			chromedp.WaitVisible(`main h1`, chromedp.ByQuery),
			chromedp.Text(`main h1`, &heading, chromedp.ByQuery),
		)
		if err != nil {
			t.Fatal(err)
		}
		return heading
	}
	if h := send("jamie@example.com"); h != "Thank you!" {
		t.Fatalf("a post with the old key landed on %q", h)
	}
	// The list shows it: the key is used by a website form.
	waitText(t, ctx, `[data-testid="key-usage"]`, "1 new lead")

	// 1. Rotate: the COPY NOW panel opens for the replacement, its form
	// snippet filled in with the new key.
	var newKey, form, clip string
	err = chromedp.Run(ctx,
		chromedp.Click(`button[aria-label="Rotate Webflow contact form"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="copy-now"] [data-testid="replaces"]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid="new-key"]`, &newKey, chromedp.ByQuery),
		chromedp.TextContent(`#new-form-code`, &form, chromedp.ByQuery),
		chromedp.Click(`[data-testid="new-form-copy"]`, chromedp.ByQuery),
		chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, awaitPromise),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !fullKeyRE.MatchString(newKey) || newKey == oldKey || !strings.Contains(form, `value="`+newKey+`"`) {
		t.Fatalf("the panel's form snippet does not hold the new key %q:\n%s", newKey, form)
	}
	if strings.TrimSpace(clip) != strings.TrimSpace(form) {
		t.Fatalf("Copy put %q on the clipboard", clip)
	}

	// 2. Test this key: a test lead through the real endpoint with the
	// panel's key; the live status says so, and still waits.
	if err := chromedp.Run(ctx, chromedp.Click(`[data-testid="test-key"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `[data-testid="test-key-result"]`, "✓ It works: test lead received")
	waitText(t, ctx, `[data-testid="key-status"]`, "Test received at")

	// 3. The agent pastes the snippet into the site; the first lead with
	// the new key flips the status, and Revoke old key is offered.
	site.paste(clip)
	if h := send("robin@example.com"); h != "Thank you!" {
		t.Fatalf("a post with the new key landed on %q", h)
	}
	waitText(t, ctx, `[data-testid="key-status"]`, "First lead from agent-site.localhost at ")
	waitText(t, ctx, `[data-testid="rotation-row"]`, "The new key is in use")
	screenshot(t, ctx, "rotate-used")

	// 4. Revoke the old key; the confirmation names its last use.
	err = chromedp.Run(ctx,
		chromedp.Click(`button[aria-label="Revoke old key “Webflow contact form”"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="key-notice"]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(*dialogs) != 1 || !strings.Contains((*dialogs)[0], "from agent-site.localhost: revoking now will break that integration") {
		t.Fatalf("confirmation %q does not name the old key's last use", *dialogs)
	}

	// 5. A form still carrying the old key is refused, and the Revoked keys
	// list shows where it came from.
	site.paste(oldForm)
	if h := send("late@example.com"); h != "Your message was not sent" {
		t.Fatalf("a post with the revoked key landed on %q", h)
	}
	revoked := waitText(t, ctx, `[data-testid="revoked-key"]`, "1 refused request since")
	if !strings.HasPrefix(revoked, "Webflow contact form, revoked") || !strings.Contains(revoked, "by Ana Agent: 1 refused request since, last") ||
		!strings.HasSuffix(revoked, "from agent-site.localhost") {
		t.Fatalf("Revoked keys list: %q", revoked)
	}
	screenshot(t, ctx, "revoked-keys")
	leads := e.leadsOf(e.agent("ana@example.com").TeamID)
	if len(leads) != 3 || !leads[1].Test || leads[0].Email != "robin@example.com" {
		t.Fatalf("leads %+v: want jamie, the test lead and robin, and not late", leads)
	}
}

// TestBrowserAccessibleRotation checks the states a rotation goes through:
// the COPY NOW panel of a replacement, the list while a key is being
// replaced and once its replacement is in use, the Revoked keys list, a
// key's own page, and a test lead in the pipeline.
func TestBrowserAccessibleRotation(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	acceptDialogs(ctx)
	axe := newAxe(t, ctx)
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	a := e.agent("ana@example.com")
	k, old, err := e.db.CreateAPIKey(context.Background(), a.TeamID, a.ID, "Webflow contact form", store.AccessIntake, 30)
	if err != nil {
		t.Fatal(err)
	}
	e.postLead(old, `{"email":"jamie@example.com"}`, fromSite...)
	e.flushUsage()
	base := e.srv.URL
	var repl string
	axe.walk([]step{
		{"a replacement's COPY NOW panel", []chromedp.Action{
			chromedp.Navigate(base + "/settings/integrations"),
			pageReady(),
			chromedp.Click(`button[aria-label="Rotate Webflow contact form"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="copy-now"] [data-testid="replaces"]`, chromedp.ByQuery),
			chromedp.Text(`[data-testid="new-key"]`, &repl, chromedp.ByQuery)}},
		{"a key being replaced", []chromedp.Action{
			chromedp.Click(`[data-testid="done"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="rotation-row"]`, chromedp.ByQuery)}},
	})
	e.postLead(repl, `{"email":"robin@example.com"}`, fromSite...)
	e.postLead(repl, `{"name":"Test Lead (Closr)","email":"test-lead@example.com"}`, "Origin", base)
	axe.walk([]step{
		{"the replacement in use", []chromedp.Action{
			chromedp.WaitVisible(`button[aria-label="Revoke old key “Webflow contact form”"]`, chromedp.ByQuery)}},
		{"the old key revoked", []chromedp.Action{
			chromedp.Click(`button[aria-label="Revoke old key “Webflow contact form”"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="revoked-key"]`, chromedp.ByQuery)}},
		{"a key's page", []chromedp.Action{chromedp.Navigate(base + fmt.Sprintf("/settings/integrations/api-keys/%d", k.ID))}},
		{"the pipeline with a test lead", []chromedp.Action{
			chromedp.Navigate(base + "/leads"),
			chromedp.WaitVisible(`[data-testid="test-badge"]`, chromedp.ByQuery)}},
	})
}

package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// focusJS describes the focused element: its test id, else its id, else
// its tag and text.
const focusJS = `(() => { const el = document.activeElement; if (!el) return "";
	return el.getAttribute("data-testid") || (el.id ? "#" + el.id : "") || (el.tagName.toLowerCase() + ":" + (el.getAttribute("aria-label") || el.textContent.trim())); })()`

// ringJS measures the focus ring of the focused element: its width in
// pixels and its contrast against what it is drawn on (the nearest
// ancestor's background: the ring sits outside the element).
const ringJS = `(() => {
	const el = document.activeElement, cs = getComputedStyle(el);
	const rgb = c => c.match(/[\d.]+/g).map(Number);
	const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
		return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
	let bg = [255, 255, 255];
	for (let p = el.parentElement; p; p = p.parentElement) {
		const c = rgb(getComputedStyle(p).backgroundColor);
		if (c.length < 4 || c[3] > 0) { bg = c.slice(0, 3); break; }
	}
	const [a, b] = [lum(rgb(cs.outlineColor)), lum(bg)];
	const width = cs.outlineStyle === "none" ? 0 : parseFloat(cs.outlineWidth);
	return {width, contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
})()`

// keys drives one tab with the keyboard only and checks where focus is.
type keys struct {
	t   *testing.T
	ctx context.Context
}

func (k keys) press(key string) {
	k.t.Helper()
	if err := chromedp.Run(k.ctx, chromedp.KeyEvent(key)); err != nil {
		k.t.Fatalf("press %q: %v", key, err)
	}
}

// focusIs waits until focus is on want (a test id, "#id" or tag:name),
// then checks the ring a sighted keyboard user follows: at least 2 px and
// 3:1 against its background (WCAG 2.4.13).
func (k keys) focusIs(step, want string) {
	k.t.Helper()
	err := chromedp.Run(k.ctx, chromedp.Poll(focusJS+` === `+jsString(want), nil))
	if err != nil {
		var got string
		chromedp.Run(k.ctx, chromedp.Evaluate(focusJS, &got))
		k.t.Fatalf("after %s, focus is on %q, want %q", step, got, want)
	}
	var ring struct{ Width, Contrast float64 }
	if err := chromedp.Run(k.ctx, chromedp.Evaluate(ringJS, &ring)); err != nil {
		k.t.Fatal(err)
	}
	if want != "#main" && (ring.Width < 2 || ring.Contrast < 3) {
		k.t.Errorf("after %s, the focus ring on %s is %.0f px at %.2f:1, want at least 2 px at 3:1", step, want, ring.Width, ring.Contrast)
	}
}

// tabTo presses Tab until focus is on want, at most max times.
func (k keys) tabTo(want string, max int) {
	k.t.Helper()
	var path []string
	for range max {
		k.press(kb.Tab)
		var got string
		if err := chromedp.Run(k.ctx, chromedp.Evaluate(focusJS, &got)); err != nil {
			k.t.Fatal(err)
		}
		if got == want {
			k.focusIs("tabbing", want)
			return
		}
		path = append(path, got)
	}
	k.t.Fatalf("%d presses of Tab did not reach %q: %s", max, want, strings.Join(path, " → "))
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// TestBrowserKeyboardOnlyKeys generates, copies, dismisses and revokes a
// key with the keyboard alone, checking where focus is after each step
// and that each focused control shows a ring. The one exception is the
// browser's own confirm dialog on revoke, which DevTools accepts (headless
// chromium sends it no keys).
func TestBrowserKeyboardOnlyKeys(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	acceptDialogs(ctx)
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/settings/integrations"), pageReady()); err != nil {
		t.Fatal(err)
	}
	k := keys{t, ctx}

	// The skip link comes first and takes focus to the page's content.
	k.press(kb.Tab)
	k.focusIs("the first Tab", "a:Skip to main content")
	k.press(kb.Enter)
	k.focusIs("the skip link", "#main")

	// Generate: focus moves to the new key's Copy button.
	k.tabTo("#key-label", 6) // past the Settings navigation
	if err := chromedp.Run(ctx, chromedp.KeyEvent("Webflow form")); err != nil {
		t.Fatal(err)
	}
	k.press(kb.Enter)
	k.focusIs("Generate", "copy")
	var key, region string
	if err := chromedp.Run(ctx,
		chromedp.Text(`[data-testid="new-key"]`, &key, chromedp.ByQuery),
		chromedp.Evaluate(`document.activeElement.closest('[role="region"]').getAttribute("aria-label")`, &region),
	); err != nil {
		t.Fatal(err)
	}
	if !fullKeyRE.MatchString(key) || region != "Your new API key" {
		t.Fatalf("after Generate: key %q, focus in region %q", key, region)
	}

	// Copy with Enter: the key is on the clipboard, focus stays.
	k.press(kb.Enter)
	var clip, copied string
	if err := chromedp.Run(ctx,
		chromedp.Poll(`document.querySelector('[data-testid="copied"]').textContent !== ""`, nil),
		chromedp.Text(`[data-testid="copied"]`, &copied, chromedp.ByQuery),
		chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, awaitPromise),
	); err != nil {
		t.Fatal(err)
	}
	if clip != key || copied != "Copied to clipboard" {
		t.Fatalf("after Copy: clipboard %q, status %q", clip, copied)
	}
	k.focusIs("Copy", "copy")

	// Done, past the snippets and Test this key: the panel goes, focus
	// returns to Generate, and the outcome is announced.
	k.tabTo("done", 8)
	k.press(kb.Enter)
	k.focusIs("Done", "generate")
	var status string
	if err := chromedp.Run(ctx,
		chromedp.WaitNotPresent(`[data-testid="copy-now"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('[data-testid="keys-status"]').textContent !== ""`, nil),
		chromedp.Text(`[data-testid="keys-status"]`, &status, chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "Webflow form") || !strings.Contains(status, "saved") {
		t.Fatalf("after Done, the status says %q", status)
	}

	// A second key, closed with Escape.
	if err := chromedp.Run(ctx, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(input.ModifierShift))); err != nil {
		t.Fatal(err)
	}
	k.focusIs("Shift+Tab from Generate", "#key-label")
	if err := chromedp.Run(ctx, chromedp.KeyEvent("Zapier")); err != nil {
		t.Fatal(err)
	}
	k.press(kb.Enter)
	k.focusIs("the second Generate", "copy")
	k.press(kb.Escape)
	k.focusIs("Escape", "generate")
	if err := chromedp.Run(ctx, chromedp.WaitNotPresent(`[data-testid="copy-now"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}

	// Revoke the first key: Tab to its button, Enter, confirm; focus
	// lands on the notice that says what happened.
	k.tabTo("button:Revoke Webflow form", 20)
	k.press(kb.Enter)
	k.focusIs("revoke", "key-notice")
	var notice string
	if err := chromedp.Run(ctx, chromedp.Text(`[data-testid="key-notice"]`, &notice, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(notice, "Revoked “Webflow form”") || e.activeKeys(e.agent("ana@example.com").TeamID) != 1 {
		t.Fatalf("after revoke: notice %q, %d keys", notice, e.activeKeys(e.agent("ana@example.com").TeamID))
	}
}

// inViewJS reports whether the element sel is on screen.
func inViewJS(sel string) string {
	return `(() => { const r = document.querySelector('` + sel + `').getBoundingClientRect();
		return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; })()`
}

// TestBrowserFeedbackStaysInView: on a phone, what an action did is on
// screen and focused afterwards: the "Revoked …" notice after revoking the
// last key of a long page, and, in a browser without JavaScript, the
// domain notice after adding a domain (Post/Redirect/Get, and autofocus
// needs no script); reloading then posts nothing.
func TestBrowserFeedbackStaysInView(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	acceptDialogs(ctx)
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	a := e.agent("ana@example.com")
	for _, label := range []string{"Website", "Zapier", "Make", "Webflow", "Tracker"} {
		if _, _, err := e.db.CreateAPIKey(t.Context(), a.TeamID, a.ID, label, "intake", 0); err != nil {
			t.Fatal(err)
		}
	}
	phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	var inView bool
	var focused string
	err := chromedp.Run(ctx, phone,
		chromedp.Navigate(e.srv.URL+"/settings/integrations"), pageReady(),
		chromedp.ScrollIntoView(`button[aria-label="Revoke Website"]`, chromedp.ByQuery),
		chromedp.Click(`button[aria-label="Revoke Website"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="key-notice"]`, chromedp.ByQuery),
		chromedp.Poll(inViewJS(`[data-testid="key-notice"]`), &inView),
		chromedp.Evaluate(focusJS, &focused),
	)
	if err != nil || !inView || focused != "key-notice" {
		t.Fatalf("after revoking on a phone: notice on screen %v, focus on %q (%v)", inView, focused, err)
	}

	// Without JavaScript.
	var url string
	var noScript bool
	err = chromedp.Run(ctx,
		chromedp.ActionFunc(func(ctx context.Context) error { return emulation.SetScriptExecutionDisabled(true).Do(ctx) }),
		chromedp.Navigate(e.srv.URL+"/settings/integrations"),
		chromedp.Click(`#web-tracker summary`, chromedp.ByQuery),
		chromedp.SendKeys("#tracked-domain", "sunsetrealty.com", chromedp.ByQuery),
		chromedp.Submit(`#tracked-domain`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="domain-notice"]`, chromedp.ByQuery),
		chromedp.Location(&url),
		// DevTools evaluates nothing while scripts are off; turning them
		// back on runs none of the page's, so the page stays as it loaded.
		chromedp.ActionFunc(func(ctx context.Context) error { return emulation.SetScriptExecutionDisabled(false).Do(ctx) }),
		chromedp.Evaluate(`typeof htmx === "undefined"`, &noScript),
		chromedp.Evaluate(inViewJS(`[data-testid="domain-notice"]`), &inView),
		chromedp.Evaluate(focusJS, &focused),
	)
	if err != nil || !noScript || !inView || focused != "domain-notice" || !strings.HasSuffix(url, "/settings/integrations") {
		t.Fatalf("no-JS domain add: at %s (scripts off %v), notice on screen %v, focus on %q (%v)", url, noScript, inView, focused, err)
	}
	var notices int
	if err := chromedp.Run(ctx, chromedp.Reload(), chromedp.WaitReady("main", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="domain-notice"]').length`, &notices)); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.db.TrackedDomains(t.Context(), a.TeamID); notices != 0 || len(d) != 1 {
		t.Fatalf("after a reload: %d notices, %d domains", notices, len(d))
	}
}

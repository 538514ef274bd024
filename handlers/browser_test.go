package handlers_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// newBrowser starts headless chromium with a fresh profile. Without chromium
// the test is skipped, except in CI, where that is a failure. Every page the
// test opens must pass its Content-Security-Policy and log no error to the
// console: a violation or an error the browser reports fails the test at
// its end.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserAllowing(t, nil)
}

// newBrowserAllowing is newBrowser for a test that breaks something on
// purpose: console errors that match allowed are what it expects.
func newBrowserAllowing(t *testing.T, allowed *regexp.Regexp) context.Context {
	t.Helper()
	ctx := startBrowser(t)
	csp := watchCSP(ctx)
	console := watchConsole(ctx, allowed)
	t.Cleanup(func() {
		if v := csp.violations(); len(v) > 0 {
			t.Errorf("%d Content-Security-Policy violations:\n%s", len(v), strings.Join(v, "\n"))
		}
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("%d console errors:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	})
	return ctx
}

// consoleWatch collects what a page logs as an error: uncaught exceptions,
// console.error, and resources (scripts, styles, the favicon) that failed
// to load. The error statuses of pages and form answers a test asks for on
// purpose (a 404 page, a 422 with what to fix) are no error of the page.
type consoleWatch struct {
	mu   sync.Mutex
	seen []string
}

// assetRE is a page's own resources: those must always load.
var assetRE = regexp.MustCompile(`/(static/|t\.js)`)

func watchConsole(ctx context.Context, allowed *regexp.Regexp) *consoleWatch {
	w := &consoleWatch{}
	add := func(s string) {
		if allowed != nil && allowed.MatchString(s) {
			return
		}
		w.mu.Lock()
		w.seen = append(w.seen, s)
		w.mu.Unlock()
	}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			add("exception: " + e.ExceptionDetails.Text + " " + describe(e.ExceptionDetails.Exception))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				var args []string
				for _, a := range e.Args {
					args = append(args, describe(a))
				}
				add("console.error: " + strings.Join(args, " "))
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level != cdplog.LevelError || strings.Contains(e.Entry.Text, "Content Security Policy") {
				return // CSP reports are the CSP watch's
			}
			if e.Entry.Source == cdplog.SourceNetwork && !assetRE.MatchString(e.Entry.URL) {
				return // a page or form answer's status, asked for by the test
			}
			add(e.Entry.URL + ": " + e.Entry.Text)
		}
	})
	return w
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Value)
}

func (w *consoleWatch) errors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.seen...)
}

// startBrowser is newBrowser without the CSP check.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; CI must run the browser tests (see .ci/run)")
		}
		t.Skip("chromium not installed")
	}
	// A fresh profile; removed after chromium has exited (t.TempDir would
	// race with chromium's last writes).
	profile, err := os.MkdirTemp("", "closr-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// cspWatch collects the Content-Security-Policy violations the browser
// reports on every page of one tab, across navigations.
type cspWatch struct {
	mu   sync.Mutex
	seen []string
}

func watchCSP(ctx context.Context) *cspWatch {
	w := &cspWatch{}
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*cdplog.EventEntryAdded); ok && strings.Contains(e.Entry.Text, "Content Security Policy") {
			w.mu.Lock()
			w.seen = append(w.seen, e.Entry.URL+": "+e.Entry.Text)
			w.mu.Unlock()
		}
	})
	return w
}

func (w *cspWatch) violations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.seen...)
}

// screenshot saves a full-page PNG when CLOSR_SCREENSHOTS names a folder
// (the README's tour is made this way).
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("CLOSR_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pageReady waits until the deferred scripts (HTMX, app.js) have run, so a
// click is handled by them rather than by the browser's plain form post.
func pageReady() chromedp.Action {
	return chromedp.Poll(`document.readyState === "complete" && !!window.htmx`, nil)
}

// openSetup opens the setup card id's disclosure by its summary, as an
// agent would, unless it is open.
func openSetup(id string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var open bool
		if err := chromedp.Evaluate(`document.querySelector('#`+id+` details').open`, &open).Do(ctx); err != nil || open {
			return err
		}
		return chromedp.Click(`#`+id+` summary`, chromedp.ByQuery).Do(ctx)
	})
}

// acceptDialogs accepts every confirm() and records its message.
func acceptDialogs(ctx context.Context) *[]string {
	var seen []string
	chromedp.ListenTarget(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			seen = append(seen, d.Message)
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(true))
		}
	})
	return &seen
}

var fullKeyRE = regexp.MustCompile(`^closr_[A-Za-z0-9_-]{43}$`)

// signupInBrowser signs up through the form and checks where it lands.
func signupInBrowser(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	var url string
	err := chromedp.Run(ctx,
		browser.GrantPermissions([]browser.PermissionType{browser.PermissionTypeClipboardReadWrite, browser.PermissionTypeClipboardSanitizedWrite}).WithOrigin(base),
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys("#name", "Ana Agent", chromedp.ByQuery),
		chromedp.SendKeys("#email", email, chromedp.ByQuery),
		chromedp.SendKeys("#password", "correct horse battery", chromedp.ByQuery),
		chromedp.SendKeys("#team", "Sunset Realty", chromedp.ByQuery),
		chromedp.Click(`button[type=submit].primary`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="api-keys-card"]`, chromedp.ByQuery),
		chromedp.Location(&url),
	)
	if err != nil {
		t.Fatal(err)
	}
	if url != base+"/settings/integrations" {
		t.Fatalf("after signup at %s", url)
	}
}

func TestBrowserAPIKeysFlow(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	dialogs := acceptDialogs(ctx)
	base := e.srv.URL
	label := "Webflow contact form"

	signupInBrowser(t, ctx, base, "ana@example.com")

	// Log out and back in; a wrong password first.
	var loginErr string
	err := follow(ctx, `.signout button`)
	if err == nil {
		err = chromedp.Run(ctx,
			chromedp.WaitVisible(`#email`, chromedp.ByQuery),
			chromedp.SendKeys("#email", "ana@example.com", chromedp.ByQuery),
			chromedp.SendKeys("#password", "not my password", chromedp.ByQuery))
	}
	if err == nil {
		err = follow(ctx, `button[type=submit].primary`)
	}
	if err == nil {
		err = chromedp.Run(ctx,
			chromedp.Text(`[data-testid="login-error"]`, &loginErr, chromedp.ByQuery),
			chromedp.SendKeys("#password", "correct horse battery", chromedp.ByQuery))
	}
	if err == nil {
		err = follow(ctx, `button[type=submit].primary`)
	}
	if err == nil {
		err = chromedp.Run(ctx, chromedp.WaitVisible(`[data-testid="api-keys-card"]`, chromedp.ByQuery))
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loginErr, "don't match") {
		t.Fatalf("wrong-password message = %q", loginErr)
	}

	// Generate: the COPY NOW panel appears without a page load.
	var key, copied, clip string
	var marker bool
	err = chromedp.Run(ctx,
		pageReady(),
		chromedp.Evaluate(`window.__noReload = true`, nil),
		chromedp.SendKeys("#key-label", label, chromedp.ByQuery),
		chromedp.Click(`form.generate button`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="copy-now"]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid="new-key"]`, &key, chromedp.ByQuery),
		chromedp.Evaluate(`window.__noReload === true`, &marker),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !fullKeyRE.MatchString(key) {
		t.Fatalf("key %q does not match the format", key)
	}
	if !marker {
		t.Fatal("Generate reloaded the page instead of swapping the card")
	}
	screenshot(t, ctx, "copy-now")

	err = chromedp.Run(ctx,
		chromedp.Click(`[data-testid="copy"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('[data-testid="copied"]').textContent.length > 0`, nil),
		chromedp.Text(`[data-testid="copy"]`, &copied, chromedp.ByQuery),
		chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, awaitPromise),
	)
	if err != nil {
		t.Fatal(err)
	}
	if copied != "Copied" || clip != key {
		t.Fatalf("after Copy: button %q, clipboard %q, want Copied and the key", copied, clip)
	}

	// Done removes the panel; the row shows the 12-character preview only.
	var preview, lastUsed, html string
	err = chromedp.Run(ctx,
		chromedp.Click(`[data-testid="done"]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`[data-testid="copy-now"]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid="key-preview"]`, &preview, chromedp.ByQuery),
		chromedp.Text(`[data-testid="last-used"]`, &lastUsed, chromedp.ByQuery),
		chromedp.OuterHTML("html", &html, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if preview != key[:12] || lastUsed != "Never" {
		t.Fatalf("row preview %q last used %q; want %q and Never", preview, lastUsed, key[:12])
	}
	if strings.Contains(html, key) {
		t.Fatal("the page still holds the full key after Done")
	}
	screenshot(t, ctx, "key-list")

	err = chromedp.Run(ctx, chromedp.Reload(), chromedp.WaitVisible(`[data-testid="key-row"]`, chromedp.ByQuery), chromedp.OuterHTML("html", &html, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, key[12:]) {
		t.Fatal("the reloaded page holds the full key")
	}

	// Revoke, confirming a dialog that names the key.
	err = chromedp.Run(ctx,
		chromedp.Click(`button[aria-label="Revoke `+label+`"]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`[data-testid="key-row"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="key-notice"]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(*dialogs) != 1 || !strings.Contains((*dialogs)[0], label) {
		t.Fatalf("confirmation dialogs = %q, want one naming %q", *dialogs, label)
	}
	if n := e.activeKeys(e.agent("ana@example.com").TeamID); n != 0 {
		t.Fatalf("%d active keys after revoke", n)
	}
	screenshot(t, ctx, "revoked")

	// The same page on a phone.
	if os.Getenv("CLOSR_SCREENSHOTS") != "" {
		err = chromedp.Run(ctx,
			chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
			chromedp.SendKeys("#key-label", "Zapier for FB Lead Ads", chromedp.ByQuery),
			chromedp.Click(`form.generate button`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="copy-now"]`, chromedp.ByQuery),
		)
		if err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, "phone")
	}
}

// awaitPromise makes Evaluate wait for a returned promise.
func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// follow clicks what leads to another page (a link, a form's submit button)
// and waits until that page has loaded. A query run while the old page is
// being replaced can hold a node of it that is gone a moment later
// (chromedp's "No node with given id found").
func follow(ctx context.Context, sel string) error {
	_, err := chromedp.RunResponse(ctx, chromedp.Click(sel, chromedp.ByQuery))
	return err
}

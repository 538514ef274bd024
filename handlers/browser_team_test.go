package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// newBrowserContext opens a tab in a browser context of its own (like an
// incognito window) in the same chromium as parent: cookies and storage of
// its own, as a second person on another computer. Its pages must pass
// the CSP too. The tab gets a window of its own: headless chromium opens
// no tab in a new context without one.
func newBrowserContext(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	var id target.ID
	err := chromedp.Run(parent, chromedp.ActionFunc(func(ctx context.Context) error {
		exec := cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser)
		bc, err := target.CreateBrowserContext().WithDisposeOnDetach(true).Do(exec)
		if err != nil {
			return err
		}
		id, err = target.CreateTarget("about:blank").WithBrowserContextID(bc).WithNewWindow(true).Do(exec)
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithTargetID(id))
	t.Cleanup(cancel)
	csp := watchCSP(ctx)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if v := csp.violations(); len(v) > 0 {
			t.Errorf("%d Content-Security-Policy violations:\n%s", len(v), strings.Join(v, "\n"))
		}
	})
	return ctx
}

// TestBrowserTeam: an owner invites an agent and an admin, who accept in
// browser contexts of their own; the agent has no Generate and a forged
// post gets 403, the admin generates a key; the owner removes the admin
// while the admin's page is open, the admin's next click signs them out,
// and the owner sees the rotation prompt naming the admin's key and
// rotates it.
func TestBrowserTeam(t *testing.T) {
	e := newEnv(t)
	owner := newBrowser(t)
	dialogs := acceptDialogs(owner)
	base := e.srv.URL
	signupInBrowser(t, owner, base, "ana@example.com")

	invite := func(email, role string) string {
		t.Helper()
		var link string
		err := chromedp.Run(owner,
			chromedp.Navigate(base+"/settings/team"), pageReady(),
			chromedp.Click(`[data-testid="settings-nav"] a[href="/settings/team"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`#invite-email`, chromedp.ByQuery),
			chromedp.SendKeys(`#invite-email`, email, chromedp.ByQuery),
			chromedp.SetValue(`#invite-role`, role, chromedp.ByQuery),
			chromedp.Click(`#invitations button.primary`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="invite-link"]`, chromedp.ByQuery),
			chromedp.Text(`[data-testid="invite-link"]`, &link, chromedp.ByQuery),
		)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(link, base+"/invite/") {
			t.Fatalf("invite link %q", link)
		}
		return link
	}
	agentLink := invite("abe@example.com", "agent")
	adminLink := invite("ada@example.com", "admin")

	join := func(link, name string) context.Context {
		t.Helper()
		ctx := newBrowserContext(t, owner)
		var inviter, team, url, tz string
		err := chromedp.Run(ctx,
			chromedp.Navigate(link), pageReady(),
			chromedp.Text(`[data-testid="inviter"]`, &inviter, chromedp.ByQuery),
			chromedp.Text(`[data-testid="invite-team"]`, &team, chromedp.ByQuery),
			chromedp.Evaluate(`Intl.DateTimeFormat().resolvedOptions().timeZone`, &tz),
			chromedp.SendKeys(`#name`, name, chromedp.ByQuery),
			chromedp.SendKeys(`#password`, "correct horse battery", chromedp.ByQuery),
			chromedp.Click(`button.primary`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="members-card"]`, chromedp.ByQuery),
			chromedp.Location(&url),
		)
		if err != nil {
			t.Fatal(err)
		}
		if inviter != "Ana Agent" || team != "Sunset Realty" || url != base+"/settings/team" {
			t.Fatalf("%s joined %q invited by %q, landing on %s", name, team, inviter, url)
		}
		if e.agent(strings.ToLower(strings.Fields(name)[0])+"@example.com").TimeZone != tz {
			t.Fatalf("%s's time zone is not the browser's %q", name, tz)
		}
		return ctx
	}
	agent := join(agentLink, "Abe Agent")
	admin := join(adminLink, "Ada Admin")

	// The agent: no Generate, and a forged post is refused.
	var noForm bool
	var forged int
	err := chromedp.Run(agent,
		chromedp.Navigate(base+"/settings/integrations"), pageReady(),
		chromedp.WaitVisible(`[data-testid="keys-read-only"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("#key-label") === null && document.querySelector("form.generate button.primary") === null`, &noForm),
		chromedp.Evaluate(`fetch("/settings/integrations/api-keys", {method: "POST",
			headers: {"X-CSRF-Token": JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"], "HX-Request": "true",
				"Content-Type": "application/x-www-form-urlencoded"},
			body: "label=Forged"}).then(r => r.status)`, &forged, awaitPromise),
	)
	if err != nil {
		t.Fatal(err)
	}
	team := e.agent("ana@example.com").TeamID
	if !noForm || forged != 403 || e.activeKeys(team) != 0 {
		t.Fatalf("agent: no form %v, forged post %d, %d keys", noForm, forged, e.activeKeys(team))
	}

	// The admin generates a key and keeps the page open.
	label := "Zapier for FB Lead Ads"
	err = chromedp.Run(admin,
		chromedp.Navigate(base+"/settings/integrations"), pageReady(),
		chromedp.SendKeys(`#key-label`, label, chromedp.ByQuery),
		chromedp.Click(`form.generate button.primary`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="copy-now"]`, chromedp.ByQuery),
		chromedp.Click(`[data-testid="done"]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`[data-testid="copy-now"]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}

	// The owner removes the admin and sees the rotation prompt.
	var prompt string
	err = chromedp.Run(owner,
		chromedp.Navigate(base+"/settings/team"), pageReady(),
		chromedp.Click(`button[aria-label="Remove Ada Admin"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="rotation-prompt"]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid="rotation-prompt"]`, &prompt, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(prompt, "Ada Admin") || !strings.Contains(prompt, label) || !strings.Contains(prompt, "Never") {
		t.Fatalf("rotation prompt:\n%s", prompt)
	}
	if len(*dialogs) != 1 || !strings.Contains((*dialogs)[0], "Remove Ada Admin") {
		t.Fatalf("confirmation dialogs %q", *dialogs)
	}
	screenshot(t, owner, "rotation-prompt")

	// The admin's next click, on the page still open, signs them out.
	var url string
	err = chromedp.Run(admin,
		chromedp.SendKeys(`#key-label`, "One more", chromedp.ByQuery),
		chromedp.Click(`form.generate button.primary`, chromedp.ByQuery),
		chromedp.WaitVisible(`form[action="/login"]`, chromedp.ByQuery),
		chromedp.Location(&url),
	)
	if err != nil {
		t.Fatal(err)
	}
	if url != base+"/login?next=%2Fsettings%2Fintegrations" || e.activeKeys(team) != 1 {
		t.Fatalf("the removed admin's click: at %s, %d keys", url, e.activeKeys(team))
	}

	// Rotate: a replacement in the COPY NOW panel; the old key stays.
	var newFor string
	err = chromedp.Run(owner,
		chromedp.Click(`button[aria-label="Rotate `+label+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="copy-now"]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid="copy-now"] strong`, &newFor, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(newFor, label+" (rotated ") || e.activeKeys(team) != 2 {
		t.Fatalf("after Rotate: panel for %q, %d keys", newFor, e.activeKeys(team))
	}
}

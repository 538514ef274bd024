package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"closr/store"
)

// axePath is axe-core, installed for the tests only (never served):
// cd handlers/testdata/axe && npm ci (.ci/run does it).
const axePath = "testdata/axe/node_modules/axe-core/axe.min.js"

var axeSource = sync.OnceValues(func() ([]byte, error) { return os.ReadFile(axePath) })

// axeChecker runs axe-core on pages of one browser tab, at a laptop's and
// a phone's size, and fails the test for every serious or critical
// violation. axe is injected through the DevTools protocol, which the
// pages' Content-Security-Policy (script-src 'self') does not govern;
// TestBrowserAxeRunsUnderThePageCSP proves it.
type axeChecker struct {
	t      *testing.T
	ctx    context.Context
	states int
}

func newAxe(t *testing.T, ctx context.Context) *axeChecker {
	t.Helper()
	if _, err := axeSource(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is not installed (%v); CI must run the accessibility checks (see .ci/run)", err)
		}
		t.Skipf("axe-core is not installed: cd handlers/testdata/axe && npm ci (%v)", err)
	}
	return &axeChecker{t: t, ctx: ctx}
}

// violation is what axe reports about one rule.
type violation struct {
	ID, Impact, Help string
	Nodes            []string
}

// sizes are the viewports every state is checked at.
var sizes = []struct {
	name  string
	apply chromedp.Action
}{
	{"laptop", chromedp.EmulateViewport(1280, 900)},
	{"phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)},
}

// check runs axe on the page as it is now, at both sizes, and fails the
// test for each serious or critical violation, naming the state.
func (a *axeChecker) check(state string) {
	a.t.Helper()
	src, _ := axeSource()
	for _, size := range sizes {
		var found []violation
		err := chromedp.Run(a.ctx,
			size.apply,
			chromedp.ActionFunc(func(ctx context.Context) error {
				var loaded bool
				if err := chromedp.Evaluate(`typeof axe === "object"`, &loaded).Do(ctx); err != nil || loaded {
					return err
				}
				return chromedp.Evaluate(string(src), nil).Do(ctx)
			}),
			chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
				ID: v.id, Impact: v.impact || "", Help: v.help,
				Nodes: v.nodes.slice(0, 4).map(n => n.target.join(" "))})))`, &found, awaitPromise),
		)
		if err != nil {
			a.t.Fatalf("axe on %s (%s): %v", state, size.name, err)
		}
		a.states++
		for _, v := range found {
			msg := fmt.Sprintf("%s (%s): %s [%s] %s at %s", state, size.name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
			if v.Impact == "serious" || v.Impact == "critical" {
				a.t.Error("accessibility: " + msg)
			} else {
				a.t.Log("accessibility, minor: " + msg)
			}
		}
	}
	if err := chromedp.Run(a.ctx, sizes[0].apply); err != nil {
		a.t.Fatal(err)
	}
}

// openAll opens every disclosure on the page, so that axe sees what they
// hold (it leaves out what is hidden).
func openAll() chromedp.Action {
	return chromedp.Evaluate(`document.querySelectorAll("details").forEach(d => d.open = true)`, nil)
}

// TestBrowserAxeRunsUnderThePageCSP: the pages forbid inline and injected
// script, yet axe evaluated through DevTools runs and finds a violation
// planted in a page, so a clean report means something.
func TestBrowserAxeRunsUnderThePageCSP(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	newAxe(t, ctx) // skips (or fails in CI) without axe-core
	src, _ := axeSource()
	var found []violation
	err := chromedp.Run(ctx,
		chromedp.Navigate(e.srv.URL+"/login"),
		pageReady(),
		chromedp.Evaluate(string(src), nil),
		// An image without text, added through the DOM (no inline script).
		chromedp.Evaluate(`document.querySelector("main").append(Object.assign(document.createElement("img"), {src: "/static/favicon.svg"}))`, nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({ID: v.id, Impact: v.impact})))`, &found, awaitPromise),
	)
	if err != nil {
		t.Fatal(err)
	}
	csp := e.client().get("/login").Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Fatalf("the login page's CSP = %q", csp)
	}
	b, _ := json.Marshal(found)
	if !strings.Contains(string(b), `"image-alt"`) {
		t.Fatalf("axe did not report the planted image without alt text: %s", b)
	}
}

// TestBrowserAccessibleSignedOut checks the pages a signed-out person sees.
func TestBrowserAccessibleSignedOut(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	axe := newAxe(t, ctx)
	_, _, key := e.team("ana@example.com")
	site := agentSite(t, e.srv.URL, key)
	steps := []struct {
		state   string
		actions []chromedp.Action
	}{
		{"login", []chromedp.Action{chromedp.Navigate(e.srv.URL + "/login")}},
		{"login with a wrong password", []chromedp.Action{
			chromedp.SendKeys("#email", "ana@example.com", chromedp.ByQuery),
			chromedp.SendKeys("#password", "not my password", chromedp.ByQuery),
			chromedp.Click(`button[type=submit].primary`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="login-error"]`, chromedp.ByQuery)}},
		{"signup", []chromedp.Action{chromedp.Navigate(e.srv.URL + "/signup")}},
		{"signup with errors", []chromedp.Action{
			chromedp.Click(`button[type=submit].primary`, chromedp.ByQuery),
			chromedp.WaitVisible(`.field-error`, chromedp.ByQuery)}},
		{"thank-you page", []chromedp.Action{chromedp.Navigate(e.srv.URL + "/thanks")}},
		{"a website form not sent", []chromedp.Action{
			chromedp.Navigate(site.URL + "/contact"),
			chromedp.Click("#send", chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="form-problem"]`, chromedp.ByQuery)}},
		{"a website form sent with GET", []chromedp.Action{chromedp.Navigate(e.srv.URL + "/api/leads/inbound?name=Jamie")}},
		{"no such page", []chromedp.Action{chromedp.Navigate(e.srv.URL + "/no-such-page")}},
	}
	for _, s := range steps {
		if err := chromedp.Run(ctx, append(s.actions, pageReady())...); err != nil {
			t.Fatalf("%s: %v", s.state, err)
		}
		axe.check(s.state)
	}
	t.Logf("axe checked %d states × sizes", axe.states)
}

// step is a state of a page to reach and check.
type step struct {
	state   string
	actions []chromedp.Action
}

func (a *axeChecker) walk(steps []step) {
	a.t.Helper()
	for _, s := range steps {
		if err := chromedp.Run(a.ctx, append(s.actions, pageReady())...); err != nil {
			a.t.Fatalf("%s: %v", s.state, err)
		}
		a.check(s.state)
	}
}

// TestBrowserAccessibleIntegrations checks Settings → Integrations in each
// state an agent meets: empty, every setup open, a label to fix, the COPY
// NOW panel, the key list, a revoke done, a domain added or refused, the
// revoke confirmation of a browser without JavaScript, and a page that
// does not exist, signed in.
func TestBrowserAccessibleIntegrations(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	acceptDialogs(ctx)
	axe := newAxe(t, ctx)
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	base := e.srv.URL
	axe.walk([]step{
		{"integrations, no keys", []chromedp.Action{chromedp.Navigate(base + "/settings/integrations")}},
		{"integrations, every setup open", []chromedp.Action{openAll()}},
		{"generate without a label", []chromedp.Action{
			chromedp.Click(`[data-testid="generate"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="key-error"]`, chromedp.ByQuery)}},
		{"COPY NOW panel", []chromedp.Action{
			chromedp.SendKeys("#key-label", "Webflow form", chromedp.ByQuery),
			chromedp.Click(`[data-testid="generate"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="copy-now"]`, chromedp.ByQuery)}},
		{"key list", []chromedp.Action{
			chromedp.Click(`[data-testid="done"]`, chromedp.ByQuery),
			chromedp.WaitNotPresent(`[data-testid="copy-now"]`, chromedp.ByQuery)}},
		{"revoke confirmation without JavaScript", []chromedp.Action{
			// A plain form post, as a browser without JavaScript sends it.
			chromedp.Evaluate(`document.querySelector('[data-testid="key-row"] form[hx-delete]').submit()`, nil),
			chromedp.WaitVisible(`[data-testid="revoke-confirm"]`, chromedp.ByQuery)}},
		{"revoked", []chromedp.Action{
			chromedp.Navigate(base + "/settings/integrations"),
			pageReady(),
			chromedp.Click(`button[aria-label="Revoke Webflow form"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="key-notice"]`, chromedp.ByQuery)}},
		{"domain refused", []chromedp.Action{
			openSetup("web-tracker"),
			chromedp.SendKeys("#tracked-domain", "https://", chromedp.ByQuery),
			chromedp.Click(`#web-tracker form.generate button`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="domain-error"]`, chromedp.ByQuery)}},
		{"domain added", []chromedp.Action{
			chromedp.SetValue("#tracked-domain", "sunsetrealty.com", chromedp.ByQuery),
			chromedp.Click(`#web-tracker form.generate button`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="domain-notice"]`, chromedp.ByQuery)}},
		{"no such page, signed in", []chromedp.Action{chromedp.Navigate(base + "/settings/nothing")}},
	})
}

// TestBrowserAccessibleLeads checks the pipeline and a lead's page: empty,
// full (Hot, phones, a nameless lead), past the end, a lead's story with
// every disclosure open, a tracked link just made and one refused.
func TestBrowserAccessibleLeads(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	axe := newAxe(t, ctx)
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	base := e.srv.URL
	axe.walk([]step{{"leads, none yet", []chromedp.Action{chromedp.Navigate(base + "/leads")}}})

	a := e.agent("ana@example.com")
	_, key, _ := e.db.CreateAPIKey(t.Context(), a.TeamID, a.ID, "Website", "intake", 0)
	vid := "jamie000000000000000000000000000"
	for i, path := range []string{"/homes/7-harbor-ln?utm_campaign=spring", "/homes/7-harbor-ln", "/contact"} {
		e.track(pageview(key, vid, "https://ana.example"+path, []string{"7 Harbor Ln | Ana Homes", "7 Harbor Ln | Ana Homes", "Contact | Ana Homes"}[i], "https://www.google.com/"))
	}
	lead := e.mustPostLead(key, `{"name": "Jamie Buyer", "email": "jamie@example.com", "phone": "+1 415 555 2671",
		"message": "Is 7 Harbor Ln still available? We are pre-approved and would love to see it this weekend.", "pre_approved": "yes", "closr_visitor_id": "`+vid+`"}`)
	e.mustPostLead(key, `{"phone": "+44 20 7946 0958", "source": "Zillow"}`)
	e.mustPostLead(key, `{"email": "kim@example.com", "message": "Selling"}`)
	e.mustPostLead(key, `{"message": "Call me about the open house", "source": "Facebook Lead Ads"}`) // needs contact details
	leadPage := fmt.Sprintf("%s/leads/%d", base, lead)
	axe.walk([]step{
		{"leads", []chromedp.Action{chromedp.Navigate(base + "/leads")}},
		{"leads past the end", []chromedp.Action{chromedp.Navigate(base + "/leads?page=9")}},
		{"lead page, every disclosure open", []chromedp.Action{chromedp.Navigate(leadPage), pageReady(), openAll()}},
		{"tracked link refused", []chromedp.Action{
			chromedp.SendKeys("#tracked-url", "not a page", chromedp.ByQuery),
			chromedp.Click(`#tracked-links form button`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="tracked-url-error"]`, chromedp.ByQuery)}},
		{"tracked link made", []chromedp.Action{
			chromedp.SetValue("#tracked-url", "https://ana.example/homes/7-harbor-ln", chromedp.ByQuery),
			chromedp.Click(`#tracked-links form button`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="new-tracked-link"]`, chromedp.ByQuery)}},
		{"no such lead", []chromedp.Action{chromedp.Navigate(base + "/leads/999999")}},
	})
}

// TestBrowserAccessibleLeadFilters checks /leads with the Hot and Tests
// filters, a search by message with Hot, and every filter with no match.
func TestBrowserAccessibleLeadFilters(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	axe := newAxe(t, ctx)
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	base := e.srv.URL
	a := e.agent("ana@example.com")
	ingest := func(in store.LeadInput) {
		t.Helper()
		in.TeamID, in.Raw, in.At = a.TeamID, []byte("{}"), time.Now().Add(-time.Hour)
		if _, err := e.db.IngestLead(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	// Jamie came three times this week: Hot. A test lead, and a lead
	// without contact details.
	ingest(store.LeadInput{Name: "Jamie Buyer", Email: "jamie@example.com", Message: "We are pre-approved", Source: "Website", VisitorID: "jamie"})
	for _, ago := range []time.Duration{2 * time.Hour, 26 * time.Hour, 50 * time.Hour} {
		if err := e.db.RecordPageView(t.Context(), store.PageViewInput{TeamID: a.TeamID, VisitorID: "jamie", URL: "https://ana.example/homes/7-harbor-ln",
			At: time.Now().Add(-ago)}); err != nil {
			t.Fatal(err)
		}
	}
	ingest(store.LeadInput{Email: "test@example.com", Source: "Closr test", Test: true})
	ingest(store.LeadInput{Message: "Call me about the open house", Source: "Facebook Lead Ads"})
	axe.walk([]step{
		{"leads, hot", []chromedp.Action{chromedp.Navigate(base + "/leads?hot=1"), chromedp.WaitVisible(`[data-testid="hot"]`, chromedp.ByQuery)}},
		{"leads, test leads only", []chromedp.Action{chromedp.Navigate(base + "/leads?tests=1"), chromedp.WaitVisible(`[data-testid="test-badge"]`, chromedp.ByQuery)}},
		{"leads, hot, searched by message", []chromedp.Action{chromedp.Navigate(base + "/leads?hot=1&q=pre-approved"),
			chromedp.WaitVisible(`[data-testid="lead-row"]`, chromedp.ByQuery)}},
		{"leads, every filter, none match", []chromedp.Action{chromedp.Navigate(base + "/leads?q=harbor&source=Zillow&hot=1&needs_contact=1&tests=1"),
			chromedp.WaitVisible(`[data-testid="no-leads"]`, chromedp.ByQuery)}},
	})
}

// TestBrowserAccessibleTeam checks Settings → Team, an invitation made,
// the team's activity, Profile with a field to fix, and the invitation's
// page as the invited person (signed out) opens it.
func TestBrowserAccessibleTeam(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	axe := newAxe(t, ctx)
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	base := e.srv.URL
	var link string
	axe.walk([]step{
		{"team", []chromedp.Action{chromedp.Navigate(base + "/settings/team")}},
		{"invitation made", []chromedp.Action{
			chromedp.SendKeys(`#invite-email`, "abe@example.com", chromedp.ByQuery),
			chromedp.Click(`#invitations button.primary`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="invite-link"]`, chromedp.ByQuery),
			chromedp.Text(`[data-testid="invite-link"]`, &link, chromedp.ByQuery)}},
		{"team activity", []chromedp.Action{chromedp.Navigate(base + "/settings/team/activity")}},
		{"profile", []chromedp.Action{chromedp.Navigate(base + "/settings/profile")}},
		{"profile with a field to fix", []chromedp.Action{
			chromedp.Evaluate(`document.querySelector('[data-testid="profile-card"] #name').value = ""`, nil),
			chromedp.Click(`[data-testid="profile-card"] button.primary`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="profile-card"] [role="alert"], [data-testid="profile-card"] .field-error`, chromedp.ByQuery)}},
		{"invitation, signed out", []chromedp.Action{
			chromedp.Click(`.signout button`, chromedp.ByQuery),
			// The login page, not the profile's own #email: the sign-out
			// must be over before the next navigation.
			chromedp.WaitVisible(`form[action="/login"]`, chromedp.ByQuery),
			chromedp.ActionFunc(func(ctx context.Context) error { return chromedp.Navigate(link).Do(ctx) }),
			chromedp.WaitVisible(`[data-testid="accept-invite"]`, chromedp.ByQuery)}},
	})
}

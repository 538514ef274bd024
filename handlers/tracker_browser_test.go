package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"closr/store"
)

// trackedSite is an agent's website on a second origin: it serves pages that
// carry the tracker snippet, and a contact form that posts to Closr.
func trackedSite(t *testing.T, closrURL, key string) string {
	t.Helper()
	snippet := fmt.Sprintf(`<script async src="%s/t.js" data-key="%s" data-allow-automation></script>`, closrURL, key)
	pageHTML := func(title, body string) string {
		return `<!doctype html><html><head><meta charset="utf-8"><title>` + title + `</title>` + snippet + `</head><body>` + body + `</body></html>`
	}
	var siteURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, pageHTML("Sunset Realty", `<h1>Homes</h1><a id="contact" href="/contact">Contact</a>`))
		case "/contact":
			fmt.Fprint(w, pageHTML("Contact us", `<form id="lead" method="post" action="`+closrURL+`/api/leads/inbound">
				<input type="hidden" name="api_key" value="`+key+`">
				<input type="hidden" name="_redirect" value="`+siteURL+`/thank-you">
				<input id="name" name="name"><input id="email" name="email" type="email">
				<button id="send" type="submit">Send</button></form>
				<form id="search" method="get" action="/search"><input name="q"></form>`))
		case "/thank-you":
			fmt.Fprint(w, `<!doctype html><title>Thanks</title><h1 id="thanks">Thanks!</h1>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	// Closr listens on 127.0.0.1; the site is reached as localhost: another origin.
	siteURL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	return siteURL
}

// waitFor polls cond until it holds; it fails the test after 15 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowserTrackerFlow(t *testing.T) {
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")
	site := trackedSite(t, e.srv.URL, key)
	// The site is listed, so this also checks the origin rule against the
	// Origin headers a real browser sends.
	if r := c.post("/settings/integrations/tracked-domains", url.Values{"domain": {"localhost"}}, "HX-Request", "true"); r.StatusCode != 200 {
		t.Fatalf("add domain: %d", r.StatusCode)
	}
	views := func() int { n, _ := e.stored(team); return n }
	ctx := newBrowser(t)

	var vid string
	err := chromedp.Run(ctx,
		chromedp.Navigate(site+"/"), // a full page load
		chromedp.Poll(`window.closr && window.closr._c === 1`, nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first page view", func() bool { return views() == 1 })
	err = chromedp.Run(ctx, // single-page-app navigation
		chromedp.Evaluate(`document.title = "12 Oak St"; history.pushState({}, "", "/homes/12-oak"); true`, nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pushState page view", func() bool { return views() == 2 })
	err = chromedp.Run(ctx,
		chromedp.Navigate(site+"/contact"),
		chromedp.Poll(`window.closr && window.closr._c === 1`, nil),
		chromedp.Evaluate(`localStorage.getItem("closr_vid")`, &vid),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the contact page view", func() bool { return views() == 3 })
	// A site-search GET form does not get the visitor id (it would land in
	// URLs); the lead form, checked below, does.
	var searchTagged bool
	err = chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		const f = document.getElementById("search");
		f.addEventListener("submit", e => e.preventDefault());
		f.dispatchEvent(new Event("submit", {cancelable: true}));
		return !!f.querySelector("[name=closr_visitor_id]");
	})()`, &searchTagged))
	if err != nil {
		t.Fatal(err)
	}
	if searchTagged {
		t.Fatal("the GET search form was given the visitor id")
	}
	_, visitors := e.stored(team)
	if len(visitors) != 1 || visitors[0].PageViews != 3 || visitors[0].LastURL != site+"/contact" {
		t.Fatalf("before the form: visitors %+v; want one visitor with 3 page views", visitors)
	}

	var landed string
	err = chromedp.Run(ctx,
		chromedp.SendKeys("#name", "Jamie Buyer", chromedp.ByQuery),
		chromedp.SendKeys("#email", "jamie@example.com", chromedp.ByQuery),
		chromedp.Click("#send", chromedp.ByQuery),
		chromedp.WaitVisible("#thanks", chromedp.ByQuery),
		chromedp.Location(&landed),
	)
	if err != nil {
		t.Fatal(err)
	}
	if landed != site+"/thank-you" {
		t.Fatalf("after the form the browser is at %s", landed)
	}
	leads := e.leadsOf(team)
	if len(leads) != 1 || leads[0].Email != "jamie@example.com" {
		t.Fatalf("leads %+v; want Jamie's", leads)
	}
	pv, _, err := e.db.PagesViewedByLead(context.Background(), team, leads[0].ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, v := range pv {
		urls = append(urls, v.URL)
	}
	if want := []string{site + "/", site + "/homes/12-oak", site + "/contact"}; fmt.Sprint(urls) != fmt.Sprint(want) {
		t.Fatalf("the lead's page views are %v, want %v", urls, want)
	}
	if _, visitors := e.stored(team); len(visitors) != 0 {
		t.Fatalf("the visitor is still anonymous after the form: %+v", visitors)
	}

	page := c.get(fmt.Sprintf("/leads/%d", leads[0].ID)).body
	for _, want := range []string{site + "/homes/12-oak", "12 Oak St", site + "/contact", "Contact us", "closr_visitor_id=" + vid} {
		if !strings.Contains(page, want) {
			t.Fatalf("the lead's page lacks %q", want)
		}
	}
	if n := strings.Count(page, `data-testid="page-view"`); n != 3 {
		t.Fatalf("the lead's page lists %d page views, want 3", n)
	}
}

func TestBrowserTrackerOptOut(t *testing.T) {
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	site := trackedSite(t, e.srv.URL, key)
	browser := newBrowser(t)

	for _, tc := range []struct{ name, before string }{
		{"Do-Not-Track", `Object.defineProperty(Navigator.prototype, "doNotTrack", {get: () => "1"})`},
		{"Global Privacy Control", `Object.defineProperty(Navigator.prototype, "globalPrivacyControl", {get: () => true})`},
		{"closr_ignore", `localStorage.setItem("closr_ignore", "true")`},
	} {
		tab, cancel := chromedp.NewContext(browser)
		var cookie string
		var stored any
		err := chromedp.Run(tab,
			chromedp.ActionFunc(func(ctx context.Context) error {
				_, err := page.AddScriptToEvaluateOnNewDocument(tc.before).Do(ctx)
				return err
			}),
			chromedp.Navigate(site+"/?opted-out"),
			chromedp.Poll(`window.closr && window.closr._c === 1`, nil), // t.js has run
			chromedp.Evaluate(`document.cookie`, &cookie),
			chromedp.Evaluate(`localStorage.getItem("closr_vid")`, &stored),
		)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if strings.Contains(cookie, "closr_vid") || stored != nil {
			t.Fatalf("%s: t.js stored a visitor id (cookie %q, localStorage %v)", tc.name, cookie, stored)
		}
	}

	// The same page without an opt-out is tracked; once its view has
	// arrived, it must be the only one.
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	err := chromedp.Run(tab,
		chromedp.ActionFunc(func(ctx context.Context) error {
			// The opt-out flag persists in the site's localStorage: opt back in.
			_, err := page.AddScriptToEvaluateOnNewDocument(`localStorage.removeItem("closr_ignore")`).Do(ctx)
			return err
		}),
		chromedp.Navigate(site+"/?control"),
	)
	if err != nil {
		t.Fatal(err)
	}
	var visitors []store.AnonymousVisitor
	waitFor(t, "the control page view", func() bool { _, visitors = e.stored(team); return len(visitors) > 0 })
	if views, _ := e.stored(team); views != 1 || len(visitors) != 1 || !strings.HasSuffix(visitors[0].LastURL, "?control") {
		t.Fatalf("stored %d views, visitors %+v; want only the control page's", views, visitors)
	}
}

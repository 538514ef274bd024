package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
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
	for _, want := range []string{site + "/homes/12-oak", "12 Oak St", site + "/contact", "Contact us"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the lead's page lacks %q", want)
		}
	}
	// The form carried the visitor id, as its raw body shows.
	rawLink := regexp.MustCompile(`href="(/leads/\d+/submissions/\d+/raw)"`).FindStringSubmatch(page)
	if rawLink == nil || !strings.Contains(c.get(rawLink[1]).body, "closr_visitor_id="+vid) {
		t.Fatalf("the submission's raw body (link %v) lacks closr_visitor_id=%s", rawLink, vid)
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

// pageViews lists the team's stored page views, oldest first, as
// "url | title".
func pageViews(t *testing.T, e *env, team int64) []string {
	t.Helper()
	rows, err := rawDB(t, e).Query("SELECT url, title FROM page_views WHERE team_id = ? ORDER BY id", team)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u, title string
		rows.Scan(&u, &title)
		out = append(out, u+" | "+title)
	}
	return out
}

// TestBrowserTrackerSPA: a single-page app that sets its title once its
// data has loaded gets that title recorded, not the previous page's; a
// change of the #hash alone is no page view.
func TestBrowserTrackerSPA(t *testing.T) {
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	site := trackedSite(t, e.srv.URL, key)
	ctx := newBrowser(t)
	views := func() int { n, _ := e.stored(team); return n }
	run := func(js string) {
		t.Helper()
		if err := chromedp.Run(ctx, chromedp.Evaluate(js+"; true", nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(site+"/"), chromedp.Poll(`window.closr && window.closr._c === 1`, nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first page view", func() bool { return views() == 1 })

	// The app navigates, then sets the title when its data arrives.
	run(`history.pushState({}, "", "/homes/12-oak"); setTimeout(() => { document.title = "12 Oak St" }, 600)`)
	waitFor(t, "the SPA page view", func() bool { return views() == 2 })

	// An anchor on the same page: the title changes too (as tab widgets
	// do), which ends the tracker's wait at once. Then the next page.
	run(`location.hash = "#photos"; document.title = "12 Oak St: photos"`)
	if err := chromedp.Run(ctx, chromedp.Sleep(700*time.Millisecond)); err != nil { // the tracker's wait is 200 ms here
		t.Fatal(err)
	}
	run(`history.pushState({}, "", "/homes/14-elm"); document.title = "14 Elm Ave"`)
	waitFor(t, "the next SPA page view", func() bool { return views() >= 3 })
	want := []string{site + "/ | Sunset Realty", site + "/homes/12-oak | 12 Oak St", site + "/homes/14-elm | 14 Elm Ave"}
	if got := pageViews(t, e, team); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("page views:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// cspSite is an agent's site sending its own Content-Security-Policy:
// default-src 'self' plus, for each entry, "directive 'self' source".
func cspSite(t *testing.T, closrURL, key string, entries []string) string {
	t.Helper()
	policy := "default-src 'self'"
	for _, e := range entries {
		dir, src, _ := strings.Cut(e, " ")
		policy += "; " + dir + " 'self' " + src
	}
	var siteURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", policy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/thank-you" {
			fmt.Fprint(w, `<!doctype html><title>Thanks</title><h1 id="thanks">Thanks!</h1>`)
			return
		}
		fmt.Fprintf(w, `<!doctype html><html><head><title>Contact</title>
<script async src="%[1]s/t.js" data-key="%[2]s" data-allow-automation></script></head><body>
<form method="post" action="%[1]s/api/leads/inbound"><input type="hidden" name="api_key" value="%[2]s">
<input type="hidden" name="_redirect" value="%[3]s/thank-you"><input id="email" name="email" type="email">
<button id="send" type="submit">Send</button></form></body></html>`, closrURL, key, siteURL)
	}))
	t.Cleanup(srv.Close)
	siteURL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	return siteURL
}

// TestBrowserSiteWithCSP: a site with a Content-Security-Policy of its own
// blocks the tracker until it has the entries the Web tracker card gives;
// with them, page views arrive and the form posts, with no violation
// (newBrowser fails the test on any).
func TestBrowserSiteWithCSP(t *testing.T) {
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")
	m := regexp.MustCompile(`data-testid="csp-entries"><code[^>]*>([^<]*)</code>`).FindStringSubmatch(c.get("/settings/integrations").body)
	if m == nil {
		t.Fatal("the Web tracker card gives no CSP entries")
	}
	entries := strings.Split(html.UnescapeString(m[1]), "\n")
	for i, dir := range []string{"script-src", "connect-src", "form-action"} {
		if entries[i] != dir+" "+e.srv.URL {
			t.Fatalf("CSP entries %q, want %s with this server's address", entries, dir)
		}
	}

	// Without them the browser refuses the tracker.
	strict := startBrowser(t)
	seen := watchCSP(strict)
	if err := chromedp.Run(strict, chromedp.Navigate(cspSite(t, e.srv.URL, key, nil)+"/")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the site's policy to block the tracker", func() bool { return len(seen.violations()) > 0 })

	ctx := newBrowser(t)
	site := cspSite(t, e.srv.URL, key, entries)
	if err := chromedp.Run(ctx, chromedp.Navigate(site+"/")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the page view", func() bool { n, _ := e.stored(team); return n == 1 })
	err := chromedp.Run(ctx,
		chromedp.SendKeys("#email", "csp@example.com", chromedp.ByQuery),
		chromedp.Click("#send", chromedp.ByQuery),
		chromedp.WaitVisible("#thanks", chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if leads := e.leadsOf(team); len(leads) != 1 || leads[0].Email != "csp@example.com" {
		t.Fatalf("leads %+v", leads)
	}
}

// TestBrowserTrackedLink: the agent makes a tracked link on a lead's page;
// the person opens it in a browser of their own on the agent's site (a
// second origin with the tracker) and browses two more pages. The token
// leaves the address bar, and the lead page lists all three views and says
// the link was opened.
func TestBrowserTrackedLink(t *testing.T) {
	e := newEnv(t)
	agent := newBrowser(t)
	signupInBrowser(t, agent, e.srv.URL, "ana@example.com")
	a := e.agent("ana@example.com")
	_, key, err := e.db.CreateAPIKey(t.Context(), a.TeamID, a.ID, "Web tracker", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	lead := e.mustPostLead(key, `{"name": "Jamie Buyer", "email": "jamie@example.com"}`)
	site := trackedSite(t, e.srv.URL, key)

	var link string
	err = chromedp.Run(agent,
		chromedp.Navigate(fmt.Sprintf("%s/leads/%d", e.srv.URL, lead)),
		chromedp.SendKeys("#tracked-url", site+"/?listing=7-harbor-ln", chromedp.ByQuery),
		chromedp.Click(`#tracked-links button[type=submit]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid="tracked-url"]`, &link, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, site+"/?listing=7-harbor-ln&clsr=") {
		t.Fatalf("tracked link %q", link)
	}

	person := newBrowser(t) // a browser of their own: nothing shared with the agent's
	views := func() int { n, _ := e.stored(a.TeamID); return n }
	var address string
	err = chromedp.Run(person,
		chromedp.Navigate(link),
		chromedp.Poll(`window.closr && window.closr._c === 1`, nil),
		chromedp.Poll(`!location.search.includes("clsr")`, nil),
		chromedp.Location(&address),
	)
	if err != nil {
		t.Fatal(err)
	}
	if address != site+"/?listing=7-harbor-ln" {
		t.Fatalf("the address bar holds %q after opening the link, want the page without its token", address)
	}
	waitFor(t, "the view of the opened link", func() bool { return views() == 1 })
	for i, path := range []string{"/contact", "/"} {
		if err := chromedp.Run(person, chromedp.Navigate(site+path), chromedp.Poll(`window.closr && window.closr._c === 1`, nil)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the view of "+path, func() bool { return views() == i+2 })
	}

	var rows int
	var opened string
	err = chromedp.Run(agent,
		chromedp.Navigate(fmt.Sprintf("%s/leads/%d", e.srv.URL, lead)),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="page-view"]').length`, &rows),
		chromedp.Text(`[data-testid="opened-link"]`, &opened, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 3 || !strings.HasPrefix(opened, "Sunset Realty,") {
		t.Fatalf("lead page: %d page views, opened link %q; want 3 and the opened page", rows, opened)
	}
}

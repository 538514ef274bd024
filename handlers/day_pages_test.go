package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestLoginReturnsToTheDeepLink: a signed-out agent who opens a lead's
// link logs in and lands on that lead, but a return path that leaves the
// site is never followed (no open redirect), whatever its disguise.
func TestLoginReturnsToTheDeepLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, _, key := e.team("ana@example.com")
	lead := e.mustPostLead(key, `{"email": "jamie@example.com"}`)
	ana.post("/logout", nil)

	deep := fmt.Sprintf("/leads/%d?from=sms", lead)
	r := ana.get(deep)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next="+url.QueryEscape(deep) {
		t.Fatalf("signed out: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	login := ana.get(r.Header.Get("Location"))
	if !strings.Contains(login.body, `name="next" value="`+deep+`"`) {
		t.Fatalf("the login form does not carry the page:\n%s", login.body)
	}
	r = ana.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}, "next": {deep}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != deep {
		t.Fatalf("login: %d %q, want %s", r.StatusCode, r.Header.Get("Location"), deep)
	}
	if page := ana.get(deep); page.StatusCode != 200 || !strings.Contains(page.body, "jamie@example.com") {
		t.Fatalf("the deep link after login: %d", page.StatusCode)
	}
	// A wrong password keeps the page to return to.
	ana.post("/logout", nil)
	ana.get("/login")
	if r := ana.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"nope nope"}, "next": {deep}}); !strings.Contains(r.body, `name="next"`) {
		t.Fatal("a failed login forgot the page to return to")
	}
	// HTMX requests get the page they came from.
	r = ana.post("/settings/integrations/api-keys", url.Values{"label": {"x"}}, "HX-Request", "true", "HX-Current-URL", e.srv.URL+"/settings/integrations")
	if r.Header.Get("HX-Redirect") != "/login?next=%2Fsettings%2Fintegrations" {
		t.Fatalf("HTMX: HX-Redirect %q", r.Header.Get("HX-Redirect"))
	}

	for _, evil := range []string{
		"//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
		"/\n/evil.example", "javascript:alert(1)", "evil.example", "/login?next=//evil.example", "",
	} {
		c := e.client()
		c.get("/login?next=" + url.QueryEscape(evil))
		r := c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}, "next": {evil}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/integrations" {
			t.Errorf("login with next %q: %d to %q", evil, r.StatusCode, r.Header.Get("Location"))
		}
		// Signed in, the login page follows next the same way.
		if r := c.get("/login?next=" + url.QueryEscape(evil)); r.Header.Get("Location") != "/settings/integrations" {
			t.Errorf("signed in, next %q: to %q", evil, r.Header.Get("Location"))
		}
	}
	// Escaped characters stay escaped: a path on this site, never a header.
	c := e.client()
	c.get("/login")
	r = c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}, "next": {"/%0d%0aSet-Cookie:x=1"}})
	if loc := r.Header.Get("Location"); loc != "/%0d%0aSet-Cookie:x=1" || r.Header.Get("Set-Cookie") == "x=1" {
		t.Errorf("an escaped return path: %q", loc)
	}
}

// TestErrorPagesKeepTheNavigation: an address that leads nowhere, or a
// page asked for with a method it does not take, is "This page doesn't
// exist" in plain words, with the agent's navigation and a way back.
func TestErrorPagesKeepTheNavigation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, _, _ := e.team("ana@example.com")
	for _, r := range []resp{
		ana.get("/settings/nothing-here"),
		ana.get("/settings/integrations/tracked-domains/1"), // a removal address opened as a page (a key's address is its page)
		ana.get("/leads/12345"),
	} {
		if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("%s: %d", r.Request.URL.Path, r.StatusCode)
		}
		for _, want := range []string{`<nav aria-label="Main">`, "Log out", `href="/leads">Go to your leads</a>`, `name="_csrf" value="` + ana.csrf + `"`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("%s (%d) lacks %s", r.Request.URL.Path, r.StatusCode, want)
			}
		}
		if strings.Contains(r.body, "Method Not Allowed") || strings.Contains(r.body, "Not Found") {
			t.Errorf("%s speaks HTTP: %s", r.Request.URL.Path, visibleText(r.body))
		}
	}
	if r := ana.get("/settings/integrations/tracked-domains/1"); !strings.Contains(r.body, "This page doesn&#39;t exist") {
		t.Errorf("405 page: %s", visibleText(r.body))
	}
	if r := ana.get("/leads/12345"); !strings.Contains(r.body, "We couldn&#39;t find that") {
		t.Errorf("another team's or no lead: %s", visibleText(r.body))
	}
	signedOut := e.client().get("/nothing")
	if signedOut.StatusCode != http.StatusNotFound || strings.Contains(signedOut.body, "Log out") || !strings.Contains(signedOut.body, "This page doesn&#39;t exist") {
		t.Fatalf("signed out 404: %d %s", signedOut.StatusCode, visibleText(signedOut.body))
	}
}

// TestFavicon: every page names an icon, and it is served.
func TestFavicon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	if page := c.get("/login"); !strings.Contains(page.body, `<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">`) {
		t.Fatal("the page names no icon")
	}
	r := c.get("/static/favicon.svg")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(r.body, "<svg") {
		t.Fatalf("favicon: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestTrackedDomainFiltering(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")

	// No domains listed: every origin is accepted.
	if r := e.track(pageviewBody(key, testVID, "https://anywhere.example/"), "Origin", "https://anywhere.example"); r.StatusCode != 202 || r.Header.Get("X-Closr-Dropped") != "" {
		t.Fatalf("no domains: %d %q", r.StatusCode, r.Header.Get("X-Closr-Dropped"))
	}
	if r, _ := e.inbound(key, map[string]string{"email": "open@example.com"}, "Origin", "https://anywhere.example"); r.StatusCode != http.StatusCreated {
		t.Fatalf("no domains, inbound from any origin: %d %s", r.StatusCode, r.body)
	}

	if r := c.post("/settings/integrations/tracked-domains", url.Values{"domain": {"sunset.example"}}, "HX-Request", "true"); r.StatusCode != 200 {
		t.Fatalf("add domain: %d %s", r.StatusCode, r.body)
	}
	for _, tc := range []struct {
		origin string
		kept   bool
	}{
		{"https://sunset.example", true},
		{"https://www.sunset.example", true},
		{"http://homes.sunset.example:8080", true},
		{"https://evil.example", false},
		{"https://notsunset.example", false},
		{"https://sunset.example.evil.example", false},
		{"null", false},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			before, _ := e.stored(team)
			r := e.track(pageviewBody(key, testVID, "https://sunset.example/page"), "Origin", tc.origin)
			after, _ := e.stored(team)
			dropped := r.Header.Get("X-Closr-Dropped")
			if r.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d %s", r.StatusCode, r.body)
			}
			if tc.kept && (dropped != "" || after != before+1) {
				t.Fatalf("listed origin dropped (%q) or not stored (%d → %d)", dropped, before, after)
			}
			if !tc.kept && (dropped != "origin" || after != before || r.Header.Get("Access-Control-Allow-Origin") != "") {
				t.Fatalf("foreign origin: dropped %q, views %d → %d, ACAO %q", dropped, before, after, r.Header.Get("Access-Control-Allow-Origin"))
			}
		})
	}

	leadsBefore := e.leadsOf(team)
	// A plain browser form from a foreign site: a page telling the visitor
	// to reach the agent another way; the reason is the JSON answer's.
	form := url.Values{"api_key": {key}, "email": {"spam@example.com"}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/leads/inbound", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Origin", "https://evil.example")
	r := e.client().do(req)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, `data-testid="not-delivered"`) || strings.Contains(r.body, "Settings") {
		t.Fatalf("foreign browser form: %d\n%s", r.StatusCode, r.body)
	}
	// fetch from a foreign page: the JSON error.
	r, _ = e.inbound(key, map[string]string{"email": "spam2@example.com"}, "Origin", "https://evil.example")
	var got struct{ Error, Message string }
	json.Unmarshal([]byte(r.body), &got)
	if r.StatusCode != http.StatusForbidden || got.Error != "origin_not_allowed" || !strings.Contains(got.Message, "Web tracker") {
		t.Fatalf("foreign fetch: %d %s", r.StatusCode, r.body)
	}
	if leads := e.leadsOf(team); len(leads) != len(leadsBefore) {
		t.Fatal("a refused foreign form stored a lead")
	}
	// Listed sites, Closr's own page ("Send test lead") and server-side
	// tools (no Origin) still get through.
	self := strings.TrimPrefix(e.srv.URL, "http://")
	for i, origin := range []string{"https://www.sunset.example", "http://" + self, ""} {
		var hdr []string
		if origin != "" {
			hdr = []string{"Origin", origin}
		}
		if r, _ := e.inbound(key, map[string]string{"email": fmt.Sprintf("ok%d@example.com", i)}, hdr...); r.StatusCode != http.StatusCreated {
			t.Fatalf("inbound from %q: %d %s", origin, r.StatusCode, r.body)
		}
	}
	// Removing the last domain opens the gate again.
	domains, _ := e.db.TrackedDomains(context.Background(), team)
	c.send("DELETE", fmt.Sprintf("/settings/integrations/tracked-domains/%d", domains[0].ID), nil, "HX-Request", "true")
	if r := e.track(pageviewBody(key, testVID, "https://evil.example/"), "Origin", "https://evil.example"); r.Header.Get("X-Closr-Dropped") != "" {
		t.Fatal("events still filtered after the last domain was removed")
	}
}

func TestTrackedDomainForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, _ := e.team("ana@example.com")
	domains := func() []string {
		ds, err := e.db.TrackedDomains(context.Background(), team)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.Domain)
		}
		return out
	}

	for _, tc := range []struct{ input, message string }{
		{"", "Enter your site's domain"},
		{"https://www.sunset.example/homes", `that is "sunset.example"`},
		{"sunset.example/homes", "without https:// or a path"},
		{"sunset.example:8080", "Leave out the port"},
		{"sunset", "not a full domain"},
		{"sun set.example", "not a valid domain"},
		{"-sunset.example", "not a valid domain"},
		{"sünset.example", "xn-- form"},
		{strings.Repeat("a", 64) + ".example", "not a valid domain"},
	} {
		t.Run(tc.input, func(t *testing.T) {
			for _, htmx := range []bool{true, false} {
				var hdr []string
				if htmx {
					hdr = []string{"HX-Request", "true"}
				}
				r := c.post("/settings/integrations/tracked-domains", url.Values{"domain": {tc.input}}, hdr...)
				if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `data-testid="domain-error"`) ||
					!strings.Contains(r.body, html.EscapeString(tc.message)) || !strings.Contains(r.body, `aria-invalid="true"`) {
					t.Fatalf("htmx=%v: %d\n%s", htmx, r.StatusCode, r.body)
				}
				if got := domains(); len(got) != 0 {
					t.Fatalf("a bad domain was stored: %v", got)
				}
			}
		})
	}

	// Good input is lower-cased and loses a leading www.; a plain post is
	// redirected to the page, which shows the notice once, in an open
	// Web tracker card.
	r := c.post("/settings/integrations/tracked-domains", url.Values{"domain": {" WWW.Sunset.Example. "}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/integrations" {
		t.Fatalf("plain add: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r = c.follow(r); !strings.Contains(r.body, "Added sunset.example") || !regexp.MustCompile(`<details open[^>]*>\s*<summary>\s*<h2 id="web-tracker-title"`).MatchString(r.body) {
		t.Fatalf("the page after a plain add: %d\n%s", r.StatusCode, r.body)
	}
	if again := c.get("/settings/integrations"); strings.Contains(again.body, "Added sunset.example") {
		t.Fatal("a reload shows the notice again")
	}
	if got := domains(); len(got) != 1 || got[0] != "sunset.example" {
		t.Fatalf("stored %v, want [sunset.example]", got)
	}
	r = c.post("/settings/integrations/tracked-domains", url.Values{"domain": {"sunset.example"}}, "HX-Request", "true")
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "already in the list") || len(domains()) != 1 {
		t.Fatalf("duplicate: %d\n%s", r.StatusCode, r.body)
	}

	// CSRF: no token, no change, for add and remove.
	ds, _ := e.db.TrackedDomains(context.Background(), team)
	id := ds[0].ID
	r = c.post("/settings/integrations/tracked-domains", url.Values{"domain": {"other.example"}, "_csrf": {""}})
	if r.StatusCode != http.StatusForbidden || len(domains()) != 1 {
		t.Fatalf("add without CSRF: %d, domains %v", r.StatusCode, domains())
	}
	r = c.send("DELETE", fmt.Sprintf("/settings/integrations/tracked-domains/%d", id), url.Values{"_csrf": {"forged"}, "confirm": {"yes"}})
	if r.StatusCode != http.StatusForbidden || len(domains()) != 1 {
		t.Fatalf("remove with a forged token: %d, domains %v", r.StatusCode, domains())
	}

	// Remove without JavaScript: a confirmation page first, then the removal.
	r = c.post(fmt.Sprintf("/settings/integrations/tracked-domains/%d", id), url.Values{"_method": {"DELETE"}})
	if r.StatusCode != 200 || !strings.Contains(r.body, `data-testid="remove-domain-confirm"`) || len(domains()) != 1 {
		t.Fatalf("remove without confirm: %d, domains %v\n%s", r.StatusCode, domains(), r.body)
	}
	r = c.post(fmt.Sprintf("/settings/integrations/tracked-domains/%d", id), url.Values{"_method": {"DELETE"}, "confirm": {"yes"}})
	if r.StatusCode != http.StatusSeeOther || len(domains()) != 0 {
		t.Fatalf("confirmed remove: %d, domains %v", r.StatusCode, domains())
	}
	if r = c.follow(r); !strings.Contains(r.body, "Removed sunset.example. No domains are listed") {
		t.Fatalf("the page after a confirmed remove lacks the notice:\n%s", r.body)
	}
	if r := c.send("DELETE", fmt.Sprintf("/settings/integrations/tracked-domains/%d", id), nil, "HX-Request", "true"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("removing a removed domain: %d, want 404", r.StatusCode)
	}
}

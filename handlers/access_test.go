package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// access is who may use a route, which decides how it must refuse others.
type access int

const (
	public      access = iota // anyone; nothing to refuse (still tried signed out)
	agentPage                 // a page behind sign-in
	agentChange               // a change behind sign-in and CSRF
	teamItem                  // a page of one of the team's items (:id)
	teamChange                // a change to one of the team's items (:id)
	csrfOnly                  // a change open to signed-out people (sign-up, login, logout)
	apiKey                    // the JSON API, authenticated by key
	formGet                   // a form left on GET: refused with 405, whoever sends it
)

// attempt is one request by one identity and the refusal it must get.
type attempt struct {
	identity string
	req      *http.Request
	via      *client
	status   int
	location string // for 303s; "" to not check
	hxTo     string // HX-Redirect for HTMX 401s
	apiError string // the JSON error code for API refusals
}

// TestAccessMatrix tries every route as every identity that must be
// refused: signed out, another team's agent, a revoked key, a key in the
// wrong place, a missing or forged CSRF token. Each gets the right status
// and leaves every table as it was. A route without a row fails the test.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	matrix := map[string]access{
		"GET /":                                      public,
		"GET /healthz":                               public,
		"GET /static/*":                              public,
		"HEAD /static/*":                             public,
		"GET /thanks":                                public,
		"GET /signup":                                public,
		"GET /login":                                 public,
		"OPTIONS /api/leads/inbound":                 public,
		"GET /api/leads/inbound":                     formGet,
		"POST /signup":                               csrfOnly,
		"POST /login":                                csrfOnly,
		"POST /logout":                               csrfOnly,
		"POST /logout/everywhere":                    agentChange,
		"GET /settings/integrations":                 agentPage,
		"GET /leads":                                 agentPage,
		"POST /settings/integrations/api-keys":       agentChange,
		"GET /leads/:id":                             teamItem,
		"GET /leads/:id/submissions/:sid/raw":        teamItem,
		"POST /leads/:id/tracked-links":              teamChange,
		"DELETE /settings/integrations/api-keys/:id": teamChange,
		"POST /api/leads/inbound":                    apiKey,
		"GET /t.js":                                  public,
		"HEAD /t.js":                                 public,
		"OPTIONS /api/track":                         public,
		"POST /api/track":                            apiKey,
		"POST /settings/integrations/tracked-domains":       agentChange,
		"DELETE /settings/integrations/tracked-domains/:id": teamChange,
		"POST /mcp":   apiKey,
		"GET /mcp":    apiKey,
		"DELETE /mcp": apiKey,
	}
	e := newEnv(t)
	routes := e.h.Routes()
	for _, r := range routes {
		if _, ok := matrix[r]; !ok {
			t.Errorf("route %q has no row in the access matrix: say who may use it", r)
		}
	}
	for r := range matrix {
		if !contains(routes, r) {
			t.Errorf("matrix row %q names no route", r)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The victim's team: a live key, a revoked key, a lead.
	ana := e.client()
	ana.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	liveKey := ana.generate("Website")
	revokedKey := ana.generate("Old form")
	keys, _ := e.db.APIKeys(context.Background(), e.agent("ana@example.com").TeamID)
	var liveID, revokedID int64
	for _, k := range keys {
		switch k.Label {
		case "Website":
			liveID = k.ID
		case "Old form":
			revokedID = k.ID
		}
	}
	if r := ana.send("DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", revokedID), nil, "HX-Request", "true"); r.StatusCode != 200 {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	created := struct{ ID int64 }{ana.e.mustPostLead(liveKey, `{"name":"Lena Lead","email":"lena@example.com"}`)}
	domain, err := e.db.AddTrackedDomain(context.Background(), e.agent("ana@example.com").TeamID, "sunset.example")
	if err != nil {
		t.Fatal(err)
	}
	ana.get("/settings/integrations") // fresh CSRF token

	// Another team's agent, signed in with a valid token of her own.
	eve := e.client()
	eve.signup("Eve Other", "eve@example.com", "Rival Homes")
	eve.get("/settings/integrations")

	ids := strings.NewReplacer(":id", fmt.Sprint(liveID), "*", "app.css")
	subs, err := e.db.LeadSubmissions(context.Background(), e.agent("ana@example.com").TeamID, created.ID, 0, 1)
	if err != nil || len(subs.Submissions) != 1 {
		t.Fatalf("the lead's submission: %+v %v", subs, err)
	}
	leadIDs := strings.NewReplacer(":id", fmt.Sprint(created.ID), ":sid", fmt.Sprint(subs.Submissions[0].ID))
	tried, refused := 0, 0
	for _, route := range routes {
		method, pattern, _ := strings.Cut(route, " ")
		path := ids.Replace(pattern)
		if strings.HasPrefix(pattern, "/leads/") {
			path = leadIDs.Replace(pattern)
		}
		if strings.HasPrefix(pattern, "/settings/integrations/tracked-domains/") {
			path = strings.Replace(pattern, ":id", fmt.Sprint(domain.ID), 1)
		}
		for _, a := range attemptsFor(e, matrix[route], method, path, ana, eve, liveKey, revokedKey) {
			t.Run(route+" as "+a.identity, func(t *testing.T) {
				before := rowCounts(t, e)
				r := a.via.do(a.req)
				tried++
				after := rowCounts(t, e)
				sameCounts(t, route+" as "+a.identity, before, after)
				if a.status == 0 { // public: only that it works and writes nothing
					if r.StatusCode >= 400 {
						t.Fatalf("public route: %d", r.StatusCode)
					}
					return
				}
				refused++
				if r.StatusCode != a.status {
					t.Fatalf("status %d, want %d\n%.400s", r.StatusCode, a.status, r.body)
				}
				if a.location != "" && r.Header.Get("Location") != a.location {
					t.Fatalf("Location %q, want %q", r.Header.Get("Location"), a.location)
				}
				if a.hxTo != "" && r.Header.Get("HX-Redirect") != a.hxTo {
					t.Fatalf("HX-Redirect %q, want %q", r.Header.Get("HX-Redirect"), a.hxTo)
				}
				if a.apiError != "" {
					var body struct{ Error, Message string }
					if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Error != a.apiError || body.Message == "" {
						t.Fatalf("API refusal body %s, want error %q", r.body, a.apiError)
					}
				}
				if strings.Contains(r.body, liveKey) || strings.Contains(r.body, "lena@example.com") {
					t.Fatal("the refusal shows the victim's data")
				}
			})
		}
	}
	if ds, _ := e.db.TrackedDomains(context.Background(), e.agent("ana@example.com").TeamID); len(ds) != 1 {
		t.Fatalf("victim has %d tracked domains after the attacks, want 1", len(ds))
	}
	if n := e.activeKeys(e.agent("ana@example.com").TeamID); n != 1 {
		t.Fatalf("victim has %d active keys after the attacks, want 1", n)
	}
	t.Logf("access matrix: %d routes, %d requests tried across identities, %d refused as required", len(routes), tried, refused)
}

// attemptsFor builds the requests a route must refuse (or, for a public
// route, the one signed-out request it must serve without writing).
func attemptsFor(e *env, kind access, method, path string, ana, eve *client, liveKey, revokedKey string) []attempt {
	req := func(body string, hdr ...string) *http.Request {
		r, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		setHeaders(r, hdr)
		return r
	}
	form := func(c *client, csrf string, extra url.Values, hdr ...string) *http.Request {
		v := url.Values{"_csrf": {csrf}, "label": {"x"}, "email": {"x@example.com"}, "password": {"correct horse battery"},
			"name": {"X"}, "team": {"X"}, "confirm": {"yes"}}
		for k, vs := range extra {
			v[k] = vs
		}
		r := req(v.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html"}, hdr...)...)
		if csrf != "" && method != "POST" {
			r.Header.Set("X-CSRF-Token", csrf)
		}
		return r
	}
	// The right token, but in the query string, where it leaks into logs,
	// history and Referer headers: it must not count.
	inQuery := func(c *client, hdr ...string) *http.Request {
		v := url.Values{"label": {"x"}, "email": {"x@example.com"}, "password": {"correct horse battery"}, "name": {"X"}, "team": {"X"}, "confirm": {"yes"}}
		r := req(v.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html"}, hdr...)...)
		r.URL.RawQuery = url.Values{"_csrf": {c.csrf}}.Encode()
		return r
	}
	signedOut := func() *client { // a fresh visitor whose session holds a CSRF token
		c := e.client()
		c.get("/login")
		return c
	}
	forged := "forged-" + strings.Repeat("A", 37)
	var out []attempt
	switch kind {
	case public:
		out = append(out, attempt{identity: "signed out", via: e.client(), req: req("")})
	case agentPage, teamItem:
		out = append(out,
			attempt{identity: "signed out", via: e.client(), req: req(""), status: 303, location: "/login?next=" + url.QueryEscape(path)},
			attempt{identity: "signed out (HTMX)", via: e.client(), req: req("", "HX-Request", "true"), status: 401, hxTo: "/login"})
		if kind == teamItem {
			out = append(out, attempt{identity: "another team's agent", via: eve, req: req(""), status: 404})
		}
	case agentChange, teamChange:
		so := signedOut()
		so2 := signedOut()
		out = append(out,
			attempt{identity: "signed out", via: so, req: form(so, so.csrf, nil), status: 303, location: "/login"},
			attempt{identity: "signed out (HTMX)", via: so2, req: form(so2, so2.csrf, nil, "HX-Request", "true"), status: 401, hxTo: "/login"},
			attempt{identity: "agent without CSRF token", via: ana, req: form(ana, "", nil, "HX-Request", "true"), status: 403},
			attempt{identity: "agent with forged CSRF token", via: ana, req: form(ana, forged, nil, "HX-Request", "true"), status: 403},
			attempt{identity: "agent with another session's token", via: ana, req: form(ana, eve.csrf, nil, "HX-Request", "true"), status: 403},
			attempt{identity: "agent with the token in the query string", via: ana, req: inQuery(ana, "HX-Request", "true"), status: 403})
		if kind == teamChange {
			out = append(out,
				attempt{identity: "another team's agent", via: eve, req: form(eve, eve.csrf, nil, "HX-Request", "true"), status: 404},
				attempt{identity: "another team's agent (plain form)", via: eve, req: form(eve, eve.csrf, nil), status: 404})
		}
	case csrfOnly:
		so, so2 := signedOut(), signedOut()
		out = append(out,
			attempt{identity: "visitor without CSRF token", via: so, req: form(so, "", nil), status: 403},
			attempt{identity: "visitor with forged CSRF token", via: so2, req: form(so2, forged, nil), status: 403},
			attempt{identity: "agent without CSRF token", via: ana, req: form(ana, "", nil), status: 403},
			attempt{identity: "agent with another session's token", via: ana, req: form(ana, eve.csrf, nil), status: 403},
			attempt{identity: "visitor with the token in the query string", via: so, req: inQuery(so), status: 403})
	case apiKey:
		lead := `{"name":"Intruder","email":"intruder@example.com"}`
		if path == "/api/track" {
			lead = `{"type":"pageview","visitor_id":"intruder-0123456789","url":"https://sunset.example/"}`
		}
		jsonHdr := []string{"Content-Type", "application/json"}
		inQuery := req(lead, jsonHdr...)
		inQuery.URL.RawQuery = "api_key=" + liveKey
		if path == "/api/leads/inbound" {
			// Webhooks that cannot set a header put the key in the URL
			// (see TestInboundKeyInURL); a revoked one is still refused.
			inQuery.URL.RawQuery = "api_key=" + revokedKey
		}
		inCookie := req(lead, jsonHdr...)
		inCookie.AddCookie(&http.Cookie{Name: "api_key", Value: liveKey})
		out = append(out,
			attempt{identity: "no key", via: e.client(), req: req(lead, jsonHdr...), status: 401, apiError: "invalid_api_key"},
			attempt{identity: "revoked key", via: e.client(), req: req(lead, append(jsonHdr, "X-Api-Key", revokedKey)...), status: 401, apiError: "invalid_api_key"},
			attempt{identity: "revoked key as Bearer", via: e.client(), req: req(lead, append(jsonHdr, "Authorization", "Bearer "+revokedKey)...), status: 401, apiError: "invalid_api_key"},
			attempt{identity: "key in the query string", via: e.client(), req: inQuery, status: 401, apiError: "invalid_api_key"},
			attempt{identity: "key in a cookie", via: e.client(), req: inCookie, status: 401, apiError: "invalid_api_key"},
			attempt{identity: "key as Basic auth", via: e.client(), req: req(lead, append(jsonHdr, "Authorization", "Basic "+liveKey)...), status: 401, apiError: "invalid_api_key"},
			attempt{identity: "signed-in agent's session, no key", via: ana, req: req(lead, jsonHdr...), status: 401, apiError: "invalid_api_key"})
	case formGet:
		withKey := func(accept string) *http.Request {
			r := req("", "Accept", accept)
			r.URL.RawQuery = url.Values{"api_key": {liveKey}, "email": {"x@example.com"}}.Encode()
			return r
		}
		out = append(out,
			attempt{identity: "a visitor's browser, key in the URL", via: e.client(), req: withKey("text/html"), status: 405},
			attempt{identity: "a script, key in the URL", via: e.client(), req: withKey("application/json"), status: 405, apiError: "method_not_allowed"})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

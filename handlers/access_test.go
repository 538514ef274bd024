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
	public        access = iota // anyone; nothing to refuse (still tried signed out)
	agentPage                   // a page behind sign-in
	agentChange                 // a change behind sign-in and CSRF
	teamItem                    // a page of one of the team's items (:id)
	teamChange                  // a change to one of the team's items (:id)
	managerChange               // a change only the team's owner and admins may make
	managerItem                 // a change to one of the team's items only owners and admins may make
	csrfOnly                    // a change open to signed-out people (sign-up, login, logout)
	invitee                     // an invitation link: its token is the credential
	apiKey                      // the JSON API, authenticated by key
	formGet                     // a form left on GET: refused with 405, whoever sends it
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
// refused: signed out, an agent removed from the team, another team's
// agent, an agent (the role) where only owners and admins may act, a
// revoked key, a key in the wrong place, a missing or forged CSRF token, a
// used or unknown invitation link. Each gets the right status and leaves
// every table as it was. A route without a row fails the test.
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
		"POST /settings/integrations/api-keys":       managerChange,
		"GET /leads/:id":                             teamItem,
		"GET /leads/:id/submissions/:sid/raw":        teamItem,
		"POST /leads/:id/tracked-links":              teamChange,
		"DELETE /settings/integrations/api-keys/:id": managerItem,
		"POST /settings/integrations/api-keys/:id/rotate":   managerItem,
		"POST /settings/integrations/api-keys/:id/expiry":   managerItem,
		"POST /settings/integrations/api-keys/:id/label":    managerItem,
		"GET /settings/integrations/api-keys/live":          agentPage,
		"GET /settings/integrations/api-keys/:id":           teamItem,
		"GET /settings/integrations/api-keys/:id/status":    teamItem,
		"DELETE /leads/:id":                                 teamChange,
		"GET /settings/team":                                agentPage,
		"GET /settings/team/activity":                       agentPage,
		"GET /settings/profile":                             agentPage,
		"POST /settings/profile":                            agentChange,
		"POST /settings/profile/password":                   agentChange,
		"POST /settings/team/invites":                       managerChange,
		"DELETE /settings/team/invites/:id":                 managerItem,
		"DELETE /settings/team/members/:id":                 managerItem,
		"POST /settings/team/members/:id/role":              managerItem,
		"GET /invite/:token":                                invitee,
		"POST /invite/:token":                               invitee,
		"POST /api/leads/inbound":                           apiKey,
		"GET /t.js":                                         public,
		"HEAD /t.js":                                        public,
		"OPTIONS /api/track":                                public,
		"POST /api/track":                                   apiKey,
		"POST /settings/integrations/tracked-domains":       managerChange,
		"DELETE /settings/integrations/tracked-domains/:id": managerItem,
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

	// The victim's team: a live key, a revoked key, a lead, an admin, an
	// agent, a removed admin, an open invitation and a used one.
	ana := e.client()
	ana.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	liveKey := ana.generate("Website")
	revokedKey := ana.generate("Old form")
	team := e.agent("ana@example.com").TeamID
	keys, _ := e.db.APIKeys(context.Background(), team)
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
	domain, err := e.db.AddTrackedDomain(context.Background(), team, "sunset.example")
	if err != nil {
		t.Fatal(err)
	}
	usedLink := ana.invite("abe@example.com", "agent")
	abe := e.accept(usedLink, "Abe Agent")
	e.accept(ana.invite("ada@example.com", "admin"), "Ada Admin")
	rex := e.accept(ana.invite("rex@example.com", "admin"), "Rex Removed")
	ana.invite("pending@example.com", "agent")
	ada, rexAgent := e.agent("ada@example.com"), e.agent("rex@example.com")
	open, _ := e.db.OpenInvitations(context.Background(), team)
	if r := ana.send("DELETE", fmt.Sprintf("/settings/team/members/%d", rexAgent.ID), nil, "HX-Request", "true"); r.StatusCode != 200 {
		t.Fatalf("remove Rex: %d\n%s", r.StatusCode, r.body)
	}
	ana.get("/settings/integrations") // fresh CSRF token
	usedToken := usedLink[strings.LastIndex(usedLink, "/")+1:]

	// Another team's agent, signed in with a valid token of her own.
	eve := e.client()
	eve.signup("Eve Other", "eve@example.com", "Rival Homes")
	eve.get("/settings/integrations")
	who := identities{ana: ana, eve: eve, abe: abe, removed: rex, liveKey: liveKey, revokedKey: revokedKey, usedToken: usedToken}

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
		for prefix, id := range map[string]int64{"/settings/integrations/tracked-domains/": domain.ID,
			"/settings/team/invites/": open[0].ID, "/settings/team/members/": ada.ID} {
			if strings.HasPrefix(pattern, prefix) {
				path = strings.Replace(pattern, ":id", fmt.Sprint(id), 1)
			}
		}
		for _, a := range attemptsFor(e, matrix[route], method, path, who) {
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
	if ms, _ := e.db.Members(context.Background(), team); len(ms) != 3 {
		t.Fatalf("victim's team has %d members after the attacks, want 3 (Ana, Abe, Ada)", len(ms))
	}
	if open, _ := e.db.OpenInvitations(context.Background(), team); len(open) != 1 {
		t.Fatalf("victim's team has %d open invitations after the attacks, want 1", len(open))
	}
	t.Logf("access matrix: %d routes, %d requests tried across identities, %d refused as required", len(routes), tried, refused)
}

// identities are the people and credentials the matrix tries routes as.
type identities struct {
	ana                 *client // the victim team's owner
	eve                 *client // another team's owner
	abe                 *client // an agent (the role) on Ana's team
	removed             *client // an admin Ana removed from the team, with the cookie he had
	liveKey, revokedKey string
	usedToken           string // an invitation link already used
}

// attemptsFor builds the requests a route must refuse (or, for a public
// route, the one signed-out request it must serve without writing).
func attemptsFor(e *env, kind access, method, path string, who identities) []attempt {
	ana, eve, liveKey, revokedKey := who.ana, who.eve, who.liveKey, who.revokedKey
	req := func(body string, hdr ...string) *http.Request {
		r, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		setHeaders(r, hdr)
		return r
	}
	form := func(c *client, csrf string, extra url.Values, hdr ...string) *http.Request {
		v := url.Values{"_csrf": {csrf}, "label": {"x"}, "email": {"x@example.com"}, "password": {"correct horse battery"},
			"name": {"X"}, "team": {"X"}, "confirm": {"yes"}, "role": {"agent"}, "current_password": {"correct horse battery"}, "tz": {"UTC"}}
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
		v := url.Values{"label": {"x"}, "email": {"x@example.com"}, "password": {"correct horse battery"}, "name": {"X"}, "team": {"X"}, "confirm": {"yes"}, "role": {"agent"}}
		r := req(v.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html"}, hdr...)...)
		r.URL.RawQuery = url.Values{"_csrf": {c.csrf}}.Encode()
		return r
	}
	signedOut := func() *client { // a fresh visitor whose session holds a CSRF token
		c := e.client()
		c.get("/login")
		return c
	}
	// The removed admin, as he was when removed: every attempt starts from
	// the cookie that still names his ended session.
	removed := func() *client {
		c := e.client()
		u, _ := url.Parse(e.srv.URL)
		c.http.Jar.SetCookies(u, who.removed.http.Jar.Cookies(u))
		c.csrf = who.removed.csrf
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
			attempt{identity: "signed out (HTMX)", via: e.client(), req: req("", "HX-Request", "true"), status: 401, hxTo: "/login"},
			attempt{identity: "removed agent", via: removed(), req: req(""), status: 303, location: "/login?next=" + url.QueryEscape(path)})
		if kind == teamItem {
			out = append(out, attempt{identity: "another team's agent", via: eve, req: req(""), status: 404})
		}
	case invitee:
		unknown := strings.Replace(path, ":token", strings.Repeat("A", 43), 1)
		used := strings.Replace(path, ":token", who.usedToken, 1)
		at := func(p string, r *http.Request) *http.Request {
			r.URL.Path = p
			return r
		}
		if method == "GET" {
			out = append(out,
				attempt{identity: "visitor with an unknown link", via: e.client(), req: at(unknown, req("")), status: 404},
				attempt{identity: "visitor with a used link", via: e.client(), req: at(used, req("")), status: 410},
				attempt{identity: "another team's agent with a used link", via: eve, req: at(used, req("")), status: 410})
			break
		}
		so, so2, so3 := signedOut(), signedOut(), signedOut()
		out = append(out,
			attempt{identity: "visitor without CSRF token", via: so, req: at(used, form(so, "", nil)), status: 403},
			attempt{identity: "visitor with forged CSRF token", via: so2, req: at(used, form(so2, forged, nil)), status: 403},
			attempt{identity: "visitor with an unknown link", via: so3, req: at(unknown, form(so3, so3.csrf, nil)), status: 404},
			attempt{identity: "visitor with a used link", via: so3, req: at(used, form(so3, so3.csrf, nil)), status: 410},
			attempt{identity: "another team's agent with a used link", via: eve, req: at(used, form(eve, eve.csrf, nil)), status: 410})
	case agentChange, teamChange, managerChange, managerItem:
		so := signedOut()
		so2 := signedOut()
		out = append(out,
			attempt{identity: "signed out", via: so, req: form(so, so.csrf, nil), status: 303, location: "/login"},
			attempt{identity: "signed out (HTMX)", via: so2, req: form(so2, so2.csrf, nil, "HX-Request", "true"), status: 401, hxTo: "/login"},
			attempt{identity: "agent without CSRF token", via: ana, req: form(ana, "", nil, "HX-Request", "true"), status: 403},
			attempt{identity: "agent with forged CSRF token", via: ana, req: form(ana, forged, nil, "HX-Request", "true"), status: 403},
			attempt{identity: "agent with another session's token", via: ana, req: form(ana, eve.csrf, nil, "HX-Request", "true"), status: 403},
			attempt{identity: "agent with the token in the query string", via: ana, req: inQuery(ana, "HX-Request", "true"), status: 403})
		rx := removed()
		out = append(out, attempt{identity: "removed agent", via: rx, req: form(rx, rx.csrf, nil), status: 303, location: "/login"})
		if kind == teamChange || kind == managerItem {
			out = append(out,
				attempt{identity: "another team's agent", via: eve, req: form(eve, eve.csrf, nil, "HX-Request", "true"), status: 404},
				attempt{identity: "another team's agent (plain form)", via: eve, req: form(eve, eve.csrf, nil), status: 404})
		}
		if kind == managerChange || kind == managerItem {
			abe := who.abe
			out = append(out,
				attempt{identity: "agent (role)", via: abe, req: form(abe, abe.csrf, nil, "HX-Request", "true"), status: 403},
				attempt{identity: "agent (role), plain form", via: abe, req: form(abe, abe.csrf, nil), status: 403})
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

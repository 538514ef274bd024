package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"closr/store"
)

const testVID = "0123456789abcdef0123456789abcdef"

// pageviewBody is what t.js sends for a page view.
func pageviewBody(key, vid, pageURL string) string {
	b, _ := json.Marshal(map[string]any{"api_key": key, "type": "pageview", "visitor_id": vid, "url": pageURL,
		"title": "Homes for sale", "referrer": "https://www.google.com/", "screen_width": 1280})
	return string(b)
}

// track posts one event as t.js does (text/plain), with extra headers.
func (e *env) track(body string, hdr ...string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/track", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	setHeaders(req, hdr)
	return e.client().do(req)
}

// stored is what the team's tracker data looks like from the store.
func (e *env) stored(teamID int64) (views int, visitors []store.AnonymousVisitor) {
	e.t.Helper()
	st, err := e.db.TrackerStats(context.Background(), teamID, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	visitors, err = e.db.AnonymousVisitors(context.Background(), teamID, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return st.Last24h, visitors
}

func TestTrackStoresPageView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")
	r := e.track(pageviewBody(key, testVID, "https://sunset.example/homes?utm_source=fb"), "Origin", "https://sunset.example")
	if r.StatusCode != http.StatusAccepted || r.Header.Get("X-Closr-Dropped") != "" {
		t.Fatalf("track: %d %q\n%s", r.StatusCode, r.Header.Get("X-Closr-Dropped"), r.body)
	}
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Fatalf("Access-Control-Allow-Origin = %q, want * with no tracked domains", got)
	}
	e.track(pageviewBody(key, testVID, "https://sunset.example/homes/12-oak"))
	views, visitors := e.stored(team)
	if views != 2 || len(visitors) != 1 || visitors[0].PageViews != 2 || visitors[0].LastURL != "https://sunset.example/homes/12-oak" {
		t.Fatalf("stored %d views, visitors %+v; want 2 views of one visitor", views, visitors)
	}
	e.flushUsage()
	keys, _ := e.db.APIKeys(context.Background(), team)
	if keys[0].LastUsedAt.IsZero() {
		t.Fatal("the key's last-used time was not updated by a tracker event")
	}
	card := c.get("/settings/integrations").body
	for _, want := range []string{`data-testid="tracker-24h">2<`, "https://sunset.example/homes/12-oak", `data-testid="visitor-row"`,
		html.EscapeString(`<script async src="` + e.srv.URL + `/t.js" data-key="YOUR_API_KEY"></script>`)} {
		if !strings.Contains(card, want) {
			t.Fatalf("Web tracker card lacks %q", want)
		}
	}
	if strings.Contains(e.log.String(), key[12:]) {
		t.Fatal("a log line holds the key")
	}
}

func TestTrackErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	good := pageviewBody(key, testVID, "https://sunset.example/")
	with := func(change map[string]any) string {
		m := map[string]any{}
		json.Unmarshal([]byte(good), &m)
		for k, v := range change {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	unknown := "closr_" + strings.Repeat("A", 43)
	for _, tc := range []struct {
		name        string
		contentType string
		body        string
		hdr         []string
		status      int
		code        string
		message     string
	}{
		{"xml", "application/xml", good, nil, 415, "unsupported_content_type", "text/plain or application/json"},
		{"no content type", "", good, nil, 415, "unsupported_content_type", "text/plain"},
		{"form", "application/x-www-form-urlencoded", "api_key=" + key, nil, 415, "unsupported_content_type", "JSON object"},
		{"not json", "text/plain", "hello", nil, 400, "unreadable_body", "not valid JSON"},
		{"array", "application/json", "[1,2]", nil, 400, "unreadable_body", "must be a JSON object"},
		{"too large", "text/plain", with(map[string]any{"title": strings.Repeat("x", 9<<10)}), nil, 413, "too_large", "at most 8 KiB"},
		{"no key", "text/plain", with(map[string]any{"api_key": ""}), nil, 401, "invalid_api_key", "valid Closr API key"},
		{"malformed key", "text/plain", with(map[string]any{"api_key": "closr_short"}), nil, 401, "invalid_api_key", "valid Closr API key"},
		{"unknown key", "text/plain", with(map[string]any{"api_key": unknown}), nil, 401, "invalid_api_key", "valid Closr API key"},
		{"bad header key beats bad body", "text/plain", "nope", []string{"X-Api-Key", unknown}, 401, "invalid_api_key", "valid Closr API key"},
		{"bad type", "text/plain", with(map[string]any{"type": "click"}), nil, 422, "validation_failed", `"pageview" or "identify"`},
		// The key is checked before the event: a bad key never learns which fields are wrong.
		{"bad type, unknown key", "text/plain", with(map[string]any{"type": "click", "api_key": unknown}), nil, 401, "invalid_api_key", "valid Closr API key"},
		{"bad type, no key", "text/plain", with(map[string]any{"type": "click", "api_key": ""}), nil, 401, "invalid_api_key", "valid Closr API key"},
		{"bad type, malformed key", "text/plain", with(map[string]any{"type": "click", "api_key": "closr_short"}), nil, 401, "invalid_api_key", "valid Closr API key"},
		{"width as text, unknown key", "text/plain", with(map[string]any{"screen_width": "wide", "api_key": unknown}), nil, 401, "invalid_api_key", "valid Closr API key"},
		{"key as a number", "text/plain", with(map[string]any{"api_key": 7}), nil, 401, "invalid_api_key", "valid Closr API key"},
		{"bad visitor id", "text/plain", with(map[string]any{"visitor_id": "short"}), nil, 422, "validation_failed", "visitor_id of 16 to 64"},
		{"no url", "text/plain", with(map[string]any{"url": ""}), nil, 422, "validation_failed", "page's address in url"},
		{"ftp url", "text/plain", with(map[string]any{"url": "ftp://x.example/"}), nil, 422, "validation_failed", "full http(s) address"},
		{"width as text", "text/plain", with(map[string]any{"screen_width": "wide"}), nil, 422, "validation_failed", "screen_width must be a number"},
		{"identify bad email", "text/plain", with(map[string]any{"type": "identify", "email": "not-an-email"}), nil, 422, "validation_failed", "not an email address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/track", strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			setHeaders(req, tc.hdr)
			r := e.client().do(req)
			var got struct{ Error, Message string }
			json.Unmarshal([]byte(r.body), &got)
			if r.StatusCode != tc.status || got.Error != tc.code || !strings.Contains(got.Message, tc.message) {
				t.Fatalf("got %d %s %q, want %d %s containing %q", r.StatusCode, got.Error, got.Message, tc.status, tc.code, tc.message)
			}
			if views, visitors := e.stored(team); views != 0 || len(visitors) != 0 {
				t.Fatalf("a refused event stored %d views, %d visitors", views, len(visitors))
			}
		})
	}
}

func TestTrackPreflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequest("OPTIONS", e.srv.URL+"/api/track", nil)
	req.Header.Set("Origin", "https://sunset.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	r := e.client().do(req)
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", r.StatusCode, r.Header)
	}
}

func TestTrackRevokedKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")
	if r := e.track(pageviewBody(key, testVID, "https://sunset.example/")); r.StatusCode != http.StatusAccepted {
		t.Fatalf("before revoke: %d %s", r.StatusCode, r.body)
	}
	keys, _ := e.db.APIKeys(context.Background(), team)
	c.send("DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", keys[0].ID), nil, "HX-Request", "true")
	missing := e.track(pageviewBody("", testVID, "https://sunset.example/"))
	for _, body := range []string{
		pageviewBody(key, testVID, "https://sunset.example/after"),
		`{"type":"identify","visitor_id":"` + testVID + `","url":"https://sunset.example/","email":"a@b.example","api_key":"` + key + `"}`,
	} {
		r := e.track(body)
		if r.StatusCode != http.StatusUnauthorized || r.body != missing.body {
			t.Fatalf("revoked key: %d %s; want 401 with the missing-key body %s", r.StatusCode, r.body, missing.body)
		}
	}
	if views, visitors := e.stored(team); views != 1 || len(visitors) != 1 || visitors[0].PageViews != 1 {
		t.Fatalf("after revoke: %d views, visitors %+v; want only the first view", views, visitors)
	}
}

// identifyBody is what closr.identify sends.
func identifyBody(key, vid, email, phone string) string {
	b, _ := json.Marshal(map[string]any{"api_key": key, "type": "identify", "visitor_id": vid,
		"url": "https://sunset.example/contact", "email": email, "phone": phone, "name": ""})
	return string(b)
}

// inbound posts a JSON lead and returns the id of the lead it joined.
func (e *env) inbound(key string, lead map[string]string, hdr ...string) (resp, int64) {
	e.t.Helper()
	b, _ := json.Marshal(lead)
	r := e.postLead(key, string(b), hdr...)
	if r.StatusCode != http.StatusCreated {
		return r, 0
	}
	return r, e.lastLeadID()
}

func TestTrackIdentify(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")

	// Identify before the lead exists: the lead that arrives later by
	// email picks the visitor up.
	early := "early0000000000000000000000000000"
	e.track(pageviewBody(key, early, "https://sunset.example/homes/12-oak"))
	if r := e.track(identifyBody(key, early, "Jamie@Example.com", "")); r.StatusCode != http.StatusAccepted || r.Header.Get("X-Closr-Dropped") != "" {
		t.Fatalf("identify: %d %q %s", r.StatusCode, r.Header.Get("X-Closr-Dropped"), r.body)
	}
	if _, visitors := e.stored(team); len(visitors) != 1 {
		t.Fatalf("an identify without a lead must leave the visitor anonymous; got %+v", visitors)
	}
	r, lead := e.inbound(key, map[string]string{"name": "Jamie", "email": "jamie@example.com"})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("inbound: %d %s", r.StatusCode, r.body)
	}
	if page := c.get(fmt.Sprintf("/leads/%d", lead)).body; !strings.Contains(page, "https://sunset.example/homes/12-oak") {
		t.Fatal("the lead that matched an earlier identify does not list the visitor's page views")
	}

	// Identify after the lead exists, by phone in another format.
	_, lead2 := e.inbound(key, map[string]string{"name": "Sam", "phone": "+1 415 555 0100"})
	late := "late00000000000000000000000000000"
	e.track(pageviewBody(key, late, "https://sunset.example/open-house"))
	e.track(identifyBody(key, late, "", "(415) 555-0100"))
	if page := c.get(fmt.Sprintf("/leads/%d", lead2)).body; !strings.Contains(page, "https://sunset.example/open-house") {
		t.Fatal("identify by phone did not tie the visitor to the lead with that phone")
	}
	if _, visitors := e.stored(team); len(visitors) != 0 {
		t.Fatalf("identified visitors still listed as anonymous: %+v", visitors)
	}

	// identify({email, name}) names a lead that has no name, and never
	// renames one that has.
	_, nameless := e.inbound(key, map[string]string{"email": "nameless@example.com"})
	named, _ := json.Marshal(map[string]any{"api_key": key, "type": "identify", "visitor_id": "named000000000000000000000000000",
		"url": "https://sunset.example/", "email": "nameless@example.com", "name": "Riley Stone"})
	e.track(string(named))
	renamed, _ := json.Marshal(map[string]any{"api_key": key, "type": "identify", "visitor_id": "named000000000000000000000000000",
		"url": "https://sunset.example/", "phone": "+1 415 555 0100", "name": "Someone Else"})
	e.track(string(renamed))
	if l, _ := e.db.Lead(t.Context(), team, nameless); l.Name != "Riley Stone" {
		t.Fatalf("identify with a name left the nameless lead named %q", l.Name)
	}
	if l, _ := e.db.Lead(t.Context(), team, lead2); l.Name != "Sam" {
		t.Fatalf("identify renamed Sam to %q", l.Name)
	}

	// Neither email nor phone: accepted and dropped.
	r = e.track(identifyBody(key, "anon0000000000000000000000000000", "", ""))
	if r.StatusCode != http.StatusAccepted || r.Header.Get("X-Closr-Dropped") != "no-identity" {
		t.Fatalf("empty identify: %d %q", r.StatusCode, r.Header.Get("X-Closr-Dropped"))
	}
	if _, visitors := e.stored(team); len(visitors) != 0 {
		t.Fatalf("an empty identify created a visitor: %+v", visitors)
	}
}

func TestTrackScriptServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	r := c.get("/t.js", "Accept-Encoding", "gzip")
	h := r.Header
	if r.StatusCode != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/javascript") ||
		h.Get("Content-Encoding") != "gzip" || h.Get("ETag") == "" ||
		h.Get("Cache-Control") != "public, max-age=3600" || h.Get("Access-Control-Allow-Origin") != "*" ||
		h.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
		t.Fatalf("GET /t.js: %d %v", r.StatusCode, h)
	}
	if again := c.get("/t.js", "If-None-Match", h.Get("ETag")); again.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d, want 304", again.StatusCode)
	}
	if plain := c.get("/t.js"); !strings.Contains(plain.body, "/api/track") {
		t.Fatal("/t.js without gzip is not the tracker")
	}
}

func TestLeadVisitsAndHot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")
	ctx := context.Background()
	now := time.Now()
	view := func(vid string, at time.Time, path string) {
		err := e.db.RecordPageView(ctx, store.PageViewInput{TeamID: team, VisitorID: vid, URL: "https://sunset.example" + path, Title: "Page " + path, At: at})
		if err != nil {
			t.Fatal(err)
		}
	}
	hot, warm := "hot00000000000000000000000000000", "warm0000000000000000000000000000"
	// hot: three visits in the last 7 days (the second has two views 10
	// minutes apart: one visit), plus one visit 10 days ago.
	view(hot, now.Add(-10*24*time.Hour), "/old")
	view(hot, now.Add(-3*24*time.Hour), "/a")
	view(hot, now.Add(-2*24*time.Hour), "/b")
	view(hot, now.Add(-2*24*time.Hour+10*time.Minute), "/c")
	view(hot, now.Add(-2*time.Hour), "/d")
	// warm: two visits in 7 days, and one long ago.
	view(warm, now.Add(-20*24*time.Hour), "/x")
	view(warm, now.Add(-1*24*time.Hour), "/y")
	view(warm, now.Add(-1*time.Hour), "/z")
	_, hotLead := e.inbound(key, map[string]string{"email": "hot@example.com", "closr_visitor_id": hot})
	_, warmLead := e.inbound(key, map[string]string{"email": "warm@example.com", "closr_visitor_id": warm})
	_, coldLead := e.inbound(key, map[string]string{"email": "cold@example.com"})
	// A view after the lead came in.
	view(hot, now.Add(time.Hour), "/after")

	list := c.get("/leads").body
	for _, tc := range []struct {
		id     int64
		visits string
		hot    bool
	}{{hotLead, "5", true}, {warmLead, "3", false}, {coldLead, "0", false}} {
		row := leadRowHTML(t, list, tc.id)
		cell := row[strings.Index(row, `data-testid="visits"`):]
		cell = cell[:strings.Index(cell, "</td>")]
		if got := strings.TrimSpace(strings.SplitN(cell[strings.Index(cell, ">")+1:], "<", 2)[0]); got != tc.visits {
			t.Errorf("lead %d visits %q, want %s", tc.id, got, tc.visits)
		}
		if strings.Contains(cell, `data-testid="hot"`) != tc.hot {
			t.Errorf("lead %d hot = %v, want %v", tc.id, !tc.hot, tc.hot)
		}
	}

	// The lead page groups the six views into its five visits, newest
	// first, and says which came after the person got in touch.
	page := c.get(fmt.Sprintf("/leads/%d", hotLead)).body
	if n := strings.Count(page, `data-testid="page-view"`); n != 6 {
		t.Fatalf("lead page lists %d page views, want 6", n)
	}
	if n := strings.Count(page, `data-testid="visit"`); n != 5 {
		t.Fatalf("lead page shows %d visits, want 5", n)
	}
	if strings.Count(page, "before they got in touch") != 4 || strings.Count(page, "after they got in touch") != 1 ||
		strings.Index(page, "/old") < strings.Index(page, "/after") || !strings.Contains(page, "Visit 5,") {
		t.Fatal("lead page does not show 4 visits before and 1 after the lead, newest first")
	}
	if !strings.Contains(page, "Page /b, Page /c") {
		t.Fatal("the visit of /b and /c 10 minutes apart is not one visit")
	}
}

// leadRowHTML returns the /leads table row of lead id.
func leadRowHTML(t *testing.T, list string, id int64) string {
	t.Helper()
	i := strings.Index(list, fmt.Sprintf(`data-lead-id="%d"`, id))
	if i < 0 {
		t.Fatalf("lead %d not in the list", id)
	}
	row := list[i:]
	return row[:strings.Index(row, "</tr>")]
}

func TestTrackTeamIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, teamA, keyA := e.team("ana@example.com")
	b, teamB, _ := e.team("bo@example.com")
	a.post("/settings/integrations/tracked-domains", url.Values{"domain": {"ana-homes.example"}})
	e.track(pageviewBody(keyA, testVID, "https://ana-homes.example/secret-listing"), "Origin", "https://ana-homes.example")
	if views, _ := e.stored(teamA); views != 1 {
		t.Fatalf("team A has %d views, want 1", views)
	}
	if views, visitors := e.stored(teamB); views != 0 || len(visitors) != 0 {
		t.Fatal("team A's key wrote into team B")
	}
	pageB := b.get("/settings/integrations").body
	if strings.Contains(pageB, "secret-listing") || strings.Contains(pageB, "ana-homes.example") {
		t.Fatal("team B's agent sees team A's visitors or domains")
	}
	domains, _ := e.db.TrackedDomains(context.Background(), teamA)
	r := b.send("DELETE", fmt.Sprintf("/settings/integrations/tracked-domains/%d", domains[0].ID), url.Values{"confirm": {"yes"}})
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("removing another team's domain: %d, want 404", r.StatusCode)
	}
	if still, _ := e.db.TrackedDomains(context.Background(), teamA); len(still) != 1 {
		t.Fatal("another team removed team A's domain")
	}
	// Team B's own domains do not filter team A's events, and the reverse.
	b.post("/settings/integrations/tracked-domains", url.Values{"domain": {"bo.example"}})
	if r := e.track(pageviewBody(keyA, testVID, "https://ana-homes.example/2"), "Origin", "https://ana-homes.example"); r.Header.Get("X-Closr-Dropped") != "" {
		t.Fatal("team B's domain list filtered team A's events")
	}
}

package handlers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"closr/store"
	"closr/views"
)

// api sends a request to the JSON API as a script would (no cookies).
func (e *env) api(method, path, ctype, body string, hdr ...string) resp {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	setHeaders(req, hdr)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	return resp{r, string(b)}
}

// team signs up a new agent and returns the client, their team id and a key.
func (e *env) team(email string) (*client, int64, string) {
	c := e.client()
	c.signup("Agent "+email, email, "Team "+email)
	key := c.generate("Zapier for FB Lead Ads")
	return c, e.agent(email).TeamID, key
}

// counts returns how many leads and submissions the team has.
// lead reads back one of the team's leads and its submissions, newest first.
func (e *env) lead(teamID, id int64) (store.Lead, []store.Submission, error) {
	l, err := e.db.Lead(context.Background(), teamID, id)
	if err != nil {
		return l, nil, err
	}
	page, err := e.db.LeadSubmissions(context.Background(), teamID, id, 0, 1000)
	return l, page.Submissions, err
}

// rawOf is a submission's stored raw body.
func (e *env) rawOf(teamID, leadID, subID int64) string {
	e.t.Helper()
	b, err := e.db.SubmissionRaw(context.Background(), teamID, leadID, subID, 1<<20)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b.Data)
}

func (e *env) counts(teamID int64) (leads, subs int) {
	ls := e.leadsOf(teamID)
	for _, l := range ls {
		page, err := e.db.LeadSubmissions(context.Background(), teamID, l.ID, 0, 1)
		if err != nil {
			e.t.Fatal(err)
		}
		subs += page.Total
	}
	return len(ls), subs
}

// leadsOf lists the team's leads (up to 1000), newest first, straight from
// the database.
func (e *env) leadsOf(teamID int64) []store.Lead {
	e.t.Helper()
	ls, err := e.db.Leads(context.Background(), teamID, "", store.LeadRange{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return ls
}

type created struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

func decode[T any](t testing.TB, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return v
}

func multipartBody(fields [][2]string) (string, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		w.WriteField(f[0], f[1])
	}
	fw, _ := w.CreateFormFile("attachment", "floorplan.pdf")
	fw.Write([]byte("%PDF-1.4 not a lead field"))
	w.Close()
	return w.FormDataContentType(), buf.String()
}

// TestInboundFieldFamilies: the endpoint hands each body to intake as it
// came (the payload families themselves are intake's table tests) and the
// lead shows in the pipeline.
func TestInboundFieldFamilies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, team, key := e.team("ana@example.com")
	mpType, mpBody := multipartBody([][2]string{{"first_name", "Mia"}, {"last_name", "Park"}, {"email", "mia@example.com"}, {"message", "Call after 5"}})
	tests := []struct {
		name, ctype, body                   string
		wantName, wantEmail, wantPhone, msg string
		wantCustom                          map[string]string
	}{
		{"Facebook Lead Ads via Zapier (JSON)", "application/json",
			`{"full_name": "Jamie Buyer", "email": "JAMIE@Example.com", "phone_number": "(555) 123-4567", "ad_name": "Spring open house"}`,
			"Jamie Buyer", "jamie@example.com", "+15551234567", "", map[string]string{"ad_name": "Spring open house"}},
		{"Typeform/Webflow labels (urlencoded)", "application/x-www-form-urlencoded",
			"First+Name=Ana&Last+Name=Lee&Phone+Number=555-010-0199&Email=Ana.Lee%40Example.com&Property=12+Oak+St",
			"Ana Lee", "ana.lee@example.com", "+15550100199", "", map[string]string{"Property": "12 Oak St"}},
		{"multipart form", mpType, mpBody, "Mia Park", "mia@example.com", "", "Call after 5", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.api("POST", "/api/leads/inbound", tt.ctype, tt.body, "x-api-key", key)
			if r.StatusCode != http.StatusCreated {
				t.Fatalf("status %d: %s", r.StatusCode, r.body)
			}
			got := created{ID: e.lastLeadID()}
			l, subs, err := e.lead(team, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if l.Name != tt.wantName || l.Email != tt.wantEmail || l.Phone != tt.wantPhone || l.Message != tt.msg {
				t.Fatalf("lead = %q %q %q %q, want %q %q %q %q", l.Name, l.Email, l.Phone, l.Message, tt.wantName, tt.wantEmail, tt.wantPhone, tt.msg)
			}
			custom := map[string]string{}
			for _, f := range l.Custom {
				custom[f.Name] = f.Value
			}
			for k, v := range tt.wantCustom {
				if custom[k] != v {
					t.Fatalf("custom %q = %q, want %q (all: %v)", k, custom[k], v, custom)
				}
			}
			// The file of the multipart form is not kept: a note stands in
			// for its content.
			raw := strings.Replace(tt.body, "%PDF-1.4 not a lead field", `[File "floorplan.pdf" of 25 bytes was left out: Closr does not keep attachments.]`, 1)
			if len(subs) != 1 || subs[0].KeyLabel != "Zapier for FB Lead Ads" || e.rawOf(team, got.ID, subs[0].ID) != strings.TrimSuffix(raw, "\r\n") {
				t.Fatalf("submission = %+v", subs)
			}
			page := ana.get(fmt.Sprintf("/leads/%d", got.ID))
			for k, v := range tt.wantCustom {
				if !strings.Contains(page.body, ">"+views.HumanName(k)+"</dt>") || !strings.Contains(page.body, v) {
					t.Fatalf("lead page lacks custom field %s=%s", k, v)
				}
			}
		})
	}
	list := ana.get("/leads")
	for _, tt := range tests {
		if !strings.Contains(list.body, tt.wantName) {
			t.Fatalf("/leads lacks %q", tt.wantName)
		}
	}
}

func TestInboundKeyPlacesAndSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	for i, hdr := range [][]string{
		{"x-api-key", key},
		{"Authorization", "Bearer " + key},
		{"Authorization", "bearer " + key, "User-Agent", "Zapier"},
	} {
		body := fmt.Sprintf(`{"email": "p%d@example.com"}`, i)
		if r := e.api("POST", "/api/leads/inbound", "application/json", body, hdr...); r.StatusCode != 201 {
			t.Fatalf("key as %v: %d %s", hdr[:1], r.StatusCode, r.body)
		}
	}
	form := url.Values{"api_key": {key}, "email": {"form@example.com"}}
	if r := e.api("POST", "/api/leads/inbound", "application/x-www-form-urlencoded", form.Encode(), "Accept", "application/json"); r.StatusCode != 201 {
		t.Fatalf("key in form field: %d %s", r.StatusCode, r.body)
	}
	leads := e.leadsOf(team)
	sources := map[string]string{}
	for _, l := range leads {
		sources[l.Email] = l.Source
	}
	if sources["p2@example.com"] != "Zapier" || sources["p0@example.com"] != "API" {
		t.Fatalf("sources = %v", sources)
	}
}

func TestInboundDedupe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	id := e.mustPostLead(key, `{"name": "Jamie", "email": "jamie@example.com"}`)
	for _, s := range []struct{ body, why string }{
		{`{"email": "JAMIE@EXAMPLE.COM", "phone": "555 123 4567", "message": "Second enquiry"}`, "same email, other case"},
		{`{"phone": "+1 (555) 123-4567", "Budget": "600k"}`, "same phone, other format"},
	} {
		if got := e.mustPostLead(key, s.body); got != id {
			t.Fatalf("%s: joined lead %d, want %d", s.why, got, id)
		}
	}
	l, subs, _ := e.lead(team, id)
	if l.Phone != "+15551234567" || l.Message != "Second enquiry" || len(subs) != 3 {
		t.Fatalf("merged lead = %+v with %d submissions", l, len(subs))
	}
	if n, _ := e.counts(team); n != 1 {
		t.Fatalf("%d leads, want 1", n)
	}
}

// TestIntakeKeyIsNoOracle: an intake key is public (it sits in the agent's
// web pages). Its holder gets the same answer for a new person and a known
// one, with no lead id (ids are sequential across teams), and cannot
// overwrite what the team has: a later post adds a submission and fills
// blanks only. A secret MCP key, from a server, gets the full answer.
func TestIntakeKeyIsNoOracle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, team, key := e.team("ana@example.com")
	first := e.postLead(key, `{"name": "Jamie", "email": "jamie@example.com", "message": "Tour Saturday?", "source": "Zillow", "budget": "$600k"}`)
	known := e.postLead(key, `{"email": "jamie@example.com", "name": "Mallory", "message": "ignore the last", "source": "Evil", "budget": "$1"}`)
	fresh := e.postLead(key, `{"email": "someone-new@example.com"}`)
	for what, r := range map[string]resp{"first": first, "known person": known, "new person": fresh} {
		if r.StatusCode != http.StatusCreated || r.body != `{"status":"received"}` {
			t.Errorf("%s: %d %s, want the one 201 received answer", what, r.StatusCode, r.body)
		}
	}
	id := leadByEmail(t, e, team, "jamie@example.com")
	l, subs, err := e.lead(team, id)
	if err != nil {
		t.Fatal(err)
	}
	custom := map[string]string{}
	for _, f := range l.Custom {
		custom[f.Name] = f.Value
	}
	if l.Name != "Jamie" || l.Message != "Tour Saturday?" || l.Source != "Zillow" || custom["budget"] != "$600k" || len(subs) != 2 {
		t.Fatalf("a later post overwrote the lead: %+v (%d submissions)", l, len(subs))
	}
	mcpKey := ana.generateAccess("Claude", "mcp")
	r := e.postLead(mcpKey, `{"email": "jamie@example.com"}`)
	if got := decode[created](t, r.body); r.StatusCode != http.StatusOK || got.ID != id || got.Status != "updated" {
		t.Fatalf("MCP key: %d %s, want 200 updated with id %d", r.StatusCode, r.body, id)
	}
}

// leadByEmail is the team's lead with this email.
func leadByEmail(t *testing.T, e *env, team int64, email string) int64 {
	t.Helper()
	var id int64
	if err := rawDB(t, e).QueryRow("SELECT id FROM leads WHERE team_id = ? AND email = ?", team, email).Scan(&id); err != nil {
		t.Fatalf("lead %s: %v", email, err)
	}
	return id
}

func TestInboundIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	body := `{"email": "once@example.com"}`
	a := e.postLead(key, body, "Idempotency-Key", "zap-123")
	b := e.postLead(key, body, "Idempotency-Key", "zap-123")
	if a.StatusCode != 201 || b.StatusCode != 201 || a.body != b.body {
		t.Fatalf("replay: %d %s then %d %s", a.StatusCode, a.body, b.StatusCode, b.body)
	}
	if _, subs := e.counts(team); subs != 1 {
		t.Fatalf("replay stored a submission: %d", subs)
	}
	c := e.postLead(key, `{"email": "other@example.com"}`, "Idempotency-Key", "zap-123")
	if c.StatusCode != 422 || decode[map[string]any](t, c.body)["error"] != "idempotency_key_reused" {
		t.Fatalf("reused key with another body: %d %s", c.StatusCode, c.body)
	}
	if n, subs := e.counts(team); n != 1 || subs != 1 {
		t.Fatalf("after mismatch: %d leads %d submissions", n, subs)
	}
}

func TestInboundErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")
	revoked := c.generate("old key")
	keys, _ := e.db.APIKeys(context.Background(), team)
	for _, k := range keys {
		if k.Label == "old key" {
			e.db.RevokeAPIKey(context.Background(), team, k.ID, e.agent("ana@example.com").ID)
		}
	}
	ok := `{"email": "x@example.com"}`
	big := `{"email": "x@example.com", "notes": "` + strings.Repeat("a", 65<<10) + `"}`
	tests := []struct {
		name, ctype, body string
		hdr               []string
		status            int
		code, msg         string
		fields            []string
	}{
		{"no key", "application/json", ok, nil, 401, "invalid_api_key", "x-api-key", nil},
		{"malformed key", "application/json", ok, []string{"x-api-key", "closr_short"}, 401, "invalid_api_key", "x-api-key", nil},
		{"unknown key", "application/json", ok, []string{"x-api-key", "closr_" + strings.Repeat("A", 43)}, 401, "invalid_api_key", "x-api-key", nil},
		{"revoked key", "application/json", ok, []string{"x-api-key", revoked}, 401, "invalid_api_key", "x-api-key", nil},
		{"too large", "application/json", big, []string{"x-api-key", key}, 413, "too_large", "64 KiB", nil},
		{"xml", "application/xml", "<lead/>", []string{"x-api-key", key}, 415, "unsupported_content_type", "application/json", nil},
		{"no content type", "", ok, []string{"x-api-key", key}, 415, "unsupported_content_type", "Content-Type", nil},
		{"bad JSON", "application/json", `{"email": `, []string{"x-api-key", key}, 400, "unreadable_body", "not valid JSON", nil},
		{"JSON array", "application/json", `[{"email": "x@example.com"}]`, []string{"x-api-key", key}, 400, "unreadable_body", "must be an object", nil},
		{"nothing about the person", "application/json", `{"_subject": "New lead"}`, []string{"x-api-key", key}, 422, "validation_failed", "holds nothing about the person", []string{"email", "phone"}},
		{"bad email", "application/json", `{"email": "jamie at example"}`, []string{"x-api-key", key}, 422, "validation_failed", "not an email address", []string{"email"}},
		{"bad phone", "application/json", `{"email": "ok@example.com", "phone": "call me"}`, []string{"x-api-key", key}, 422, "validation_failed", "not a phone number", []string{"phone"}},
	}
	var unauthorized []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.api("POST", "/api/leads/inbound", tt.ctype, tt.body, tt.hdr...)
			if r.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, tt.status, r.body)
			}
			got := decode[struct {
				Error   string            `json:"error"`
				Message string            `json:"message"`
				Fields  map[string]string `json:"fields"`
			}](t, r.body)
			if got.Error != tt.code || !strings.Contains(got.Message+fmt.Sprint(got.Fields), tt.msg) {
				t.Fatalf("body %s, want code %s and %q", r.body, tt.code, tt.msg)
			}
			for _, f := range tt.fields {
				if got.Fields[f] == "" {
					t.Fatalf("no message for field %q: %s", f, r.body)
				}
			}
			if tt.status == 401 {
				unauthorized = append(unauthorized, r.body)
			}
		})
	}
	for _, b := range unauthorized[1:] {
		if b != unauthorized[0] {
			t.Fatalf("401 bodies differ:\n%s\n%s", unauthorized[0], b)
		}
	}
	if n, subs := e.counts(team); n != 0 || subs != 0 {
		t.Fatalf("refused requests stored %d leads, %d submissions", n, subs)
	}
}

func TestInboundBrowserForm(t *testing.T) {
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	html := []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8", "Referer", "https://agent.example/contact"}
	post := func(v url.Values) resp {
		return e.api("POST", "/api/leads/inbound", "application/x-www-form-urlencoded", v.Encode(), html...)
	}
	r := post(url.Values{"api_key": {key}, "email": {"a@example.com"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/thanks" {
		t.Fatalf("no _redirect: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	r = post(url.Values{"api_key": {key}, "email": {"b@example.com"}, "_redirect": {"https://agent.example/thank-you?x=1"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "https://agent.example/thank-you?x=1" {
		t.Fatalf("_redirect: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	r = post(url.Values{"api_key": {key}, "email": {"c@example.com"}, "_redirect": {"javascript:alert(1)"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/thanks" {
		t.Fatalf("javascript: _redirect: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// The key is public, so _redirect may not send people to any other site.
	for _, foreign := range []string{"https://evil.example/phish", "https://agent.example.evil.example/", "https://www.agent.example/thanks"} {
		r = post(url.Values{"api_key": {key}, "email": {"c@example.com"}, "_redirect": {foreign}})
		if r.StatusCode != 303 || r.Header.Get("Location") != "/thanks" {
			t.Fatalf("foreign _redirect %s: %d %s", foreign, r.StatusCode, r.Header.Get("Location"))
		}
	}
	r = e.api("POST", "/api/leads/inbound", "application/x-www-form-urlencoded",
		url.Values{"api_key": {key}, "email": {"c@example.com"}, "_gotcha": {"bot"}, "_redirect": {"https://evil.example/"}}.Encode(), html...)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/thanks" {
		t.Fatalf("honeypot with a foreign _redirect: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.api("GET", "/thanks", "", "", html...); r.StatusCode != 200 || !strings.Contains(r.body, "Thank you") || r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("thank-you page: %d (cookie %q)", r.StatusCode, r.Header.Get("Set-Cookie"))
	}
	r = post(url.Values{"api_key": {key}, "email": {"not an email"}})
	if r.StatusCode != 422 || !strings.Contains(r.body, "not an email address") || !strings.Contains(r.body, `href="https://agent.example/contact"`) {
		t.Fatalf("error page: %d\n%s", r.StatusCode, r.body)
	}
	r = post(url.Values{"api_key": {key}, "email": {"bot@example.com"}, "_gotcha": {"I am a bot"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/thanks" {
		t.Fatalf("honeypot: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if n, _ := e.counts(team); n != 3 {
		t.Fatalf("%d leads, want 3 (not the invalid one, not the bot)", n)
	}
	// A tracked domain and its subdomains are allowed even when the form
	// is posted from another of the team's pages.
	if _, err := e.db.AddTrackedDomain(context.Background(), team, "agent.example"); err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{
		"https://www.agent.example/thanks": "https://www.agent.example/thanks",
		"https://agent.example/thank-you":  "https://agent.example/thank-you",
		"https://evil.example/phish":       "/thanks",
		"https://badagent.example/":        "/thanks",
	} {
		r = post(url.Values{"api_key": {key}, "email": {"c@example.com"}, "_redirect": {target}})
		if r.StatusCode != 303 || r.Header.Get("Location") != want {
			t.Fatalf("_redirect %s with agent.example tracked: %d %s, want %s", target, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
	// A script posting a form but asking for JSON gets JSON.
	r = e.api("POST", "/api/leads/inbound", "application/x-www-form-urlencoded", url.Values{"api_key": {key}, "email": {"d@example.com"}}.Encode(), "Accept", "application/json")
	if r.StatusCode != 201 || r.body != `{"status":"received"}` {
		t.Fatalf("form with Accept JSON: %d %s", r.StatusCode, r.body)
	}
}

func TestInboundCORSPreflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.api("OPTIONS", "/api/leads/inbound", "", "", "Origin", "https://agent.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-api-key, content-type")
	h := r.Header
	if r.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "x-api-key") || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", r.StatusCode, h)
	}
}

func TestInboundRevokedKeyRefusedOnNextRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")
	if r := e.postLead(key, `{"email": "a@example.com"}`); r.StatusCode != 201 {
		t.Fatal(r.body)
	}
	keys, _ := e.db.APIKeys(context.Background(), team)
	c.send("DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", keys[0].ID), nil, "HX-Request", "true")
	if r := e.postLead(key, `{"email": "b@example.com"}`); r.StatusCode != 401 {
		t.Fatalf("revoked key: %d %s", r.StatusCode, r.body)
	}
	if n, _ := e.counts(team); n != 1 {
		t.Fatalf("%d leads, want 1", n)
	}
}

func TestInboundTeamIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, teamA, keyA := e.team("ana@example.com")
	bo, teamB, keyB := e.team("bo@example.com")
	ra := e.postLead(keyA, `{"name": "Shared Person", "email": "same@example.com"}`)
	rb := e.postLead(keyB, `{"name": "Shared Person", "email": "same@example.com", "secret": "B only"}`)
	if ra.StatusCode != 201 || rb.StatusCode != 201 {
		t.Fatalf("same person in two teams must be two leads: %d %d", ra.StatusCode, rb.StatusCode)
	}
	idA, idB := leadByEmail(t, e, teamA, "same@example.com"), leadByEmail(t, e, teamB, "same@example.com")
	// A's key re-posting the person updates A's lead only.
	if id := e.mustPostLead(keyA, `{"email": "same@example.com", "message": "from A"}`); id != idA {
		t.Fatalf("A's repost joined lead %d, want %d", id, idA)
	}
	lb, subsB, _ := e.lead(teamB, idB)
	if lb.Message != "" || len(subsB) != 1 {
		t.Fatal("A's key changed B's lead")
	}
	if r := ana.get(fmt.Sprintf("/leads/%d", idB)); r.StatusCode != 404 || strings.Contains(r.body, "B only") {
		t.Fatalf("A reads B's lead: %d", r.StatusCode)
	}
	if r := bo.get("/leads"); strings.Contains(r.body, "from A") || !strings.Contains(r.body, "Shared Person") {
		t.Fatal("B's list is wrong")
	}
	if _, err := e.db.Lead(context.Background(), teamA, idB); err == nil {
		t.Fatal("store returns B's lead for team A")
	}
}

// otherKey is a well-formed key that is not the sender's (a second key
// pasted into a form, a colleague's key in a message).
func otherKey(i int) string {
	sum := sha256.Sum256([]byte{byte(i)})
	return store.KeyPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestInboundKeyNeverStoredAndLastUsed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")
	secret := c.generateAccess("Claude", "mcp")
	tail := func(k string) string { return k[len(store.KeyPrefix):] }
	escapedC := `\u0063losr_` // the key's first letter as a JSON escape
	posts := []struct {
		name, ctype, body string
		hdr               []string
	}{
		{"form", "application/x-www-form-urlencoded", url.Values{"api_key": {key}, "email": {"a@example.com"}}.Encode(), nil},
		{"JSON body key", "application/json", `{"email": "b@example.com", "api_key": "` + key + `"}`, nil},
		{"second api_key in a form", "application/x-www-form-urlencoded",
			"api_key=" + otherKey(1) + "&email=c%40example.com&api_key=" + key, nil},
		{"key under data.api_key", "application/json",
			`{"email": "d@example.com", "data": {"api_key": "` + otherKey(2) + `"}, "message": "use ` + otherKey(3) + ` please"}`, []string{"X-Api-Key", key}},
		{"JSON-escaped keys", "application/json",
			`{"email": "e@example.com", "api_key": "` + escapedC + tail(key) + `", "note": "closr\u005F` + tail(otherKey(4)) + `"}`, nil},
		{"percent-encoded keys", "application/x-www-form-urlencoded",
			"api_key=closr%5F" + tail(key) + "&email=f%40example.com&message=closr%5f" + tail(otherKey(5)), nil},
		{"key in a Content-Type parameter and the Idempotency-Key", "application/json; charset=utf-8; token=" + otherKey(8),
			`{"email": "h@example.com"}`, []string{"X-Api-Key", key, "Idempotency-Key", "retry-" + otherKey(9)}},
		{"multipart with base64 and quoted-printable parts", "multipart/form-data; boundary=QQ",
			"--QQ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nj@example.com\r\n" +
				"--QQ\r\nContent-Disposition: form-data; name=\"ref_b64\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
				base64.StdEncoding.EncodeToString([]byte("token "+otherKey(21))) + "\r\n" +
				"--QQ\r\nContent-Disposition: form-data; name=\"ref_qp\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
				qpSoftBreaks("token "+otherKey(22)) + "\r\n--QQ--\r\n", []string{"X-Api-Key", key}},
		{"key-shaped visitor id", "application/json",
			`{"email": "i@example.com", "closr_visitor_id": "` + otherKey(10) + `"}`, []string{"X-Api-Key", key}},
	}
	for _, p := range posts {
		hdr := append([]string{"Accept", "application/json"}, p.hdr...)
		if r := e.api("POST", "/api/leads/inbound", p.ctype, p.body, hdr...); r.StatusCode != http.StatusCreated {
			t.Fatalf("%s: %d %s", p.name, r.StatusCode, r.body)
		}
	}
	cs := e.mustConnectMCP(secret)
	got := callTool[created](t, cs, "create_lead", map[string]any{"email": "g@example.com",
		"message": "key " + otherKey(6), "fields": map[string]any{"crm_token": otherKey(7)}, "idempotency_key": secret})
	if got.Status != "created" {
		t.Fatalf("create_lead: %+v", got)
	}
	l, subs, err := e.lead(team, got.ID)
	if err != nil || l.Message != "key closr_[redacted]" || len(subs) != 1 || !strings.Contains(e.rawOf(team, got.ID, subs[0].ID), "closr_[redacted]") {
		t.Fatalf("MCP lead not redacted as expected: %+v %+v %v", l, subs, err)
	}
	// Transfer-encoded parts are read decoded, then redacted.
	jl, err := e.db.Lead(context.Background(), team, leadByEmail(t, e, team, "j@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	decoded := map[string]string{}
	for _, f := range jl.Custom {
		decoded[f.Name] = f.Value
	}
	for _, name := range []string{"ref_b64", "ref_qp"} {
		if decoded[name] != "token closr_[redacted]" {
			t.Errorf("%s = %q, want the decoded text with the key redacted", name, decoded[name])
		}
	}
	// Every string a tracker event carries from the page.
	k := func(i int) string { return otherKey(i) }
	pageURL := "https://ana.example/listing?utm_source=" + k(11) + "&utm_medium=" + k(12) + "&utm_campaign=" + k(13) +
		"&utm_term=" + k(14) + "&utm_content=" + k(15) + "&clsr=" + k(16) + "&k=" + k(17)
	ev, _ := json.Marshal(map[string]any{"api_key": key, "type": "pageview", "visitor_id": "visitor-0123456789abcdef",
		"url": pageURL, "title": "Listing " + k(18), "referrer": "https://search.example/?q=" + k(19)})
	if r := e.api("POST", "/api/track", "text/plain", string(ev)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("page view: %d %s", r.StatusCode, r.body)
	}
	ev, _ = json.Marshal(map[string]any{"api_key": key, "type": "pageview", "visitor_id": k(20), "url": "https://ana.example/"})
	if r := e.api("POST", "/api/track", "text/plain", string(ev)); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a key as the visitor id: %d %s, want 422", r.StatusCode, r.body)
	}
	e.flushUsage()
	keys, _ := e.db.APIKeys(context.Background(), team)
	if keys[0].LastUsedAt.IsZero() {
		t.Fatal("last used not recorded")
	}
	if r := c.get("/settings/integrations"); strings.Contains(r.body, `data-testid="last-used">Never`) {
		t.Fatal("the list still says Never")
	}
	e.db.Close()
	secrets := []string{key, secret}
	for i := 1; i <= 22; i++ {
		secrets = append(secrets, otherKey(i))
	}
	for _, k := range secrets {
		if where := e.storedIn(t, tail(k)); where != "" {
			t.Fatalf("%s contains the key %s…", where, k[:12])
		}
	}
	for _, k := range secrets {
		if strings.Contains(e.log.String(), tail(k)) {
			t.Fatalf("the logs contain the key %s…", k[:12])
		}
	}
}

func TestLeadsPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, _ := e.team("ana@example.com")
	for i := 0; i < 55; i++ {
		_, err := e.db.IngestLead(context.Background(), store.LeadInput{TeamID: team, Email: fmt.Sprintf("p%02d@example.com", i), Source: "API", Raw: []byte("{}"), At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}
	p1, p2 := c.get("/leads"), c.get("/leads?page=2")
	if !strings.Contains(p1.body, "p54@example.com") || strings.Contains(p1.body, "p04@example.com") || !strings.Contains(p1.body, "Page 1 of 2") {
		t.Fatal("page 1 should hold the 50 newest")
	}
	if !strings.Contains(p2.body, "p00@example.com") || strings.Contains(p2.body, "p54@example.com") {
		t.Fatal("page 2 should hold the 5 oldest")
	}
}

// qpSoftBreaks spells s in quoted-printable with a soft line break every
// ten characters, so that no key appears whole in the body as sent.
func qpSoftBreaks(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 10 {
		b.WriteString(s[i:min(i+10, len(s))])
		if i+10 < len(s) {
			b.WriteString("=\r\n")
		}
	}
	return b.String()
}

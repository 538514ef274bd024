package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"closr/store"
)

// providerFixture reads one of intake's source fixtures: the content type
// and the body as the provider sends it.
func providerFixture(t *testing.T, name string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("intake", "testdata", "sources", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := strings.Cut(string(b), "\n\n")
	ctype := strings.TrimPrefix(head, "Content-Type: ")
	body = strings.TrimSuffix(body, "\n")
	if strings.HasPrefix(ctype, "multipart/") {
		body = strings.ReplaceAll(body, "\n", "\r\n")
	}
	return ctype, body
}

// TestInboundKeyInURL: webhooks that can set neither a header nor a field
// (Typeform, Webflow, Jotform, Elementor, Wix) carry an intake key in the
// URL. It is never logged or stored; an MCP key is refused there.
func TestInboundKeyInURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")
	secret := c.generateAccess("Claude", "mcp")
	if page := c.get("/settings/integrations").body; !strings.Contains(page, e.srv.URL+"/api/leads/inbound?api_key=YOUR_API_KEY") {
		t.Fatal("the Send leads card does not show the webhook address with the key")
	}
	ctype, body := providerFixture(t, "jotform")
	r := e.api("POST", "/api/leads/inbound?api_key="+key, ctype, body)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("Jotform with the key in the URL: %d %s", r.StatusCode, r.body)
	}
	l, subs, err := e.lead(team, e.lastLeadID())
	if err != nil || l.Source != "Jotform" || l.Email != "noor.haddad@example.com" || len(subs) != 1 {
		t.Fatalf("lead %+v, %v", l, err)
	}
	if raw := e.rawOf(team, l.ID, subs[0].ID); strings.Contains(raw, "closr_AAAA") || !strings.Contains(raw, "closr_[redacted]") {
		t.Fatal("the webhook URL Jotform echoes in its body kept its key")
	}
	r = e.api("POST", "/api/leads/inbound?api_key="+secret, "application/json", `{"email": "leak@example.com"}`)
	if r.StatusCode != http.StatusForbidden || decode[map[string]any](t, r.body)["error"] != "secret_key_in_url" {
		t.Fatalf("MCP key in the URL: %d %s", r.StatusCode, r.body)
	}
	if n, _ := e.counts(team); n != 1 {
		t.Fatalf("%d leads, want only Jotform's", n)
	}
	for _, k := range []string{key, secret} {
		if strings.Contains(e.log.String(), k[len(store.KeyPrefix):]) {
			t.Fatal("a key in the URL reached the logs")
		}
	}
}

// TestInboundProvidersOverHTTP: providers' payloads through the endpoint as
// each sends them: where the key goes, the status each needs, the source.
func TestInboundProvidersOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	tests := []struct {
		fixture, query string
		hdr            []string
		status         int
		source         string
	}{
		{"typeform", "?api_key=" + key, []string{"User-Agent", "Typeform Webhooks"}, 201, "Typeform"},
		{"webflow-first-last", "?api_key=" + key, nil, 201, "Webflow"},
		// Elementor Pro's webhook action counts anything but 200 as a
		// failure and shows the visitor an error.
		{"elementor", "?api_key=" + key, []string{"User-Agent", "WordPress/6.7.1; https://sunsetrealty.example"}, 200, "Elementor"},
		{"contact-form-7", "", []string{"X-Api-Key", key, "User-Agent", "WordPress/6.7.1; https://sunsetrealty.example"}, 200, "Contact Form 7"},
		{"gravity-forms-all-fields", "", []string{"X-Api-Key", key, "User-Agent", "WordPress/6.7.1; https://sunsetrealty.example"}, 200, "Gravity Forms"},
		{"zillow-zapier-email-parser", "", []string{"X-Api-Key", key, "User-Agent", "Zapier"}, 201, "Zillow"},
		{"hubspot", "", []string{"X-Api-Key", key, "Origin", "https://sunsetrealty.example"}, 201, "HubSpot"},
		{"wix", "?api_key=" + key, nil, 201, "Wix"},
		{"calendly-invitee-created", "?api_key=" + key, []string{"User-Agent", "Calendly"}, 201, "Calendly"},
	}
	for _, tt := range tests {
		ctype, body := providerFixture(t, tt.fixture)
		r := e.api("POST", "/api/leads/inbound"+tt.query, ctype, body, tt.hdr...)
		if r.StatusCode != tt.status || r.body != `{"status":"received"}` {
			t.Fatalf("%s: %d %s, want %d received", tt.fixture, r.StatusCode, r.body, tt.status)
		}
		l, err := e.db.Lead(context.Background(), team, e.lastLeadID())
		if err != nil || l.Source != tt.source {
			t.Fatalf("%s: source %q, want %q (%v)", tt.fixture, l.Source, tt.source, err)
		}
	}
	// Google Ads sends the key the advertiser typed as google_key.
	ctype, body := providerFixture(t, "google-ads")
	body = strings.Replace(body, "closr_"+strings.Repeat("G", 43), key, 1)
	if r := e.api("POST", "/api/leads/inbound", ctype, body); r.StatusCode != http.StatusCreated {
		t.Fatalf("Google Ads with its key in google_key: %d %s", r.StatusCode, r.body)
	}
	ctype, body = providerFixture(t, "google-ads")
	if r := e.api("POST", "/api/leads/inbound", ctype, body); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Google Ads with a wrong google_key: %d %s", r.StatusCode, r.body)
	}
}

// TestInboundNeedsContact: content without email or phone is a lead marked
// as needing contact details, answered 201 with a warning saying what is
// missing, and shown as such in /leads and on its page.
func TestInboundNeedsContact(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, _, key := e.team("ana@example.com")
	r := e.postLead(key, `{"name": "Alex Kim", "message": "Please send the brochure for 12 Oak St."}`)
	got := decode[struct {
		Status   string
		Warnings []string
	}](t, r.body)
	if r.StatusCode != http.StatusCreated || got.Status != "received" || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "No email or phone number") {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	id := e.lastLeadID()
	e.mustPostLead(key, `{"name": "Bo Ng", "email": "bo@example.com"}`)
	list := c.get("/leads").body
	if strings.Count(list, `data-testid="needs-contact"`) != 1 {
		t.Fatalf("/leads marks %d leads as needing contact details, want 1", strings.Count(list, `data-testid="needs-contact"`))
	}
	page := c.get(fmt.Sprintf("/leads/%d", id)).body
	for _, want := range []string{`data-testid="needs-contact"`, "Needs contact details", `data-testid="submission-note"`, "No email or phone number came with this submission"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the lead's page lacks %q", want)
		}
	}
}

// bigForm is a browser's multipart form around a file of size zero bytes,
// streamed.
func bigForm(fields map[string]string, size int64) (string, io.Reader) {
	const b = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
	var head strings.Builder
	for k, v := range fields {
		fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", b, k, v)
	}
	fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=\"letter\"; filename=\"pre-approval.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%%PDF-1.7\n", b)
	return "multipart/form-data; boundary=" + b, io.MultiReader(strings.NewReader(head.String()),
		io.LimitReader(zeroReader{}, size), strings.NewReader("\r\n--"+b+"--\r\n"))
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestInboundAttachments: a form with a multi-megabyte file delivers its
// lead, with a note that the file was left out; a request past 25 MB gets a
// clear 413 and stores nothing.
func TestInboundAttachments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	post := func(size int64, accept string) resp {
		ctype, body := bigForm(map[string]string{"api_key": key, "name": "Mia Park", "email": "mia@example.com"}, size)
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/leads/inbound", body)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", accept)
		return e.client().do(req)
	}
	r := post(3<<20, "application/json")
	if r.StatusCode != http.StatusCreated || !strings.Contains(r.body, `File \"pre-approval.pdf\" of 3145737 bytes was left out`) {
		t.Fatalf("3 MB attachment: %d %s", r.StatusCode, r.body)
	}
	leads := e.leadsOf(team)
	_, subs, _ := e.lead(team, leads[0].ID)
	if subs[0].RawSize > 2048 || len(subs[0].Notes) != 1 {
		t.Fatalf("the submission kept %d raw bytes and notes %q", subs[0].RawSize, subs[0].Notes)
	}
	if r := post(1<<20, "text/html"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/thanks" {
		t.Fatalf("browser form with a file: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	r = post(26<<20, "application/json")
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "larger than 25 MB") {
		t.Fatalf("26 MB: %d %s", r.StatusCode, r.body)
	}
	r = post(26<<20, "text/html")
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "without the file") {
		t.Fatalf("26 MB from a browser: %d %s", r.StatusCode, r.body)
	}
	if n, _ := e.counts(team); n != 1 {
		t.Fatalf("%d leads, want 1 (the two forms are the same person; the too-large ones stored nothing)", n)
	}
}

// TestInboundSlowUpload: a multipart post with a file may take longer than
// the server's read timeout, as a phone on a slow network does.
func TestInboundSlowUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	srv := httptest.NewUnstartedServer(e.h)
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	ctype, body := bigForm(map[string]string{"api_key": key, "email": "slow@example.com"}, 64<<10)
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 16<<10)
		for {
			n, err := body.Read(buf)
			pw.Write(buf[:n])
			if err != nil {
				pw.Close()
				return
			}
			time.Sleep(200 * time.Millisecond) // about a second in all
		}
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/api/leads/inbound", pr)
	req.Header.Set("Content-Type", ctype)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("slow upload: %d", res.StatusCode)
	}
	if n, _ := e.counts(team); n != 1 {
		t.Fatalf("%d leads", n)
	}
}

// TestInboundFormOnGET: a form left on GET (Webflow's default) lands the
// visitor on a page saying the form must use POST; nothing is stored and
// neither the key nor the answers in the URL reach the logs.
func TestInboundFormOnGET(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	q := "?" + url.Values{"api_key": {key}, "Email": {"visitor@example.com"}}.Encode()
	r := e.api("GET", "/api/leads/inbound"+q, "", "", "Accept", "text/html,application/xhtml+xml", "Referer", "https://sunsetrealty.example/contact")
	if r.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(r.body, `data-testid="form-method"`) || !strings.Contains(r.body, "must be sent with POST") ||
		!strings.Contains(r.body, `href="https://sunsetrealty.example/"`) || strings.Contains(r.body, key) || !strings.Contains(r.Header.Get("Allow"), "POST") {
		t.Fatalf("GET form: %d %v\n%s", r.StatusCode, r.Header, r.body)
	}
	r = e.api("GET", "/api/leads/inbound"+q, "", "", "Accept", "application/json")
	if r.StatusCode != http.StatusMethodNotAllowed || decode[map[string]any](t, r.body)["error"] != "method_not_allowed" {
		t.Fatalf("GET from a script: %d %s", r.StatusCode, r.body)
	}
	if n, _ := e.counts(team); n != 0 {
		t.Fatal("a GET stored a lead")
	}
	for _, secret := range []string{key[len(store.KeyPrefix):], "visitor@example.com", "api_key"} {
		if strings.Contains(e.log.String(), secret) {
			t.Fatalf("the logs hold %q", secret)
		}
	}
	if !strings.Contains(e.log.String(), "status=405") {
		t.Fatal("the GET was not logged at all")
	}
}

// TestInboundVisitorPages: after a bad or revoked key a visitor is told the
// message could not be delivered and to reach the agent another way, with
// the site's address as the way back; the technical reason stays in the
// JSON answer. What a visitor can fix is still said.
func TestInboundVisitorPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, _ := e.team("ana@example.com")
	revoked := c.generate("old form")
	keys, _ := e.db.APIKeys(context.Background(), team)
	for _, k := range keys {
		if k.Label == "old form" {
			e.db.RevokeAPIKey(context.Background(), team, k.ID, e.agent("ana@example.com").ID)
		}
	}
	browser := []string{"Accept", "text/html,application/xhtml+xml", "Referer", "https://sunsetrealty.example/contact?x=1"}
	for _, k := range []string{"", "closr_wrong", revoked} {
		form := url.Values{"api_key": {k}, "email": {"buyer@example.com"}}.Encode()
		r := e.api("POST", "/api/leads/inbound", "application/x-www-form-urlencoded", form, browser...)
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `data-testid="not-delivered"`) ||
			!strings.Contains(r.body, "contact the agent another way") || !strings.Contains(r.body, `href="https://sunsetrealty.example/"`) {
			t.Fatalf("key %q: %d\n%s", k, r.StatusCode, r.body)
		}
		for _, technical := range []string{"x-api-key", "API key", "Settings", "Bearer"} {
			if strings.Contains(r.body, technical) {
				t.Fatalf("key %q: the visitor's page says %q", k, technical)
			}
		}
		r = e.api("POST", "/api/leads/inbound", "application/x-www-form-urlencoded", form, "Accept", "application/json")
		if got := decode[map[string]any](t, r.body); got["error"] != "invalid_api_key" || !strings.Contains(got["message"].(string), "x-api-key") {
			t.Fatalf("key %q, JSON: %s", k, r.body)
		}
	}
	live := c.generate("site form")
	r := e.api("POST", "/api/leads/inbound", "application/x-www-form-urlencoded", url.Values{"api_key": {live}, "email": {"not an email"}}.Encode(), browser...)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not an email address") || !strings.Contains(r.body, "Go back and try again") {
		t.Fatalf("a field to fix: %d\n%s", r.StatusCode, r.body)
	}
}

// TestInboundSourceFromBrowser: a page's own fetch() of JSON is a website
// form, like a plain form post; servers and automation keep their names.
func TestInboundSourceFromBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	tests := []struct {
		hdr  []string
		want string
	}{
		{[]string{"Origin", "https://sunsetrealty.example"}, "Website form"},
		{[]string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors"}, "Website form"},
		{[]string{"User-Agent", "Zapier"}, "Zapier"},
		{nil, "API"},
	}
	for i, tt := range tests {
		id := e.mustPostLead(key, fmt.Sprintf(`{"email": "f%d@example.com"}`, i), tt.hdr...)
		if l, _ := e.db.Lead(context.Background(), team, id); l.Source != tt.want {
			t.Fatalf("%v: source %q, want %q", tt.hdr, l.Source, tt.want)
		}
	}
}

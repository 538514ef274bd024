package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"closr/store"
)

var trackedURLRE = regexp.MustCompile(`data-testid="tracked-url">([^<]+)<`)

// makeTrackedLink makes a tracked link on the lead's page and returns it.
func makeTrackedLink(t *testing.T, c *client, leadID int64, page string, hdr ...string) string {
	t.Helper()
	c.get(fmt.Sprintf("/leads/%d", leadID)) // fresh CSRF token
	r := c.post(fmt.Sprintf("/leads/%d/tracked-links", leadID), url.Values{"url": {page}}, hdr...)
	m := trackedURLRE.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("make tracked link: %d\n%.600s", r.StatusCode, r.body)
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// linkedLead is the lead the team's visitor vid is tied to, or 0.
func linkedLead(t *testing.T, e *env, team int64, vid string) int64 {
	t.Helper()
	var lead int64
	rawDB(t, e).QueryRow("SELECT coalesce(lead_id, 0) FROM visitors WHERE team_id = ? AND vid = ?", team, vid).Scan(&lead)
	return lead
}

// TestTrackedLinkIdentifiesTheLead: an agent makes a tracked link on a
// lead's page; a visitor who browsed anonymously opens it, and their
// earlier and later page views join the lead, the lead page says the link
// was opened, and neither the token nor the page address with it is
// stored anywhere.
func TestTrackedLinkIdentifiesTheLead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, team, key := e.team("ana@example.com")
	lead := e.mustPostLead(key, `{"name": "Jamie Buyer", "email": "jamie@example.com"}`)

	link := makeTrackedLink(t, ana, lead, "https://ana.example/listings/7-harbor-ln?beds=3#photos")
	u, err := url.Parse(link)
	token := u.Query().Get("clsr")
	if err != nil || len(token) != store.LinkTokenLen || u.Query().Get("beds") != "3" || u.Fragment != "photos" || u.Host != "ana.example" {
		t.Fatalf("tracked link %q: want the page with a %d-character clsr token, its query and fragment kept", link, store.LinkTokenLen)
	}
	// The HTMX form gets the card alone, with a second, different link.
	htmx := ana.post(fmt.Sprintf("/leads/%d/tracked-links", lead), url.Values{"url": {"https://ana.example/"}}, "HX-Request", "true")
	if htmx.StatusCode != 200 || strings.Contains(htmx.body, "<html") || !strings.Contains(htmx.body, `id="tracked-links"`) || strings.Contains(htmx.body, token) {
		t.Fatalf("HTMX answer: %d\n%.400s", htmx.StatusCode, htmx.body)
	}

	const vid = "visitor-jamie-000000001"
	if r := e.track(pageviewBody(key, vid, "https://ana.example/")); r.StatusCode != http.StatusAccepted {
		t.Fatalf("anonymous view: %d %s", r.StatusCode, r.body)
	}
	if linkedLead(t, e, team, vid) != 0 {
		t.Fatal("linked before opening the link")
	}
	opened := strings.Replace(pageviewBody(key, vid, link), "Homes for sale", "7 Harbor Ln", 1)
	if r := e.track(opened); r.StatusCode != http.StatusAccepted {
		t.Fatalf("open the link: %d %s", r.StatusCode, r.body)
	}
	if got := linkedLead(t, e, team, vid); got != lead {
		t.Fatalf("the visitor who opened the link is tied to lead %d, want %d", got, lead)
	}
	e.track(pageviewBody(key, vid, "https://ana.example/contact"))

	page := ana.get(fmt.Sprintf("/leads/%d", lead))
	if n := strings.Count(page.body, `data-testid="page-view"`); n != 3 {
		t.Fatalf("lead page lists %d page views, want the earlier, the opened and the later one", n)
	}
	if !strings.Contains(page.body, `data-testid="opened-link">7 Harbor Ln,`) || !strings.Contains(page.body, "once, last") {
		t.Fatalf("the lead page does not say the link was opened:\n%s", page.body)
	}
	if list := ana.get("/leads"); !strings.Contains(leadRowHTML(t, list.body, lead), `data-testid="visits">1`) {
		t.Fatalf("the opened link is not a visit: %s", leadRowHTML(t, list.body, lead))
	}
	e.db.Close()
	if where := e.storedIn(t, token); where != "" {
		t.Fatalf("%s holds the link's token", where)
	}
}

// TestTrackedLinkRules: links point only at tracked domains when there are
// any; another team's, a malformed or an unknown token identifies nobody
// and the page view is still kept; a link opened by many different
// visitors is flagged instead of merging strangers into the lead.
func TestTrackedLinkRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, team, key := e.team("ana@example.com")
	_, teamB, keyB := e.team("bo@example.com")
	lead := e.mustPostLead(key, `{"name": "Jamie Buyer", "email": "jamie@example.com"}`)

	for _, bad := range []string{"", "ana.example/listing", "javascript:alert(1)", "ftp://ana.example/x"} {
		r := ana.post(fmt.Sprintf("/leads/%d/tracked-links", lead), url.Values{"url": {bad}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "full address of a page") {
			t.Fatalf("url %q: %d, want 422 saying what to paste", bad, r.StatusCode)
		}
		ana.get(fmt.Sprintf("/leads/%d", lead))
	}
	if _, err := e.db.AddTrackedDomain(t.Context(), team, "ana.example"); err != nil {
		t.Fatal(err)
	}
	r := ana.post(fmt.Sprintf("/leads/%d/tracked-links", lead), url.Values{"url": {"https://elsewhere.example/"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not one of your tracked domains (ana.example)") {
		t.Fatalf("a link to another site: %d\n%.300s", r.StatusCode, r.body)
	}
	link := makeTrackedLink(t, ana, lead, "https://homes.ana.example/listing/9")
	token := mustToken(t, link)

	// Team B's tracker sees A's token: nothing of A changes, B keeps the view.
	if r := e.track(pageviewBody(keyB, "visitor-of-team-b-0001", "https://bo.example/?clsr="+token)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("foreign token: %d", r.StatusCode)
	}
	if linkedLead(t, e, teamB, "visitor-of-team-b-0001") != 0 {
		t.Fatal("a foreign token linked a visitor")
	}
	for _, bad := range []string{"short", strings.Repeat("A", store.LinkTokenLen-1) + "!", strings.Repeat("B", store.LinkTokenLen)} {
		vid := "visitor-malformed-" + fmt.Sprint(len(bad)) + bad[:1]
		if r := e.track(pageviewBody(key, vid, "https://ana.example/?clsr="+url.QueryEscape(bad))); r.StatusCode != http.StatusAccepted {
			t.Fatalf("token %q: %d %s", bad, r.StatusCode, r.body)
		}
		if linkedLead(t, e, team, vid) != 0 {
			t.Fatalf("token %q linked a visitor", bad)
		}
	}
	if n, _ := e.stored(teamB); n != 1 {
		t.Fatalf("team B kept %d page views, want 1", n)
	}

	// Forwarded: four different visitors open it within the hour.
	vids := []string{"visitor-forward-000001", "visitor-forward-000002", "visitor-forward-000003", "visitor-forward-000004"}
	for _, vid := range vids {
		if r := e.track(pageviewBody(key, vid, link)); r.StatusCode != http.StatusAccepted {
			t.Fatalf("open by %s: %d", vid, r.StatusCode)
		}
	}
	for i, vid := range vids {
		if got, want := linkedLead(t, e, team, vid), map[bool]int64{true: lead, false: 0}[i < 2]; got != want {
			t.Errorf("visitor %d tied to lead %d, want %d (only the first two are taken for the person)", i+1, got, want)
		}
	}
	page := ana.get(fmt.Sprintf("/leads/%d", lead))
	if !strings.Contains(page.body, `data-testid="tracked-link-flagged"`) || !strings.Contains(page.body, "Opened by 4 different visitors") {
		t.Fatalf("the forwarded link is not flagged on the lead page:\n%s", page.body)
	}
	// Another team's agent cannot make links for the lead.
	eve := e.client()
	eve.signup("Eve Other", "eve@example.com", "Rival Homes")
	eve.get("/leads")
	if r := eve.post(fmt.Sprintf("/leads/%d/tracked-links", lead), url.Values{"url": {"https://ana.example/"}}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("another team's agent: %d", r.StatusCode)
	}
}

func mustToken(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("clsr") == "" {
		t.Fatalf("no token in %q", link)
	}
	return u.Query().Get("clsr")
}

// TestMCPTrackedLink: an assistant drafting a follow-up gets a tracked link
// for one of its team's leads, and a clear tool error otherwise.
func TestMCPTrackedLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, team, key := e.team("ana@example.com")
	_, _, keyB := e.team("bo@example.com")
	lead := e.mustPostLead(key, `{"name": "Jamie Buyer", "email": "jamie@example.com"}`)
	other := e.mustPostLead(keyB, `{"email": "someone@bo.example"}`)
	cs := e.mustConnectMCP(ana.generateAccess("Claude", "mcp"))
	got := callTool[struct {
		TrackedURL string `json:"tracked_url"`
	}](t, cs, "tracked_link", map[string]any{"lead_id": lead, "url": "https://ana.example/listings/7"})
	mustToken(t, got.TrackedURL)
	if !strings.HasPrefix(got.TrackedURL, "https://ana.example/listings/7?clsr=") {
		t.Fatalf("tracked_url %q", got.TrackedURL)
	}
	const vid = "visitor-from-mcp-link-01"
	if r := e.track(pageviewBody(key, vid, got.TrackedURL)); r.StatusCode != http.StatusAccepted || linkedLead(t, e, team, vid) != lead {
		t.Fatalf("opening the MCP link did not identify the lead (%d)", r.StatusCode)
	}
	if msg := toolError(t, cs, "tracked_link", map[string]any{"lead_id": other, "url": "https://ana.example/"}); !strings.Contains(msg, fmt.Sprintf("no lead with id %d", other)) {
		t.Fatalf("another team's lead: %q", msg)
	}
	if msg := toolError(t, cs, "tracked_link", map[string]any{"lead_id": lead, "url": "ana.example"}); !strings.Contains(msg, "full address of a page") {
		t.Fatalf("a bad url: %q", msg)
	}
}

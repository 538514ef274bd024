package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"closr/handlers"
	"closr/mailer"
	"closr/mailer/mailtest"
	"closr/store"
)

// fromSite is what a browser on the agent's contact page sends.
var fromSite = []string{"Origin", "https://agent-site.com", "Referer", "https://agent-site.com/contact"}

// madeUpKey is well formed and belongs to nobody.
const madeUpKey = "closr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// keyID finds the team's key with this label, active or not.
func (e *env) keyID(teamID int64, label string) int64 {
	e.t.Helper()
	var id int64
	if err := rawDB(e.t.(*testing.T), e).QueryRow("SELECT id FROM api_keys WHERE team_id = ? AND label = ?", teamID, label).Scan(&id); err != nil {
		e.t.Fatalf("key %q: %v", label, err)
	}
	return id
}

func keyPath(id int64, action string) string {
	p := fmt.Sprintf("/settings/integrations/api-keys/%d", id)
	if action != "" {
		p += "/" + action
	}
	return p
}

// text is a page's text as a person reads it: tags gone, entities decoded,
// spaces folded.
func text(page string) string {
	s := regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(page, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

// snippet is the text of the COPY NOW panel's snippet for use.
func snippet(t *testing.T, page, use string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<code id="new-` + use + `-code">(.*?)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s snippet in\n%s", use, page)
	}
	return html.UnescapeString(m[1])
}

// The guide's rotation recipe over HTTP: rotate, the panel's snippets hold
// the new key, a test, the integration's first request, revoke the old key,
// and a post with the old key is refused like any bad key and listed.
func TestRotationFlow(t *testing.T) {
	t.Parallel()
	clock := newFakeClock() // Nov 28, 14:00 UTC
	e := newEnvWith(t, envOptions{clock: clock})
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	old := c.generate("Webflow contact form")
	oldID := e.keyID(team, "Webflow contact form")
	if r := e.postLead(old, `{"email":"jamie@example.com"}`, fromSite...); r.StatusCode != http.StatusCreated {
		t.Fatalf("lead with the old key: %d %s", r.StatusCode, r.body)
	}
	clock.Advance(time.Minute)
	e.flushUsage()

	r := c.post(keyPath(oldID, "rotate"), nil, "HX-Request", "true")
	m := newKeyRE.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("rotate: %d\n%s", r.StatusCode, r.body)
	}
	repl := m[1]
	replID := e.keyID(team, "Webflow contact form (rotated Nov 28)")
	for _, use := range []string{"tracker", "form", "curl"} {
		if s := snippet(t, r.body, use); !strings.Contains(s, repl) || strings.Contains(s, "YOUR_API_KEY") {
			t.Errorf("%s snippet does not hold the new key:\n%s", use, s)
		}
	}
	// The old key posted leads from a browser: the form is the snippet shown open.
	if !strings.Contains(r.body, `<details class="new-snippet" open data-testid="new-form">`) || strings.Contains(r.body, `open data-testid="new-tracker"`) {
		t.Error("the form snippet should be the one open for a key used by a website form")
	}
	page := text(r.body)
	for _, want := range []string{"It replaces “Webflow contact form”", "Being replaced by “Webflow contact form (rotated Nov 28)”",
		"Waiting for the first request with the new key…", "Revoke old key appears here once the new key has been used"} {
		if !strings.Contains(page, want) {
			t.Errorf("after rotate the card lacks %q", want)
		}
	}
	if strings.Contains(r.body, `aria-label="Revoke old key`) {
		t.Error("Revoke old key is offered before the new key was used")
	}
	var access string
	rawDB(t, e).QueryRow("SELECT access FROM api_keys WHERE id = ?", replID).Scan(&access)
	if access != store.AccessIntake {
		t.Errorf("replacement access %q, want the old key's", access)
	}
	if r := e.postLead(old, `{"email":"jamie@example.com"}`, fromSite...); r.StatusCode != http.StatusCreated {
		t.Fatalf("the old key stopped working at rotation: %d", r.StatusCode)
	}

	status := func(wantCode int, want string) {
		t.Helper()
		e.flushUsage()
		r := c.get(keyPath(replID, "status"), "HX-Request", "true")
		if r.StatusCode != wantCode || !strings.Contains(text(r.body), want) {
			t.Fatalf("status: %d %q, want %d %q", r.StatusCode, text(r.body), wantCode, want)
		}
	}
	status(http.StatusOK, "Waiting for the first request with the new key…")

	// Test this key: the panel's page posts with the new key.
	if r := e.postLead(repl, `{"name":"Test Lead (Closr)","email":"test-lead@example.com"}`, "Origin", e.srv.URL); r.StatusCode != http.StatusCreated {
		t.Fatalf("test lead: %d %s", r.StatusCode, r.body)
	}
	status(http.StatusOK, "Test received at 2:01 PM. Waiting for the first request from your integration")
	if strings.Contains(c.get("/settings/integrations/api-keys/live").body, `aria-label="Revoke old key`) {
		t.Error("Revoke old key is offered after only a test")
	}

	// The integration's first request with the new key flips the status,
	// and stops the polling (286).
	clock.Advance(time.Minute)
	if r := e.postLead(repl, `{"email":"robin@example.com"}`, fromSite...); r.StatusCode != http.StatusCreated {
		t.Fatalf("lead with the new key: %d", r.StatusCode)
	}
	status(286, "First lead from agent-site.com/contact at 2:02 PM.")
	lists := c.get("/settings/integrations/api-keys/live")
	if !strings.Contains(lists.body, `aria-label="Revoke old key “Webflow contact form”"`) {
		t.Fatalf("Revoke old key is not offered once the new key was used:\n%s", lists.body)
	}
	wantConfirm := "It was used 1 min ago from agent-site.com/contact: revoking now will break that integration."
	if !strings.Contains(html.UnescapeString(lists.body), wantConfirm) {
		t.Fatalf("the revoke confirmation does not name the old key's last use (%q)", wantConfirm)
	}

	r = c.send("DELETE", keyPath(oldID, ""), nil, "HX-Request", "true")
	if r.StatusCode != http.StatusOK || !strings.Contains(text(r.body), "Revoked “Webflow contact form”") {
		t.Fatalf("revoke old key: %d\n%s", r.StatusCode, r.body)
	}

	// After revocation, nothing silent: the same 401 as a made-up key, and
	// the request is counted against the old key.
	unknown := e.postLead(madeUpKey, `{"email":"late@example.com"}`)
	late := e.postLead(old, `{"email":"late@example.com"}`, fromSite...)
	if late.StatusCode != http.StatusUnauthorized || late.body != unknown.body {
		t.Fatalf("old key after revoke: %d %s; want the unknown key's %d %s", late.StatusCode, late.body, unknown.StatusCode, unknown.body)
	}
	clock.Advance(38 * time.Minute)
	e.postLead(old, `{"email":"later@example.com"}`, fromSite...)
	e.flushUsage()
	lists = c.get("/settings/integrations/api-keys/live")
	want := "Webflow contact form , revoked Nov 28 by Ana Agent: 2 refused requests since, last 2:40 PM (just now) from agent-site.com/contact"
	if !strings.Contains(text(lists.body), want) {
		t.Fatalf("Revoked keys list lacks %q:\n%s", want, text(lists.body))
	}
	if leads, _ := e.counts(team); leads != 3 {
		t.Fatalf("%d leads, want jamie, the test lead and robin", leads)
	}
	audit := text(c.get("/settings/integrations").body)
	if !strings.Contains(audit, "Ana Agent rotated the key “Webflow contact form” "+old[:12]+"…: replaced by “Webflow contact form (rotated Nov 28)”") {
		t.Fatalf("the audit trail lacks the rotation:\n%s", audit)
	}
}

func TestRotateRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	c.generate("Zapier")
	id := e.keyID(team, "Zapier")
	if r := c.post(keyPath(id, "rotate"), nil, "HX-Request", "true"); r.StatusCode != http.StatusOK {
		t.Fatalf("rotate: %d", r.StatusCode)
	}
	// A second rotation while the first replacement is active would leave
	// two replacements: it says what to do instead.
	r := c.post(keyPath(id, "rotate"), nil, "HX-Request", "true")
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "already being replaced") {
		t.Fatalf("second rotate: %d %s", r.StatusCode, r.body)
	}
	// Once the unused replacement is revoked, the key can be rotated again.
	replID := e.keyID(team, "Zapier (rotated "+time.Now().UTC().Format("Jan 2")+")")
	if r := c.send("DELETE", keyPath(replID, ""), nil, "HX-Request", "true"); r.StatusCode != http.StatusOK {
		t.Fatalf("revoke replacement: %d", r.StatusCode)
	}
	if r := c.post(keyPath(id, "rotate"), nil, "HX-Request", "true"); r.StatusCode != http.StatusOK {
		t.Fatalf("rotate after revoking the replacement: %d %s", r.StatusCode, r.body)
	}
	// At the active-key limit there is no room for a replacement.
	for i := e.activeKeys(team); i < store.MaxActiveKeys; i++ {
		c.generate(fmt.Sprintf("Key %d", i))
	}
	before := rowCounts(t, e)
	r = c.post(keyPath(e.keyID(team, "Key 3"), "rotate"), nil, "HX-Request", "true")
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "Revoke a key you no longer use") {
		t.Fatalf("rotate at the limit: %d %s", r.StatusCode, r.body)
	}
	sameCounts(t, "rotate at the limit", before, rowCounts(t, e))
}

func TestRotatedLabelStaysShortAndDated(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	long := strings.Repeat("é", 100)
	c.generate(long)
	c.post(keyPath(e.keyID(team, long), "rotate"), nil, "HX-Request", "true")
	keys, _ := e.db.APIKeys(context.Background(), team)
	got := keys[0].Label
	if n := len([]rune(got)); n != 100 || !strings.HasSuffix(got, "… (rotated Nov 28)") {
		t.Fatalf("rotated label %q (%d characters)", got, n)
	}
	// Rotating a replacement again replaces the date instead of adding one.
	c.generate("Site (rotated Oct 3)")
	clock.Advance(24 * time.Hour)
	c.post(keyPath(e.keyID(team, "Site (rotated Oct 3)"), "rotate"), nil, "HX-Request", "true")
	e.keyID(team, "Site (rotated Nov 29)")
}

func TestKeyExpiry(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID

	before := rowCounts(t, e)
	r := c.post("/settings/integrations/api-keys", url.Values{"label": {"Zapier"}, "lifetime": {"45"}}, "HX-Request", "true")
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "never, or in 30, 90 or 365 days") {
		t.Fatalf("lifetime 45: %d\n%s", r.StatusCode, r.body)
	}
	sameCounts(t, "a refused lifetime", before, rowCounts(t, e))

	r = c.post("/settings/integrations/api-keys", url.Values{"label": {"Zapier"}, "lifetime": {"30"}}, "HX-Request", "true")
	key := newKeyRE.FindStringSubmatch(r.body)[1]
	if !strings.Contains(text(r.body), "Expires Dec 28, 2:00 PM") {
		t.Fatalf("the list does not show the expiry date:\n%s", r.body)
	}
	if strings.Contains(r.body, `data-testid="expiring-key"`) {
		t.Fatal("a key with 30 days left is already flagged as expiring")
	}

	// A week before, owners and admins are told on the page.
	clock.Advance(24 * 24 * time.Hour)
	c.login("ana@example.com") // weeks later the session has ended
	page := text(c.get("/settings/integrations").body)
	if !strings.Contains(page, "“Zapier” expires in 6 days (Dec 28). Rotate it now") {
		t.Fatalf("no warning a week before expiry:\n%s", page)
	}
	if r := e.postLead(key, `{"email":"a@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("before expiry: %d", r.StatusCode)
	}

	// Expired: refused like a revoked key, out of the active list and the
	// limit, in the Revoked keys list with its refused requests.
	clock.Advance(6*24*time.Hour + time.Second)
	unknown := e.postLead(madeUpKey, `{"email":"b@example.com"}`)
	r = e.postLead(key, `{"email":"b@example.com"}`)
	if r.StatusCode != http.StatusUnauthorized || r.body != unknown.body {
		t.Fatalf("expired key: %d %s, want the unknown key's answer", r.StatusCode, r.body)
	}
	if r := e.track(pageviewBody(key, testVID, "https://agent-site.com/")); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired key on the tracker: %d", r.StatusCode)
	}
	e.flushUsage()
	if n := e.activeKeys(team); n != 0 {
		t.Fatalf("%d active keys after expiry", n)
	}
	c.login("ana@example.com")
	lists := text(c.get("/settings/integrations/api-keys/live").body)
	if !strings.Contains(lists, "Zapier , expired Dec 28: 2 refused requests since") {
		t.Fatalf("Revoked keys list lacks the expired key:\n%s", lists)
	}
	for i := 0; i < store.MaxActiveKeys; i++ {
		c.generate(fmt.Sprintf("Key %d", i))
	}
}

// An expiry set on a key being replaced (Stripe's roll): it works until
// then, and not a second after.
func TestGracePeriod(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	old := c.generate("Web tracker")
	id := e.keyID(team, "Web tracker")
	c.post(keyPath(id, "rotate"), nil, "HX-Request", "true")

	before := rowCounts(t, e)
	if r := c.post(keyPath(id, "expiry"), url.Values{"after": {"2h"}}, "HX-Request", "true"); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("after=2h: %d", r.StatusCode)
	}
	sameCounts(t, "a refused grace period", before, rowCounts(t, e))
	r := c.post(keyPath(id, "expiry"), url.Values{"after": {"1h"}}, "HX-Request", "true")
	if r.StatusCode != http.StatusOK || !strings.Contains(text(r.body), "“Web tracker” stops working in 1 hour.") {
		t.Fatalf("expire in 1h: %d\n%s", r.StatusCode, text(r.body))
	}
	if !strings.Contains(text(r.body), "Ana Agent set the key “Web tracker” "+old[:12]+"… to expire Nov 28, 3:00 PM") {
		t.Fatalf("the audit trail lacks the expiry:\n%s", text(r.body))
	}
	clock.Advance(time.Hour - time.Second)
	if r := e.track(pageviewBody(old, testVID, "https://agent-site.com/")); r.StatusCode != http.StatusAccepted {
		t.Fatalf("a second before the end: %d", r.StatusCode)
	}
	clock.Advance(time.Second)
	if r := e.track(pageviewBody(old, testVID, "https://agent-site.com/")); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("at the end of the grace period: %d", r.StatusCode)
	}
	// A write already under way when the key expires stores nothing: the
	// check inside the transaction sees the expiry too.
	_, err := e.db.IngestLead(context.Background(), store.LeadInput{TeamID: team, KeyID: id, Email: "x@example.com", Raw: []byte("{}"), At: clock.Now()})
	if err == nil || !strings.Contains(err.Error(), store.ErrKeyRevoked.Error()) {
		t.Fatalf("a write with the expired key: %v, want ErrKeyRevoked", err)
	}
}

func TestRenameKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	key := c.generate("Form")
	id := e.keyID(team, "Form")
	c.get(keyPath(id, ""))
	before := rowCounts(t, e)
	r := c.post(keyPath(id, "label"), url.Values{"label": {"  "}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Enter a label") {
		t.Fatalf("empty label: %d", r.StatusCode)
	}
	sameCounts(t, "a refused rename", before, rowCounts(t, e))
	r = c.post(keyPath(id, "label"), url.Values{"label": {"Webflow contact form"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != keyPath(id, "") {
		t.Fatalf("rename: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if got := text(c.get(keyPath(id, "")).body); !strings.Contains(got, "Webflow contact form") {
		t.Fatalf("key page after rename:\n%s", got)
	}
	audit := text(c.get("/settings/integrations").body)
	if !strings.Contains(audit, "Ana Agent renamed the key “Form” to “Webflow contact form” "+key[:12]+"…") {
		t.Fatalf("the audit trail lacks the rename:\n%s", audit)
	}
}

// A key's use in the agent's words, in the list and by day on its page,
// with its latest requests: no bodies, no visitors' addresses.
func TestKeyUsageAndRequests(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	// 0.75 a second: bursts of 3.
	e := newEnvWith(t, envOptions{clock: clock, config: func(cfg *handlers.Config) { cfg.LimitKey = 0.75 }})
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	key := c.generate("Web tracker on main site")
	id := e.keyID(team, "Web tracker on main site")
	if _, err := e.db.AddTrackedDomain(context.Background(), team, "agent-site.com"); err != nil {
		t.Fatal(err)
	}

	// Yesterday: a new lead and the same person again.
	clock.Advance(-24 * time.Hour)
	e.postLead(key, `{"email":"jamie@example.com","message":"secret body text"}`, fromSite...)
	e.postLead(key, `{"email":"jamie@example.com"}`, fromSite...)
	clock.Advance(24 * time.Hour)
	// Today: a page view, a form from a site that is not tracked, a test
	// lead, and one request past the key's rate limit.
	e.track(pageviewBody(key, testVID, "https://agent-site.com/homes"), "Origin", "https://agent-site.com")
	e.postLead(key, `{"email":"x@example.com"}`, "Origin", "https://other-site.example")
	e.postLead(key, `{"name":"Test Lead (Closr)","email":"test-lead@example.com"}`, "Origin", e.srv.URL)
	if r := e.postLead(key, `{"email":"y@example.com"}`); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fifth request at 1/s: %d, want 429", r.StatusCode)
	}
	e.flushUsage()

	lists := c.get("/settings/integrations/api-keys/live")
	want := "1 new lead · 1 lead updated · 1 page view · 1 refused: site not in tracked domains · 1 refused: rate limit"
	if !strings.Contains(text(lists.body), want) {
		t.Fatalf("the list's usage lacks %q:\n%s", want, text(lists.body))
	}
	if !strings.Contains(text(lists.body), "2:00:00 PM (just now) from a server") {
		t.Fatalf("last used is not to the second with where from:\n%s", text(lists.body))
	}
	if n := strings.Count(lists.body, "<rect "); n != 2 {
		t.Fatalf("the sparkline has %d bars, want 2 (yesterday and today)", n)
	}
	if !strings.Contains(lists.body, `aria-label="Requests per day over the last 30 days: 5 in all"`) {
		t.Fatal("the sparkline's label does not add up the requests")
	}

	page := c.get(keyPath(id, ""))
	if page.StatusCode != http.StatusOK {
		t.Fatalf("key page: %d", page.StatusCode)
	}
	days := regexp.MustCompile(`(?s)<tr data-testid="key-day">(.*?)</tr>`).FindAllStringSubmatch(page.body, -1)
	if len(days) != 2 || text(days[0][1]) != "Nov 28 0 0 1 0 1 1 0" || text(days[1][1]) != "Nov 27 1 1 0 0 0 0 0" {
		t.Fatalf("by day: %q", days)
	}
	reqs := regexp.MustCompile(`(?s)<tr data-testid="key-request">(.*?)</tr>`).FindAllStringSubmatch(page.body, -1)
	var got []string
	for _, r := range reqs {
		got = append(got, text(r[1]))
	}
	wantReqs := []string{
		"2:00:00 PM /api/leads/inbound refused: rate limit (429) a server",
		"2:00:00 PM /api/leads/inbound test lead (201) Test Closr",
		"2:00:00 PM /api/leads/inbound refused: site not in tracked domains (403) other-site.example",
		"2:00:00 PM /api/track page view (202) agent-site.com",
		"Nov 27, 2:00:00 PM /api/leads/inbound lead updated (201) agent-site.com/contact",
		"Nov 27, 2:00:00 PM /api/leads/inbound new lead (201) agent-site.com/contact",
	}
	if len(got) != len(wantReqs) {
		t.Fatalf("recent requests:\n%s", strings.Join(got, "\n"))
	}
	for i := range got {
		if !strings.HasPrefix(got[i], wantReqs[i]) {
			t.Errorf("request %d: %q, want %q", i, got[i], wantReqs[i])
		}
	}
	for _, never := range []string{"secret body text", "jamie@example.com", "127.0.0.1"} {
		if strings.Contains(page.body, never) {
			t.Errorf("the key page shows %q", never)
		}
	}
	if other := e.client(); true {
		other.signup("Eve", "eve@example.com", "Rival")
		if r := other.get(keyPath(id, "")); r.StatusCode != http.StatusNotFound {
			t.Fatalf("another team's agent gets %d for the key page", r.StatusCode)
		}
	}
}

// The ring of a key's requests keeps the latest KeyRequests, whatever the
// rate and however many flushes.
func TestKeyRequestsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	key := c.generate("Zapier")
	id := e.keyID(team, "Zapier")
	for i := range 2*store.KeyRequests + 7 {
		e.postLead(key, fmt.Sprintf(`{"email":"l%d@example.com"}`, i))
		if i%40 == 0 {
			e.flushUsage()
		}
	}
	e.flushUsage()
	var n int
	rawDB(t, e).QueryRow("SELECT count(*) FROM key_requests WHERE key_id = ?", id).Scan(&n)
	reqs, _ := e.db.KeyRequests(context.Background(), team, id)
	if n != store.KeyRequests || len(reqs) != store.KeyRequests {
		t.Fatalf("%d rows, %d listed; want %d", n, len(reqs), store.KeyRequests)
	}
	usage, _ := e.db.KeyUsage(context.Background(), team, id, time.Now().Add(-time.Hour))
	if d := usage[id]; len(d) != 1 || d[0].LeadsCreated != 2*store.KeyRequests+7 {
		t.Fatalf("usage %+v, want every lead counted", d)
	}
}

func TestTestLeads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	key := c.generate("Form")
	closr := []string{"Origin", e.srv.URL}
	e.mustPostLead(key, `{"email":"real@example.com"}`)
	test := e.mustPostLead(key, `{"name":"Test Lead (Closr)","email":"test-lead@example.com"}`)
	if r := e.postLead(key, `{"name":"Test Lead (Closr)","email":"test-lead@example.com"}`, closr...); r.StatusCode != http.StatusCreated {
		t.Fatal(r.body)
	}
	// Posted from a script first, then by the test button: the lead is real.
	if l, _ := e.db.Lead(context.Background(), team, test); l.Test {
		t.Fatal("a lead with a real submission became a test lead")
	}
	test = e.mustPostLeadFrom(key, `{"name":"Test Lead (Closr)","email":"second-test@example.com"}`, closr...)
	// Its visits would make it Hot; a test lead never is.
	vis := e.seedSQL("INSERT INTO visitors (team_id, vid, lead_id, first_seen, last_seen) VALUES (?, 'test-visitor-0123456', ?, ?, ?)",
		team, test, time.Now().Unix(), time.Now().Unix())
	for i := range 3 {
		e.seedPageView(team, vis, "https://a.example/", "Home", time.Now().Add(-time.Duration(i)*time.Hour))
	}
	list := c.get("/leads")
	row := regexp.MustCompile(`(?s)<tr data-testid="lead-row" data-lead-id="` + fmt.Sprint(test) + `">.*?</tr>`).FindString(list.body)
	if !strings.Contains(row, `data-testid="test-badge"`) || strings.Contains(row, `data-testid="hot"`) {
		t.Fatalf("test lead row: %s", row)
	}
	if got := text(regexp.MustCompile(`(?s)<p class="lead-in" data-testid="leads-summary">.*?</p>`).FindString(list.body)); !strings.HasPrefix(got, "2 leads from your website") || !strings.HasSuffix(got, "Plus 1 test lead, marked Test and not counted. Show only test leads") {
		t.Fatalf("count: %q", got)
	}

	// MCP's pipeline summary leaves it out; its lead data says it is a test.
	secret := c.generateAccess("Claude", "mcp")
	cs := e.mustConnectMCP(secret)
	sum := callTool[struct {
		NewLeads int `json:"new_leads"`
	}](t, cs, "pipeline_summary", map[string]any{})
	if sum.NewLeads != 2 {
		t.Fatalf("pipeline_summary counts %d new leads, want 2", sum.NewLeads)
	}

	// Removable with one click; a real lead is not removable this way.
	real := e.lastLeadIDFor("real@example.com")
	before := rowCounts(t, e)
	if r := c.send("DELETE", fmt.Sprintf("/leads/%d", real), nil, "HX-Request", "true"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("delete a real lead: %d", r.StatusCode)
	}
	sameCounts(t, "removing a real lead", before, rowCounts(t, e))
	if r := c.send("DELETE", fmt.Sprintf("/leads/%d", test), nil, "HX-Request", "true"); r.StatusCode != http.StatusOK {
		t.Fatalf("remove test lead: %d %s", r.StatusCode, r.body)
	}
	after := rowCounts(t, e)
	if after["leads"] != before["leads"]-1 || after["submissions"] != before["submissions"]-1 || after["visitors"] != before["visitors"] {
		t.Fatalf("removing the test lead: before %v after %v", before, after)
	}
	var linked int
	rawDB(t, e).QueryRow("SELECT count(*) FROM visitors WHERE lead_id = ?", test).Scan(&linked)
	if linked != 0 {
		t.Fatalf("%d visitors still point at the removed lead", linked)
	}
	// From its page, without JavaScript: back to the list.
	other := e.mustPostLeadFrom(key, `{"email":"third-test@example.com"}`, closr...)
	c.get(fmt.Sprintf("/leads/%d", other))
	r := c.post(fmt.Sprintf("/leads/%d", other), url.Values{"_method": {"DELETE"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/leads" {
		t.Fatalf("remove from the lead page: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

// login signs the client in again (a fake clock moved past its session).
func (c *client) login(email string) {
	c.e.t.Helper()
	c.get("/login")
	if r := c.post("/login", url.Values{"email": {email}, "password": {"correct horse battery"}}); r.StatusCode != http.StatusSeeOther {
		c.e.t.Fatalf("login: %d", r.StatusCode)
	}
	c.get("/settings/integrations")
}

// mustPostLeadFrom posts a lead with extra headers that must be received and
// returns the id of its lead.
func (e *env) mustPostLeadFrom(key, body string, hdr ...string) int64 {
	e.t.Helper()
	if r := e.postLead(key, body, hdr...); r.StatusCode != http.StatusCreated {
		e.t.Fatalf("post lead %s: %d %s", body, r.StatusCode, r.body)
	}
	return e.lastLeadID()
}

func (e *env) lastLeadIDFor(email string) int64 {
	e.t.Helper()
	var id int64
	if err := rawDB(e.t.(*testing.T), e).QueryRow("SELECT id FROM leads WHERE email = ?", email).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// Test this key for an MCP key asks the MCP server for its tools from
// Closr's page: it works, and counts as a test of the key.
func TestMCPTestThisKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	secret := c.generateAccess("Claude", "mcp")
	r := e.api("POST", "/mcp", "application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		"Authorization", "Bearer "+secret, "Accept", "application/json, text/event-stream", "Origin", e.srv.URL)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `"pipeline_summary"`) {
		t.Fatalf("tools/list from Closr's page: %d %s", r.StatusCode, r.body)
	}
	e.flushUsage()
	keys, _ := e.db.APIKeys(context.Background(), team)
	if keys[0].TestedAt.IsZero() || !keys[0].FirstUsedAt.IsZero() {
		t.Fatalf("tested %v, first used %v: want a test and no first use", keys[0].TestedAt, keys[0].FirstUsedAt)
	}
	cs := e.mustConnectMCP(secret)
	callTool[searchResult](t, cs, "search_leads", map[string]any{})
	e.flushUsage()
	keys, _ = e.db.APIKeys(context.Background(), team)
	usage, _ := e.db.KeyUsage(context.Background(), team, keys[0].ID, time.Now().Add(-time.Hour))
	if keys[0].FirstUsedAt.IsZero() || len(usage[keys[0].ID]) != 1 || usage[keys[0].ID][0].MCPCalls != 1 {
		t.Fatalf("after a tool call: first used %v, usage %+v; want one MCP call", keys[0].FirstUsedAt, usage)
	}
	reqs, _ := e.db.KeyRequests(context.Background(), team, keys[0].ID)
	if len(reqs) == 0 || reqs[0].Endpoint != "/mcp search_leads" || reqs[0].Kind != store.UseMCPCall {
		t.Fatalf("latest request %+v, want the search_leads call", reqs)
	}
}

// An agent (role) sees the team's keys with their use, live, and each
// key's page, but none of the controls: those are for owners and admins.
func TestAgentsSeeKeyUseWithoutControls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.client()
	owner.signup("Ana Owner", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	key := owner.generate("Zapier")
	id := e.keyID(team, "Zapier")
	owner.post(keyPath(id, "rotate"), nil, "HX-Request", "true")
	e.postLead(key, `{"email":"jamie@example.com"}`)
	e.flushUsage()
	abe := e.accept(owner.invite("abe@example.com", "agent"), "Abe Agent")

	lists := abe.get("/settings/integrations/api-keys/live")
	if lists.StatusCode != http.StatusOK || !strings.Contains(text(lists.body), "1 new lead") || !strings.Contains(text(lists.body), "Being replaced by") {
		t.Fatalf("an agent's key list: %d\n%s", lists.StatusCode, text(lists.body))
	}
	page := abe.get("/settings/integrations").body + abe.get(keyPath(id, "")).body
	for _, control := range []string{`aria-label="Rotate`, `aria-label="Revoke`, `data-testid="expire-1h"`, `id="rename-label"`, `name="lifetime"`} {
		if strings.Contains(page, control) {
			t.Errorf("an agent is offered %s", control)
		}
	}
	if r := abe.post(keyPath(id, "label"), url.Values{"label": {"Mine"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("an agent's rename: %d", r.StatusCode)
	}
}

// With mail configured, the owner and admins are emailed once when a key
// expires within a week, not for a key whose replacement works.
func TestExpiryNoticeEmail(t *testing.T) {
	t.Parallel()
	smtp := mailtest.Start(t)
	m, err := mailer.New(mailer.Config{URL: smtp.URL, From: "Closr <closr@example.com>", TLS: smtp.TLS})
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock, config: func(c *handlers.Config) { c.Mail = m }})
	owner := e.client()
	owner.signup("Ana Owner", "ana@example.com", "Sunset Realty")
	team := e.agent("ana@example.com").TeamID
	e.accept(owner.invite("ada@example.com", "admin"), "Ada Admin")
	smtp.Next(t) // the invitation
	owner.get("/settings/integrations")
	r := owner.post("/settings/integrations/api-keys", url.Values{"label": {"Zapier"}, "lifetime": {"30"}}, "HX-Request", "true")
	key := newKeyRE.FindStringSubmatch(r.body)[1]
	owner.post("/settings/integrations/api-keys", url.Values{"label": {"Web tracker"}, "lifetime": {"30"}}, "HX-Request", "true")
	smtp.Next(t) // generated Zapier
	smtp.Next(t) // generated Web tracker
	// Ten days on, the Web tracker key is rotated: its replacement expires
	// in 30 days, and the old one needs no warning.
	clock.Advance(10 * 24 * time.Hour)
	owner.login("ana@example.com")
	owner.post(keyPath(e.keyID(team, "Web tracker"), "rotate"), nil, "HX-Request", "true")
	smtp.Next(t) // generated the replacement

	clock.Advance(12 * 24 * time.Hour) // 8 days left: too early
	if err := e.h.SendExpiryNotices(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(24 * time.Hour)
	for range 2 {
		if err := e.h.SendExpiryNotices(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	msg := smtp.Next(t)
	if strings.Join(msg.To, ",") != "ana@example.com,ada@example.com" || msg.Subject() != "[Closr] The API key “Zapier” expires on Dec 28" ||
		!strings.Contains(msg.Body, key[:12]+"…") || strings.Contains(msg.Body, key[12:]) {
		t.Fatalf("expiry notice to %v, %q:\n%s", msg.To, msg.Subject(), msg.Body)
	}
	// The next mail is about something else: Zapier's notice went once,
	// and the rotated Web tracker key got none.
	owner.login("ana@example.com")
	owner.generate("Marker")
	if msg := smtp.Next(t); !strings.Contains(msg.Subject(), "generated the API key “Marker”") {
		t.Fatalf("next mail %q", msg.Subject())
	}
}

package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"closr/store"
)

// TestInviteAndAccept: the owner invites by email and role; the answer
// shows the link once, as an absolute URL; the invitee sees the team and
// who invited them, chooses a name and password, and lands in the team
// signed in, with the invited email and role and the browser's time zone.
// The link then says plainly that it was used. The token is in no log and
// nowhere in the database file.
func TestInviteAndAccept(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.client()
	ana.signup("Ana Owner", "ana@example.com", "Sunset Realty")
	r := ana.post("/settings/team/invites", url.Values{"email": {"bo@example.com"}, "role": {"agent"}})
	m := inviteLinkRE.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil || !strings.HasPrefix(m[1], e.srv.URL+"/invite/") {
		t.Fatalf("invite (plain form): %d, no absolute link\n%s", r.StatusCode, r.body)
	}
	link := m[1]
	token := link[strings.LastIndex(link, "/")+1:]
	if !strings.Contains(r.body, "bo@example.com") || !strings.Contains(r.body, `data-testid="invite-row"`) {
		t.Fatal("the invitation is not listed as waiting")
	}
	if again := ana.get("/settings/team"); strings.Contains(again.body, token) {
		t.Fatal("the Team page shows the link again")
	}

	bo := e.client()
	page := bo.get("/invite/" + token)
	for _, want := range []string{"Sunset Realty", "Ana Owner", "bo@example.com", "an agent"} {
		if page.StatusCode != http.StatusOK || !strings.Contains(page.body, want) {
			t.Fatalf("invitation page (%d) does not say %q\n%s", page.StatusCode, want, page.body)
		}
	}
	if page.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("the invitation page may be cached")
	}
	if r := bo.post("/invite/"+token, url.Values{"name": {""}, "password": {"short"}}); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Enter your name") || !strings.Contains(r.body, "at least 8 characters") {
		t.Fatalf("accept without a name and with a short password: %d\n%s", r.StatusCode, r.body)
	}
	r = bo.post("/invite/"+token, url.Values{"name": {"Bo Buyer"}, "password": {"correct horse battery"}, "tz": {"America/Denver"},
		"email": {"evil@example.com"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/team" {
		t.Fatalf("accept: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if r := bo.get("/settings/team"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Bo Buyer") || !strings.Contains(r.body, "Sunset Realty") {
		t.Fatalf("the new member's Team page: %d\n%s", r.StatusCode, r.body)
	}
	a := e.agent("bo@example.com")
	if a.Role != store.RoleAgent || a.TeamID != e.agent("ana@example.com").TeamID || a.TimeZone != "America/Denver" || a.Name != "Bo Buyer" {
		t.Fatalf("the new agent: %+v", a)
	}

	for _, c := range []*client{e.client(), bo} {
		r := c.get("/invite/" + token)
		if r.StatusCode != http.StatusGone || !strings.Contains(r.body, "already been used") {
			t.Fatalf("a used link: %d\n%s", r.StatusCode, r.body)
		}
	}
	x := e.client()
	x.get("/login")
	if r := x.post("/invite/"+token, url.Values{"name": {"Mallory"}, "password": {"correct horse battery"}}); r.StatusCode != http.StatusGone {
		t.Fatalf("accepting a used link: %d", r.StatusCode)
	}
	if strings.Contains(e.log.String(), token) || !strings.Contains(e.log.String(), "/invite/[redacted]") {
		t.Fatalf("the log holds the invitation token, or no redacted path:\n%s", e.log.String())
	}
	e.db.Close()
	if where := e.storedIn(t, token); where != "" {
		t.Fatalf("%s holds the invitation token", where)
	}
}

// TestInviteRefusals: what cannot be invited is refused at invite time
// with what to do, and invites no one; a cancelled or expired link says so.
func TestInviteRefusals(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	ana := e.client()
	ana.signup("Ana Owner", "ana@example.com", "Sunset Realty")
	other := e.client()
	other.signup("Oz Other", "oz@example.com", "Rival Homes")
	ana.invite("bo@example.com", "agent")
	for _, tc := range []struct{ email, role, want string }{
		{"oz@example.com", "agent", "oz@example.com already has a Closr account"},
		{"ANA@example.com", "admin", "already has a Closr account"},
		{"bo@example.com", "admin", "bo@example.com is already invited"},
		{"not an email", "agent", "like name@example.com"},
		{"", "agent", "Enter the email address"},
		{"cy@example.com", "owner", "Choose their role"},
	} {
		before := rowCounts(t, e)
		r := ana.post("/settings/team/invites", url.Values{"email": {tc.email}, "role": {tc.role}}, "HX-Request", "true")
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) || strings.Contains(r.body, "/invite/") {
			t.Fatalf("invite %q as %q: %d, want 422 saying %q\n%s", tc.email, tc.role, r.StatusCode, tc.want, r.body)
		}
		sameCounts(t, "invite "+tc.email, before, rowCounts(t, e))
	}

	cancelled := ana.invite("cy@example.com", "agent")
	open, _ := e.db.OpenInvitations(context.Background(), e.agent("ana@example.com").TeamID)
	if r := ana.send("DELETE", fmt.Sprintf("/settings/team/invites/%d", open[0].ID), nil); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Cancel the invitation of cy@example.com?") {
		t.Fatalf("cancel without JS must ask first: %d\n%s", r.StatusCode, r.body)
	}
	if r := ana.send("DELETE", fmt.Sprintf("/settings/team/invites/%d", open[0].ID), nil, "HX-Request", "true"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Cancelled the invitation of cy@example.com") {
		t.Fatalf("cancel: %d\n%s", r.StatusCode, r.body)
	}
	if r := e.client().get(strings.TrimPrefix(cancelled, e.srv.URL)); r.StatusCode != http.StatusGone || !strings.Contains(r.body, "was cancelled") || !strings.Contains(r.body, "Ana Owner") {
		t.Fatalf("a cancelled link: %d\n%s", r.StatusCode, r.body)
	}

	expiring := ana.invite("dee@example.com", "agent")
	clock.Advance(7 * 24 * time.Hour)
	if r := e.client().get(strings.TrimPrefix(expiring, e.srv.URL)); r.StatusCode != http.StatusGone || !strings.Contains(r.body, "expired on Dec 5, 2026") {
		t.Fatalf("a link 7 days old: %d\n%s", r.StatusCode, r.body)
	}
	if r := e.client().get("/invite/" + strings.Repeat("x", 43)); r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "not valid") {
		t.Fatalf("an unknown link: %d\n%s", r.StatusCode, r.body)
	}
}

// newTeam signs up an owner and brings in an admin and an agent.
func newTeamOfThree(t *testing.T, e *env) (owner, admin, agent *client) {
	t.Helper()
	owner = e.client()
	owner.signup("Ana Owner", "ana@example.com", "Sunset Realty")
	admin = e.accept(owner.invite("ada@example.com", "admin"), "Ada Admin")
	agent = e.accept(owner.invite("abe@example.com", "agent"), "Abe Agent")
	owner.get("/settings/team")
	return owner, admin, agent
}

// TestRolesOnTheServer: an agent sees the team's keys by label, preview
// and use, but no Generate, Revoke, domain or member controls, and every
// such request, forged by hand, gets 403 with what to do and changes
// nothing. An admin manages keys and members.
func TestRolesOnTheServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, admin, agent := newTeamOfThree(t, e)
	key := admin.generate("Zapier")
	if r := e.postLead(key, `{"email":"lead@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("lead with the admin's key: %d", r.StatusCode)
	}

	page := agent.get("/settings/integrations")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "Zapier") || !strings.Contains(page.body, key[:12]) {
		t.Fatalf("the agent's Integrations page lacks the key's label or preview: %d\n%s", page.StatusCode, page.body)
	}
	for _, hidden := range []string{`id="key-label"`, `aria-label="Revoke `, `id="tracked-domain"`, key[12:], `data-testid="rotation-prompt"`} {
		if strings.Contains(page.body, hidden) {
			t.Fatalf("the agent's Integrations page shows %q", hidden)
		}
	}
	if !strings.Contains(page.body, `data-testid="keys-read-only"`) {
		t.Fatal("the agent is not told why there is no Generate")
	}
	teamPage := agent.get("/settings/team")
	for _, hidden := range []string{`id="invite-email"`, `aria-label="Remove `, "Change role", "Make "} {
		if strings.Contains(teamPage.body, hidden) {
			t.Fatalf("the agent's Team page shows %q", hidden)
		}
	}
	keys, _ := e.db.APIKeys(context.Background(), e.agent("ana@example.com").TeamID)
	ada := e.agent("ada@example.com")
	for _, tc := range []struct{ method, path string }{
		{"POST", "/settings/integrations/api-keys"},
		{"DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", keys[0].ID)},
		{"POST", fmt.Sprintf("/settings/integrations/api-keys/%d/rotate", keys[0].ID)},
		{"POST", "/settings/integrations/tracked-domains"},
		{"POST", "/settings/team/invites"},
		{"DELETE", fmt.Sprintf("/settings/team/members/%d", ada.ID)},
		{"POST", fmt.Sprintf("/settings/team/members/%d/role", ada.ID)},
	} {
		for _, hdr := range [][]string{nil, {"HX-Request", "true"}} {
			before := rowCounts(t, e)
			r := agent.send(tc.method, tc.path, url.Values{"label": {"Mine"}, "domain": {"x.example"}, "email": {"x@example.com"}, "role": {"agent"}, "confirm": {"yes"}}, hdr...)
			if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "Only the owner and admins of Sunset Realty") || strings.Contains(r.body, "closr_") {
				t.Fatalf("agent %s %s %v: %d\n%s", tc.method, tc.path, hdr, r.StatusCode, r.body)
			}
			sameCounts(t, tc.method+" "+tc.path+" by an agent", before, rowCounts(t, e))
		}
	}
	// The admin manages keys and members.
	admin.get("/settings/integrations")
	admin.generate("Website form")
	link := admin.invite("cy@example.com", "agent")
	if !strings.HasPrefix(link, e.srv.URL+"/invite/") {
		t.Fatalf("admin's invite link %q", link)
	}
	abe := e.agent("abe@example.com")
	if r := admin.post(fmt.Sprintf("/settings/team/members/%d/role", abe.ID), url.Values{"role": {"admin"}}, "HX-Request", "true"); r.StatusCode != http.StatusOK {
		t.Fatalf("admin promotes an agent: %d\n%s", r.StatusCode, r.body)
	}
	if r := admin.post(fmt.Sprintf("/settings/team/members/%d/role", abe.ID), url.Values{"role": {"owner"}}, "HX-Request", "true"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("an admin transfers ownership: %d", r.StatusCode)
	}
	ana := e.agent("ana@example.com")
	if r := admin.send("DELETE", fmt.Sprintf("/settings/team/members/%d", ana.ID), nil, "HX-Request", "true"); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "owner") {
		t.Fatalf("an admin removes the owner: %d\n%s", r.StatusCode, r.body)
	}
	// Promoted, Abe can now generate.
	agent.get("/settings/integrations")
	agent.generate("Abe's tracker")
	_ = owner
}

// TestRemoveAgentThenRotate: removing an admin ends their sessions at
// once (their next request is signed out) and cancels their invitations;
// the answer shows the rotation prompt with the keys they generated and
// their last use. Rotate makes a replacement with the same access, labelled
// with the day in the owner's time zone, shown once; the old key works
// until revoked, and then the prompt is gone.
func TestRemoveAgentThenRotate(t *testing.T) {
	t.Parallel()
	clock := newFakeClock() // Nov 28, 14:00 UTC
	e := newEnvWith(t, envOptions{clock: clock})
	owner, admin, _ := newTeamOfThree(t, e)
	mcpKey := admin.generate("Claude")
	if r := admin.post("/settings/integrations/api-keys", url.Values{"label": {"Zapier"}, "access": {"mcp"}}, "HX-Request", "true"); r.StatusCode != http.StatusOK {
		t.Fatal(r.StatusCode)
	}
	admin.get("/settings/team")
	admin.invite("friend@example.com", "agent")
	clock.Advance(10 * time.Hour) // Nov 29, 00:00 UTC; still Nov 28 in Chicago
	if r := e.postLead(mcpKey, `{"email":"lead@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatal(r.StatusCode)
	}
	ada := e.agent("ada@example.com")

	r := owner.send("DELETE", fmt.Sprintf("/settings/team/members/%d", ada.ID), nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Remove Ada Admin from Sunset Realty?") {
		t.Fatalf("remove without JS must ask first: %d\n%s", r.StatusCode, r.body)
	}
	if got := admin.get("/settings/integrations"); got.StatusCode != http.StatusOK {
		t.Fatal("asking removed the admin")
	}
	r = owner.send("DELETE", fmt.Sprintf("/settings/team/members/%d", ada.ID), nil, "HX-Request", "true")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Removed Ada Admin") || !strings.Contains(r.body, `data-testid="rotation-prompt"`) {
		t.Fatalf("remove: %d\n%s", r.StatusCode, r.body)
	}
	prompt := r.body[strings.Index(r.body, `data-testid="rotation-prompt"`):]
	prompt = prompt[:strings.Index(prompt, "</section>")]
	for _, want := range []string{"Ada Admin", "Claude", "Zapier", `<time datetime="2026-11-29T00:00:00Z"`, "Never", `aria-label="Rotate Claude"`} {
		if !strings.Contains(prompt, want) {
			t.Fatalf("the rotation prompt lacks %q:\n%s", want, prompt)
		}
	}
	// The admin's next click signs them out; their invitation is cancelled.
	if r := admin.get("/settings/integrations"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=%2Fsettings%2Fintegrations" {
		t.Fatalf("the removed admin's next request: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := admin.post("/settings/integrations/api-keys", url.Values{"label": {"Late"}}, "HX-Request", "true"); r.StatusCode != http.StatusUnauthorized || r.Header.Get("HX-Redirect") != "/login" {
		t.Fatalf("the removed admin's HTMX request: %d", r.StatusCode)
	}
	if open, _ := e.db.OpenInvitations(context.Background(), ada.TeamID); len(open) != 0 {
		t.Fatalf("%d of the removed admin's invitations still open", len(open))
	}
	// The owner's Integrations page shows the prompt too, and the removal
	// on the team's trail.
	page := owner.get("/settings/integrations")
	if !strings.Contains(page.body, `data-testid="rotation-prompt"`) || !strings.Contains(page.body, "Ana Owner removed Ada Admin from the team") {
		t.Fatalf("the Integrations page lacks the prompt or the removal on the trail\n%s", page.body)
	}

	// Rotate the MCP key: the owner is in Chicago, where it is still Nov 28.
	if r := owner.post("/settings/profile", url.Values{"name": {"Ana Owner"}, "email": {"ana@example.com"}, "tz": {"America/Chicago"}}); r.StatusCode != http.StatusOK {
		t.Fatalf("set time zone: %d\n%s", r.StatusCode, r.body)
	}
	keys, _ := e.db.APIKeys(context.Background(), ada.TeamID)
	var zapier store.APIKey
	for _, k := range keys {
		if k.Label == "Zapier" {
			zapier = k
		}
	}
	if !strings.Contains(prompt, fmt.Sprintf(`data-key-id="%d"`, zapier.ID)) {
		t.Fatal("the prompt does not list the Zapier key")
	}
	// A plain form post: redirected to the page that shows the new key once.
	r = owner.follow(owner.post(fmt.Sprintf("/settings/integrations/api-keys/%d/rotate", zapier.ID), nil))
	m := newKeyRE.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil || !strings.Contains(r.body, "Zapier (rotated Nov 28)") || !strings.Contains(r.body, "It replaces <strong>“Zapier”</strong>") {
		t.Fatalf("rotate: %d\n%s", r.StatusCode, r.body)
	}
	keys, _ = e.db.APIKeys(context.Background(), ada.TeamID)
	var replacement store.APIKey
	for _, k := range keys {
		if k.Label == "Zapier (rotated Nov 28)" {
			replacement = k
		}
	}
	if replacement.Access != store.AccessMCP || replacement.CreatedByName != "Ana Owner" || replacement.Preview != m[1][:12] {
		t.Fatalf("the replacement %+v: the old key's access, made by the owner", replacement)
	}
	if r := e.postLead(mcpKey, `{"email":"after@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("a lead with the old key while it is not revoked: %d", r.StatusCode)
	}
	// Rotating the replacement replaces the date rather than adding one.
	if r := owner.follow(owner.post(fmt.Sprintf("/settings/integrations/api-keys/%d/rotate", replacement.ID), nil)); !strings.Contains(r.body, "<strong>Zapier (rotated Nov 28)</strong>") {
		t.Fatalf("rotating a rotated key:\n%s", r.body)
	}
	// Revoking the departed admin's keys ends the prompt.
	for _, k := range keys {
		if k.CreatedByName == "Ada Admin" {
			owner.send("DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", k.ID), nil, "HX-Request", "true")
		}
	}
	if r := owner.get("/settings/team"); strings.Contains(r.body, `data-testid="rotation-prompt"`) {
		t.Fatal("the prompt stays after every key was revoked")
	}
}

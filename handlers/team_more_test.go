package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"closr/handlers"
	"closr/mailer"
	"closr/mailer/mailtest"
	"closr/store"
	"closr/store/storetest"
)

// TestLeaveTeam: a non-owner leaves after a confirmation and is signed out;
// the owner and admins see the rotation prompt for the keys they generated
// the next time they open Settings. The owner cannot leave.
func TestLeaveTeam(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, admin, _ := newTeamOfThree(t, e)
	admin.get("/settings/integrations")
	admin.generate("Web tracker")
	ada, ana := e.agent("ada@example.com"), e.agent("ana@example.com")
	admin.get("/settings/team")
	leave := fmt.Sprintf("/settings/team/members/%d", ada.ID)
	if r := admin.send("DELETE", leave, nil); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Leave Sunset Realty?") {
		t.Fatalf("leave must ask first: %d\n%s", r.StatusCode, r.body)
	}
	r := admin.post(leave, url.Values{"_method": {"DELETE"}, "confirm": {"yes"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "You left Sunset Realty") || strings.Contains(r.body, "log-out") {
		t.Fatalf("leave: %d\n%s", r.StatusCode, r.body)
	}
	if r := admin.get("/settings/team"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after leaving: %d, want signed out", r.StatusCode)
	}
	for _, path := range []string{"/settings/integrations", "/settings/team"} {
		page := owner.get(path)
		if !strings.Contains(page.body, `data-testid="rotation-prompt"`) || !strings.Contains(page.body, "left the team") || !strings.Contains(page.body, "Web tracker") {
			t.Fatalf("%s after Ada left lacks the rotation prompt\n%s", path, page.body)
		}
	}
	owner.get("/settings/team")
	if r := owner.post(fmt.Sprintf("/settings/team/members/%d", ana.ID), url.Values{"_method": {"DELETE"}, "confirm": {"yes"}}); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "Make another member the owner first") {
		t.Fatalf("the owner leaves: %d\n%s", r.StatusCode, r.body)
	}
}

// TestTransferOwnership: the owner makes an admin the owner (after a
// confirmation without JS) and becomes an admin; there is one owner, and
// the old one can no longer transfer.
func TestTransferOwnership(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, admin, _ := newTeamOfThree(t, e)
	ada := e.agent("ada@example.com")
	path := fmt.Sprintf("/settings/team/members/%d/role", ada.ID)
	if r := owner.post(path, url.Values{"role": {"owner"}}); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Make Ada Admin the owner?") {
		t.Fatalf("transfer without JS must ask first: %d\n%s", r.StatusCode, r.body)
	}
	if e.agent("ada@example.com").Role != store.RoleAdmin {
		t.Fatal("asking transferred")
	}
	r := owner.post(path, url.Values{"role": {"owner"}, "confirm": {"yes"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Ada Admin is now the owner of Sunset Realty, and you are an admin") {
		t.Fatalf("transfer: %d\n%s", r.StatusCode, r.body)
	}
	if a, b := e.agent("ana@example.com").Role, e.agent("ada@example.com").Role; a != store.RoleAdmin || b != store.RoleOwner {
		t.Fatalf("roles after the transfer: Ana %s, Ada %s", a, b)
	}
	if strings.Contains(r.body, "Make owner") {
		t.Fatal("the old owner is still offered Make owner")
	}
	if r := owner.post(path, url.Values{"role": {"agent"}}, "HX-Request", "true"); r.StatusCode != http.StatusConflict {
		t.Fatalf("the old owner demotes the new one: %d", r.StatusCode)
	}
	if r := admin.get("/settings/team"); !strings.Contains(r.body, "Make owner") {
		t.Fatal("the new owner is not offered Make owner")
	}
}

// TestProfile: name and time zone change freely; a new email needs the
// current password; a new password ends every other session, not this
// one. Sign-up keeps the browser's time zone.
func TestProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.client()
	ana.get("/signup")
	if r := ana.post("/signup", url.Values{"name": {"Ana"}, "email": {"ana@example.com"}, "password": {"correct horse battery"}, "team": {"Sunset Realty"}, "tz": {"Europe/Paris"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatal(r.StatusCode)
	}
	if tz := e.agent("ana@example.com").TimeZone; tz != "Europe/Paris" {
		t.Fatalf("time zone from sign-up %q", tz)
	}
	other := e.client() // the same agent on another device
	other.get("/login")
	other.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}})
	page := ana.get("/settings/profile")
	if !strings.Contains(page.body, `value="Europe/Paris"`) || !strings.Contains(page.body, `data-testid="settings-nav"`) {
		t.Fatalf("profile page\n%s", page.body)
	}
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"name": {""}, "email": {"ana@example.com"}, "tz": {"UTC"}}, "Enter your name"},
		{url.Values{"name": {"Ana"}, "email": {"ana@example.com"}, "tz": {"Mars/Olympus"}}, "like America/Chicago"},
		{url.Values{"name": {"Ana"}, "email": {"new@example.com"}, "tz": {"UTC"}}, "That is not your current password"},
		{url.Values{"name": {"Ana"}, "email": {"new@example.com"}, "tz": {"UTC"}, "current_password": {"wrong password"}}, "That is not your current password"},
	} {
		if r := ana.post("/settings/profile", tc.form); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) {
			t.Fatalf("profile %v: %d, want 422 saying %q\n%s", tc.form, r.StatusCode, tc.want, r.body)
		}
	}
	if a := e.agent("ana@example.com"); a.Name != "Ana" || a.TimeZone != "Europe/Paris" {
		t.Fatalf("a refused change was saved: %+v", a)
	}
	r := ana.post("/settings/profile", url.Values{"name": {"Ana Agent"}, "email": {"ana.agent@example.com"}, "tz": {"America/Chicago"}, "current_password": {"correct horse battery"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Saved.") {
		t.Fatalf("save profile: %d\n%s", r.StatusCode, r.body)
	}
	if a := e.agent("ana.agent@example.com"); a.Name != "Ana Agent" || a.TimeZone != "America/Chicago" {
		t.Fatalf("profile after saving: %+v", a)
	}

	if r := ana.post("/settings/profile/password", url.Values{"current_password": {"wrong password"}, "password": {"a new long password"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("password change with a wrong current password: %d", r.StatusCode)
	}
	r = ana.post("/settings/profile/password", url.Values{"current_password": {"correct horse battery"}, "password": {"a new long password"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "signed out on every other browser") {
		t.Fatalf("password change: %d\n%s", r.StatusCode, r.body)
	}
	if r := ana.get("/settings/profile"); r.StatusCode != http.StatusOK {
		t.Fatalf("this session after the password change: %d", r.StatusCode)
	}
	if r := other.get("/settings/profile"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other session after the password change: %d, want signed out", r.StatusCode)
	}
	fresh := e.client()
	fresh.get("/login")
	if r := fresh.post("/login", url.Values{"email": {"ana.agent@example.com"}, "password": {"a new long password"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("log in with the new password: %d", r.StatusCode)
	}
}

// TestActivityPage: the team's whole trail on its own page, filtered by
// kind and by person, newer pages first, never another team's.
func TestActivityPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, admin, agent := newTeamOfThree(t, e)
	for i := range 3 {
		admin.generate(fmt.Sprintf("Key %d", i))
	}
	rival := e.client()
	rival.signup("Riva Rival", "riva@example.com", "Rival Homes")
	rival.generate("Rival key")

	all := agent.get("/settings/team/activity")
	for _, want := range []string{"Ana Owner invited ada@example.com as an admin", "Ada Admin joined as an admin, invited by Ana Owner", "Ada Admin generated the key “Key 2”"} {
		if !strings.Contains(all.body, want) {
			t.Fatalf("the trail lacks %q\n%s", want, all.body)
		}
	}
	if strings.Contains(all.body, "Rival key") {
		t.Fatal("the trail shows another team's key")
	}
	keys := owner.get("/settings/team/activity?kind=keys")
	if strings.Count(keys.body, `data-action="key_generated"`) != 3 || strings.Contains(keys.body, `data-action="invited"`) {
		t.Fatalf("the keys filter\n%s", keys.body)
	}
	abe := e.agent("abe@example.com")
	mine := owner.get(fmt.Sprintf("/settings/team/activity?agent=%d", abe.ID))
	if strings.Count(mine.body, "<li data-action") != 1 || !strings.Contains(mine.body, "Abe Agent joined") {
		t.Fatalf("the filter by person\n%s", mine.body)
	}
	if r := owner.get("/settings/team/activity?kind=everything"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("an unknown filter: %d", r.StatusCode)
	}
	// 60 more events: two pages.
	ana := e.agent("ana@example.com")
	for i := range 30 {
		inv, _, err := e.db.CreateInvitation(context.Background(), ana.TeamID, ana.ID, fmt.Sprintf("x%d@example.com", i), store.RoleAgent)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.CancelInvitation(context.Background(), ana.TeamID, inv.ID, ana.ID); err != nil {
			t.Fatal(err)
		}
	}
	first := owner.get("/settings/team/activity")
	older := regexpFind(t, first.body, `href="(/settings/team/activity\?before=\d+)"`)
	if strings.Count(first.body, "<li data-action") != 50 {
		t.Fatalf("the first page has %d lines, want 50", strings.Count(first.body, "<li data-action"))
	}
	second := owner.get(older)
	if n := strings.Count(second.body, "<li data-action"); n != 4+3+60-50 || strings.Contains(second.body, "Older activity") {
		t.Fatalf("the second page has %d lines, want the 17 oldest and no further page\n%s", n, second.body)
	}
	if !strings.Contains(second.body, "Ana Owner invited ada@example.com as an admin") || strings.Contains(second.body, "x29@example.com") {
		t.Fatal("the second page does not continue where the first ended")
	}
}

// TestMail: with an SMTP server configured, an invitation is emailed to
// the invitee with the link (which works), and the owner and admins, not
// agents, are told when a key is generated or revoked. Mail never holds up
// a request: with the server down the invitation still succeeds, and the
// failure is logged without the link.
func TestMail(t *testing.T) {
	t.Parallel()
	smtp := mailtest.Start(t)
	m, err := mailer.New(mailer.Config{URL: smtp.URL, From: "Closr <closr@example.com>", TLS: smtp.TLS})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { c.Mail = m }})
	owner := e.client()
	owner.signup("Ana Owner", "ana@example.com", "Sunset Realty")
	link := owner.invite("ada@example.com", "admin")
	msg := smtp.Next(t)
	if strings.Join(msg.To, ",") != "ada@example.com" || msg.Subject() != "Ana Owner invited you to Sunset Realty on Closr" || !strings.Contains(msg.Body, link+"\r\n") {
		t.Fatalf("invitation mail to %v, %q:\n%s", msg.To, msg.Subject(), msg.Body)
	}
	if !strings.Contains(owner.get("/settings/team").body, "Closr also emails it") {
		t.Fatal("the Team page does not say invitations are emailed")
	}
	e.accept(strings.TrimSpace(regexpFind(t, msg.Body, `(http://\S+/invite/\S+)`)), "Ada Admin")
	e.accept(owner.invite("abe@example.com", "agent"), "Abe Agent")
	smtp.Next(t) // Abe's invitation

	owner.get("/settings/integrations")
	key := owner.generate("Zapier")
	msg = smtp.Next(t)
	if strings.Join(msg.To, ",") != "ana@example.com,ada@example.com" || !strings.Contains(msg.Subject(), "Ana Owner generated the API key “Zapier”") ||
		!strings.Contains(msg.Body, key[:12]+"…") || strings.Contains(msg.Body, key[12:]) {
		t.Fatalf("key notice to %v, %q:\n%s", msg.To, msg.Subject(), msg.Body)
	}
	keys, _ := e.db.APIKeys(context.Background(), e.agent("ana@example.com").TeamID)
	owner.send("DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", keys[0].ID), nil, "HX-Request", "true")
	if msg = smtp.Next(t); !strings.Contains(msg.Subject(), "revoked the API key “Zapier”") {
		t.Fatalf("revoke notice %q", msg.Subject())
	}

}

// TestMailFailureNeverFailsARequest: with the SMTP server down, inviting
// still answers with the link; the failure is logged, without the link.
func TestMailFailureNeverFailsARequest(t *testing.T) {
	t.Parallel()
	logs := &storetest.LogBuffer{}
	down, err := mailer.New(mailer.Config{URL: "smtp://u:p@127.0.0.1:1", From: "closr@example.com", Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { c.Mail = down }})
	owner := e.client()
	owner.signup("Ana Owner", "ana@example.com", "Sunset Realty")
	link := owner.invite("ada@example.com", "admin")
	if err := down.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	token := link[strings.LastIndex(link, "/")+1:]
	if !strings.Contains(logs.String(), "mail not sent") || strings.Contains(logs.String()+e.log.String(), token) {
		t.Fatalf("mail log:\n%s", logs.String())
	}
	e.accept(link, "Ada Admin")
}

func regexpFind(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in\n%s", pattern, s)
	}
	return m[1]
}

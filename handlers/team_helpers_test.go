package handlers_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

var inviteLinkRE = regexp.MustCompile(`data-testid="invite-link">(http://[^<]+/invite/[A-Za-z0-9_-]{43})<`)

// invite invites email as role through the Team page and returns the link.
func (c *client) invite(email, role string) string {
	c.e.t.Helper()
	r := c.post("/settings/team/invites", url.Values{"email": {email}, "role": {role}}, "HX-Request", "true")
	m := inviteLinkRE.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil {
		c.e.t.Fatalf("invite %s: %d\n%s", email, r.StatusCode, r.body)
	}
	return m[1]
}

// accept opens an invitation link in a new browser-like client, joins the
// team and returns the signed-in client.
func (e *env) accept(link, name string) *client {
	e.t.Helper()
	c := e.client()
	path := strings.TrimPrefix(link, e.srv.URL)
	if r := c.get(path); r.StatusCode != http.StatusOK {
		e.t.Fatalf("open %s: %d\n%s", path, r.StatusCode, r.body)
	}
	r := c.post(path, url.Values{"name": {name}, "password": {"correct horse battery"}, "tz": {"America/Chicago"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/team" {
		e.t.Fatalf("accept %s: %d %s\n%s", path, r.StatusCode, r.Header.Get("Location"), r.body)
	}
	c.get("/settings/team")
	return c
}

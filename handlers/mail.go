package handlers

import (
	"fmt"

	"github.com/labstack/echo/v4"

	"closr/store"
)

// inviteMail is the invitation email. Its body holds the link, a secret
// like a key: it goes to the mailer and nowhere else.
func inviteMail(inv store.Invitation, link string) (subject, body string) {
	subject = fmt.Sprintf("%s invited you to %s on Closr", inv.InviterName, inv.TeamName)
	body = fmt.Sprintf(`%s invited you to join %s on Closr as %s.

Open this link to choose your name and password and join the team:

%s

The link works once and expires on %s. If you did not expect this invitation, you can ignore this email.
`, inv.InviterName, inv.TeamName, map[string]string{store.RoleAdmin: "an admin", store.RoleAgent: "an agent"}[inv.Role],
		link, inv.ExpiresAt.Format("Jan 2, 2006 15:04 UTC"))
	return subject, body
}

// notifyKey emails the team's owner and admins that a key was generated or
// revoked, as GitHub does: a key made or cut off by surprise gets noticed.
// It runs after the change has committed and never fails the request.
func (s *Server) notifyKey(c echo.Context, verb string, k store.APIKey) {
	if s.mail == nil {
		return
	}
	a := agentOf(c)
	members, err := s.store.Members(c.Request().Context(), a.TeamID)
	if err != nil {
		s.logOf(c).Warn("key notice not sent: members could not be read", "err", err)
		return
	}
	var to []string
	for _, m := range members {
		if store.CanManage(m.Role) {
			to = append(to, m.Email)
		}
	}
	access := "lead intake and web tracker"
	if k.Access == store.AccessMCP {
		access = "MCP: read and write your CRM"
	}
	s.mail.Send(to, fmt.Sprintf("[Closr] %s %s the API key “%s”", a.Name, verb, k.Label), fmt.Sprintf(`%s %s an API key of %s on %s:

  Label:  %s
  Key:    %s…
  Access: %s

If you did not expect this, review the team's keys in Settings → Integrations:
%s/settings/integrations
`, a.Name, verb, a.TeamName, s.now().UTC().Format("Jan 2, 2006 at 15:04 UTC"), k.Label, k.Preview, access, baseURL(c)))
}

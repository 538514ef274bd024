package handlers

import (
	"context"
	"fmt"

	"closr/store"
)

// SendExpiryNotices emails each team's owner and admins about its keys that
// expire within a week (expiryNotice), once a key. cmd/closr calls it every
// hour. Without mail it does nothing: the API keys card warns them anyway.
func (s *Server) SendExpiryNotices(ctx context.Context) error {
	if s.mail == nil {
		return nil
	}
	keys, err := s.store.ExpiringKeys(ctx, expiryNotice)
	if err != nil {
		return err
	}
	var sent []int64
	var to []string
	for i, k := range keys {
		if i == 0 || k.TeamID != keys[i-1].TeamID {
			if to, err = s.managerEmails(ctx, k.TeamID); err != nil {
				return err
			}
		}
		s.mail.Send(to, fmt.Sprintf("[Closr] The API key “%s” expires on %s", k.Label, k.ExpiresAt.Format("Jan 2")), fmt.Sprintf(
			`The API key “%s” (%s…) stops working on %s.

Whatever uses it (a website form, the web tracker, a Zapier zap, an MCP client) will then get an error, and new leads from it will be lost.

To keep it working, open Settings → Integrations in Closr, click Rotate next to the key, put the new key where the old one is, and test it: the old key keeps working until it expires.
`, k.Label, k.Preview, k.ExpiresAt.Format("Monday, Jan 2, 2006 at 15:04 UTC")))
		sent = append(sent, k.ID)
	}
	if len(sent) == 0 {
		return nil
	}
	return s.store.MarkExpiryNotices(ctx, sent)
}

// managerEmails are the addresses of the team's owner and admins.
func (s *Server) managerEmails(ctx context.Context, teamID int64) ([]string, error) {
	members, err := s.store.Members(ctx, teamID)
	if err != nil {
		return nil, err
	}
	var to []string
	for _, m := range members {
		if store.CanManage(m.Role) {
			to = append(to, m.Email)
		}
	}
	return to, nil
}

package handlers

import (
	"context"
	"fmt"
	"slices"

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
	ids := make([]int64, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	// Claimed before sending: another instance may be sending the same
	// notices at the same time. The mailer queues and never fails here.
	claimed, err := s.store.ClaimExpiryNotices(ctx, ids)
	if err != nil {
		return err
	}
	var to []string
	team := int64(0)
	for _, k := range keys {
		if !slices.Contains(claimed, k.ID) {
			continue
		}
		if k.TeamID != team {
			if to, err = s.managerEmails(ctx, k.TeamID); err != nil {
				return err
			}
			team = k.TeamID
		}
		s.mail.Send(to, fmt.Sprintf("[Closr] The API key “%s” expires on %s", k.Label, k.ExpiresAt.Format("Jan 2")), fmt.Sprintf(
			`The API key “%s” (%s…) stops working on %s.

Whatever uses it (a website form, the web tracker, a Zapier zap, an MCP client) will then get an error, and new leads from it will be lost.

To keep it working, open Settings → Integrations in Closr, click Rotate next to the key, put the new key where the old one is, and test it: the old key keeps working until it expires.
`, k.Label, k.Preview, k.ExpiresAt.Format("Monday, Jan 2, 2006 at 15:04 UTC")))
	}
	return nil
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

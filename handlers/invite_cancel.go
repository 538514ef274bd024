package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// cancelInvitation cancels one of the team's open invitations, after a
// confirmation: its link stops working at once.
func (s *Server) cancelInvitation() echo.HandlerFunc {
	return confirmAndRemove(removal[store.Invitation]{
		title: "Cancel invitation",
		nav:   "team",
		list:  s.store.OpenInvitations,
		id:    func(i store.Invitation) int64 { return i.ID },
		confirm: func(_ *store.Agent, i store.Invitation) views.Removal {
			return views.CancelInviteRemoval(views.InviteRow{ID: i.ID, Email: i.Email})
		},
		remove: func(ctx context.Context, a *store.Agent, id int64) (store.Invitation, error) {
			return s.store.CancelInvitation(ctx, a.TeamID, id, a.ID)
		},
		removed: func(c echo.Context, a *store.Agent, i store.Invitation) error {
			s.logOf(c).Info("invitation cancelled", "team", a.TeamID, "invitation_id", i.ID)
			t, err := s.team(c)
			if err != nil {
				return err
			}
			t.Notice = fmt.Sprintf("Cancelled the invitation of %s. Its link no longer works.", i.Email)
			return s.renderTeam(c, http.StatusOK, t)
		},
	})
}

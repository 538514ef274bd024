package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// removeMember removes a member from the team (an owner or admin), or, on
// the agent's own id, takes them off it: either way their sessions end at
// once. After a removal the page shows the keys they generated, to rotate.
func (s *Server) removeMember() echo.HandlerFunc {
	remove := confirmAndRemove(removal[store.Member]{
		title: "Remove member",
		nav:   "team",
		list:  s.store.Members,
		id:    func(m store.Member) int64 { return m.ID },
		confirm: func(a *store.Agent, m store.Member) views.Removal {
			if m.ID == a.ID {
				return views.LeaveRemoval(a.ID, a.TeamName)
			}
			return views.RemoveMemberRemoval(memberRow(m), a.TeamName)
		},
		remove: func(ctx context.Context, a *store.Agent, id int64) (store.Member, error) {
			if id == a.ID {
				return s.store.LeaveTeam(ctx, a.TeamID, id)
			}
			return s.store.RemoveAgent(ctx, a.TeamID, id, a.ID)
		},
		removed: func(c echo.Context, a *store.Agent, m store.Member) error {
			if m.ID == a.ID {
				return s.left(c, a)
			}
			s.logOf(c).Info("agent removed", "team", a.TeamID, "agent_id", m.ID)
			t, err := s.team(c)
			if err != nil {
				return err
			}
			t.Notice = fmt.Sprintf("Removed %s. They were signed out everywhere, and invitations they sent were cancelled.", m.Name)
			if len(t.Rotation) > 0 {
				t.Notice += " Rotate the keys they generated, below."
			}
			return s.renderTeam(c, http.StatusOK, t)
		},
	})
	return func(c echo.Context) error {
		id, err := idParam(c)
		if err != nil {
			return err
		}
		switch a := agentOf(c); {
		case id == a.ID && a.Role == store.RoleOwner:
			return store.ErrOwner
		case id != a.ID && !store.CanManage(a.Role):
			return forbidden(a)
		}
		return remove(c)
	}
}

// left answers an agent who has just left the team (a plain form, after
// the confirmation page): their sessions are gone, so the cookie forgets
// its session too.
func (s *Server) left(c echo.Context, a *store.Agent) error {
	s.logOf(c).Info("agent left the team", "team", a.TeamID, "agent_id", a.ID)
	sess := sessionOf(c)
	delete(sess.Values, "sid")
	sess.Values["csrf"] = randomID(32)
	if err := s.saveSession(c, sess); err != nil {
		return err
	}
	c.Set(ctxAgent, (*store.Agent)(nil))
	c.Set(ctxCSRF, sess.Values["csrf"])
	return messagePage(c, http.StatusOK, "You left "+a.TeamName,
		fmt.Sprintf("You are no longer on %s and have been signed out. To come back, ask its owner or an admin for a new invitation.", a.TeamName), "Log in", "/login")
}

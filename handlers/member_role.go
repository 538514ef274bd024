package handlers

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// changeRole makes a member an admin or an agent, or (the owner only) the
// team's owner, the old owner becoming an admin.
func (s *Server) changeRole(c echo.Context) error {
	a := agentOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	role := c.FormValue("role")
	switch role {
	case store.RoleAdmin, store.RoleAgent:
	case store.RoleOwner:
		if a.Role != store.RoleOwner {
			return &problem{Status: http.StatusForbidden, Code: "forbidden", Message: "Only the team's owner can make someone else the owner."}
		}
		if !isHTMX(c) && c.FormValue("confirm") != "yes" {
			return s.confirmTransfer(c, id)
		}
	default:
		return &problem{Status: http.StatusBadRequest, Code: "bad_role", Message: "Choose a role: Agent or Admin."}
	}
	m, err := s.store.ChangeRole(c.Request().Context(), a.TeamID, id, a.ID, role)
	if err != nil {
		return err
	}
	s.logOf(c).Info("role changed", "team", a.TeamID, "agent_id", m.ID, "role", role)
	notice := fmt.Sprintf("%s is now %s.", m.Name, map[string]string{store.RoleAdmin: "an admin", store.RoleAgent: "an agent"}[role])
	if role == store.RoleOwner {
		a.Role = store.RoleAdmin // for the page below: the change has committed
		notice = fmt.Sprintf("%s is now the owner of %s, and you are an admin.", m.Name, a.TeamName)
	}
	t, err := s.team(c)
	if err != nil {
		return err
	}
	t.Notice = notice
	return s.renderTeam(c, http.StatusOK, t)
}

// confirmTransfer asks before a transfer of ownership when JavaScript is
// off (HTMX asks with hx-confirm).
func (s *Server) confirmTransfer(c echo.Context, id int64) error {
	members, err := s.store.Members(c.Request().Context(), agentOf(c).TeamID)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.ID == id {
			return render(c, http.StatusOK, views.ConfirmRemovalPage(page(c, "Transfer ownership", "team"), views.TransferRemoval(memberRow(m))))
		}
	}
	return store.ErrNotFound
}

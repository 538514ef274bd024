package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// deleteTestLead removes a test lead (Test this key, Send test lead) in
// one click. A real lead cannot be removed this way: it is not found, as
// another team's lead is not.
func (s *Server) deleteTestLead(c echo.Context) error {
	a := agentOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	l, err := s.store.DeleteTestLead(c.Request().Context(), a.TeamID, id)
	if err != nil {
		return err
	}
	s.logOf(c).Info("test lead removed", "team", a.TeamID, "lead_id", l.ID)
	if isHTMX(c) {
		return c.HTML(http.StatusOK, "") // the row removes itself (hx-swap="delete")
	}
	return c.Redirect(http.StatusSeeOther, "/leads")
}

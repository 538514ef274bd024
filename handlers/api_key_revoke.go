package handlers

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// revokeAPIKey revokes one of the team's keys. HTMX has already asked for
// confirmation; a plain form post gets a confirmation page first.
func (s *Server) revokeAPIKey(c echo.Context) error {
	a := agentOf(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	ctx := c.Request().Context()
	if !isHTMX(c) && c.FormValue("confirm") != "yes" {
		keys, err := s.store.APIKeys(ctx, a.TeamID)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.ID == id {
				return render(c, http.StatusOK, views.RevokeConfirmPage(page(c, "Revoke key", "integrations"), keyRow(k)))
			}
		}
		return store.ErrNotFound
	}
	k, err := s.store.RevokeAPIKey(ctx, a.TeamID, id, a.ID)
	if err != nil {
		return err
	}
	s.logOf(c).Info("api key revoked", "team", a.TeamID, "key_id", k.ID, "preview", k.Preview)
	card, err := s.keysCard(c)
	if err != nil {
		return err
	}
	card.Notice = fmt.Sprintf("Revoked “%s”. Any tool still using it now gets an error.", k.Label)
	return s.renderIntegrations(c, http.StatusOK, card)
}

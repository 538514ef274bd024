package handlers

import (
	"fmt"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// revokeAPIKey revokes one of the team's keys. HTMX has already asked for
// confirmation; a plain form post gets a confirmation page first.
func (s *Server) revokeAPIKey(c echo.Context) error {
	a := agentOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if needsConfirmation(c) {
		keys, err := s.store.APIKeys(ctx, a.TeamID)
		return confirmRemoval(c, keys, err, id, func(k store.APIKey) (int64, templ.Component) {
			return k.ID, views.RevokeConfirmPage(page(c, "Revoke key", "integrations"), keyRow(k))
		})
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

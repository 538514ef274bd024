package handlers

import (
	"fmt"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// removeTrackedDomain removes one of the team's domains. HTMX has already
// asked for confirmation; a plain form post gets a confirmation page first.
func (s *Server) removeTrackedDomain(c echo.Context) error {
	a := agentOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if needsConfirmation(c) {
		domains, err := s.store.TrackedDomains(ctx, a.TeamID)
		return confirmRemoval(c, domains, err, id, func(d store.TrackedDomain) (int64, templ.Component) {
			return d.ID, views.RemoveDomainConfirmPage(page(c, "Remove domain", "integrations"),
				views.DomainRow{ID: d.ID, Domain: d.Domain, Added: d.CreatedAt})
		})
	}
	d, err := s.store.RemoveTrackedDomain(ctx, a.TeamID, id)
	if err != nil {
		return err
	}
	s.logOf(c).Info("tracked domain removed", "team", a.TeamID, "domain_id", d.ID)
	card, err := s.trackerCard(c)
	if err != nil {
		return err
	}
	card.Notice = fmt.Sprintf("Removed %s.", d.Domain)
	if len(card.Domains) == 0 {
		card.Notice += " No domains are listed, so every site is accepted again."
	}
	return s.renderTracker(c, http.StatusOK, card)
}

package handlers

import (
	"context"
	"fmt"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// removeTrackedDomain removes one of the team's domains, after a
// confirmation.
func (s *Server) removeTrackedDomain() echo.HandlerFunc {
	return confirmAndRemove(removal[store.TrackedDomain]{
		title: "Remove domain",
		nav:   "integrations",
		list:  s.store.TrackedDomains,
		id:    func(d store.TrackedDomain) int64 { return d.ID },
		confirm: func(_ *store.Agent, d store.TrackedDomain) views.Removal {
			return views.RemoveDomainRemoval(views.DomainRow{ID: d.ID, Domain: d.Domain, Added: d.CreatedAt})
		},
		remove: func(ctx context.Context, a *store.Agent, id int64) (store.TrackedDomain, error) {
			return s.store.RemoveTrackedDomain(ctx, a.TeamID, id)
		},
		removed: func(c echo.Context, a *store.Agent, d store.TrackedDomain) error {
			s.logOf(c).Info("tracked domain removed", "team", a.TeamID, "domain_id", d.ID)
			card, err := s.trackerCard(c)
			if err != nil {
				return err
			}
			notice := fmt.Sprintf("Removed %s.", d.Domain)
			if len(card.Domains) == 0 {
				notice += " No domains are listed, so every site is accepted again."
			}
			return s.trackerChanged(c, card, notice)
		},
	})
}

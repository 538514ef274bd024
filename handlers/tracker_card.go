package handlers

import (
	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// recentVisitors is how many anonymous visitors the Web tracker card lists.
const recentVisitors = 10

// trackerCard loads the signed-in agent's team's Web tracker card.
func (s *Server) trackerCard(c echo.Context) (views.TrackerCard, error) {
	ctx, team := c.Request().Context(), agentOf(c).TeamID
	domains, err := s.store.TrackedDomains(ctx, team)
	if err != nil {
		return views.TrackerCard{}, err
	}
	stats, err := s.store.TrackerStats(ctx, team, s.now())
	if err != nil {
		return views.TrackerCard{}, err
	}
	visitors, err := s.store.AnonymousVisitors(ctx, team, recentVisitors)
	if err != nil {
		return views.TrackerCard{}, err
	}
	card := views.TrackerCard{CanManage: store.CanManage(agentOf(c).Role), BaseURL: baseURL(c), LastEvent: stats.LastEvent, Last24h: stats.Last24h}
	for _, d := range domains {
		card.Domains = append(card.Domains, views.DomainRow{ID: d.ID, Domain: d.Domain, Added: d.CreatedAt})
	}
	for _, v := range visitors {
		card.Visitors = append(card.Visitors, views.VisitorRow{FirstSeen: v.FirstSeen, LastSeen: v.LastSeen, PageViews: v.PageViews, LastURL: v.LastURL})
	}
	return card, nil
}

// renderTracker answers with the card alone to HTMX and with the whole
// Integrations page to a plain form post.
func (s *Server) renderTracker(c echo.Context, status int, card views.TrackerCard) error {
	if isHTMX(c) {
		return render(c, status, views.WebTrackerCard(csrfToken(c), card))
	}
	return s.renderPage(c, status, nil, &card)
}

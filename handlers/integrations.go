package handlers

import (
	"cmp"
	"net/http"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// integrationsPage is Settings → Integrations, with what a plain form post
// that redirected here carried (see carried).
func (s *Server) integrationsPage(c echo.Context) error {
	sess := sessionOf(c)
	m, ok := takeCarried(sess)
	if !ok {
		return s.renderPage(c, http.StatusOK, nil, nil)
	}
	keys, err := s.keysCard(c)
	var tracker views.TrackerCard
	if err == nil {
		tracker, err = s.trackerCard(c)
	}
	if err != nil {
		if m.NewKey == "" {
			return err // a notice is not worth a broken page: the next load shows it
		}
		// The key exists, and this page is the only place it can ever be
		// shown: show it, even without the rest.
		s.logOf(c).Error("load the integrations page after generating a key", "err", err)
		keys, tracker = keysUnlisted(), views.TrackerCard{BaseURL: baseURL(c)}
	}
	keys.NewKey, keys.NewFor, keys.NewAccess = m.NewKey, m.NewFor, m.NewAccess
	keys.Notice = cmp.Or(m.KeyNotice, keys.Notice)
	tracker.Notice = m.TrackerNotice
	// Shown once: a reload shows the page without them.
	if err := s.saveSession(c, sess); err != nil {
		return err
	}
	return s.renderPage(c, http.StatusOK, &keys, &tracker)
}

// renderPage renders the whole Integrations page; a card the action did
// not change (nil) is loaded fresh.
func (s *Server) renderPage(c echo.Context, status int, keys *views.KeysCard, tracker *views.TrackerCard) error {
	if keys == nil {
		k, err := s.keysCard(c)
		if err != nil {
			return err
		}
		keys = &k
	}
	if tracker == nil {
		t, err := s.trackerCard(c)
		if err != nil {
			return err
		}
		tracker = &t
	}
	in := views.Integrations{Keys: *keys, Tracker: *tracker, BaseURL: baseURL(c)}
	if keys.CanManage {
		var err error
		if in.Rotation, err = s.rotation(c.Request().Context(), agentOf(c).TeamID); err != nil {
			return err
		}
	}
	return render(c, status, views.IntegrationsPage(page(c, "Integrations", "integrations"), in))
}

// recentActivity is how many lines of the team's audit trail the API keys
// card shows; the rest is on the activity page.
const recentActivity = 8

// keysCard loads the signed-in agent's team's keys and latest activity.
func (s *Server) keysCard(c echo.Context) (views.KeysCard, error) {
	ctx, a := c.Request().Context(), agentOf(c)
	keys, err := s.store.APIKeys(ctx, a.TeamID)
	if err != nil {
		return views.KeysCard{}, err
	}
	events, err := s.store.TeamEvents(ctx, a.TeamID, store.EventFilter{Limit: recentActivity})
	if err != nil {
		return views.KeysCard{}, err
	}
	card := views.KeysCard{CanManage: store.CanManage(a.Role), Max: store.MaxActiveKeys, Limited: len(keys) >= store.MaxActiveKeys,
		Events: activityRows(events)}
	for _, k := range keys {
		card.Keys = append(card.Keys, keyRow(k))
	}
	return card, nil
}

func keyRow(k store.APIKey) views.KeyRow {
	return views.KeyRow{ID: k.ID, Label: k.Label, Preview: k.Preview, Access: k.Access,
		CreatedBy: k.CreatedByName, CreatedAt: k.CreatedAt, LastUsed: k.LastUsedAt}
}

// renderIntegrations answers with the card alone to HTMX and with the whole
// page to a plain form post.
func (s *Server) renderIntegrations(c echo.Context, status int, card views.KeysCard) error {
	if isHTMX(c) {
		return render(c, status, views.APIKeysCard(csrfToken(c), card))
	}
	return s.renderPage(c, status, &card, nil)
}

// baseURL is this server's own address as the browser reached it.
func baseURL(c echo.Context) string { return c.Scheme() + "://" + c.Request().Host }

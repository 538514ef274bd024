package handlers

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"closr/views"
)

// carried is what a plain form post on Settings → Integrations says to the
// page it redirects to (Post/Redirect/Get): the page shows it once, and a
// reload shows the page without posting again, so it never makes a second
// key. It travels in the session cookie, which is encrypted and
// authenticated (see newCookieStore), so a new key is shown to the browser
// that made it and kept nowhere on the server.
type carried struct {
	KeyNotice     string        `json:"k,omitempty"`
	TrackerNotice string        `json:"t,omitempty"`
	New           *views.NewKey `json:"n,omitempty"` // the full key, with what the COPY NOW panel shows with it
}

const carriedFlash = "carried"

// redirectCarrying sends a plain form post to the page at to, carrying m.
// The address has no #fragment: a page opened at one does not honour
// autofocus, which is what brings the notice (or the new key's Copy
// button) into view and announces it.
func (s *Server) redirectCarrying(c echo.Context, to string, m carried) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sess := sessionOf(c)
	sess.AddFlash(string(b), carriedFlash)
	if err := s.saveSession(c, sess); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// takeCarried removes what a redirect carried from the session (in
// memory: the caller saves the session once the page is sure to show it).
func takeCarried(sess *sessions.Session) (m carried, ok bool) {
	for _, f := range sess.Flashes(carriedFlash) {
		if s, isString := f.(string); isString && json.Unmarshal([]byte(s), &m) == nil {
			ok = true
		}
	}
	return m, ok
}

// keysChanged answers a change to the keys that worked: HTMX gets the
// refreshed card with the notice, a plain form post a redirect to it.
func (s *Server) keysChanged(c echo.Context, notice string) error {
	if !isHTMX(c) {
		return s.redirectCarrying(c, "/settings/integrations", carried{KeyNotice: notice})
	}
	card, err := s.keysCard(c)
	if err != nil {
		return err
	}
	card.Notice = notice
	return render(c, http.StatusOK, views.APIKeysCard(csrfToken(c), card))
}

// trackerChanged is keysChanged for the Web tracker card.
func (s *Server) trackerChanged(c echo.Context, card views.TrackerCard, notice string) error {
	if !isHTMX(c) {
		return s.redirectCarrying(c, "/settings/integrations", carried{TrackerNotice: notice})
	}
	card.Notice = notice
	return render(c, http.StatusOK, views.WebTrackerCard(csrfToken(c), card))
}

package handlers

import (
	"bytes"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// render writes a templ component as HTML with the given status. The page is
// rendered into a buffer first so a failure can still become an error page.
func render(c echo.Context, status int, t templ.Component) error {
	var buf bytes.Buffer
	clock, ok := c.Get(ctxClock).(views.Clock)
	if !ok { // a page outside the session routes: it shows no agent's times
		clock = views.Clock{Now: time.Now(), Locale: views.ParseLocale(c.Request().Header.Get("Accept-Language"))}
	}
	if err := t.Render(views.WithClock(c.Request().Context(), clock), &buf); err != nil {
		return err
	}
	pageHeaders(c.Response().Header())
	return c.HTMLBlob(status, buf.Bytes())
}

// page is the frame data for a full page.
func page(c echo.Context, title, nav string) views.Page {
	p := views.Page{Title: title, CSRF: csrfToken(c), Nav: nav}
	if a := agentOf(c); a != nil {
		p.Agent = &views.Agent{Name: a.Name, TeamName: a.TeamName}
	}
	return p
}

// clockFor is how pages show times and phone numbers to the agent (or the
// signed-out visitor) of this request: see views.Clock.
func (s *Server) clockFor(c echo.Context, a *store.Agent) views.Clock {
	locale := views.ParseLocale(c.Request().Header.Get("Accept-Language"))
	region := locale.Region()
	if region == "" {
		region = s.phoneRegion
	}
	zone := time.UTC
	if a != nil {
		zone = agentZone(a)
	}
	return views.Clock{Now: s.now(), Zone: zone, Locale: locale, Region: region}
}

// agentOf returns the signed-in agent, or nil.
func agentOf(c echo.Context) *store.Agent {
	a, _ := c.Get(ctxAgent).(*store.Agent)
	return a
}

// messagePage answers with a full page that says what happened and where to go.
func messagePage(c echo.Context, status int, heading, message, linkText, linkURL string) error {
	return render(c, status, views.MessagePage(page(c, heading, ""), heading, message, linkText, linkURL))
}

// noStore marks a response that must not be kept by any cache.
func noStore(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
}

// idParam is the route's :id; a malformed one is ErrNotFound, like an id
// that is not the team's.
func idParam(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, store.ErrNotFound
	}
	return id, nil
}

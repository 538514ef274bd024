package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"closr/handlers/intake"
	"closr/store"
)

// track is POST /api/track: page views and identify calls from t.js. It
// answers 202 only once the event is committed; an event it chooses not to
// keep also gets 202, with X-Closr-Dropped saying why, so a site never
// shows an error for it.
func (s *Server) track(c echo.Context) error {
	allowCORS(c)
	c.Response().Header()["Access-Control-Expose-Headers"] = hdrExposeTracker
	r := c.Request()
	key, inHeader, err := s.headerKey(c)
	if err != nil {
		return err
	}
	body, err := readBody(c, maxTrackBody, errTrackTooLarge)
	if err != nil {
		return err
	}
	// An event that was read but fails validation still carries its key:
	// the key is checked first, so a bad key always gets the one 401 and
	// field details go only to its owner.
	ev, invalid := parseTrackPayload(r.Header.Get("Content-Type"), body)
	if invalid != nil && toProblem(invalid).Status != http.StatusUnprocessableEntity {
		return invalid
	}
	if !inHeader {
		if key, err = s.authenticate(c, strings.TrimSpace(ev.APIKey)); err != nil {
			return err
		}
	}
	// The tracker runs in web pages, so an MCP key here is always one that
	// was embedded on a site.
	if key.Access == store.AccessMCP {
		return errSecretKeyFromBrowser
	}
	if invalid != nil {
		return invalid
	}
	if _, ok, err := s.checkOrigin(c, key.TeamID); err != nil {
		return err
	} else if !ok {
		// A foreign page may not even read the answer.
		c.Response().Header().Del("Access-Control-Allow-Origin")
		if err := s.confirmKey(c, key); err != nil {
			return err
		}
		used(c, store.UseRefusedOrigin)
		return dropped(c, "origin")
	}
	now := s.now()
	if ev.Type == "identify" {
		return s.identify(c, key, ev, now)
	}
	// Every string from the page is redacted: a key pasted into a page's
	// address, title or link must not be stored.
	rd := intake.Redact
	err = s.store.RecordPageView(r.Context(), store.PageViewInput{
		TeamID: key.TeamID, KeyID: key.ID, VisitorID: ev.VisitorID,
		URL: rd(ev.URL), Title: rd(ev.Title), Referrer: rd(ev.Referrer),
		UTMSource: rd(ev.UTMSource), UTMMedium: rd(ev.UTMMedium), UTMCampaign: rd(ev.UTMCampaign),
		UTMTerm: rd(ev.UTMTerm), UTMContent: rd(ev.UTMContent), Clsr: rd(ev.Clsr), ScreenWidth: ev.ScreenWidth, At: now,
	})
	if err != nil {
		return err
	}
	used(c, store.UsePageView)
	return c.NoContent(http.StatusAccepted)
}

// identify ties the event's visitor to the lead with its email or phone.
func (s *Server) identify(c echo.Context, key store.APIKey, ev trackEvent, now time.Time) error {
	err := s.intake.Identify(c.Request().Context(), intake.Identity{
		Key: key, VisitorID: ev.VisitorID, Email: ev.Email, Phone: ev.Phone, Name: ev.Name, At: now,
	})
	if errors.Is(err, intake.ErrNoIdentity) {
		if err := s.confirmKey(c, key); err != nil {
			return err
		}
		return dropped(c, "no-identity")
	}
	if err != nil {
		return err
	}
	used(c, store.UseIdentify)
	return c.NoContent(http.StatusAccepted)
}

// dropped answers an event that was accepted but not kept.
func dropped(c echo.Context, why string) error {
	c.Response().Header().Set("X-Closr-Dropped", why)
	return c.NoContent(http.StatusAccepted)
}

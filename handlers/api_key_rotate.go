package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"closr/store"
)

// rotateAPIKey makes the replacement of one of the team's keys, with the
// same access, and opens the COPY NOW panel for it. The old key keeps
// working until it is revoked or its grace period ends.
func (s *Server) rotateAPIKey(c echo.Context) error {
	a := agentOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, err := s.store.APIKey(ctx, a.TeamID, id)
	if err != nil {
		return err
	}
	old, repl, key, err := s.store.RotateAPIKey(ctx, a.TeamID, id, a.ID, rotatedLabel(cur.Label, s.now().In(agentZone(a))))
	switch {
	case errors.Is(err, store.ErrKeyLimit):
		return &problem{Status: http.StatusConflict, Code: "key_limit", Message: fmt.Sprintf(
			"Your team already has %d active keys, the most it can have, so a replacement cannot be made. Revoke a key you no longer use, then rotate again.", store.MaxActiveKeys)}
	case errors.Is(err, store.ErrRotating):
		return &problem{Status: http.StatusConflict, Code: "already_rotating", Message: fmt.Sprintf(
			"“%s” is already being replaced. Finish that rotation, or revoke the unused replacement and rotate again.", cur.Label)}
	case err != nil:
		return err
	}
	s.logOf(c).Info("api key rotated", "team", a.TeamID, "key_id", old.ID, "replacement_id", repl.ID, "preview", repl.Preview)
	s.notifyKey(c, "generated", repl)
	return s.showNewKey(c, repl, key, &old)
}

// rotatedSuffix ends the label of a replacement: "… (rotated Nov 28)".
var rotatedSuffix = regexp.MustCompile(` \(rotated [A-Z][a-z]{2} [0-9]{1,2}\)$`)

// rotatedLabel is the label of the replacement of a key labelled old: the
// same words, dated in the agent's time zone, within maxLabel; a key
// rotated before loses its date.
func rotatedLabel(old string, now time.Time) string {
	base := rotatedSuffix.ReplaceAllString(old, "")
	suffix := " (rotated " + now.Format("Jan 2") + ")"
	if room := maxLabel - utf8.RuneCountInString(suffix); utf8.RuneCountInString(base) > room {
		base = strings.TrimSpace(string([]rune(base)[:room-1])) + "…"
	}
	return base + suffix
}

// agentZone is the agent's time zone, UTC if it cannot be loaded.
func agentZone(a *store.Agent) *time.Location {
	if loc, err := time.LoadLocation(a.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

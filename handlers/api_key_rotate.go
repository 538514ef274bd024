package handlers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"closr/store"
)

// rotateAPIKey starts the guide's rotation of one key: it generates a
// replacement with the same access, labelled “<label> (rotated Nov 28)”,
// shows it once in the COPY NOW panel with the steps that follow, and
// leaves the old key working until it is revoked.
func (s *Server) rotateAPIKey(c echo.Context) error {
	a := agentOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	keys, err := s.store.APIKeys(ctx, a.TeamID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(keys, func(k store.APIKey) bool { return k.ID == id })
	if i < 0 {
		return store.ErrNotFound
	}
	old := keys[i]
	k, key, err := s.store.CreateAPIKey(ctx, a.TeamID, a.ID, rotatedLabel(old.Label, s.now().In(agentZone(a))), old.Access)
	if errors.Is(err, store.ErrKeyLimit) {
		return s.keyFormError(c, "", old.Access, fmt.Sprintf(
			"Your team already has %d active keys, so “%s” cannot be rotated yet. Revoke a key you no longer use, then rotate again.", store.MaxActiveKeys, old.Label), "")
	}
	if err != nil {
		return err
	}
	s.logOf(c).Info("api key rotated", "team", a.TeamID, "key_id", k.ID, "replaces", old.ID, "preview", k.Preview, "access", k.Access)
	s.notifyKey(c, "generated", k)
	return s.showNewKey(c, k, key, fmt.Sprintf(
		"Next: paste the new key into the integration that uses “%s”, test it end to end (send a test lead), then revoke “%s” (%s…) below. It keeps working until you do.",
		old.Label, old.Label, old.Preview))
}

// rotatedLabel is the replacement's label: the old one (without an earlier
// rotation's date) and the day, kept within maxLabel characters.
func rotatedLabel(label string, now time.Time) string {
	if i := strings.LastIndex(label, " (rotated "); i > 0 && strings.HasSuffix(label, ")") {
		label = label[:i]
	}
	suffix := " (rotated " + now.Format("Jan 2") + ")"
	if room := maxLabel - utf8.RuneCountInString(suffix); utf8.RuneCountInString(label) > room {
		label = string([]rune(label)[:room-1]) + "…"
	}
	return label + suffix
}

// agentZone is the agent's time zone, UTC if it cannot be loaded.
func agentZone(a *store.Agent) *time.Location {
	if loc, err := time.LoadLocation(a.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"closr/views"
)

// graces are the periods a key being replaced may be given before it
// stops working, as the form sends them.
var graces = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour}

// expireAPIKey makes one of the team's keys stop working after a grace
// period (instead of revoking it by hand once its replacement works).
func (s *Server) expireAPIKey(c echo.Context) error {
	a := agentOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := s.store.APIKey(ctx, a.TeamID, id); err != nil {
		return err // another team's key is not found, whatever the form says
	}
	grace, ok := graces[c.FormValue("after")]
	if !ok {
		return &problem{Status: http.StatusUnprocessableEntity, Code: "validation_failed",
			Message: "Choose when the key stops working: in 1 hour, 24 hours or 7 days."}
	}
	k, err := s.store.ExpireAPIKey(ctx, a.TeamID, id, a.ID, s.now().Add(grace))
	if err != nil {
		return err
	}
	s.logOf(c).Info("api key expiry set", "team", a.TeamID, "key_id", k.ID, "expires_at", k.ExpiresAt)
	return s.keysChanged(c, fmt.Sprintf("“%s” stops working %s. Until then its last use shows what still uses it.",
		k.Label, graceName(c.FormValue("after"))))
}

func graceName(v string) string {
	for _, g := range views.Graces {
		if g.Value == v {
			return "in " + g.Name
		}
	}
	return ""
}

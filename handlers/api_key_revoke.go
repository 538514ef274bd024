package handlers

import (
	"context"
	"fmt"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// revokeAPIKey revokes one of the team's keys, after a confirmation that
// names its last use.
func (s *Server) revokeAPIKey() echo.HandlerFunc {
	return confirmAndRemove(removal[store.APIKey]{
		title: "Revoke key",
		nav:   "integrations",
		list:  s.store.APIKeys,
		id:    func(k store.APIKey) int64 { return k.ID },
		confirm: func(a *store.Agent, k store.APIKey) views.Removal {
			return views.RevokeKeyRemoval(keyRow(k, nil, s.now()), views.Clock{Now: s.now(), Zone: agentZone(a)})
		},
		remove: func(ctx context.Context, a *store.Agent, id int64) (store.APIKey, error) {
			return s.store.RevokeAPIKey(ctx, a.TeamID, id, a.ID)
		},
		removed: func(c echo.Context, a *store.Agent, k store.APIKey) error {
			s.logOf(c).Info("api key revoked", "team", a.TeamID, "key_id", k.ID, "preview", k.Preview)
			s.notifyKey(c, "revoked", k)
			return s.keysChanged(c, fmt.Sprintf("Revoked “%s”. Any tool still using it now gets an error, and its requests show under Revoked keys.", k.Label))
		},
	})
}

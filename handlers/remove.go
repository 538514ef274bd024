package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// removal is something an agent removes from a Settings page after a
// confirmation: a key to revoke, a tracked domain, an invitation, a member.
type removal[T any] struct {
	title   string // the confirmation page's title
	nav     string // the Settings page it belongs to
	list    func(ctx context.Context, teamID int64) ([]T, error)
	id      func(T) int64
	confirm func(a *store.Agent, it T) views.Removal
	remove  func(ctx context.Context, a *store.Agent, id int64) (T, error)
	// removed logs the removal and answers with the refreshed card.
	removed func(c echo.Context, a *store.Agent, it T) error
}

// confirmAndRemove is the handler of a removal. HTMX has already asked for
// confirmation; a plain form post gets a confirmation page first, and only
// for an item of the agent's own team.
func confirmAndRemove[T any](r removal[T]) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := agentOf(c)
		id, err := idParam(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		if !isHTMX(c) && c.FormValue("confirm") != "yes" {
			items, err := r.list(ctx, a.TeamID)
			if err != nil {
				return err
			}
			for _, it := range items {
				if r.id(it) == id {
					return render(c, http.StatusOK, views.ConfirmRemovalPage(page(c, r.title, r.nav), r.confirm(a, it)))
				}
			}
			return store.ErrNotFound
		}
		it, err := r.remove(ctx, a, id)
		if err != nil {
			return err
		}
		return r.removed(c, a, it)
	}
}

package handlers

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"closr/store"
)

// requireManager lets only the team's owner and admins through: keys,
// tracked domains and members are theirs to manage. The store checks the
// role again inside each change, so a request under way when its agent was
// removed or demoted changes nothing.
func (s *Server) requireManager(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if a := agentOf(c); !store.CanManage(a.Role) {
			return forbidden(a)
		}
		return next(c)
	}
}

// forbidden says what the agent's role does not allow, and whom to ask.
func forbidden(a *store.Agent) *problem {
	return &problem{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf(
		"Only the owner and admins of %s can do this: manage API keys, tracked domains and members. You are an agent on the team; ask an admin or the owner.",
		a.TeamName)}
}

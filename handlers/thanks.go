package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"closr/views"
)

// thanks is where a plain form lands after a lead was accepted.
func (s *Server) thanks(c echo.Context) error {
	return render(c, http.StatusOK, views.ThanksPage(httpURL(c.Request().Referer())))
}

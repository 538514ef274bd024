package handlers

// The API is called cross-origin by agents' sites: CORS headers and preflight.

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// CORS header values, shared so that setting them allocates nothing.
var (
	hdrAnyOrigin     = []string{"*"}
	hdrExposeAPI     = []string{"Retry-After, X-Request-Id"}
	hdrExposeTracker = []string{"Retry-After, X-Request-Id, X-Closr-Dropped"}
)

// allowCORS lets any site call the endpoint with fetch; no credentials are
// involved (the key travels in a header or the body, never a cookie).
func allowCORS(c echo.Context) {
	h := c.Response().Header()
	h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	h["Access-Control-Expose-Headers"] = hdrExposeAPI
}

// preflight answers CORS preflight requests for the API.
func preflight(c echo.Context) error {
	allowCORS(c)
	h := c.Response().Header()
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, X-Api-Key, Authorization, Idempotency-Key, Accept")
	h.Set("Access-Control-Max-Age", "86400")
	return c.NoContent(http.StatusNoContent)
}

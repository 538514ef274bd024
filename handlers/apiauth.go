package handlers

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"closr/store"
)

// errBadKey is the one answer for a missing, malformed, unknown or revoked
// key, so a caller learns nothing about which it was.
var errBadKey = &problem{Status: http.StatusUnauthorized, Code: "invalid_api_key",
	Message: "Send a valid Closr API key in the x-api-key header, as Authorization: Bearer, or in an api_key form field. Generate one in Settings → Integrations."}

// presentedKey returns the key a request carries: the x-api-key header, then
// Authorization: Bearer, then the body's api_key field.
func presentedKey(r *http.Request, bodyKey string) string {
	if k := strings.TrimSpace(r.Header.Get("X-Api-Key")); k != "" {
		return k
	}
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return strings.TrimSpace(bodyKey)
}

// headerKey authenticates a key sent in a header before the body is read,
// so a wrong key is the caller's first problem and costs no parsing. ok is
// false when no header carries a key (it may be in the body).
func (s *Server) headerKey(c echo.Context) (k store.APIKey, ok bool, err error) {
	key := presentedKey(c.Request(), "")
	if key == "" {
		return store.APIKey{}, false, nil
	}
	k, err = s.authenticate(c, key)
	return k, true, err
}

// readBody reads a request body of at most limit bytes; a larger one is
// tooLarge.
func readBody(c echo.Context, limit int64, tooLarge error) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, errUnreadable("The request body could not be read.")
	}
	return body, nil
}

// confirmKey asks again whether key is active before an answer that
// stores nothing (a honeypot's, a dropped tracker event's, an MCP request
// that calls no tool): a write checks its key in its own transaction, but
// on PostgreSQL this instance's memory may not yet have heard of a revoke
// made on another. A revoked key gets the same 401 as at the door.
func (s *Server) confirmKey(c echo.Context, key store.APIKey) error {
	ok, err := s.store.KeyActiveNow(c.Request().Context(), key.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errBadKey
	}
	return nil
}

// authenticate finds the active key and charges the request to the key's
// rate limit. Malformed keys never reach the store. A key revoked or
// expired lately gets the same 401 as an unknown one, but the request is
// counted against it (see countUse), so the agent can see what still uses
// it.
func (s *Server) authenticate(c echo.Context, key string) (store.APIKey, error) {
	if !store.WellFormedKey(key) {
		return store.APIKey{}, errBadKey
	}
	k, err := s.store.APIKeyByHash(c.Request().Context(), store.HashKey(key))
	switch {
	case errors.Is(err, store.ErrKeyRevoked):
		noteKey(c, k)
		return store.APIKey{}, errBadKey
	case errors.Is(err, store.ErrNotFound):
		return store.APIKey{}, errBadKey
	case err != nil:
		return store.APIKey{}, err
	}
	noteKey(c, k)
	if err := s.limitKey(k.ID); err != nil {
		return store.APIKey{}, err
	}
	return k, nil
}

var errIntakeKeyAtMCP = &problem{Status: http.StatusForbidden, Code: "mcp_key_required",
	Message: "This is a lead intake key: it can send leads and tracker events but cannot read your CRM. Generate a key with “MCP: read and write your CRM” access in Settings → Integrations and use that one."}

var errSecretKeyFromBrowser = &problem{Status: http.StatusForbidden, Code: "secret_key_in_browser",
	Message: "This is an MCP key, a secret key that can read your CRM: it must never be embedded on a website or sent from a browser. Use a “Lead intake and web tracker” key on your site, and revoke this key in Settings → Integrations if it was ever in a web page."}

// refuseSecretKeyFromBrowser refuses an MCP key that arrives from a browser
// (a plain form post, or any request a browser marks with Origin or
// Sec-Fetch-Site), so a key able to read leads never works from a web page.
func refuseSecretKeyFromBrowser(r *http.Request, key store.APIKey) error {
	if key.Access != store.AccessMCP {
		return nil
	}
	if fromBrowser(r) {
		return errSecretKeyFromBrowser
	}
	return nil
}

package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// maxLabel is the longest key label, in characters.
const maxLabel = 100

// createAPIKey mints a key and answers with the COPY NOW panel, the only
// place the full key is ever shown.
func (s *Server) createAPIKey(c echo.Context) error {
	a := agentOf(c)
	label := strings.TrimSpace(c.FormValue("label"))
	access, accessMsg := checkAccess(c.FormValue("access"))
	if msg := checkLabel(label); msg != "" || accessMsg != "" {
		return s.keyFormError(c, label, access, msg, accessMsg)
	}
	k, key, err := s.store.CreateAPIKey(c.Request().Context(), a.TeamID, a.ID, label, access)
	if errors.Is(err, store.ErrKeyLimit) {
		return s.keyFormError(c, label, access, fmt.Sprintf("Your team already has %d active keys, the most it can have. Revoke a key you no longer use, then generate again.", store.MaxActiveKeys), "")
	}
	if err != nil {
		return err
	}
	s.logOf(c).Info("api key generated", "team", a.TeamID, "key_id", k.ID, "preview", k.Preview, "access", k.Access)
	s.notifyKey(c, "generated", k)
	return s.showNewKey(c, k, key, "")
}

// showNewKey answers a new key with the COPY NOW panel, the only place the
// full key is ever shown, and notice above the list. A plain form post is
// redirected to the page that shows them (see carried).
func (s *Server) showNewKey(c echo.Context, k store.APIKey, key, notice string) error {
	if !isHTMX(c) {
		return s.redirectCarrying(c, "/settings/integrations", carried{NewKey: key, NewFor: k.Label, NewAccess: k.Access, KeyNotice: notice})
	}
	card, err := s.keysCard(c)
	if err != nil {
		// The key exists now, and this answer is the only place it can
		// ever be shown: show it, even without the list.
		s.logOf(c).Error("load the key list after generating a key", "err", err)
		card = keysUnlisted()
	} else {
		card.Notice = notice
	}
	card.NewKey, card.NewFor, card.NewAccess = key, k.Label, k.Access
	return render(c, http.StatusOK, views.APIKeysCard(csrfToken(c), card))
}

// keysUnlisted is the keys card when a new key must be shown but the list
// could not be loaded.
func keysUnlisted() views.KeysCard {
	return views.KeysCard{Max: store.MaxActiveKeys, CanManage: true,
		Notice: "Your key was created, but the key list could not be loaded just now. Copy the key, then reload the page."}
}

// checkLabel says what is wrong with a trimmed label, or "".
func checkLabel(label string) string {
	switch n := utf8.RuneCountInString(label); {
	case n == 0:
		return "Enter a label so you can tell this key apart later, e.g. “Webflow contact form”."
	case n > maxLabel:
		return fmt.Sprintf("Keep the label to %d characters or fewer (this one has %d).", maxLabel, n)
	}
	return ""
}

// checkAccess returns the key kind the form chose (intake when it chose
// none), or what to fix.
func checkAccess(v string) (access, msg string) {
	switch v = strings.TrimSpace(v); v {
	case "", store.AccessIntake:
		return store.AccessIntake, ""
	case store.AccessMCP:
		return store.AccessMCP, ""
	}
	return store.AccessIntake, "Choose the key's access: “Lead intake and web tracker” or “MCP: read and write your CRM”."
}

// keyFormError shows what to fix under the label input and the access
// choice, keeping what was entered, and creates nothing.
func (s *Server) keyFormError(c echo.Context, label, access, labelMsg, accessMsg string) error {
	card, err := s.keysCard(c)
	if err != nil {
		return err
	}
	card.Label, card.Access, card.Error, card.AccessError = label, access, labelMsg, accessMsg
	return s.renderIntegrations(c, http.StatusUnprocessableEntity, card)
}

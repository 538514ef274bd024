package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
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
	form := views.KeysCard{Label: strings.TrimSpace(c.FormValue("label"))}
	form.Error = checkLabel(form.Label)
	form.Access, form.AccessError = checkAccess(c.FormValue("access"))
	form.Lifetime, form.LifetimeError = checkLifetime(c.FormValue("lifetime"))
	if form.Error != "" || form.AccessError != "" || form.LifetimeError != "" {
		return s.keyFormError(c, form)
	}
	k, key, err := s.store.CreateAPIKey(c.Request().Context(), a.TeamID, a.ID, form.Label, form.Access, form.Lifetime)
	if errors.Is(err, store.ErrKeyLimit) {
		form.Error = fmt.Sprintf("Your team already has %d active keys, the most it can have. Revoke a key you no longer use, then generate again.", store.MaxActiveKeys)
		return s.keyFormError(c, form)
	}
	if err != nil {
		return err
	}
	s.logOf(c).Info("api key generated", "team", a.TeamID, "key_id", k.ID, "preview", k.Preview, "access", k.Access, "lifetime_days", k.LifetimeDays)
	s.notifyKey(c, "generated", k)
	return s.showNewKey(c, k, key, nil)
}

// showNewKey answers with the card and the COPY NOW panel for a key just
// made (by Generate, or by Rotate in place of old).
func (s *Server) showNewKey(c echo.Context, k store.APIKey, key string, old *store.APIKey) error {
	n := &views.NewKey{Label: k.Label, Key: key, Access: k.Access, Status: views.KeyStatus{KeyID: k.ID}}
	card, err := s.keysCard(c)
	if err != nil {
		// The key exists now, and this answer is the only place it can
		// ever be shown: show it, even without the list.
		s.logOf(c).Error("load the key list after making a key", "err", err)
		card = views.KeysCard{Max: store.MaxActiveKeys, BaseURL: baseURL(c), Lists: views.KeyLists{Manage: true},
			Notice: "Your key was created, but the key list could not be loaded just now. Copy the key, then reload the page."}
	}
	if old != nil {
		n.Replaces = &views.KeyRef{ID: old.ID, Label: old.Label}
		if i := slices.IndexFunc(card.Lists.Keys, func(r views.KeyRow) bool { return r.ID == old.ID }); i >= 0 {
			n.Uses = usesOf(card.Lists.Keys[i], old.Access)
		}
	}
	card.New = n
	if err == nil {
		if err = s.renderIntegrations(c, http.StatusOK, card); err == nil {
			return nil
		}
		s.logOf(c).Error("render the page after making a key", "err", err)
	}
	if isHTMX(c) {
		return render(c, http.StatusOK, views.APIKeysCard(csrfToken(c), card))
	}
	return render(c, http.StatusOK, views.IntegrationsPage(page(c, "Integrations", "integrations"), views.Integrations{Keys: card, BaseURL: baseURL(c)}))
}

// usesOf guesses from a key's last 30 days what it is used for, to open
// the matching snippets for its replacement: page views come from the
// tracker tag, leads from a browser from a website form, other leads from
// Zapier, Make or a script.
func usesOf(r views.KeyRow, access string) []string {
	var uses []string
	if access == store.AccessMCP {
		uses = append(uses, "mcp")
	}
	if r.Usage.PageViews > 0 {
		uses = append(uses, "tracker")
	}
	if r.Usage.LeadsCreated+r.Usage.LeadsUpdated > 0 {
		if r.LastFrom != "" {
			uses = append(uses, "form")
		} else {
			uses = append(uses, "curl")
		}
	}
	return uses
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

// checkLifetime returns the expiry the form chose, in days (0, never, when
// it chose none), or what to fix.
func checkLifetime(v string) (days int, msg string) {
	if v = strings.TrimSpace(v); v == "" {
		return 0, ""
	}
	if d, err := strconv.Atoi(v); err == nil && slices.Contains(views.Lifetimes, d) {
		return d, ""
	}
	return 0, "Choose when the key expires: never, or in 30, 90 or 365 days."
}

// keyFormError shows what to fix in the generate form, keeping what was
// entered, and creates nothing.
func (s *Server) keyFormError(c echo.Context, form views.KeysCard) error {
	card, err := s.keysCard(c)
	if err != nil {
		return err
	}
	card.Label, card.Access, card.Lifetime = form.Label, form.Access, form.Lifetime
	card.Error, card.AccessError, card.LifetimeError = form.Error, form.AccessError, form.LifetimeError
	return s.renderIntegrations(c, http.StatusUnprocessableEntity, card)
}

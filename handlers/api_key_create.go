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

// showNewKey answers a key just made (by Generate, or by Rotate in place
// of old) with the COPY NOW panel, the only place the full key is ever
// shown. A plain form post is redirected to the page that shows it (see
// carried).
func (s *Server) showNewKey(c echo.Context, k store.APIKey, key string, old *store.APIKey) error {
	n := views.NewKey{Label: k.Label, Key: key, Access: k.Access, Status: views.KeyStatus{KeyID: k.ID}}
	if old != nil {
		n.Replaces = &views.KeyRef{ID: old.ID, Label: old.Label}
		uses, err := s.usesOf(c, *old)
		if err != nil {
			// The snippets are all shown open instead; the key must be shown.
			s.logOf(c).Warn("the replaced key's use could not be read", "err", err)
		}
		n.Uses = uses
	}
	if !isHTMX(c) {
		return s.redirectCarrying(c, "/settings/integrations", carried{New: &n})
	}
	card, err := s.keysCard(c)
	if err != nil {
		// The key exists now, and this answer is the only place it can
		// ever be shown: show it, even without the list.
		s.logOf(c).Error("load the key list after making a key", "err", err)
		card = keysUnlisted(c)
	}
	card.New = &n
	return render(c, http.StatusOK, views.APIKeysCard(csrfToken(c), card))
}

// keysUnlisted is the keys card when a new key must be shown but the list
// could not be loaded.
func keysUnlisted(c echo.Context) views.KeysCard {
	return views.KeysCard{Max: store.MaxActiveKeys, BaseURL: baseURL(c), Lists: views.KeyLists{Manage: true},
		Notice: "Your key was created, but the key list could not be loaded just now. Copy the key, then reload the page."}
}

// usesOf guesses from a key's last 30 days what it is used for, to open
// the matching snippets for its replacement: page views come from the
// tracker tag, leads from a browser from a website form, other leads from
// Zapier, Make or a script.
func (s *Server) usesOf(c echo.Context, k store.APIKey) ([]string, error) {
	var uses []string
	if k.Access == store.AccessMCP {
		uses = append(uses, "mcp")
	}
	days, err := s.store.KeyUsage(c.Request().Context(), k.TeamID, k.ID, usageSince(s.now()))
	if err != nil {
		return uses, err
	}
	u := usageOf(days[k.ID], s.now())
	if u.PageViews > 0 {
		uses = append(uses, "tracker")
	}
	if u.LeadsCreated+u.LeadsUpdated > 0 {
		if k.LastUsedFrom != "" {
			uses = append(uses, "form")
		} else {
			uses = append(uses, "curl")
		}
	}
	return uses, nil
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

package handlers

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"closr/store"
)

// addTrackedDomain lists a domain the team's tracker events and website
// forms may come from.
func (s *Server) addTrackedDomain(c echo.Context) error {
	a := agentOf(c)
	input := strings.TrimSpace(c.FormValue("domain"))
	domain, msg := normalizeDomain(input)
	if msg != "" {
		return s.domainFormError(c, input, msg)
	}
	d, err := s.store.AddTrackedDomain(c.Request().Context(), a.TeamID, domain)
	switch {
	case errors.Is(err, store.ErrDomainListed):
		return s.domainFormError(c, input, fmt.Sprintf("%s is already in the list (subdomains included).", domain))
	case errors.Is(err, store.ErrDomainLimit):
		return s.domainFormError(c, input, fmt.Sprintf("A team can list at most %d domains. Remove one you no longer use first.", store.MaxTrackedDomains))
	case err != nil:
		return err
	}
	s.logOf(c).Info("tracked domain added", "team", a.TeamID, "domain_id", d.ID)
	card, err := s.trackerCard(c)
	if err != nil {
		return err
	}
	return s.trackerChanged(c, card, fmt.Sprintf("Added %s. Only listed domains (and their subdomains) are accepted now.", d.Domain))
}

// normalizeDomain checks a host name typed by an agent and returns it
// lower-cased without a leading "www." (subdomains are always covered), or
// a message saying what to fix.
func normalizeDomain(in string) (string, string) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(in)), ".")
	switch {
	case d == "":
		return "", "Enter your site's domain, like sunsetrealty.com."
	case strings.Contains(d, "://") || strings.ContainsAny(d, "/?#@"):
		return "", fmt.Sprintf("Enter only the domain, without https:// or a path: for %q that is %q.", clip(in, 80), hostOf(d))
	case strings.Contains(d, ":"):
		return "", "Leave out the port: enter just the domain, like sunsetrealty.com."
	case len(d) > 253:
		return "", "That domain is too long: a domain has at most 253 characters."
	}
	if net.ParseIP(d) != nil {
		return d, ""
	}
	d = strings.TrimPrefix(d, "www.")
	labels := strings.Split(d, ".")
	if len(labels) < 2 && d != "localhost" {
		return "", fmt.Sprintf("%q is not a full domain; enter one like sunsetrealty.com.", clip(in, 80))
	}
	for _, l := range labels {
		if !validLabel(l) {
			return "", fmt.Sprintf("%q is not a valid domain: use letters, digits and hyphens between the dots (for accented names, the xn-- form), like sunsetrealty.com.", clip(in, 80))
		}
	}
	return d, ""
}

// validLabel reports whether l is one DNS label: 1–63 ASCII letters, digits
// or hyphens, not starting or ending with a hyphen.
func validLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// hostOf guesses the host inside something pasted from the address bar.
func hostOf(s string) string {
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if _, after, ok := strings.Cut(s, "@"); ok {
		s = after
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	return strings.TrimPrefix(s, "www.")
}

// domainFormError shows msg under the domain input and changes nothing.
func (s *Server) domainFormError(c echo.Context, input, msg string) error {
	card, err := s.trackerCard(c)
	if err != nil {
		return err
	}
	card.Domain, card.Error = input, msg
	return s.renderTracker(c, http.StatusUnprocessableEntity, card)
}

// clip cuts s to n characters for quoting it back in a message.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

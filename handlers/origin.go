package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"closr/store"
)

// errOriginNotAllowed refuses a browser post from a site that is not one of
// the team's tracked domains.
func errOriginNotAllowed(host string) *problem {
	if host == "" {
		host = "the site this form is on"
	}
	return &problem{Status: http.StatusForbidden, Code: "origin_not_allowed",
		Message: "This key only accepts forms from your listed sites. Add " + host +
			" under Settings → Integrations → Web tracker (tracked domains), or post from a listed site."}
}

// checkOrigin decides whether a request may act for the team by where a
// browser says it comes from. It is the one origin rule for /api/track and
// /api/leads/inbound:
//   - a team with no tracked domains accepts every origin;
//   - a request with no Origin (nor Referer) is not a browser page posting
//     cross-site (Zapier, curl, a server) and is accepted: the check stops
//     other websites from using a key copied out of a page, it is no
//     substitute for the key;
//   - Closr's own pages (the "Send test lead" form) are always accepted;
//   - otherwise the origin's host must be a listed domain or a subdomain of
//     one. An opaque origin ("null") never matches.
//
// It returns the origin's host (for messages) and whether it is allowed.
func (s *Server) checkOrigin(c echo.Context, teamID int64) (string, bool, error) {
	r := c.Request()
	origin := requestOrigin(r)
	if origin == "" {
		return "", true, nil
	}
	domains, err := s.store.TrackedDomains(r.Context(), teamID)
	if err != nil {
		return "", false, err
	}
	host := originHost(origin)
	if len(domains) == 0 {
		return host, true, nil
	}
	if fromClosr(r) {
		return host, true, nil
	}
	return host, hostListed(host, domains), nil
}

// requestOrigin is the Origin header, or the origin of the Referer for the
// few browsers that leave Origin off a form post.
func requestOrigin(r *http.Request) string {
	if o := strings.TrimSpace(r.Header.Get("Origin")); o != "" {
		return o
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Scheme != "" && ref.Host != "" {
		return ref.Scheme + "://" + ref.Host
	}
	return ""
}

// originHost is the lower-cased host name of an origin, without its port;
// "" for an opaque or unreadable origin.
func originHost(origin string) string {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}

// hostListed reports whether host is one of the domains or a subdomain of
// one ("shop.example.com" matches "example.com"; "badexample.com" does not).
func hostListed(host string, domains []store.TrackedDomain) bool {
	if host == "" {
		return false
	}
	for _, d := range domains {
		if host == d.Domain || strings.HasSuffix(host, "."+d.Domain) {
			return true
		}
	}
	return false
}

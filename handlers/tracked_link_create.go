package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"closr/views"
)

// maxTrackedLinks is how many of a lead's latest tracked links its page lists.
const maxTrackedLinks = 20

// createTrackedLink is POST /leads/{id}/tracked-links: the page at field
// url, with a clsr token for this lead, shown once.
func (s *Server) createTrackedLink(c echo.Context) error {
	a := agentOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	// The lead first: another team's lead is a 404 whatever was sent.
	d, err := s.leadDetail(c, id, 0)
	if err != nil {
		return err
	}
	raw := strings.TrimSpace(c.FormValue("url"))
	tracked, err := s.newTrackedLink(c.Request().Context(), a.TeamID, id, a.ID, 0, raw)
	status := http.StatusOK
	if p, ok := err.(*problem); ok && p.Status == http.StatusUnprocessableEntity {
		status = p.Status
		d.Links.URL, d.Links.Error = raw, p.Message
	} else if err != nil {
		return err
	} else {
		s.logOf(c).Info("tracked link made", "team", a.TeamID, "lead_id", id)
		if d.Links, err = s.trackedLinks(c, id); err != nil {
			return err
		}
		d.Links.New = tracked
	}
	if isHTMX(c) {
		return render(c, status, views.TrackedLinksCard(d.Links))
	}
	return render(c, status, views.LeadPage(page(c, leadTitle(c, d.Lead), "leads"), d))
}

// newTrackedLink checks the page's address and makes a tracked link to it
// for the team's lead, by an agent or an MCP key; it returns the link to
// send. A bad address is a 422 problem that says what to fix.
func (s *Server) newTrackedLink(ctx context.Context, teamID, leadID, agentID, keyID int64, raw string) (string, error) {
	u, err := url.Parse(raw)
	if raw == "" || len(raw) > 2000 || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &problem{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Fields: map[string]string{"url": "not a web address"},
			Message: "Paste the full address of a page of your site, starting with https://, like https://yoursite.com/listings/7-harbor-ln."}
	}
	domains, err := s.store.TrackedDomains(ctx, teamID)
	if err != nil {
		return "", err
	}
	if len(domains) > 0 && !hostListed(originHost(raw), domains) {
		names := make([]string, len(domains))
		for i, d := range domains {
			names[i] = d.Domain
		}
		return "", &problem{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Fields: map[string]string{"url": "not a tracked domain"},
			Message: fmt.Sprintf("%s is not one of your tracked domains (%s): tracked links may point only at your own sites.", u.Hostname(), strings.Join(names, ", "))}
	}
	page := withoutParam(u, "clsr")
	_, token, err := s.store.NewTrackedLink(ctx, teamID, leadID, agentID, keyID, page)
	if err != nil {
		return "", err
	}
	return withParam(page, "clsr", token), nil
}

// withParam is the address with name=value added to its query, before any
// #fragment.
func withParam(address, name, value string) string {
	base, frag, hasFrag := strings.Cut(address, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	out := base + sep + name + "=" + url.QueryEscape(value)
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// trackedLinks is the lead page's tracked-links card, without a new link.
func (s *Server) trackedLinks(c echo.Context, leadID int64) (views.TrackedLinks, error) {
	a := agentOf(c)
	ctx := c.Request().Context()
	links, err := s.store.TrackedLinks(ctx, a.TeamID, leadID, maxTrackedLinks)
	if err != nil {
		return views.TrackedLinks{}, err
	}
	domains, err := s.store.TrackedDomains(ctx, a.TeamID)
	if err != nil {
		return views.TrackedLinks{}, err
	}
	out := views.TrackedLinks{LeadID: leadID, CSRF: csrfToken(c)}
	for _, d := range domains {
		out.Domains = append(out.Domains, d.Domain)
	}
	for _, l := range links {
		v := views.TrackedLink{URL: l.URL, Title: l.Title, Made: l.CreatedAt, Opens: l.Opens, LastOpen: l.LastOpenedAt,
			Visitors: l.Visitors, Flagged: l.Flagged}
		out.Links = append(out.Links, v)
		if !l.LastOpenedAt.IsZero() && (out.Opened == nil || l.LastOpenedAt.After(out.Opened.LastOpen)) {
			out.Opened = &v
		}
	}
	return out, nil
}

package handlers

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"closr/handlers/intake"
	"closr/store"
	"closr/views"
)

// inboundLead is POST /api/leads/inbound: forms, Zapier and Make create or
// update a lead. Nothing is acknowledged before it is committed.
func (s *Server) inboundLead(c echo.Context) error {
	allowCORS(c)
	r := c.Request()
	browser := isBrowserForm(r)
	key, p, body, err := s.readLead(c, browser)
	if err != nil {
		return s.leadFailed(c, browser, err)
	}
	now := s.now()
	res, err := s.intake.Submit(r.Context(), intake.Submission{
		Key: key, Payload: p, ContentType: r.Header.Get("Content-Type"), Raw: body,
		IdempotencyKey: r.Header.Get("Idempotency-Key"), Source: guessSource(r, browser),
		TouchKey: s.touches.due(key.ID, now), At: now,
	})
	if err != nil {
		return s.leadFailed(c, browser, err)
	}
	return s.leadAccepted(c, browser, key, p, res)
}

// readLead reads and parses the body and finds the key (in a header, else
// in the body), refusing a key that may not post from where this came.
func (s *Server) readLead(c echo.Context, browser bool) (store.APIKey, intake.Payload, []byte, error) {
	r := c.Request()
	key, inHeader, err := s.headerKey(r)
	if err != nil {
		return key, intake.Payload{}, nil, err
	}
	body, err := readBody(c, intake.MaxBody, errLeadTooLarge)
	if err != nil {
		return key, intake.Payload{}, nil, err
	}
	p, err := intake.Parse(r.Header.Get("Content-Type"), body)
	if err != nil {
		return key, p, nil, err
	}
	if !inHeader {
		if key, err = s.authenticate(r.Context(), strings.TrimSpace(p.APIKey)); err != nil {
			return key, p, nil, err
		}
	}
	if err := refuseSecretKeyFromBrowser(r, key); err != nil {
		return key, p, nil, err
	}
	if host, ok, err := s.checkOrigin(c, key.TeamID); err != nil {
		return key, p, nil, err
	} else if !ok {
		return key, p, nil, errOriginNotAllowed(host)
	}
	return key, p, body, nil
}

var errLeadTooLarge = &problem{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
	Message: "The lead is larger than 64 KiB. Send only the form's fields."}

// isBrowserForm reports whether a person's browser posted a plain form, so
// the answer should be a page or a redirect rather than JSON.
func isBrowserForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		return false
	}
	return preferHTML(r.Header.Get("Accept"))
}

// guessSource names where a lead came from when the payload does not say.
func guessSource(r *http.Request, browser bool) string {
	ua := strings.ToLower(r.UserAgent())
	switch {
	case strings.Contains(ua, "zapier"):
		return "Zapier"
	case strings.Contains(ua, "make/") || strings.Contains(ua, "integromat"):
		return "Make"
	case browser:
		return "Website form"
	}
	return "API"
}

// answerReceived is the one answer an intake key gets for a stored lead.
var answerReceived = []byte(`{"status":"received"}`)

// leadAccepted answers a stored (or honeypot) lead. An intake key is public
// (it sits in web pages), so its holder gets the same answer whether the
// person was new or already a lead, and no lead id: it must not be a way to
// ask whether an email is someone's lead. A secret MCP key gets the lead.
func (s *Server) leadAccepted(c echo.Context, browser bool, key store.APIKey, p intake.Payload, res intake.Result) error {
	if browser {
		if u := s.formRedirect(c, key.TeamID, p.Redirect); u != "" {
			return c.Redirect(http.StatusSeeOther, u)
		}
		return c.Redirect(http.StatusSeeOther, "/thanks")
	}
	if key.Access != store.AccessMCP {
		return c.JSONBlob(http.StatusCreated, answerReceived)
	}
	status, word := http.StatusOK, "updated"
	if res.Created {
		status, word = http.StatusCreated, "created"
	}
	// {"id":N,"status":"created"}, written without a JSON encoder: it
	// showed in the ingest profile, for a fixed shape.
	b := make([]byte, 0, 48)
	b = strconv.AppendInt(append(b, `{"id":`...), res.LeadID, 10)
	b = append(append(append(b, `,"status":"`...), word...), `"}`...)
	return c.JSONBlob(status, b)
}

// formRedirect is the _redirect address when it may be followed, else "".
// The intake key is public, so anyone could post a form with a _redirect
// to their own site and send people there through Closr: only the page the
// form was posted from (its Origin, else its Referer) and the team's
// tracked domains and their subdomains are allowed.
func (s *Server) formRedirect(c echo.Context, teamID int64, redirect string) string {
	u := httpURL(redirect)
	if u == "" {
		return ""
	}
	host := originHost(u)
	if host == "" {
		return ""
	}
	if page := originHost(requestOrigin(c.Request())); page != "" && page == host {
		return u
	}
	domains, err := s.store.TrackedDomains(c.Request().Context(), teamID)
	if err != nil {
		// The lead is stored; losing the custom thank-you page is better
		// than reporting a failure for it.
		s.logOf(c).Warn("tracked domains for _redirect", "err", err)
		return ""
	}
	if hostListed(host, domains) {
		return u
	}
	return ""
}

// leadFailed answers a refused lead: JSON for scripts, a page for people.
func (s *Server) leadFailed(c echo.Context, browser bool, err error) error {
	if !browser {
		return err // the error handler writes the JSON body
	}
	p := toProblem(err)
	if p.Status >= 500 {
		s.logOf(c).Error("inbound lead failed", "err", err)
	}
	if p.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	msg := p.Message
	for _, k := range []string{"email", "phone", "name", "source"} {
		if m := p.Fields[k]; m != "" && m != msg {
			msg += " " + m
		}
	}
	return render(c, p.Status, views.FormProblemPage(p.Status, msg, httpURL(c.Request().Referer())))
}

// httpURL returns s when it is an absolute http or https URL, else "".
func httpURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

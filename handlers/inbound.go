package handlers

import (
	"crypto/sha256"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// inboundLead is POST /api/leads/inbound: forms, Zapier and Make create or
// update a lead. Nothing is acknowledged before it is committed.
func (s *Server) inboundLead(c echo.Context) error {
	allowCORS(c)
	r := c.Request()
	browser := isBrowserForm(r)
	fail := func(err error) error { return s.leadFailed(c, browser, err) }

	key, inHeader, err := s.headerKey(r)
	if err != nil {
		return fail(err)
	}
	body, err := readBody(c, maxLeadBody, errLeadTooLarge)
	if err != nil {
		return fail(err)
	}
	p, err := parseLeadBody(r.Header.Get("Content-Type"), body)
	if err != nil {
		return fail(err)
	}
	if !inHeader {
		if key, err = s.authenticate(r.Context(), strings.TrimSpace(p.APIKey)); err != nil {
			return fail(err)
		}
	}
	if err := refuseSecretKeyFromBrowser(r, key); err != nil {
		return fail(err)
	}
	if host, ok, err := s.checkOrigin(c, key.TeamID); err != nil {
		return fail(err)
	} else if !ok {
		return fail(errOriginNotAllowed(host))
	}
	if p.Gotcha != "" { // a bot filled the honeypot: look successful, keep nothing
		return s.leadAccepted(c, browser, key.TeamID, p, store.IngestResult{Created: true})
	}
	d, errs := validateLead(mapLead(p.Fields), s.region)
	idem := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(idem) > 255 {
		errs["Idempotency-Key"] = "Use an Idempotency-Key of at most 255 characters."
	}
	if len(errs) > 0 {
		return fail(&problem{Status: http.StatusUnprocessableEntity, Code: "validation_failed",
			Message: validationSummary(errs), Fields: errs})
	}
	if d.Source == "" {
		d.Source = guessSource(r, browser)
	}
	now := time.Now()
	in := store.LeadInput{
		TeamID: key.TeamID, KeyID: key.ID, TouchKey: s.touches.due(key.ID, now),
		Name: d.Name, Email: d.Email, Phone: d.Phone, Message: d.Message, Source: d.Source,
		Custom: d.Custom, Fields: d.All, ContentType: r.Header.Get("Content-Type"), Raw: body,
		VisitorID: validVisitorID(p.VisitorID), IdemKey: idem, At: now,
	}
	if idem != "" {
		in.IdemHash = sha256.Sum256(body)
	}
	redactLead(&in) // a form carries its key in the body; the stored copy must not
	res, err := s.store.IngestLead(r.Context(), in)
	if errors.Is(err, store.ErrIdempotencyMismatch) {
		return fail(&problem{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused",
			Message: "This Idempotency-Key was already used with a different body. Use a new key for a new lead.",
			Fields:  map[string]string{"Idempotency-Key": "already used with a different body"}})
	}
	if err != nil {
		return fail(err)
	}
	return s.leadAccepted(c, browser, key.TeamID, p, res)
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

func validVisitorID(v string) string {
	if len(v) < 16 || len(v) > 64 {
		return ""
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	return v
}

func validationSummary(errs map[string]string) string {
	if len(errs) == 1 {
		for _, m := range errs {
			return m
		}
	}
	if errs["email"] != "" && errs["email"] == errs["phone"] {
		return errs["email"]
	}
	return "Some fields need fixing; see fields."
}

// leadAccepted answers a stored (or honeypot) lead.
func (s *Server) leadAccepted(c echo.Context, browser bool, teamID int64, p leadPayload, res store.IngestResult) error {
	status, word := http.StatusOK, "updated"
	if res.Created {
		status, word = http.StatusCreated, "created"
	}
	if !browser {
		// {"id":N,"status":"created"}, written without a JSON encoder: it
		// showed in the ingest profile, for a fixed shape.
		b := make([]byte, 0, 48)
		b = strconv.AppendInt(append(b, `{"id":`...), res.LeadID, 10)
		b = append(append(append(b, `,"status":"`...), word...), `"}`...)
		return c.JSONBlob(status, b)
	}
	if u := s.formRedirect(c, teamID, p.Redirect); u != "" {
		return c.Redirect(http.StatusSeeOther, u)
	}
	return c.Redirect(http.StatusSeeOther, "/thanks")
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

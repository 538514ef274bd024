package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"closr/handlers/intake"
	"closr/store"
	"closr/views"
)

// maxInboundRequest caps a whole inbound request, attached files included:
// files are read past, not kept, but reading them takes time.
const maxInboundRequest = 25 << 20

// uploadTime is how long a multipart post with files may take to arrive: a
// phone on a slow network sends a few megabytes in well over the server's
// usual 30 seconds.
const uploadTime = 2 * time.Minute

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
	res, err := s.intake.Submit(r.Context(), intake.Submission{
		Key: key, Payload: p, ContentType: r.Header.Get("Content-Type"), Raw: body,
		IdempotencyKey: r.Header.Get("Idempotency-Key"), Source: guessSource(r, browser),
		Test: fromClosr(r), At: s.now(),
	})
	if err == nil && res.Honeypot {
		err = s.confirmKey(c, key)
	}
	if err != nil {
		return s.leadFailed(c, browser, err)
	}
	switch {
	case res.Honeypot || res.Replayed:
		used(c, store.UseOther)
	case res.Created:
		used(c, store.UseLeadCreated)
	default:
		used(c, store.UseLeadUpdated)
	}
	return s.leadAccepted(c, browser, key, p, res)
}

// readLead finds the key (in a header or the URL, else in the body), reads
// and parses the body, and refuses a key that may not post from where this
// came.
func (s *Server) readLead(c echo.Context, browser bool) (store.APIKey, intake.Payload, []byte, error) {
	r := c.Request()
	key, inRequest, err := s.inboundKey(c)
	if err != nil {
		return key, intake.Payload{}, nil, err
	}
	ctype := r.Header.Get("Content-Type")
	if mt, _, _ := mime.ParseMediaType(ctype); mt == "multipart/form-data" {
		// Deadlines are the connection's, on the wall clock. Errors only
		// say a connection has none to move (HTTP/2 in tests).
		rc := http.NewResponseController(c.Response())
		rc.SetReadDeadline(time.Now().Add(uploadTime))
		rc.SetWriteDeadline(time.Now().Add(uploadTime + time.Minute))
	}
	p, body, err := intake.Read(ctype, http.MaxBytesReader(c.Response().Writer, r.Body, maxInboundRequest))
	if err != nil {
		var mbe *http.MaxBytesError
		var ie *intake.Error
		switch {
		case errors.As(err, &mbe):
			err = errRequestTooLarge
		case !errors.As(err, &ie):
			err = errUnreadable("The request body could not be read.")
		}
		return key, p, nil, err
	}
	if !inRequest {
		if key, err = s.authenticate(c, strings.TrimSpace(p.APIKey)); err != nil {
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

// inboundKey authenticates a key sent in a header or, for webhooks that
// can set neither a header nor a body field (Typeform, Webflow, Jotform,
// Elementor, Wix, Calendly), in the URL as ?api_key=. ok is false when
// neither carries one (it may be in the body). The URL is never logged
// (see logRequests); an MCP key, which can read the CRM, may not be put in
// one.
func (s *Server) inboundKey(c echo.Context) (k store.APIKey, ok bool, err error) {
	if k, ok, err = s.headerKey(c); ok || err != nil {
		return k, ok, err
	}
	inURL := strings.TrimSpace(c.Request().URL.Query().Get("api_key"))
	if inURL == "" {
		return store.APIKey{}, false, nil
	}
	if k, err = s.authenticate(c, inURL); err == nil && k.Access == store.AccessMCP {
		err = errSecretKeyInURL
	}
	return k, true, err
}

var errSecretKeyInURL = &problem{Status: http.StatusForbidden, Code: "secret_key_in_url",
	Message: "This is an MCP key, a secret key that can read your CRM: it must never be put in a URL. Use a “Lead intake and web tracker” key in webhook URLs, and revoke this key in Settings → Integrations."}

var errRequestTooLarge = &problem{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
	Message: fmt.Sprintf("The request is larger than %d MB. Attached files are not kept: send the form without the file, or with a smaller one.", maxInboundRequest>>20)}

// isBrowserForm reports whether a person's browser posted a plain form, so
// the answer should be a page or a redirect rather than JSON.
func isBrowserForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		return false
	}
	return preferHTML(r.Header.Get("Accept"))
}

// fromBrowser reports whether a browser sent the request: a plain form, or
// a page's fetch(), which always carries Origin on a POST (and
// Sec-Fetch-Site in current browsers). Servers send neither.
func fromBrowser(r *http.Request) bool {
	return isBrowserForm(r) || r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != ""
}

// guessSource names where a lead came from when the payload does not say.
func guessSource(r *http.Request, browser bool) string {
	ua := strings.ToLower(r.UserAgent())
	switch {
	case strings.Contains(ua, "zapier"):
		return "Zapier"
	case strings.Contains(ua, "make/") || strings.Contains(ua, "integromat"):
		return "Make"
	case browser || fromBrowser(r):
		return "Website form"
	}
	return "API"
}

// answerReceived is the one answer an intake key gets for a stored lead
// that needs no warning.
var answerReceived = []byte(`{"status":"received"}`)

// leadAccepted answers a stored (or honeypot) lead. An intake key is public
// (it sits in web pages), so its holder gets the same answer whether the
// person was new or already a lead, and no lead id: it must not be a way to
// ask whether an email is someone's lead. A secret MCP key gets the lead.
// Warnings are about the submission alone (no email or phone in it, a file
// left out), so every key gets them.
func (s *Server) leadAccepted(c echo.Context, browser bool, key store.APIKey, p intake.Payload, res intake.Result) error {
	if browser {
		if u := s.formRedirect(c, key.TeamID, p.Redirect); u != "" {
			return c.Redirect(http.StatusSeeOther, u)
		}
		return c.Redirect(http.StatusSeeOther, "/thanks")
	}
	status, body := http.StatusCreated, answerReceived
	switch {
	case key.Access == store.AccessMCP && res.Created:
		body = leadAnswer(res.LeadID, "created", res.Warnings)
	case key.Access == store.AccessMCP:
		status, body = http.StatusOK, leadAnswer(res.LeadID, "updated", res.Warnings)
	case len(res.Warnings) > 0:
		body = leadAnswer(0, "received", res.Warnings)
	}
	// WordPress senders (Elementor Pro's webhook action above all) count
	// any status but 200 as a failure and tell the visitor so.
	if strings.HasPrefix(c.Request().UserAgent(), "WordPress/") {
		status = http.StatusOK
	}
	return c.JSONBlob(status, body)
}

// leadAnswer is {"id":N,"status":"created"} (no id when id is 0), with
// "warnings" when there are any, written without a JSON encoder: it showed
// in the ingest profile, for a fixed shape.
func leadAnswer(id int64, status string, warnings []string) []byte {
	b := make([]byte, 0, 48)
	b = append(b, '{')
	if id != 0 {
		b = strconv.AppendInt(append(b, `"id":`...), id, 10)
		b = append(b, ',')
	}
	b = append(append(append(b, `"status":"`...), status...), '"')
	if len(warnings) > 0 {
		w, _ := json.Marshal(warnings)
		b = append(append(b, `,"warnings":`...), w...)
	}
	return append(b, '}')
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

// visitorCanFix are the refusals a website visitor can do something about:
// a field to correct, a file too large, a moment to wait. The others (a
// bad or revoked key, a site not listed, a form sending the wrong type)
// only the site's owner can fix.
var visitorCanFix = map[int]bool{
	http.StatusUnprocessableEntity: true, http.StatusRequestEntityTooLarge: true,
	http.StatusTooManyRequests: true, http.StatusServiceUnavailable: true, http.StatusInternalServerError: true,
}

// leadFailed answers a refused lead: JSON for scripts, with the technical
// reason; a page for people, which tells a visitor what they can do.
func (s *Server) leadFailed(c echo.Context, browser bool, err error) error {
	if !browser {
		return err // the error handler writes the JSON body
	}
	refusedUse(c, err) // answered with a page, so countUse sees no error
	p := toProblem(err)
	if p.Status >= 500 {
		s.logOf(c).Error("inbound lead failed", "err", err)
	}
	if p.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	fp := views.FormProblem{Status: p.Status, Ref: c.Response().Header().Get(echo.HeaderXRequestID)}
	if visitorCanFix[p.Status] {
		fp.Fix, fp.Back = p.Message, httpURL(c.Request().Referer())
		for _, k := range []string{"email", "phone", "name", "source"} {
			if m := p.Fields[k]; m != "" && m != fp.Fix {
				fp.Fix += " " + m
			}
		}
	} else {
		fp.Site, fp.SiteFor = siteHome(c.Request())
	}
	return render(c, p.Status, views.FormProblemPage(fp))
}

// inboundGet answers GET /api/leads/inbound: a form left on GET (Webflow's
// default method) sent the visitor here with their answers, and the key,
// in the URL. Nothing is stored, and the URL is never logged.
func (s *Server) inboundGet(c echo.Context) error {
	c.Response().Header().Set("Allow", "POST, OPTIONS")
	noStore(c)
	if !wantsHTML(c) {
		return errUseInboundPOST
	}
	site, siteFor := siteHome(c.Request())
	return render(c, http.StatusMethodNotAllowed, views.FormMethodPage(site, siteFor))
}

var errUseInboundPOST = &problem{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
	Message: "Send leads with POST. A website form must have method=\"post\" (in Webflow: Form settings → Method → POST)."}

// siteHome is the home page of the site a browser came from, and its host
// for the link, or "" when unknown.
func siteHome(r *http.Request) (string, string) {
	origin := requestOrigin(r)
	host := originHost(origin)
	if host == "" {
		return "", ""
	}
	u, _ := url.Parse(origin)
	return u.Scheme + "://" + u.Host + "/", host
}

// httpURL returns s when it is an absolute http or https URL, else "".
func httpURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

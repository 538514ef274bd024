package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"closr/handlers/intake"
	"closr/store"
)

// apiError is the JSON body of every API error.
type apiError struct {
	Error   string            `json:"error"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// problem is an error that knows its status, code and message for people.
type problem struct {
	Status     int
	Code       string
	Message    string
	Fields     map[string]string
	RetryAfter int // seconds; 0 for none

	// body is the JSON answer, made once: the shared problems (a bad key
	// above all) are answered at flood rates.
	body     []byte
	bodyOnce sync.Once
}

// jsonBody is the problem as the API's JSON error body.
func (p *problem) jsonBody() []byte {
	p.bodyOnce.Do(func() {
		p.body, _ = json.Marshal(apiError{Error: p.Code, Message: p.Message, Fields: p.Fields})
		p.body = append(p.body, '\n')
	})
	return p.body
}

func (p *problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Message) }

// errClientGone answers a request whose client went away before its work
// was done (nginx's 499): nothing was saved, and it is no server error.
var errClientGone = &problem{Status: statusClientClosed, Code: "client_closed_request",
	Message: "The request was cancelled before it finished. Nothing was saved."}

// statusClientClosed is the status logged for a client that went away.
const statusClientClosed = 499

var errCSRF = &problem{Status: http.StatusForbidden, Code: "csrf",
	Message: "This form has expired or did not come from Closr. Reload the page and try again."}

// toProblem maps any error to the status and words the client gets. It is
// the one place where store errors become HTTP statuses.
func toProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	var ie *intake.Error
	if errors.As(err, &ie) {
		return intakeProblem(ie)
	}
	var he *echo.HTTPError
	switch {
	case errors.Is(err, store.ErrKeyRevoked):
		return errBadKey // revoked while the request was read or queued
	case errors.Is(err, store.ErrForbidden):
		return &problem{Status: http.StatusForbidden, Code: "forbidden",
			Message: "Your role on the team does not allow this (or you are no longer on the team). Nothing was changed."}
	case errors.Is(err, store.ErrOwner):
		return &problem{Status: http.StatusConflict, Code: "owner",
			Message: "The team's owner cannot be removed, leave or take another role. Make another member the owner first."}
	case errors.Is(err, store.ErrNotFound):
		return &problem{Status: http.StatusNotFound, Code: "not_found", Message: "That item does not exist or is not yours."}
	case errors.Is(err, context.Canceled):
		return errClientGone
	case errors.Is(err, store.ErrUnavailable):
		return &problem{Status: http.StatusServiceUnavailable, Code: "storage_unavailable", RetryAfter: 5,
			Message: "Closr's storage is busy or unavailable right now. Nothing was saved; try again in a few seconds."}
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusRequestEntityTooLarge:
			return &problem{Status: he.Code, Code: "too_large", Message: "The request body is too large."}
		case http.StatusNotFound:
			return errNoPage
		case http.StatusMethodNotAllowed:
			return &problem{Status: he.Code, Code: "method_not_allowed", Message: "This address does not accept that method."}
		}
		return &problem{Status: he.Code, Code: "error", Message: http.StatusText(he.Code)}
	}
	return &problem{Status: http.StatusInternalServerError, Code: "internal", Message: "Something went wrong on our side. Nothing was saved; please try again."}
}

// intakeStatus is the status and code of each kind of refused lead.
var intakeStatus = map[intake.Kind]struct {
	status int
	code   string
}{
	intake.Unreadable:        {http.StatusBadRequest, "unreadable_body"},
	intake.Unsupported:       {http.StatusUnsupportedMediaType, "unsupported_content_type"},
	intake.Invalid:           {http.StatusUnprocessableEntity, "validation_failed"},
	intake.IdempotencyReused: {http.StatusUnprocessableEntity, "idempotency_key_reused"},
	intake.TooLarge:          {http.StatusRequestEntityTooLarge, "too_large"},
}

func intakeProblem(e *intake.Error) *problem {
	st := intakeStatus[e.Kind]
	return &problem{Status: st.status, Code: st.code, Message: e.Message, Fields: e.Fields}
}

func errUnreadable(what string) *problem {
	return &problem{Status: http.StatusBadRequest, Code: "unreadable_body", Message: what}
}

// handleError answers an error as JSON on the API and as a page elsewhere.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := toProblem(err)
	if p.Status >= 500 {
		s.logOf(c).Error("request failed", "path", logPath(c), "err", err)
	}
	if p.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", fmt.Sprint(p.RetryAfter))
	}
	var werr error
	switch {
	case c.Request().Method == http.MethodHead:
		werr = c.NoContent(p.Status)
	case isAPI(c):
		werr = c.JSONBlob(p.Status, p.jsonBody())
	case isHTMX(c):
		// Before the Accept check: HTMX sends Accept */*. app.js shows
		// this text in an alert, since HTMX swaps no error answer.
		werr = c.String(p.Status, p.Message)
	case !wantsHTML(c):
		werr = c.JSONBlob(p.Status, p.jsonBody())
	default:
		s.sessionForErrorPage(c)
		heading, message := p.page()
		link, to := "Back to Closr", "/"
		if agentOf(c) != nil {
			link, to = "Go to your leads", "/leads"
		}
		werr = messagePage(c, p.Status, heading, message, link, to)
	}
	if werr != nil {
		s.logOf(c).Error("write error response", "err", werr)
	}
}

// page is the problem as an error page says it: a plain heading and what
// to do. A page that is not there and a method a page does not take are
// the same to a person: the address leads nowhere.
func (p *problem) page() (heading, message string) {
	switch {
	case p.Status == http.StatusNotFound && p.Code == "not_found" && p.Message != errNoPage.Message:
		return "We couldn't find that", p.Message
	case p.Status == http.StatusNotFound || p.Status == http.StatusMethodNotAllowed:
		return "This page doesn't exist", errNoPage.Message
	case p == errCSRF:
		return "This form has expired", p.Message
	case p.Status == http.StatusForbidden:
		return "You can't do that here", p.Message
	case p.Status == http.StatusTooManyRequests:
		return "Too many tries", p.Message
	case p.Status == http.StatusRequestEntityTooLarge:
		return "That was too much to send", p.Message
	case p.Status == http.StatusServiceUnavailable:
		return "Closr is busy right now", p.Message
	case p.Status >= 500:
		return "Something went wrong", p.Message
	}
	return "That didn't work", p.Message
}

// errNoPage is an address that leads nowhere.
var errNoPage = &problem{Status: http.StatusNotFound, Code: "not_found",
	Message: "The address may be mistyped, or the page has moved. Check it, or go back and follow a link."}

// wantsHTML reports whether the client asked for a page rather than JSON.
func wantsHTML(c echo.Context) bool {
	accept := c.Request().Header.Get("Accept")
	return accept == "" || preferHTML(accept)
}

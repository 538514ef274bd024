package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"closr/store"
)

const (
	cookieName = "closr_session"
	sessionTTL = 30 * 24 * time.Hour
	// sessionIdle ends a session nobody has used for a week (a laptop left
	// signed in somewhere); sessionsPerAgent keeps an agent's newest
	// sessions only, so repeated sign-ins cannot pile them up.
	sessionIdle      = 7 * 24 * time.Hour
	sessionsPerAgent = 10
	ctxAgent         = "closr.agent"
	ctxCSRF          = "closr.csrf"
	ctxSession       = "closr.session"
	ctxClock         = "closr.clock"
)

var sessionRules = store.SessionRules{Lifetime: sessionTTL, Idle: sessionIdle, PerAgent: sessionsPerAgent}

// newCookieStore derives the cookie's signing and encryption keys from the
// configured secret, so one secret serves both.
func newCookieStore(secret []byte) *sessions.CookieStore {
	hashKey := sha256.Sum256(append([]byte("closr cookie hash:"), secret...))
	blockKey := sha256.Sum256(append([]byte("closr cookie block:"), secret...))
	cs := sessions.NewCookieStore(hashKey[:], blockKey[:])
	cs.Options = &sessions.Options{Path: "/", MaxAge: int(sessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode}
	cs.MaxAge(cs.Options.MaxAge)
	return cs
}

// randomID returns n random bytes, base64url encoded.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// requestIDs makes request ids: a random prefix per process and a counter.
// They are unique, not secret, and cost no system call (crypto/rand per
// request showed in the ingest profile).
type requestIDs struct {
	once   sync.Once
	prefix string
	n      atomic.Uint64
}

func (r *requestIDs) next() string {
	r.once.Do(func() { r.prefix = randomID(6) })
	return r.prefix + "-" + strconv.FormatUint(r.n.Add(1), 36)
}

// logRequests writes one line per request, or per failed request with
// Config.LogErrorsOnly (refused API requests past refusedLogBudget a second
// are counted instead). It records the path
// without its query string and no header, so no key, password or cookie can
// reach a log.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		dur := time.Since(start)
		now := s.now()
		if n, since := s.refusals.summary(now); n > 0 {
			s.log.LogAttrs(c.Request().Context(), slog.LevelWarn, "refused API requests not logged one by one",
				slog.Int64("count", n), slog.Time("since", since), slog.Int("limit_per_s", refusedLogBudget))
		}
		if status < 400 && s.errorsOnly || status >= 400 && status < 500 && isAPI(c) && !s.refusals.take(now) {
			return nil
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("method", c.Request().Method),
			slog.String("path", logPath(c)),
			slog.Int("status", status),
			slog.Int64("bytes", c.Response().Size),
			slog.Duration("dur", dur),
			slog.String("ip", c.RealIP()),
		}
		if err != nil && status >= 500 {
			attrs = append(attrs, slog.String("err", err.Error()))
		}
		s.log.LogAttrs(c.Request().Context(), level, "request", attrs...)
		return nil
	}
}

// logPath is the request's path as the logs show it: an invitation link's
// token is a credential, like a key, and never reaches a log.
func logPath(c echo.Context) string {
	if p := c.Request().URL.Path; !strings.HasPrefix(p, "/invite/") {
		return p
	}
	return "/invite/[redacted]"
}

// refusedLogBudget is how many refused API requests (4xx) a second get a
// request line each. Past it they are only counted, and one line a second
// gives the count: a flood of bad keys from many addresses (which the per-IP
// limit does not stop) would otherwise write gigabytes of log an hour, on
// the disk the database needs, and cost more CPU than refusing them.
const refusedLogBudget = 50

// refusalLog is the budget of request lines for refused API requests.
type refusalLog struct {
	mu      sync.Mutex
	sec     int64        // the second being counted
	used    int          // lines written in it
	skipped atomic.Int64 // lines not written since the last summary
	since   time.Time    // when the first of those was skipped
}

// take reports whether a refused request's line may be written at now.
func (r *refusalLog) take(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sec := now.Unix(); sec != r.sec {
		r.sec, r.used = sec, 0
	}
	if r.used < refusedLogBudget {
		r.used++
		return true
	}
	if r.skipped.Add(1) == 1 {
		r.since = now
	}
	return false
}

// summary returns how many lines were not written, and since when, at most
// once a second; it then starts counting afresh.
func (r *refusalLog) summary(now time.Time) (int64, time.Time) {
	if r.skipped.Load() == 0 {
		return 0, time.Time{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.skipped.Load() == 0 || now.Sub(r.since) < time.Second {
		return 0, time.Time{}
	}
	return r.skipped.Swap(0), r.since
}

// logOf returns a logger for lines about the request, carrying its request
// id. It is made when needed: most requests log only their request line.
func (s *Server) logOf(c echo.Context) *slog.Logger {
	return s.log.With("request_id", c.Response().Header().Get(echo.HeaderXRequestID))
}

// Security headers, with their canonical names so that setting them costs
// no allocation on the ingest path. The values are shared and never
// appended to.
var (
	hdrNosniff        = []string{"nosniff"}
	hdrPageCSP        = []string{"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"}
	hdrAPICSP         = []string{"default-src 'none'; frame-ancestors 'none'"}
	hdrReferrerPolicy = []string{"same-origin"}
	hdrFrameDeny      = []string{"DENY"}
	hdrHSTS           = []string{"max-age=63072000; includeSubDomains"}
)

// securityHeaders sets the headers every response carries. The API answers
// JSON that no browser renders, so it gets the short policy that forbids
// everything (as OWASP advises for REST APIs); the few HTML pages the API
// answers browser forms with get the page headers from render.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["X-Content-Type-Options"] = hdrNosniff
		if isAPI(c) {
			h["Content-Security-Policy"] = hdrAPICSP
		} else {
			pageHeaders(h)
		}
		if s.servedOverTLS(c) {
			h["Strict-Transport-Security"] = hdrHSTS
		}
		return next(c)
	}
}

// pageHeaders sets the headers of a response a browser renders: a CSP with
// no inline script or style, no framing, and a referrer policy.
func pageHeaders(h http.Header) {
	h["Content-Security-Policy"] = hdrPageCSP
	h["Referrer-Policy"] = hdrReferrerPolicy
	h["X-Frame-Options"] = hdrFrameDeny
}

// withSession loads the session cookie, makes sure it carries a CSRF token,
// finds the signed-in agent, and refuses state changes without the token.
func (s *Server) withSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		// A cookie that fails to decode (old keys, tampering) starts afresh.
		sess, _ := s.cookies.Get(r, cookieName)
		c.Set(ctxSession, sess)
		token, _ := sess.Values["csrf"].(string)
		if token == "" {
			sess.Values["csrf"] = randomID(32)
			if err := s.saveSession(c, sess); err != nil {
				return err
			}
		}
		c.Set(ctxCSRF, sess.Values["csrf"])
		if sid, _ := sess.Values["sid"].(string); sid != "" {
			a, err := s.store.SessionAgent(r.Context(), sid, sessionRules)
			switch {
			case err == nil:
				c.Set(ctxAgent, &a)
			case errors.Is(err, store.ErrNotFound):
				delete(sess.Values, "sid")
				if err := s.saveSession(c, sess); err != nil {
					return err
				}
			default:
				return err
			}
		}
		c.Set(ctxClock, s.clockFor(c, agentOf(c)))
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			// Never from the query string, where a token would leak into
			// logs, history and Referer headers.
			sent := r.Header.Get("X-CSRF-Token")
			if sent == "" {
				sent = r.PostFormValue("_csrf")
			}
			want, _ := sess.Values["csrf"].(string)
			if sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(want)) != 1 {
				return errCSRF
			}
		}
		return next(c)
	}
}

// sessionForErrorPage reads the session of a request outside the session
// routes (an unknown address), so that its error page keeps the agent's
// navigation. It writes no cookie; like any page, it counts as the
// session being used.
func (s *Server) sessionForErrorPage(c echo.Context) {
	if c.Get(ctxSession) != nil {
		return // withSession ran
	}
	sess, err := s.cookies.Get(c.Request(), cookieName)
	if err != nil {
		return
	}
	token, _ := sess.Values["csrf"].(string)
	sid, _ := sess.Values["sid"].(string)
	if token == "" || sid == "" {
		return
	}
	a, err := s.store.SessionAgent(c.Request().Context(), sid, sessionRules)
	if err != nil {
		return
	}
	c.Set(ctxCSRF, token)
	c.Set(ctxAgent, &a)
	c.Set(ctxClock, s.clockFor(c, &a))
}

// saveSession writes the session cookie; it is Secure when served over TLS
// (see servedOverTLS).
func (s *Server) saveSession(c echo.Context, sess *sessions.Session) error {
	opts := *sess.Options
	opts.Secure = s.servedOverTLS(c)
	sess.Options = &opts
	return sess.Save(c.Request(), c.Response())
}

// sessionOf returns the request's cookie session (set by withSession).
func sessionOf(c echo.Context) *sessions.Session {
	sess, _ := c.Get(ctxSession).(*sessions.Session)
	return sess
}

// csrfToken returns the token forms and HTMX must send back.
func csrfToken(c echo.Context) string {
	t, _ := c.Get(ctxCSRF).(string)
	return t
}

// requireAgent sends signed-out visitors to the login page, which brings
// them back to the page they asked for; HTMX gets an HX-Redirect since it
// would otherwise swap the login page into the card. Signed-in responses
// are never stored: they hold leads' personal data, and Back must not
// restore a page showing a new key from the browser's cache.
func (s *Server) requireAgent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if agentOf(c) != nil {
			noStore(c)
			return next(c)
		}
		r := c.Request()
		back := ""
		switch {
		case isHTMX(c):
			if u, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && u.Host == r.Host {
				back = u.RequestURI()
			}
		case r.Method == http.MethodGet:
			back = r.URL.RequestURI()
		}
		to := loginURL(back)
		if isHTMX(c) {
			c.Response().Header().Set("HX-Redirect", to)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, to)
	}
}

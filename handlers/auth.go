package handlers

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones are checked by name, whatever the host has installed
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// badLogin is the one message for an unknown email and a wrong password, so
// the page never tells which emails have accounts.
const badLogin = "That email and password don't match. Check both and try again."

func (s *Server) signupPage(c echo.Context) error {
	if agentOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/settings/integrations")
	}
	return render(c, http.StatusOK, views.SignupPage(page(c, "Sign up", ""), views.Form{}))
}

func (s *Server) signup(c echo.Context) error {
	f := views.Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"name", "email", "team"} {
		f.Values[k] = strings.TrimSpace(c.FormValue(k))
	}
	password := c.FormValue("password")
	requireText(f, "name", "Enter your name.", 100)
	requireText(f, "team", "Enter your team or brokerage name.", 100)
	if msg := checkEmail(f.Values["email"]); msg != "" {
		f.Errors["email"] = msg
	}
	checkPassword(f, password)
	if len(f.Errors) > 0 {
		return render(c, http.StatusUnprocessableEntity, views.SignupPage(page(c, "Sign up", ""), f))
	}
	ip := c.RealIP()
	if ok, wait := s.signups.reserve(ip, 0); !ok {
		f.Error = tooManyAttempts(c, wait, "sign-ups from this address")
		return render(c, http.StatusTooManyRequests, views.SignupPage(page(c, "Sign up", ""), f))
	}
	var hash []byte
	if err := s.hashes.run(c.Request().Context(), func() { hash = s.passwd.hash(password) }); err != nil {
		s.signups.refund(ip) // nothing was created
		if f.Error = hashBusy(c, err); f.Error == "" {
			return err
		}
		return render(c, http.StatusServiceUnavailable, views.SignupPage(page(c, "Sign up", ""), f))
	}
	a, err := s.store.CreateTeamWithOwner(c.Request().Context(), f.Values["team"],
		store.NewAgent{Name: f.Values["name"], Email: f.Values["email"], PasswordHash: hash, TimeZone: timeZoneOrUTC(c.FormValue("tz"))})
	if errors.Is(err, store.ErrEmailTaken) {
		f.Errors["email"] = "An account with this email already exists. Log in instead."
		return render(c, http.StatusUnprocessableEntity, views.SignupPage(page(c, "Sign up", ""), f))
	}
	if err != nil {
		return err
	}
	if err := s.startSession(c, a.ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/settings/integrations")
}

// requireText checks a trimmed, required field of at most max characters.
func requireText(f views.Form, name, missing string, max int) {
	switch v := f.Values[name]; {
	case v == "":
		f.Errors[name] = missing
	case utf8.RuneCountInString(v) > max:
		f.Errors[name] = fmt.Sprintf("Keep this to %d characters or fewer.", max)
	}
}

// checkPassword checks a new password's length.
func checkPassword(f views.Form, password string) {
	switch n := utf8.RuneCountInString(password); {
	case n < 8:
		f.Errors["password"] = "Use a password of at least 8 characters."
	case n > 200:
		f.Errors["password"] = "Use a password of at most 200 characters."
	}
}

// timeZoneOrUTC is the time zone the browser reported at sign-up (app.js
// fills a hidden field), or UTC when it sent none or one this server does
// not know.
func timeZoneOrUTC(tz string) string {
	if validTimeZone(tz) {
		return tz
	}
	return "UTC"
}

// validTimeZone reports whether tz is an IANA time zone name.
func validTimeZone(tz string) bool {
	if tz == "" || tz == "Local" || len(tz) > 64 {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

// maxEmailBytes is the longest email address (RFC 5321's path limit).
const maxEmailBytes = 254

// checkEmail returns what is wrong with an email address, or "".
func checkEmail(email string) string {
	if email == "" {
		return "Enter your email address."
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > maxEmailBytes {
		return "Enter an email address like name@example.com."
	}
	return ""
}

func (s *Server) loginPage(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if agentOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, cmp.Or(next, "/settings/integrations"))
	}
	return render(c, http.StatusOK, views.LoginPage(page(c, "Log in", ""), views.Form{Values: map[string]string{"next": next}}))
}

// loginURL is the login page that returns to back (a path of this site)
// once signed in.
func loginURL(back string) string {
	if back = safeNext(back); back == "" || back == "/" {
		return "/login"
	}
	return "/login?next=" + url.QueryEscape(back)
}

// safeNext is where to go after logging in: back when it is a path of
// this site, else "". Anything a browser could read as another site is
// refused: "//evil.example", "/\evil.example" (read as "//"), a scheme,
// and control characters (browsers drop tabs and newlines, so a slash, a
// tab and "/evil.example" would become "//evil.example").
func safeNext(back string) string {
	if back == "" || len(back) > 2000 || back[0] != '/' || strings.HasPrefix(back, "//") || strings.ContainsRune(back, '\\') {
		return ""
	}
	for _, r := range back {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(back)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Path == "/login" || u.Path == "/logout" {
		return ""
	}
	return back
}

func (s *Server) login(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	f := views.Form{Values: map[string]string{"email": email, "next": next}}
	// No account has a longer email: refused before any throttle has to
	// remember it.
	if len(email) > maxEmailBytes {
		f.Values["email"] = ""
		f.Error = "Enter an email address like name@example.com."
		return render(c, http.StatusUnprocessableEntity, views.LoginPage(page(c, "Log in", ""), f))
	}
	account, ip := strings.ToLower(email), c.RealIP()
	// The attempt counts before the password is checked, so parallel
	// guesses cannot all slip past the limit while the first are hashing.
	if ok, wait, what := s.logins.admit(account, ip); !ok {
		f.Error = tooManyAttempts(c, wait, what)
		return render(c, http.StatusTooManyRequests, views.LoginPage(page(c, "Log in", ""), f))
	}
	matched, err := s.checkLogin(c, email, password)
	if err != nil {
		s.logins.unchecked(account, ip)
		if f.Error = hashBusy(c, err); f.Error == "" {
			return err
		}
		return render(c, http.StatusServiceUnavailable, views.LoginPage(page(c, "Log in", ""), f))
	}
	if matched == nil {
		f.Error = badLogin
		return render(c, http.StatusUnauthorized, views.LoginPage(page(c, "Log in", ""), f))
	}
	s.logins.succeeded(account, ip)
	if err := s.startSession(c, matched.ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, cmp.Or(next, "/settings/integrations"))
}

// checkLogin returns the agent whose email and password these are, or nil.
// An unknown email is checked against a dummy hash, taking the same time.
func (s *Server) checkLogin(c echo.Context, email, password string) (*store.Agent, error) {
	a, err := s.store.AgentByEmail(c.Request().Context(), email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	known := err == nil
	ok := false
	if err := s.hashes.run(c.Request().Context(), func() {
		if known {
			ok = s.passwd.verify(a.PasswordHash, password)
		} else {
			s.passwd.verify(dummyHash(), password)
		}
	}); err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	return &a, nil
}

// tooManyAttempts sets Retry-After and returns the form's message.
func tooManyAttempts(c echo.Context, wait time.Duration, what string) string {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	c.Response().Header().Set("Retry-After", fmt.Sprint(secs))
	if secs < 60 {
		return fmt.Sprintf("Too many %s. Wait %d second(s), then try again.", what, secs)
	}
	return fmt.Sprintf("Too many %s. Wait %d minute(s), then try again.", what, (secs+59)/60)
}

// hashBusy returns the form's message when err says no password hash slot
// freed in time (and sets Retry-After), or "" for any other error.
func hashBusy(c echo.Context, err error) string {
	if !errors.Is(err, errHashBusy) {
		return ""
	}
	c.Response().Header().Set("Retry-After", "5")
	return "Closr is checking many passwords right now. Wait a few seconds, then try again."
}

// dummyHash is verified against when the email is unknown. It is made on
// first use: hashing takes 19 MiB, which the process should not hold from
// start.
var dummyHash = sync.OnceValue(func() []byte { return newPasswordHasher(0).hash("closr dummy password") })

// startSession signs the agent in with a new session id and a new CSRF token.
func (s *Server) startSession(c echo.Context, agentID int64) error {
	sid, err := s.store.CreateSession(c.Request().Context(), agentID, sessionRules)
	if err != nil {
		return err
	}
	sess := sessionOf(c)
	sess.Values["sid"] = sid
	sess.Values["csrf"] = randomID(32)
	return s.saveSession(c, sess)
}

func (s *Server) logout(c echo.Context) error {
	sess := sessionOf(c)
	if sid, _ := sess.Values["sid"].(string); sid != "" {
		if err := s.store.DeleteSession(c.Request().Context(), sid); err != nil {
			return err
		}
	}
	return s.signedOut(c)
}

// logoutEverywhere ends every session of the agent, on every device: what
// to do after signing in on a shared computer or losing a phone.
func (s *Server) logoutEverywhere(c echo.Context) error {
	if err := s.store.DeleteAgentSessions(c.Request().Context(), agentOf(c).ID); err != nil {
		return err
	}
	return s.signedOut(c)
}

// signedOut forgets the session in the cookie, with a new CSRF token, and
// sends the browser to the login page.
func (s *Server) signedOut(c echo.Context) error {
	sess := sessionOf(c)
	delete(sess.Values, "sid")
	sess.Values["csrf"] = randomID(32)
	if err := s.saveSession(c, sess); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

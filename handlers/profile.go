package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

func (s *Server) profilePage(c echo.Context) error {
	return s.renderProfile(c, http.StatusOK, "", profileForm(agentOf(c)), views.Form{})
}

// profileForm is the details form filled with what is stored.
func profileForm(a *store.Agent) views.Form {
	return views.Form{Values: map[string]string{"name": a.Name, "email": a.Email, "tz": a.TimeZone}, Errors: map[string]string{}}
}

// updateProfile saves the agent's name, email and time zone. A new email
// needs the current password: whoever holds a session must not be able to
// take the account over by moving its email.
func (s *Server) updateProfile(c echo.Context) error {
	a := agentOf(c)
	f := views.Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"name", "email", "tz"} {
		f.Values[k] = strings.TrimSpace(c.FormValue(k))
	}
	requireText(f, "name", "Enter your name.", 100)
	if msg := checkEmail(f.Values["email"]); msg != "" {
		f.Errors["email"] = msg
	}
	if !validTimeZone(f.Values["tz"]) {
		f.Errors["tz"] = "Enter a time zone by its name, like America/Chicago or Europe/London."
	}
	if len(f.Errors) == 0 && !strings.EqualFold(f.Values["email"], a.Email) {
		status, err := s.checkCurrentPassword(c, f, a)
		if err != nil || status != 0 {
			if err != nil {
				return err
			}
			return s.renderProfile(c, status, "", f, views.Form{})
		}
	}
	if len(f.Errors) > 0 {
		return s.renderProfile(c, http.StatusUnprocessableEntity, "", f, views.Form{})
	}
	err := s.store.UpdateProfile(c.Request().Context(), a.ID, f.Values["name"], f.Values["email"], f.Values["tz"])
	if errors.Is(err, store.ErrEmailTaken) {
		f.Errors["email"] = "Another Closr account uses this email."
		return s.renderProfile(c, http.StatusUnprocessableEntity, "", f, views.Form{})
	}
	if err != nil {
		return err
	}
	s.logOf(c).Info("profile updated", "agent_id", a.ID)
	a.Name, a.Email, a.TimeZone = f.Values["name"], f.Values["email"], f.Values["tz"]
	return s.renderProfile(c, http.StatusOK, "Saved.", profileForm(a), views.Form{})
}

// changePassword sets a new password and ends the agent's other sessions.
func (s *Server) changePassword(c echo.Context) error {
	a := agentOf(c)
	f := views.Form{Values: map[string]string{}, Errors: map[string]string{}}
	password := c.FormValue("password")
	checkPassword(f, password)
	if len(f.Errors) > 0 {
		return s.renderProfile(c, http.StatusUnprocessableEntity, "", profileForm(a), f)
	}
	if status, err := s.checkCurrentPassword(c, f, a); err != nil || status != 0 {
		if err != nil {
			return err
		}
		return s.renderProfile(c, status, "", profileForm(a), f)
	}
	var hash []byte
	if err := s.hashes.run(c.Request().Context(), func() { hash = s.passwd.hash(password) }); err != nil {
		if f.Error = hashBusy(c, err); f.Error == "" {
			return err
		}
		return s.renderProfile(c, http.StatusServiceUnavailable, "", profileForm(a), f)
	}
	sid, _ := sessionOf(c).Values["sid"].(string)
	if err := s.store.SetPassword(c.Request().Context(), a.ID, hash, sid); err != nil {
		return err
	}
	s.logOf(c).Info("password changed; other sessions ended", "agent_id", a.ID)
	return s.renderProfile(c, http.StatusOK, "Password changed. You were signed out on every other browser and device.", profileForm(a), views.Form{})
}

// checkCurrentPassword checks the form's current_password against the
// agent's, counted by the login throttle like a sign-in (a stolen session
// must not become a way to guess the password). It returns 0 when it
// matches, else the status to answer with, the form saying why.
func (s *Server) checkCurrentPassword(c echo.Context, f views.Form, a *store.Agent) (int, error) {
	account, ip := strings.ToLower(a.Email), c.RealIP()
	if ok, wait, what := s.logins.admit(account, ip); !ok {
		f.Errors["current_password"] = tooManyAttempts(c, wait, what)
		return http.StatusTooManyRequests, nil
	}
	ok := false
	if err := s.hashes.run(c.Request().Context(), func() { ok = s.passwd.verify(a.PasswordHash, c.FormValue("current_password")) }); err != nil {
		s.logins.unchecked(account, ip)
		if f.Error = hashBusy(c, err); f.Error == "" {
			return 0, err
		}
		return http.StatusServiceUnavailable, nil
	}
	if !ok {
		f.Errors["current_password"] = "That is not your current password."
		return http.StatusUnprocessableEntity, nil
	}
	s.logins.succeeded(account, ip)
	return 0, nil
}

func (s *Server) renderProfile(c echo.Context, status int, notice string, details, password views.Form) error {
	return render(c, status, views.ProfilePage(page(c, "Profile", "profile"), notice, details, password))
}

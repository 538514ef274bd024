package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// invitePage shows the team and who invited, and the form to join.
func (s *Server) invitePage(c echo.Context) error {
	noStore(c)
	inv, err := s.usableInvitation(c)
	if err != nil {
		return s.unusableInvitation(c, inv, err)
	}
	return s.renderAccept(c, http.StatusOK, inv, views.Form{})
}

// acceptInvite makes the invited person's account, with the invited email
// and role, and signs them in.
func (s *Server) acceptInvite(c echo.Context) error {
	noStore(c)
	inv, err := s.usableInvitation(c)
	if err != nil {
		return s.unusableInvitation(c, inv, err)
	}
	f := views.Form{Values: map[string]string{"name": strings.TrimSpace(c.FormValue("name"))}, Errors: map[string]string{}}
	password := c.FormValue("password")
	requireText(f, "name", "Enter your name.", 100)
	checkPassword(f, password)
	if len(f.Errors) > 0 {
		return s.renderAccept(c, http.StatusUnprocessableEntity, inv, f)
	}
	// Joining makes an account and costs a password hash, as signing up does.
	ip := c.RealIP()
	if ok, wait := s.signups.reserve(ip, 0); !ok {
		f.Error = tooManyAttempts(c, wait, "sign-ups from this address")
		return s.renderAccept(c, http.StatusTooManyRequests, inv, f)
	}
	var hash []byte
	if err := s.hashes.run(c.Request().Context(), func() { hash = s.passwd.hash(password) }); err != nil {
		s.signups.refund(ip)
		if f.Error = hashBusy(c, err); f.Error == "" {
			return err
		}
		return s.renderAccept(c, http.StatusServiceUnavailable, inv, f)
	}
	a, err := s.store.AcceptInvitation(c.Request().Context(), c.Param("token"),
		store.NewAgent{Name: f.Values["name"], PasswordHash: hash, TimeZone: timeZoneOrUTC(c.FormValue("tz"))})
	if errors.Is(err, store.ErrEmailTaken) {
		f.Error = fmt.Sprintf("%s already has a Closr account, and a person can belong to one team only for now. Log in with it instead.", inv.Email)
		return s.renderAccept(c, http.StatusConflict, inv, f)
	}
	if err != nil {
		return s.unusableInvitation(c, inv, err)
	}
	// Whoever was signed in on this browser is signed out of it.
	if sid, _ := sessionOf(c).Values["sid"].(string); sid != "" {
		if err := s.store.DeleteSession(c.Request().Context(), sid); err != nil {
			return err
		}
	}
	if err := s.startSession(c, a.ID); err != nil {
		return err
	}
	s.logOf(c).Info("invitation accepted", "team", a.TeamID, "agent_id", a.ID, "invitation_id", inv.ID)
	return c.Redirect(http.StatusSeeOther, "/settings/team")
}

// usableInvitation finds the link's invitation and says whether it can be
// accepted now.
func (s *Server) usableInvitation(c echo.Context) (store.Invitation, error) {
	inv, err := s.store.Invitation(c.Request().Context(), c.Param("token"))
	if err != nil {
		return inv, err
	}
	return inv, inv.Usable(s.now())
}

// unusableInvitation answers a link that cannot be used with a page that
// says plainly why; other errors go on.
func (s *Server) unusableInvitation(c echo.Context, inv store.Invitation, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return messagePage(c, http.StatusNotFound, "Invitation not found",
			"This invitation link is not valid. Check that you opened the whole link, or ask for a new invitation.", "Log in", "/login")
	case errors.Is(err, store.ErrInviteUsed):
		return messagePage(c, http.StatusGone, "Invitation already used",
			fmt.Sprintf("This invitation to %s has already been used; a link works once. If you joined with it, log in.", inv.TeamName), "Log in", "/login")
	case errors.Is(err, store.ErrInviteGone):
		return messagePage(c, http.StatusGone, "Invitation cancelled",
			fmt.Sprintf("This invitation to %s was cancelled. If you should still join, ask %s for a new one.", inv.TeamName, inv.InviterName), "", "")
	case errors.Is(err, store.ErrInviteExpired):
		return messagePage(c, http.StatusGone, "Invitation expired",
			fmt.Sprintf("This invitation to %s expired on %s: links work for 7 days. Ask %s for a new one.",
				inv.TeamName, inv.ExpiresAt.Format("Jan 2, 2006"), inv.InviterName), "", "")
	}
	return err
}

func (s *Server) renderAccept(c echo.Context, status int, inv store.Invitation, f views.Form) error {
	v := views.AcceptInvite{Team: inv.TeamName, Inviter: inv.InviterName, Email: inv.Email, Role: inv.Role, Action: c.Request().URL.Path}
	return render(c, status, views.AcceptInvitePage(page(c, "Join "+inv.TeamName, ""), v, f))
}

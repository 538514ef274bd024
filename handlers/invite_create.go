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

// invite invites a person to the team by email and answers with the link,
// shown this once (only its hash is stored); with mail configured the link
// is emailed too, after the invitation is committed.
func (s *Server) invite(c echo.Context) error {
	a := agentOf(c)
	f := views.InviteForm{Email: strings.TrimSpace(c.FormValue("email")), Role: c.FormValue("role")}
	switch {
	case f.Email == "":
		f.Error = "Enter the email address of the person to invite."
	case f.Role != store.RoleAdmin && f.Role != store.RoleAgent:
		f.Error = "Choose their role: Agent or Admin."
	default:
		f.Error = checkEmail(f.Email)
	}
	if f.Error != "" {
		return s.inviteFormError(c, f)
	}
	inv, token, err := s.store.CreateInvitation(c.Request().Context(), a.TeamID, a.ID, f.Email, f.Role)
	switch {
	case errors.Is(err, store.ErrEmailTaken):
		f.Error = fmt.Sprintf("%s already has a Closr account. A person can belong to one team only for now, so they cannot be invited to this one.", f.Email)
	case errors.Is(err, store.ErrInvited):
		f.Error = fmt.Sprintf("%s is already invited. To send a new link, cancel that invitation below first.", f.Email)
	case errors.Is(err, store.ErrInviteLimit):
		f.Error = fmt.Sprintf("Your team has %d invitations waiting, the most it can have. Cancel some you no longer need first.", store.MaxOpenInvites)
	case err != nil:
		return err
	}
	if f.Error != "" {
		return s.inviteFormError(c, f)
	}
	link := baseURL(c) + "/invite/" + token
	s.logOf(c).Info("invitation created", "team", a.TeamID, "invitation_id", inv.ID, "role", inv.Role)
	if s.mail != nil {
		subject, body := inviteMail(inv, link)
		s.mail.Send([]string{inv.Email}, subject, body)
	}
	t, err := s.team(c)
	if err != nil {
		// The invitation exists now and this answer is the only place its
		// link is ever shown: show it, even without the rest.
		s.logOf(c).Error("load the team after inviting", "err", err)
		t = views.Team{Name: a.TeamName, Me: a.ID, MyRole: a.Role, CanManage: true, Mail: s.mail != nil,
			Notice: "The invitation was created, but the team could not be loaded just now. Copy the link, then reload the page."}
	}
	t.Invite = views.InviteForm{Role: f.Role, Link: link, For: inv.Email, Emailed: s.mail != nil}
	return s.renderTeam(c, http.StatusOK, t)
}

// inviteFormError shows what to fix under the invite form, keeping what
// was entered, and invites no one.
func (s *Server) inviteFormError(c echo.Context, f views.InviteForm) error {
	t, err := s.team(c)
	if err != nil {
		return err
	}
	t.Invite = f
	return s.renderTeam(c, http.StatusUnprocessableEntity, t)
}

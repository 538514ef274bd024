package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

func (s *Server) teamPage(c echo.Context) error {
	t, err := s.team(c)
	if err != nil {
		return err
	}
	return s.renderTeam(c, http.StatusOK, t)
}

// team loads the signed-in agent's Team page: members, open invitations
// and, for owners and admins, the keys to rotate.
func (s *Server) team(c echo.Context) (views.Team, error) {
	ctx, a := c.Request().Context(), agentOf(c)
	members, err := s.store.Members(ctx, a.TeamID)
	if err != nil {
		return views.Team{}, err
	}
	invites, err := s.store.OpenInvitations(ctx, a.TeamID)
	if err != nil {
		return views.Team{}, err
	}
	t := views.Team{Name: a.TeamName, Me: a.ID, MyRole: a.Role, CanManage: store.CanManage(a.Role), Mail: s.mail != nil}
	for _, m := range members {
		t.Members = append(t.Members, memberRow(m))
	}
	for _, i := range invites {
		t.Invites = append(t.Invites, views.InviteRow{ID: i.ID, Email: i.Email, Role: i.Role, InvitedBy: i.InviterName, Expires: i.ExpiresAt})
	}
	if t.CanManage {
		if t.Rotation, err = s.rotation(ctx, a.TeamID); err != nil {
			return views.Team{}, err
		}
	}
	return t, nil
}

func memberRow(m store.Member) views.MemberRow {
	return views.MemberRow{ID: m.ID, Name: m.Name, Email: m.Email, Role: m.Role, Joined: m.JoinedAt}
}

// rotation is the rotation prompt: the active keys of people who left or
// were removed, grouped by person.
func (s *Server) rotation(ctx context.Context, teamID int64) ([]views.Departed, error) {
	keys, err := s.store.DepartedKeys(ctx, teamID)
	if err != nil {
		return nil, err
	}
	var out []views.Departed
	var last int64
	for _, k := range keys {
		if len(out) == 0 || k.CreatedBy != last {
			out = append(out, views.Departed{Name: k.CreatedByName, Left: k.Left, At: k.DepartedAt})
			last = k.CreatedBy
		}
		out[len(out)-1].Keys = append(out[len(out)-1].Keys, keyRow(k.APIKey))
	}
	return out, nil
}

// renderTeam answers with the swappable part of the page to HTMX and with
// the whole page to a plain form post.
func (s *Server) renderTeam(c echo.Context, status int, t views.Team) error {
	if isHTMX(c) {
		return render(c, status, views.TeamSettings(csrfToken(c), t))
	}
	return render(c, status, views.TeamPage(page(c, "Team", "team"), t))
}

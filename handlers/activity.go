package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// activityPageSize is how many lines of the audit trail a page shows.
const activityPageSize = 50

// activityPage is the team's full audit trail, newest first, filtered by
// kind and by person, a page at a time.
func (s *Server) activityPage(c echo.Context) error {
	a := agentOf(c)
	f := store.EventFilter{Kind: c.QueryParam("kind"), Limit: activityPageSize + 1}
	switch f.Kind {
	case "", store.EventsMembers, store.EventsInvitations, store.EventsKeys:
	default:
		return &problem{Status: http.StatusBadRequest, Code: "bad_filter", Message: "Show members, invitations or keys, or leave the filter empty for everything."}
	}
	for name, dst := range map[string]*int64{"agent": &f.Agent, "before": &f.Before} {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return &problem{Status: http.StatusBadRequest, Code: "bad_filter", Message: fmt.Sprintf("The %q filter must be a number.", name)}
			}
			*dst = n
		}
	}
	ctx := c.Request().Context()
	events, err := s.store.TeamEvents(ctx, a.TeamID, f)
	if err != nil {
		return err
	}
	members, err := s.store.Members(ctx, a.TeamID)
	if err != nil {
		return err
	}
	v := views.Activity{Kind: f.Kind, Agent: f.Agent}
	if len(events) > activityPageSize {
		events = events[:activityPageSize]
		next := url.Values{"before": {strconv.FormatInt(events[len(events)-1].ID, 10)}}
		if f.Kind != "" {
			next.Set("kind", f.Kind)
		}
		if f.Agent != 0 {
			next.Set("agent", strconv.FormatInt(f.Agent, 10))
		}
		v.NextURL = "/settings/team/activity?" + next.Encode()
	}
	v.Events = activityRows(events)
	for _, m := range members {
		v.People = append(v.People, memberRow(m))
	}
	return render(c, http.StatusOK, views.ActivityPage(page(c, "Team activity", "activity"), v))
}

func activityRows(events []store.TeamEvent) []views.ActivityRow {
	out := make([]views.ActivityRow, 0, len(events))
	for _, e := range events {
		out = append(out, views.ActivityRow{At: e.At, Action: e.Action, Actor: e.Actor, Subject: e.Subject, Email: e.Email,
			Role: e.Role, KeyLabel: e.KeyLabel, KeyPreview: e.KeyPreview})
	}
	return out
}

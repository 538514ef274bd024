package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// keyPage is one key's own page: what it did each day of the last 30 and
// its latest requests.
func (s *Server) keyPage(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	return s.renderKeyPage(c, id, http.StatusOK, "", "")
}

// renderKeyPage renders the team's key id's page; label and msg put back
// a rename that needs fixing.
func (s *Server) renderKeyPage(c echo.Context, id int64, status int, label, msg string) error {
	ctx, a, now := c.Request().Context(), agentOf(c), s.now()
	k, err := s.store.APIKey(ctx, a.TeamID, id)
	if err != nil {
		return err
	}
	usage, err := s.store.KeyUsage(ctx, a.TeamID, id, usageSince(now))
	if err != nil {
		return err
	}
	reqs, err := s.store.KeyRequests(ctx, a.TeamID, id)
	if err != nil {
		return err
	}
	d := views.KeyDetail{Key: keyRow(k, usage[id], now), Manage: store.CanManage(a.Role), Label: k.Label, Error: msg}
	if msg != "" {
		d.Label = label
	}
	if k.ReplacedBy != 0 && d.Key.Ended.IsZero() {
		if r, err := s.store.APIKey(ctx, a.TeamID, k.ReplacedBy); err == nil && r.EndedAt(now).IsZero() {
			d.Key.ReplacedBy = &views.KeyRef{ID: r.ID, Label: r.Label}
		}
	}
	for _, r := range reqs {
		d.Requests = append(d.Requests, views.RequestRow{At: r.At, Endpoint: r.Endpoint, Outcome: outcomeName(r), Status: r.Status, From: r.From, Test: r.Test})
	}
	return render(c, status, views.KeyPage(page(c, k.Label, "integrations"), d))
}

// renameAPIKey gives one of the team's keys a new label.
func (s *Server) renameAPIKey(c echo.Context) error {
	a := agentOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	label := strings.TrimSpace(c.FormValue("label"))
	if msg := checkLabel(label); msg != "" {
		return s.renderKeyPage(c, id, http.StatusUnprocessableEntity, label, msg)
	}
	k, err := s.store.RenameAPIKey(c.Request().Context(), a.TeamID, id, a.ID, label)
	if err != nil {
		return err
	}
	s.logOf(c).Info("api key renamed", "team", a.TeamID, "key_id", k.ID)
	return c.Redirect(http.StatusSeeOther, views.KeyURL(k.ID))
}

// newKeyStatus is the live line under the COPY NOW panel. Once the key's
// first request that was no test is in, it answers 286, which stops
// HTMX asking.
func (s *Server) newKeyStatus(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	k, err := s.store.APIKey(c.Request().Context(), agentOf(c).TeamID, id)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !k.FirstUsedAt.IsZero() {
		status = statusStopPolling
	}
	return render(c, status, views.KeyStatusText(views.KeyStatus{KeyID: k.ID, First: keyRow(k, nil, s.now()).First}))
}

// statusStopPolling is HTMX's "swap this and stop polling".
const statusStopPolling = 286

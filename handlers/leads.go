package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

const leadsPerPage = 50

// A lead is hot after hotVisits visits (see store.VisitGap) in hotWindow.
const (
	hotVisits = 3
	hotWindow = 7 * 24 * time.Hour
)

// maxLeadPageViews is how many of a lead's latest page views its page and
// MCP's get_lead list.
const maxLeadPageViews = 200

func (s *Server) leadsPage(c echo.Context) error {
	a := agentOf(c)
	pageNo, _ := strconv.Atoi(c.QueryParam("page"))
	pageNo = max(pageNo, 1)
	leads, total, err := s.store.Leads(c.Request().Context(), a.TeamID, leadsPerPage, (pageNo-1)*leadsPerPage)
	if err != nil {
		return err
	}
	list := views.LeadList{Page: pageNo, Total: total, Pages: (total + leadsPerPage - 1) / leadsPerPage}
	ids := make([]int64, len(leads))
	for i, l := range leads {
		ids[i] = l.ID
	}
	visits, err := s.store.VisitsOfLeads(c.Request().Context(), a.TeamID, ids, s.now().Add(-hotWindow))
	if err != nil {
		return err
	}
	for _, l := range leads {
		row := leadRow(l)
		row.Visits, row.Hot = visits[l.ID].Visits, visits[l.ID].Recent >= hotVisits
		list.Leads = append(list.Leads, row)
	}
	return render(c, http.StatusOK, views.LeadsPage(page(c, "Leads", "leads"), list))
}

func leadRow(l store.Lead) views.LeadRow {
	return views.LeadRow{ID: l.ID, Name: l.Name, Email: l.Email, Phone: l.Phone, Source: l.Source, KeyLabel: l.KeyLabel, At: l.CreatedAt,
		NeedsContact: l.NeedsContact()}
}

func (s *Server) leadPage(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	d, err := s.leadDetail(c, id)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.LeadPage(page(c, d.Lead.Name, "leads"), d))
}

// leadDetail is everything the lead page shows about the agent's team's
// lead id.
func (s *Server) leadDetail(c echo.Context, id int64) (views.LeadDetail, error) {
	a := agentOf(c)
	l, subs, err := s.store.Lead(c.Request().Context(), a.TeamID, id)
	if err != nil {
		return views.LeadDetail{}, err
	}
	d := views.LeadDetail{Lead: leadRow(l), Message: l.Message, Updated: l.UpdatedAt, Custom: pairs(l.Custom)}
	seen, _, err := s.store.PagesViewedByLead(c.Request().Context(), a.TeamID, id, maxLeadPageViews)
	if err != nil {
		return views.LeadDetail{}, err
	}
	if d.Links, err = s.trackedLinks(c, id); err != nil {
		return views.LeadDetail{}, err
	}
	for _, v := range seen {
		d.PageViews = append(d.PageViews, views.PageView{At: v.At, Title: v.Title, URL: v.URL, Before: v.BeforeLead})
	}
	for _, sub := range subs {
		d.Submissions = append(d.Submissions, views.SubmissionView{At: sub.At, Source: sub.Source, KeyLabel: sub.KeyLabel,
			KeyPreview: sub.KeyPreview, ContentType: sub.ContentType, Fields: pairs(sub.Fields), Notes: sub.Notes, Raw: string(sub.Raw)})
	}
	return d, nil
}

func pairs(fs []store.Field) []views.Pair {
	out := make([]views.Pair, len(fs))
	for i, f := range fs {
		out[i] = views.Pair{Name: f.Name, Value: f.Value}
	}
	return out
}

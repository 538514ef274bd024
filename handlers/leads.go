package handlers

import (
	"cmp"
	"net/http"
	"strconv"
	"strings"
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

// leadsPage is /leads: a page of the team's leads, latest activity first.
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
	status := http.StatusOK
	if pageNo > list.Pages && total > 0 {
		status = http.StatusNotFound // the page says there is no such page
	}
	return render(c, status, views.LeadsPage(page(c, "Leads", "leads"), list))
}

// maxPreview is how much of the latest message the list shows, in
// characters: one line.
const maxPreview = 160

func leadRow(l store.Lead) views.LeadRow {
	return views.LeadRow{ID: l.ID, Name: l.Name, Email: l.Email, Phone: l.Phone, Source: l.Source,
		Preview: clip(strings.Join(strings.Fields(l.LastMessage), " "), maxPreview), LastActivity: l.LastActivity,
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
	return render(c, http.StatusOK, views.LeadPage(page(c, leadTitle(c, d.Lead), "leads"), d))
}

// leadTitle names the lead on its page, also when it has no name.
func leadTitle(c echo.Context, l views.LeadRow) string {
	clock, _ := c.Get(ctxClock).(views.Clock)
	return views.LeadTitle(l, clock)
}

// leadDetail is everything the lead page shows about the agent's team's
// lead id.
func (s *Server) leadDetail(c echo.Context, id int64) (views.LeadDetail, error) {
	a := agentOf(c)
	ctx := c.Request().Context()
	l, subs, err := s.store.Lead(ctx, a.TeamID, id)
	if err != nil {
		return views.LeadDetail{}, err
	}
	d := views.LeadDetail{Lead: leadRow(l), KeyLabel: l.KeyLabel, KeyPreview: l.KeyPreview, Custom: pairs(l.Custom),
		First: views.Enquiry{At: l.CreatedAt, Source: l.Source, Message: l.Message}}
	visits, err := s.store.VisitsOfLeads(ctx, a.TeamID, []int64{id}, s.now().Add(-hotWindow))
	if err != nil {
		return views.LeadDetail{}, err
	}
	d.Lead.Visits, d.Lead.Hot = visits[id].Visits, visits[id].Recent >= hotVisits
	seen, total, err := s.store.PagesViewedByLead(ctx, a.TeamID, id, maxLeadPageViews)
	if err != nil {
		return views.LeadDetail{}, err
	}
	if d.Links, err = s.trackedLinks(c, id); err != nil {
		return views.LeadDetail{}, err
	}
	d.Visits, d.MostViewed = story(seen, d.Lead.Visits, l.CreatedAt)
	d.PageViews, d.PageViewsTotal = len(seen), total
	for _, sub := range subs {
		d.Submissions = append(d.Submissions, views.SubmissionView{At: sub.At, Source: sub.Source, Message: sub.Message,
			KeyLabel: sub.KeyLabel, KeyPreview: sub.KeyPreview, ContentType: sub.ContentType, Fields: pairs(sub.Fields),
			Notes: sub.Notes, Raw: string(sub.Raw)})
	}
	if len(subs) > 0 {
		// The lead's own columns hold its first message and source even
		// for submissions stored before each kept its message.
		first := subs[0]
		d.First.Source, d.First.Message = cmp.Or(first.Source, l.Source), cmp.Or(first.Message, l.Message)
	}
	if len(subs) > 1 {
		last := subs[len(subs)-1]
		d.Latest = &views.Enquiry{At: last.At, Source: last.Source, Message: last.Message}
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

package handlers

import (
	"fmt"
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

// submissionsPerPage is how many submissions the lead page and get_lead
// show at a time, newest first.
const submissionsPerPage = 20

// maxRawShown caps a raw body served on request: the inbound body limit
// (an MCP create_lead's input can be larger).
const maxRawShown = 64 << 10

func (s *Server) leadPage(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	before, err := cursorParam(c.QueryParam("before"))
	if err != nil {
		return err
	}
	d, err := s.leadDetail(c, id, before)
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
// lead id, with the submissions older than before (0: the newest).
func (s *Server) leadDetail(c echo.Context, id, before int64) (views.LeadDetail, error) {
	a := agentOf(c)
	ctx := c.Request().Context()
	l, err := s.store.Lead(ctx, a.TeamID, id)
	if err != nil {
		return views.LeadDetail{}, err
	}
	subs, err := s.store.LeadSubmissions(ctx, a.TeamID, id, before, submissionsPerPage)
	if err != nil {
		return views.LeadDetail{}, err
	}
	d := views.LeadDetail{Lead: leadRow(l), KeyLabel: l.KeyLabel, KeyPreview: l.KeyPreview, Custom: pairs(l.Custom),
		First:            views.Enquiry{At: l.CreatedAt, Source: l.Source, Message: l.Message},
		SubmissionsTotal: subs.Total, RawFolded: subs.Folded, KeptRaw: store.KeptRawBodies, Older: subs.Next, Paged: before != 0}
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
	for _, sub := range subs.Submissions {
		d.Submissions = append(d.Submissions, views.SubmissionView{ID: sub.ID, At: sub.At, Source: sub.Source, Message: sub.Message,
			KeyLabel: sub.KeyLabel, KeyPreview: sub.KeyPreview, ContentType: sub.ContentType, Fields: pairs(sub.Fields),
			Notes: sub.Notes, RawSize: sub.RawSize})
	}
	// The summary's latest enquiry is the newest submission, read apart
	// when this page holds older ones.
	newest := subs.Submissions
	if before != 0 {
		first, err := s.store.LeadSubmissions(ctx, a.TeamID, id, 0, 1)
		if err != nil {
			return views.LeadDetail{}, err
		}
		newest = first.Submissions
	}
	if subs.Total > 1 && len(newest) > 0 {
		n := newest[0]
		d.Latest = &views.Enquiry{At: n.At, Source: n.Source, Message: n.Message}
	}
	return d, nil
}

// cursorParam reads a page cursor: a submission id, or "" for the first
// page. Anything else is ErrNotFound, as for a malformed :id.
func cursorParam(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, store.ErrNotFound
	}
	return n, nil
}

// hdrRawCSP lets a raw body, which comes from anyone holding a public
// intake key, do nothing at all, even if a browser ignored its type.
var hdrRawCSP = []string{"default-src 'none'; frame-ancestors 'none'; sandbox"}

// submissionRaw shows one submission's raw body as plain text, loaded on
// its own and capped, so the lead page never carries raw bodies.
func (s *Server) submissionRaw(c echo.Context) error {
	a := agentOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	sid, err := cursorParam(c.Param("sid"))
	if err != nil || sid == 0 {
		return store.ErrNotFound
	}
	b, err := s.store.SubmissionRaw(c.Request().Context(), a.TeamID, id, sid, maxRawShown)
	if err != nil {
		return err
	}
	c.Response().Header()["Content-Security-Policy"] = hdrRawCSP
	if b.Size == 0 {
		return c.String(http.StatusGone, fmt.Sprintf("This raw body was folded: Closr keeps the raw bodies of a lead's newest %d submissions. "+
			"The submission's fields are still on the lead's page.\n", store.KeptRawBodies))
	}
	if b.Size > len(b.Data) {
		b.Data = fmt.Appendf(b.Data, "\n\n[the first %d of %d bytes]\n", len(b.Data), b.Size)
	}
	return c.Blob(http.StatusOK, echo.MIMETextPlainCharsetUTF8, b.Data)
}

func pairs(fs []store.Field) []views.Pair {
	out := make([]views.Pair, len(fs))
	for i, f := range fs {
		out[i] = views.Pair{Name: f.Name, Value: f.Value}
	}
	return out
}

package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

const leadsPerPage = 50

// maxLeadPageViews is how many of a lead's latest page views its page and
// MCP's get_lead list.
const maxLeadPageViews = 200

// searchCountCap is how far the number of leads a search finds is
// counted: exact below it, "more than" from it on.
const searchCountCap = 1000

// leadsPage is /leads: a page of the team's leads, latest activity first,
// or of those ?q= finds, newest first. Pages are keyed by a lead's place in
// that order (?before=, ?after=, store.LeadCursor), so every page costs the
// same; ?page=N opens a page by number when it lies within
// store.MaxSkip leads of either end, where finding it is cheap.
func (s *Server) leadsPage(c echo.Context) error {
	a := agentOf(c)
	ctx := c.Request().Context()
	req, err := parseLeadsQuery(c)
	if err != nil {
		return err
	}
	list := views.LeadList{Query: req.q, Source: req.filter.Source, NeedsContact: req.filter.NeedsContact,
		Hot: req.filter.Hot, OnlyTests: req.filter.Tests, CSRF: csrfToken(c)}
	if req.q == "" && req.filter == (store.LeadFilter{}) {
		if list.Tests, err = s.store.TestLeads(ctx, a.TeamID); err != nil {
			return err
		}
	}
	total, atLeast, err := s.store.CountLeads(ctx, a.TeamID, req.q, req.filter, searchCountCap)
	if errors.Is(err, store.ErrSearchTooShort) {
		list.Notice = fmt.Sprintf("Type at least %d characters to search.", store.MinSearchLen)
		return render(c, http.StatusBadRequest, views.LeadsPage(page(c, "Leads", "leads"), list))
	}
	if err != nil {
		return err
	}
	list.Total, list.TotalCapped = total, req.narrowed() && atLeast
	if !list.TotalCapped {
		list.Pages = (total + leadsPerPage - 1) / leadsPerPage
	}
	r, pageNo, notice := leadRange(req, total, list.Pages)
	r.LeadFilter = req.filter
	status := http.StatusOK
	var leads []store.Lead
	if notice == "" {
		if leads, err = s.store.Leads(ctx, a.TeamID, req.q, r); err != nil {
			return err
		}
	}
	// One lead more than a page was asked for: it says whether there is a
	// page beyond, in the direction the page was read.
	more := len(leads) > r.Limit-1
	up := r.After.ID > 0 || r.Oldest
	if more && up {
		leads = leads[1:]
	} else if more {
		leads = leads[:len(leads)-1]
	}
	if len(leads) == 0 && total > 0 && notice == "" {
		notice = "There are no leads past this point of the list."
	}
	if notice != "" {
		list.Notice, status = notice, http.StatusNotFound
	}
	list.Page = pageNo
	label := func(step int) int { // the number of the page step away, when known
		if pageNo == 0 {
			return 0
		}
		return pageNo + step
	}
	if len(leads) > 0 {
		if up && more || !up && (r.Before.ID > 0 || r.Skip > 0) {
			list.Newer = req.url("after", store.CursorOf(leads[0]).String(), label(-1))
		}
		if !up && more || up && (r.After.ID > 0 || r.Skip > 0) {
			list.Older = req.url("before", store.CursorOf(leads[len(leads)-1]).String(), label(+1))
		}
	}
	if pageNo != 1 && (total > 0 || notice != "") {
		list.First = req.url("", "", 0)
	}
	if list.Pages > 1 && pageNo != list.Pages {
		list.Last = req.url("page", strconv.Itoa(list.Pages), 0)
	}
	ids := make([]int64, len(leads))
	for i, l := range leads {
		ids[i] = l.ID
	}
	visits, err := s.store.VisitsOfLeads(ctx, a.TeamID, ids)
	if err != nil {
		return err
	}
	for _, l := range leads {
		row := leadRow(l, s.now())
		row.Visits = visits[l.ID]
		list.Leads = append(list.Leads, row)
	}
	return render(c, status, views.LeadsPage(page(c, "Leads", "leads"), list))
}

// leadsQuery is what /leads was asked for.
type leadsQuery struct {
	q             string
	filter        store.LeadFilter // ?source=, ?needs_contact=1, ?hot=1, ?tests=1
	before, after store.LeadCursor
	page          int // the page number asked for, or carried along by Newer and Older links; 0 for none
}

func parseLeadsQuery(c echo.Context) (leadsQuery, error) {
	req := leadsQuery{q: strings.TrimSpace(c.QueryParam("q"))}
	req.filter.Source = strings.TrimSpace(c.QueryParam("source"))
	for _, p := range []struct {
		name string
		on   *bool
	}{{"needs_contact", &req.filter.NeedsContact}, {"hot", &req.filter.Hot}, {"tests", &req.filter.Tests}} {
		switch c.QueryParam(p.name) {
		case "":
		case "1":
			*p.on = true
		default:
			return req, badLeadsQuery(p.name + " must be 1, or left out")
		}
	}
	for _, p := range []struct {
		name string
		to   *store.LeadCursor
	}{{"before", &req.before}, {"after", &req.after}} {
		if v := c.QueryParam(p.name); v != "" {
			cur, err := store.ParseLeadCursor(v)
			if err != nil {
				return req, badLeadsQuery(p.name + " must be a place in the list, as the Older and Newer links give it")
			}
			*p.to = cur
		}
	}
	if v := c.QueryParam("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return req, badLeadsQuery("page must be a page number: 1, 2, 3…")
		}
		req.page = n
	}
	return req, nil
}

func badLeadsQuery(msg string) error {
	return &problem{Status: http.StatusBadRequest, Code: "bad_request", Message: "This list address is not valid: " + msg + "."}
}

// leadRange turns the request into the page to read (a lead more than a
// page, to know whether there is another), the page's number (0 when not
// known) and, when the page cannot be shown, why.
func leadRange(req leadsQuery, total, pages int) (store.LeadRange, int, string) {
	r := store.LeadRange{Limit: leadsPerPage + 1}
	n := req.page
	switch {
	case req.after.ID > 0:
		r.After = req.after
	case req.before.ID > 0:
		r.Before = req.before
	case n <= 1 || total == 0:
		// An empty list is its first page, whatever the number: it says
		// there are no leads yet, or that none match.
		n = 1
	case pages > 0 && n > pages:
		return r, n, fmt.Sprintf("There is no page %d: the list ends at page %d.", n, pages)
	case (n-1)*leadsPerPage <= store.MaxSkip:
		r.Skip = (n - 1) * leadsPerPage
	case pages > 0 && total-n*leadsPerPage <= store.MaxSkip:
		// Counted from the bottom of the list: the page's leads are the
		// ones above the total-n*leadsPerPage lowest.
		r.Oldest, r.Skip = true, max(total-n*leadsPerPage, 0)
		r.Limit = min(leadsPerPage, total-(n-1)*leadsPerPage) + 1
	default:
		return r, n, fmt.Sprintf("Page %d is too far from either end of the list to open by number: go there with Older and Newer, or search.", n)
	}
	if pages > 0 && n > pages {
		n = 0 // a stale number carried by a link
	}
	return r, n, ""
}

// narrowed reports whether the list is a search or filtered: its count is
// capped.
func (req leadsQuery) narrowed() bool { return req.q != "" || req.filter != store.LeadFilter{} }

// url is a link to a page of the list, with its search and filters: by a
// lead's place (key "before" or "after", at a store.LeadCursor), by number
// (key "page", at the number) or the first (key ""). page is carried along
// for the page's label; 0 leaves it out.
func (req leadsQuery) url(key, at string, page int) string {
	v := url.Values{}
	if req.q != "" {
		v.Set("q", req.q)
	}
	if req.filter.Source != "" {
		v.Set("source", req.filter.Source)
	}
	if req.filter.NeedsContact {
		v.Set("needs_contact", "1")
	}
	if req.filter.Hot {
		v.Set("hot", "1")
	}
	if req.filter.Tests {
		v.Set("tests", "1")
	}
	if key != "" {
		v.Set(key, at)
	}
	if page > 0 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/leads"
	}
	return "/leads?" + v.Encode()
}

// maxPreview is how much of the latest message the list shows, in
// characters: one line.
const maxPreview = 160

// leadRow is l as the list shows it at now.
func leadRow(l store.Lead, now time.Time) views.LeadRow {
	return views.LeadRow{ID: l.ID, Name: l.Name, Email: l.Email, Phone: l.Phone, Source: l.Source,
		Preview: clip(strings.Join(strings.Fields(l.LastMessage), " "), maxPreview), LastActivity: l.LastActivity,
		Hot: l.Hot(now), NeedsContact: l.NeedsContact(), Test: l.Test}
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
	d := views.LeadDetail{Lead: leadRow(l, s.now()), KeyLabel: l.KeyLabel, KeyPreview: l.KeyPreview, Custom: pairs(l.Custom),
		First:            views.Enquiry{At: l.CreatedAt, Source: l.Source, Message: l.Message},
		SubmissionsTotal: subs.Total, RawFolded: subs.Folded, KeptRaw: store.KeptRawBodies, Older: subs.Next, Paged: before != 0}
	visits, err := s.store.VisitsOfLeads(ctx, a.TeamID, []int64{id})
	if err != nil {
		return views.LeadDetail{}, err
	}
	d.Lead.Visits = visits[id]
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

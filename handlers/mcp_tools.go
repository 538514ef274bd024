package handlers

// The MCP tools. Each reads the caller's key from the context and works on
// that key's team only; bad input is a tool error that says what to fix.

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/store"
)

// Limits on tool input.
const (
	maxSearchText    = 200
	maxSearchLimit   = 100
	maxVisitorHours  = 720
	maxVisitorsLimit = 200
	maxSummaryDays   = 366
)

// mcpSource is the source of a lead created through MCP without one.
const mcpSource = "MCP"

const dateLayout = "2006-01-02"

func (s *Server) addMCPTools(srv *mcp.Server) {
	readOnly := &mcp.ToolAnnotations{ReadOnlyHint: true}
	mcp.AddTool(srv, &mcp.Tool{Name: "create_lead", Title: "Create or update a lead",
		Description: "Add a lead to the pipeline. A person is matched by email or phone, so a known person gets this submission added to their existing lead (status \"updated\") instead of a duplicate. Needs an email or a phone."},
		s.toolCreateLead)
	mcp.AddTool(srv, &mcp.Tool{Name: "search_leads", Title: "Search leads", Annotations: readOnly,
		Description: "Find leads whose name, email, phone or source contains the query (case-insensitive), newest first, a page at a time."},
		s.toolSearchLeads)
	mcp.AddTool(srv, &mcp.Tool{Name: "get_lead", Title: "Get a lead", Annotations: readOnly,
		Description: "One lead with every submission that created or updated it and the website pages the person viewed (tracker)."},
		s.toolGetLead)
	mcp.AddTool(srv, &mcp.Tool{Name: "recent_visitors", Title: "Recent website visitors", Annotations: readOnly,
		Description: "Visitors the web tracker saw in the last N hours, latest first: when they were last seen, how many pages they viewed, their last page and the lead they are linked to, if any."},
		s.toolRecentVisitors)
	mcp.AddTool(srv, &mcp.Tool{Name: "pipeline_summary", Title: "Pipeline summary", Annotations: readOnly,
		Description: "How many new leads arrived in a period, by source and by day (UTC). Give from and to dates, or a number of days back from today (default 30)."},
		s.toolPipelineSummary)
}

// toolFailed turns a storage or unexpected error into a tool error the
// model can act on, and logs what the model must not see.
func toolFailed(ctx context.Context, what string, err error) error {
	p := toProblem(err)
	if p.Status >= 500 {
		if c, ok := callerOf(ctx); ok {
			c.log.Error("mcp tool failed", "tool", what, "err", err)
		}
	}
	return errors.New(p.Message)
}

// errNoCaller is impossible through /mcp, which authenticates first.
var errNoCaller = errors.New("this call carries no Closr MCP key")

// leadOut is a lead as the tools show it.
type leadOut struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Email     string     `json:"email"`
	Phone     string     `json:"phone" jsonschema:"E.164, e.g. +15551234567"`
	Source    string     `json:"source"`
	Message   string     `json:"message,omitempty"`
	Custom    []fieldOut `json:"custom,omitempty" jsonschema:"other details sent with the lead"`
	KeyLabel  string     `json:"key_label,omitempty" jsonschema:"label of the API key the lead first came through"`
	CreatedAt string     `json:"created_at"`
	UpdatedAt string     `json:"updated_at"`
}

type fieldOut struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func fieldsOut(fs []store.Field) []fieldOut {
	out := make([]fieldOut, 0, len(fs))
	for _, f := range fs {
		out = append(out, fieldOut{f.Name, f.Value})
	}
	return out
}

func timeOut(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func toLeadOut(l store.Lead, full bool) leadOut {
	o := leadOut{ID: l.ID, Name: l.Name, Email: l.Email, Phone: l.Phone, Source: l.Source,
		KeyLabel: l.KeyLabel, CreatedAt: timeOut(l.CreatedAt), UpdatedAt: timeOut(l.UpdatedAt)}
	if full {
		o.Message, o.Custom = l.Message, fieldsOut(l.Custom)
	}
	return o
}

// createLeadIn is create_lead's input.
type createLeadIn struct {
	Name           string            `json:"name,omitempty" jsonschema:"the person's full name"`
	Email          string            `json:"email,omitempty" jsonschema:"email address; an email or a phone (or both) is required"`
	Phone          string            `json:"phone,omitempty" jsonschema:"phone number, with the country code when outside the team's country"`
	Message        string            `json:"message,omitempty" jsonschema:"what the person asked or said"`
	Source         string            `json:"source,omitempty" jsonschema:"where the lead came from, e.g. Referral or Open house; MCP when not given"`
	Fields         map[string]string `json:"fields,omitempty" jsonschema:"other details to keep on the lead, by name, e.g. {\"budget\": \"$600k\"}"`
	IdempotencyKey string            `json:"idempotency_key,omitempty" jsonschema:"any unique string; a retry with the same key and input stores nothing new"`
}

// createLeadOut is create_lead's result.
type createLeadOut struct {
	ID     int64  `json:"id" jsonschema:"the lead's id, for get_lead"`
	Status string `json:"status" jsonschema:"created (a new lead) or updated (joined the lead with the same email or phone)"`
}

func (s *Server) toolCreateLead(ctx context.Context, _ *mcp.CallToolRequest, in createLeadIn) (*mcp.CallToolResult, createLeadOut, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, createLeadOut{}, err
	}
	if len(in.Fields) > maxFields {
		return nil, createLeadOut{}, fmt.Errorf("send at most %d fields (this call has %d)", maxFields, len(in.Fields))
	}
	if len(in.IdempotencyKey) > 255 {
		return nil, createLeadOut{}, errors.New("use an idempotency_key of at most 255 characters")
	}
	// The same mapping and checks as /api/leads/inbound. The named inputs
	// sit above the free-form fields, so they win over a field of the same
	// meaning.
	fields := []field{newField("name", in.Name, 0), newField("email", in.Email, 0), newField("phone", in.Phone, 0),
		newField("message", in.Message, 0), newField("source", in.Source, 0)}
	names := make([]string, 0, len(in.Fields))
	for n := range in.Fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fields = append(fields, newField(n, in.Fields[n], 1))
	}
	var kept []field
	for _, f := range fields {
		if f.Name != "" && f.Value != "" {
			kept = append(kept, f)
		}
	}
	d, errs := validateLead(mapLead(kept), s.region)
	if len(errs) > 0 {
		return nil, createLeadOut{}, errors.New(validationSummary(errs) + fieldHints(errs))
	}
	// The source always says the lead came through MCP.
	if d.Source == "" {
		d.Source = mcpSource
	} else {
		d.Source += " (via MCP)"
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, createLeadOut{}, toolFailed(ctx, "create_lead", fmt.Errorf("encode lead input: %w", err))
	}
	lead := store.LeadInput{
		TeamID: caller.key.TeamID, KeyID: caller.key.ID,
		Name: d.Name, Email: d.Email, Phone: d.Phone, Message: d.Message, Source: d.Source,
		Custom: d.Custom, Fields: d.All, ContentType: "application/json", Raw: raw,
		IdemKey: strings.TrimSpace(in.IdempotencyKey), At: time.Now(),
	}
	if lead.IdemKey != "" {
		lead.IdemHash = sha256.Sum256(raw)
	}
	redactLead(&lead)
	res, err := s.store.IngestLead(ctx, lead)
	if errors.Is(err, store.ErrIdempotencyMismatch) {
		return nil, createLeadOut{}, errors.New("this idempotency_key was already used with different input; use a new idempotency_key for a new lead")
	}
	if err != nil {
		return nil, createLeadOut{}, toolFailed(ctx, "create_lead", err)
	}
	status := "updated"
	if res.Created {
		status = "created"
	}
	return nil, createLeadOut{ID: res.LeadID, Status: status}, nil
}

// fieldHints lists every field's problem after the summary, when there is
// more than one.
func fieldHints(errs map[string]string) string {
	if len(errs) < 2 {
		return ""
	}
	var names []string
	for n := range errs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, " %s: %s", n, errs[n])
	}
	return b.String()
}

// searchLeadsIn is search_leads' input.
type searchLeadsIn struct {
	Query  string `json:"query,omitempty" jsonschema:"text to find in the name, email, phone or source (case-insensitive); empty lists every lead"`
	Limit  int    `json:"limit,omitempty" jsonschema:"how many leads to return, 1 to 100 (default 20)"`
	Offset int    `json:"offset,omitempty" jsonschema:"how many matching leads to skip: pass next_offset from the previous page"`
}

// searchLeadsOut is search_leads' result.
type searchLeadsOut struct {
	Total      int       `json:"total" jsonschema:"how many leads match in all"`
	Leads      []leadOut `json:"leads"`
	NextOffset int       `json:"next_offset,omitempty" jsonschema:"offset of the next page; absent on the last page"`
}

func (s *Server) toolSearchLeads(ctx context.Context, _ *mcp.CallToolRequest, in searchLeadsIn) (*mcp.CallToolResult, searchLeadsOut, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, searchLeadsOut{}, err
	}
	if n := utf8.RuneCountInString(in.Query); n > maxSearchText {
		return nil, searchLeadsOut{}, fmt.Errorf("keep query to %d characters or fewer (this one has %d)", maxSearchText, n)
	}
	if in.Limit == 0 {
		in.Limit = 20
	}
	if in.Limit < 1 || in.Limit > maxSearchLimit {
		return nil, searchLeadsOut{}, fmt.Errorf("limit must be between 1 and %d (got %d)", maxSearchLimit, in.Limit)
	}
	if in.Offset < 0 {
		return nil, searchLeadsOut{}, fmt.Errorf("offset must be 0 or more (got %d)", in.Offset)
	}
	leads, total, err := s.store.SearchLeads(ctx, caller.key.TeamID, in.Query, in.Limit, in.Offset)
	if err != nil {
		return nil, searchLeadsOut{}, toolFailed(ctx, "search_leads", err)
	}
	out := searchLeadsOut{Total: total, Leads: []leadOut{}}
	for _, l := range leads {
		out.Leads = append(out.Leads, toLeadOut(l, false))
	}
	if next := in.Offset + len(leads); len(leads) > 0 && next < total {
		out.NextOffset = next
	}
	return nil, out, nil
}

// getLeadIn is get_lead's input.
type getLeadIn struct {
	ID int64 `json:"id" jsonschema:"the lead's id, as search_leads or create_lead returned it"`
}

// getLeadOut is get_lead's result.
type getLeadOut struct {
	Lead           leadOut         `json:"lead"`
	Submissions    []submissionOut `json:"submissions" jsonschema:"every post that created or updated the lead, oldest first"`
	PageViews      []pageViewOut   `json:"page_views" jsonschema:"the latest pages the person viewed on the agent's site, oldest first"`
	PageViewsTotal int             `json:"page_views_total" jsonschema:"all page views of the person, of which page_views holds the latest 200"`
}

// submissionOut is one submission. The raw body is left out: fields hold
// what it said, and raw bodies can be large.
type submissionOut struct {
	At       string     `json:"at"`
	Source   string     `json:"source"`
	KeyLabel string     `json:"key_label,omitempty" jsonschema:"label of the API key it came through"`
	Fields   []fieldOut `json:"fields"`
}

type pageViewOut struct {
	At          string `json:"at"`
	URL         string `json:"url"`
	Title       string `json:"title,omitempty"`
	Referrer    string `json:"referrer,omitempty"`
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
	BeforeLead  bool   `json:"before_lead" jsonschema:"viewed before the person became a lead"`
}

func (s *Server) toolGetLead(ctx context.Context, _ *mcp.CallToolRequest, in getLeadIn) (*mcp.CallToolResult, getLeadOut, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, getLeadOut{}, err
	}
	if in.ID < 1 {
		return nil, getLeadOut{}, fmt.Errorf("id must be a lead id, a positive number (got %d); find one with search_leads", in.ID)
	}
	team := caller.key.TeamID
	l, subs, err := s.store.Lead(ctx, team, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, getLeadOut{}, fmt.Errorf("no lead with id %d; find leads with search_leads", in.ID)
	}
	if err != nil {
		return nil, getLeadOut{}, toolFailed(ctx, "get_lead", err)
	}
	views, total, err := s.store.PagesViewedByLead(ctx, team, in.ID, maxLeadPageViews)
	if err != nil {
		return nil, getLeadOut{}, toolFailed(ctx, "get_lead", err)
	}
	out := getLeadOut{Lead: toLeadOut(l, true), Submissions: []submissionOut{}, PageViews: []pageViewOut{}, PageViewsTotal: total}
	for _, sub := range subs {
		out.Submissions = append(out.Submissions, submissionOut{At: timeOut(sub.At), Source: sub.Source, KeyLabel: sub.KeyLabel, Fields: fieldsOut(sub.Fields)})
	}
	for _, v := range views {
		out.PageViews = append(out.PageViews, pageViewOut{At: timeOut(v.At), URL: v.URL, Title: v.Title, Referrer: v.Referrer,
			UTMSource: v.UTMSource, UTMMedium: v.UTMMedium, UTMCampaign: v.UTMCampaign, BeforeLead: v.BeforeLead})
	}
	return nil, out, nil
}

// recentVisitorsIn is recent_visitors' input.
type recentVisitorsIn struct {
	Hours int `json:"hours,omitempty" jsonschema:"how far back to look, 1 to 720 hours (default 24)"`
	Limit int `json:"limit,omitempty" jsonschema:"how many visitors to return, 1 to 200 (default 50)"`
}

// recentVisitorsOut is recent_visitors' result.
type recentVisitorsOut struct {
	Since    string       `json:"since"`
	Total    int          `json:"total" jsonschema:"visitors seen in the period"`
	Visitors []visitorOut `json:"visitors" jsonschema:"latest first"`
}

type visitorOut struct {
	VisitorID int64  `json:"visitor_id"`
	LeadID    int64  `json:"lead_id,omitempty" jsonschema:"the lead this visitor is, once a form or identify call tied them; absent while anonymous"`
	LeadName  string `json:"lead_name,omitempty"`
	LeadEmail string `json:"lead_email,omitempty"`
	FirstSeen string `json:"first_seen"`
	LastSeen  string `json:"last_seen"`
	PageViews int    `json:"page_views" jsonschema:"pages viewed in the period"`
	LastPage  string `json:"last_page,omitempty" jsonschema:"URL of the latest page viewed"`
	LastTitle string `json:"last_title,omitempty"`
}

func (s *Server) toolRecentVisitors(ctx context.Context, _ *mcp.CallToolRequest, in recentVisitorsIn) (*mcp.CallToolResult, recentVisitorsOut, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, recentVisitorsOut{}, err
	}
	if in.Hours == 0 {
		in.Hours = 24
	}
	if in.Hours < 1 || in.Hours > maxVisitorHours {
		return nil, recentVisitorsOut{}, fmt.Errorf("hours must be between 1 and %d (30 days); got %d", maxVisitorHours, in.Hours)
	}
	if in.Limit == 0 {
		in.Limit = 50
	}
	if in.Limit < 1 || in.Limit > maxVisitorsLimit {
		return nil, recentVisitorsOut{}, fmt.Errorf("limit must be between 1 and %d (got %d)", maxVisitorsLimit, in.Limit)
	}
	since := time.Now().Add(-time.Duration(in.Hours) * time.Hour)
	visitors, total, err := s.store.RecentVisitors(ctx, caller.key.TeamID, since, in.Limit)
	if err != nil {
		return nil, recentVisitorsOut{}, toolFailed(ctx, "recent_visitors", err)
	}
	out := recentVisitorsOut{Since: timeOut(since), Total: total, Visitors: []visitorOut{}}
	for _, v := range visitors {
		out.Visitors = append(out.Visitors, visitorOut{VisitorID: v.ID, LeadID: v.LeadID, LeadName: v.LeadName, LeadEmail: v.LeadEmail,
			FirstSeen: timeOut(v.FirstSeen), LastSeen: timeOut(v.LastSeen), PageViews: v.Views, LastPage: v.LastURL, LastTitle: v.LastTitle})
	}
	return nil, out, nil
}

// pipelineSummaryIn is pipeline_summary's input.
type pipelineSummaryIn struct {
	From string `json:"from,omitempty" jsonschema:"first day, YYYY-MM-DD (UTC); with to, instead of days"`
	To   string `json:"to,omitempty" jsonschema:"last day, included, YYYY-MM-DD (UTC); default today"`
	Days int    `json:"days,omitempty" jsonschema:"the last N days including today, 1 to 366 (default 30); ignored when from is given"`
}

// pipelineSummaryOut is pipeline_summary's result.
type pipelineSummaryOut struct {
	From     string     `json:"from"`
	To       string     `json:"to"`
	NewLeads int        `json:"new_leads" jsonschema:"leads created in the period"`
	BySource []countOut `json:"by_source" jsonschema:"new leads per source, most first"`
	ByDay    []countOut `json:"by_day" jsonschema:"new leads per day (UTC), every day of the period"`
}

type countOut struct {
	Source string `json:"source,omitempty"`
	Date   string `json:"date,omitempty"`
	Leads  int    `json:"leads"`
}

func (s *Server) toolPipelineSummary(ctx context.Context, _ *mcp.CallToolRequest, in pipelineSummaryIn) (*mcp.CallToolResult, pipelineSummaryOut, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, pipelineSummaryOut{}, err
	}
	from, to, err := summaryPeriod(in, time.Now().UTC())
	if err != nil {
		return nil, pipelineSummaryOut{}, err
	}
	end := to.AddDate(0, 0, 1)
	bySource, byDay, err := s.store.LeadCounts(ctx, caller.key.TeamID, from, end)
	if err != nil {
		return nil, pipelineSummaryOut{}, toolFailed(ctx, "pipeline_summary", err)
	}
	out := pipelineSummaryOut{From: from.Format(dateLayout), To: to.Format(dateLayout), BySource: []countOut{}, ByDay: []countOut{}}
	for _, c := range bySource {
		label := c.Label
		if label == "" {
			label = "(none)"
		}
		out.BySource = append(out.BySource, countOut{Source: label, Leads: c.N})
		out.NewLeads += c.N
	}
	perDay := map[string]int{}
	for _, c := range byDay {
		perDay[c.Label] = c.N
	}
	for d := from; d.Before(end); d = d.AddDate(0, 0, 1) {
		day := d.Format(dateLayout)
		out.ByDay = append(out.ByDay, countOut{Date: day, Leads: perDay[day]})
	}
	return nil, out, nil
}

// summaryPeriod turns the input into the first and last day (UTC midnights)
// or says what to fix.
func summaryPeriod(in pipelineSummaryIn, now time.Time) (from, to time.Time, err error) {
	today := now.Truncate(24 * time.Hour)
	parse := func(name, v string) (time.Time, error) {
		t, err := time.Parse(dateLayout, strings.TrimSpace(v))
		if err != nil {
			return time.Time{}, fmt.Errorf("%s must be a date like %s (got %q)", name, today.Format(dateLayout), v)
		}
		return t, nil
	}
	to = today
	if in.To != "" {
		if to, err = parse("to", in.To); err != nil {
			return
		}
	}
	switch {
	case in.From != "":
		if from, err = parse("from", in.From); err != nil {
			return
		}
	case in.Days < 0 || in.Days > maxSummaryDays:
		return from, to, fmt.Errorf("days must be between 1 and %d (got %d)", maxSummaryDays, in.Days)
	default:
		days := in.Days
		if days == 0 {
			days = 30
		}
		from = to.AddDate(0, 0, 1-days)
	}
	if from.After(to) {
		return from, to, fmt.Errorf("from (%s) must not be after to (%s)", from.Format(dateLayout), to.Format(dateLayout))
	}
	if n := int(to.Sub(from).Hours()/24) + 1; n > maxSummaryDays {
		return from, to, fmt.Errorf("the period may be at most %d days (this one has %d); narrow from and to", maxSummaryDays, n)
	}
	return from, to, nil
}

package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/store"
)

// getLeadIn is get_lead's input.
type getLeadIn struct {
	ID                int64 `json:"id" jsonschema:"the lead's id, as search_leads or create_lead returned it"`
	SubmissionsBefore int64 `json:"submissions_before,omitempty" jsonschema:"for older submissions: next_submissions_before from the previous answer"`
}

// getLeadOut is get_lead's result.
type getLeadOut struct {
	Lead                  leadOut         `json:"lead"`
	Submissions           []submissionOut `json:"submissions" jsonschema:"the latest 20 posts that created or updated the lead (or the 20 before submissions_before), newest first"`
	SubmissionsTotal      int             `json:"submissions_total" jsonschema:"all submissions of the lead"`
	NextSubmissionsBefore int64           `json:"next_submissions_before,omitempty" jsonschema:"pass as submissions_before for the next 20 older submissions; absent on the oldest page"`
	PageViews             []pageViewOut   `json:"page_views" jsonschema:"the latest pages the person viewed on the agent's site, oldest first"`
	PageViewsTotal        int             `json:"page_views_total" jsonschema:"all page views of the person, of which page_views holds the latest 200"`
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
	caller, err := s.caller(ctx, "get_lead")
	if err != nil {
		return nil, getLeadOut{}, err
	}
	team := caller.key.TeamID
	l, err := s.store.Lead(ctx, team, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, getLeadOut{}, fmt.Errorf("no lead with id %d; find leads with search_leads", in.ID)
	}
	if err != nil {
		return nil, getLeadOut{}, toolFailed(ctx, "get_lead", err)
	}
	subs, err := s.store.LeadSubmissions(ctx, team, in.ID, in.SubmissionsBefore, submissionsPerPage)
	if err != nil {
		return nil, getLeadOut{}, toolFailed(ctx, "get_lead", err)
	}
	views, total, err := s.store.PagesViewedByLead(ctx, team, in.ID, maxLeadPageViews)
	if err != nil {
		return nil, getLeadOut{}, toolFailed(ctx, "get_lead", err)
	}
	if err := s.stillActive(ctx, caller); err != nil {
		return nil, getLeadOut{}, err
	}
	out := getLeadOut{Lead: toLeadOut(l, true), Submissions: []submissionOut{}, SubmissionsTotal: subs.Total,
		NextSubmissionsBefore: subs.Next, PageViews: []pageViewOut{}, PageViewsTotal: total}
	for _, sub := range subs.Submissions {
		out.Submissions = append(out.Submissions, submissionOut{At: timeOut(sub.At), Source: sub.Source, KeyLabel: sub.KeyLabel, Fields: fieldsOut(sub.Fields)})
	}
	for _, v := range views {
		out.PageViews = append(out.PageViews, pageViewOut{At: timeOut(v.At), URL: v.URL, Title: v.Title, Referrer: v.Referrer,
			UTMSource: v.UTMSource, UTMMedium: v.UTMMedium, UTMCampaign: v.UTMCampaign, BeforeLead: v.BeforeLead})
	}
	return nil, out, nil
}

package handlers

import (
	"context"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// recentVisitorsIn is recent_visitors' input.
type recentVisitorsIn struct {
	Hours int `json:"hours,omitempty" jsonschema:"how far back to look, in hours"`
	Limit int `json:"limit,omitempty" jsonschema:"how many visitors to return"`
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
	caller, err := s.caller(ctx, "recent_visitors")
	if err != nil {
		return nil, recentVisitorsOut{}, err
	}
	since := s.now().Add(-time.Duration(in.Hours) * time.Hour)
	visitors, total, err := s.store.RecentVisitors(ctx, caller.key.TeamID, since, in.Limit)
	if err != nil {
		return nil, recentVisitorsOut{}, toolFailed(ctx, "recent_visitors", err)
	}
	if err := s.stillActive(ctx, caller); err != nil {
		return nil, recentVisitorsOut{}, err
	}
	out := recentVisitorsOut{Since: timeOut(since), Total: total, Visitors: []visitorOut{}}
	for _, v := range visitors {
		out.Visitors = append(out.Visitors, visitorOut{VisitorID: v.ID, LeadID: v.LeadID, LeadName: v.LeadName, LeadEmail: v.LeadEmail,
			FirstSeen: timeOut(v.FirstSeen), LastSeen: timeOut(v.LastSeen), PageViews: v.Views, LastPage: v.LastURL, LastTitle: v.LastTitle})
	}
	return nil, out, nil
}

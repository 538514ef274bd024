package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/store"
)

// trackedLinkIn is tracked_link's input.
type trackedLinkIn struct {
	LeadID int64  `json:"lead_id" jsonschema:"the lead the link is for, as search_leads or get_lead returned it"`
	URL    string `json:"url" jsonschema:"the full address of a page of the agent's site (with the web tracker), e.g. https://agent-site.com/listings/7-harbor-ln"`
}

// trackedLinkOut is tracked_link's result.
type trackedLinkOut struct {
	TrackedURL string `json:"tracked_url" jsonschema:"the same page with a clsr token for this lead: send it to this person only; when they open it, the lead page shows it"`
}

func (s *Server) toolTrackedLink(ctx context.Context, _ *mcp.CallToolRequest, in trackedLinkIn) (*mcp.CallToolResult, trackedLinkOut, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, trackedLinkOut{}, err
	}
	tracked, err := s.newTrackedLink(ctx, caller.key.TeamID, in.LeadID, 0, caller.key.ID, in.URL)
	if errors.Is(err, store.ErrNotFound) {
		return nil, trackedLinkOut{}, fmt.Errorf("no lead with id %d; find leads with search_leads", in.LeadID)
	}
	if p, ok := err.(*problem); ok && p.Status < 500 {
		return nil, trackedLinkOut{}, errors.New(p.Message)
	}
	if err != nil {
		return nil, trackedLinkOut{}, toolFailed(ctx, "tracked_link", err)
	}
	return nil, trackedLinkOut{TrackedURL: tracked}, nil
}

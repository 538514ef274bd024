package handlers

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// searchLeadsIn is search_leads' input.
type searchLeadsIn struct {
	Query  string `json:"query,omitempty" jsonschema:"text to find in the name, email, phone or source (case-insensitive); empty lists every lead"`
	Limit  int    `json:"limit,omitempty" jsonschema:"how many leads to return"`
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
	leads, total, err := s.store.SearchLeads(ctx, caller.key.TeamID, in.Query, in.Limit, in.Offset)
	if err != nil {
		return nil, searchLeadsOut{}, toolFailed(ctx, "search_leads", err)
	}
	if err := s.stillActive(caller); err != nil {
		return nil, searchLeadsOut{}, err
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

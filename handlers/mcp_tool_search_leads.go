package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/store"
)

// searchLeadsIn is search_leads' input.
type searchLeadsIn struct {
	Query  string `json:"query,omitempty" jsonschema:"text to find in the name, email, phone, source, first or latest message or custom field values, at least 3 characters (case and accents ignored); empty lists every lead, latest activity first (matches come newest first)"`
	Limit  int    `json:"limit,omitempty" jsonschema:"how many leads to return"`
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor from the previous page, for the page after it (any distance)"`
	Offset int    `json:"offset,omitempty" jsonschema:"how many matching leads to skip: pass next_offset from the previous page (or use cursor)"`
}

// searchLeadsOut is search_leads' result.
type searchLeadsOut struct {
	Total       int       `json:"total" jsonschema:"how many leads match: every lead of the team when there is no query; with a query, counted up to 1000"`
	TotalCapped bool      `json:"total_capped,omitempty" jsonschema:"true when the count stopped at total: at least that many leads match"`
	Leads       []leadOut `json:"leads"`
	NextCursor  string    `json:"next_cursor,omitempty" jsonschema:"pass as cursor for the next page; absent on the last page"`
	NextOffset  int       `json:"next_offset,omitempty" jsonschema:"offset of the next page when no cursor was given and it is at most 1000; absent on the last page"`
}

func (s *Server) toolSearchLeads(ctx context.Context, _ *mcp.CallToolRequest, in searchLeadsIn) (*mcp.CallToolResult, searchLeadsOut, error) {
	caller, err := s.caller(ctx, "search_leads")
	if err != nil {
		return nil, searchLeadsOut{}, err
	}
	var before store.LeadCursor
	if in.Cursor != "" {
		if before, err = store.ParseLeadCursor(in.Cursor); err != nil {
			return nil, searchLeadsOut{}, fmt.Errorf("cursor must be the next_cursor of a previous search_leads page (got %q)", in.Cursor)
		}
	}
	team := caller.key.TeamID
	// One lead more than asked for says whether there is a next page.
	leads, err := s.store.Leads(ctx, team, in.Query, store.LeadRange{Before: before, Skip: in.Offset, Limit: in.Limit + 1})
	if errors.Is(err, store.ErrSearchTooShort) {
		return nil, searchLeadsOut{}, fmt.Errorf("query needs at least %d characters (got %q): search for more of the name, email or phone, or leave it empty to list every lead", store.MinSearchLen, in.Query)
	}
	if err != nil {
		return nil, searchLeadsOut{}, toolFailed(ctx, "search_leads", err)
	}
	out := searchLeadsOut{Leads: []leadOut{}}
	more := len(leads) > in.Limit
	if more {
		leads = leads[:in.Limit]
		out.NextCursor = store.CursorOf(leads[len(leads)-1]).String()
		if next := in.Offset + len(leads); in.Cursor == "" && next <= store.MaxSkip {
			out.NextOffset = next
		}
	}
	if in.Query != "" && in.Cursor == "" && !more && (len(leads) > 0 || in.Offset == 0) {
		// This page holds the last match: the count is known without
		// searching again (a rare term's search costs the most).
		out.Total = in.Offset + len(leads)
	} else {
		if out.Total, out.TotalCapped, err = s.store.CountLeads(ctx, team, in.Query, store.LeadFilter{}, searchCountCap); err != nil {
			return nil, searchLeadsOut{}, toolFailed(ctx, "search_leads", err)
		}
		out.TotalCapped = out.TotalCapped && in.Query != ""
	}
	if err := s.stillActive(ctx, caller); err != nil {
		return nil, searchLeadsOut{}, err
	}
	for _, l := range leads {
		out.Leads = append(out.Leads, toLeadOut(l, false))
	}
	return nil, out, nil
}

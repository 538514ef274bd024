package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/store"
)

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

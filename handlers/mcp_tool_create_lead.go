package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"closr/handlers/intake"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// createLeadIn is create_lead's input.
type createLeadIn struct {
	Name           string            `json:"name,omitempty" jsonschema:"the person's full name"`
	Email          string            `json:"email,omitempty" jsonschema:"email address; with neither email nor phone the lead is kept, marked as needing contact details"`
	Phone          digits            `json:"phone,omitempty" jsonschema:"phone number, with the country code when outside the team's country; a number is read as its digits"`
	Message        string            `json:"message,omitempty" jsonschema:"what the person asked or said"`
	Source         string            `json:"source,omitempty" jsonschema:"where the lead came from, e.g. Referral or Open house; MCP when not given"`
	Fields         map[string]string `json:"fields,omitempty" jsonschema:"other details to keep on the lead, by name, e.g. {\"budget\": \"$600k\"}"`
	IdempotencyKey string            `json:"idempotency_key,omitempty" jsonschema:"any unique string; a retry with the same key and input stores nothing new"`
}

// createLeadOut is create_lead's result.
type createLeadOut struct {
	ID       int64    `json:"id" jsonschema:"the lead's id, for get_lead"`
	Status   string   `json:"status" jsonschema:"created (a new lead) or updated (joined the lead with the same email or phone)"`
	Warnings []string `json:"warnings,omitempty" jsonschema:"what the lead lacks, e.g. no email or phone to reach the person"`
}

func (s *Server) toolCreateLead(ctx context.Context, _ *mcp.CallToolRequest, in createLeadIn) (*mcp.CallToolResult, createLeadOut, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, createLeadOut{}, err
	}
	p, err := intake.Named(in.Name, in.Email, string(in.Phone), in.Message, in.Source, in.Fields)
	if err != nil {
		return nil, createLeadOut{}, toolRefused(ctx, "create_lead", err)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, createLeadOut{}, toolFailed(ctx, "create_lead", fmt.Errorf("encode lead input: %w", err))
	}
	res, err := s.intake.Submit(ctx, intake.Submission{
		Key: caller.key, Payload: p, ContentType: "application/json", Raw: raw,
		IdempotencyKey: in.IdempotencyKey, Via: mcpSource, At: s.now(),
	})
	if err != nil {
		return nil, createLeadOut{}, toolRefused(ctx, "create_lead", err)
	}
	status := "updated"
	if res.Created {
		status = "created"
	}
	return nil, createLeadOut{ID: res.LeadID, Status: status, Warnings: res.Warnings}, nil
}

// toolRefused is the tool error for a refused lead: what to fix, in the
// tool's own terms.
func toolRefused(ctx context.Context, tool string, err error) error {
	var ie *intake.Error
	switch {
	case !errors.As(err, &ie):
		return toolFailed(ctx, tool, err)
	case ie.Kind == intake.IdempotencyReused:
		return errors.New("this idempotency_key was already used with different input; use a new idempotency_key for a new lead")
	}
	if len(ie.Fields) > 0 {
		return errors.New(validationMessage(ie.Fields))
	}
	return errors.New(ie.Message)
}

// validationMessage says what to fix, each distinct message once, naming
// the arguments it is about when the messages differ.
func validationMessage(errs map[string]string) string {
	byMessage := map[string][]string{}
	for name, msg := range errs {
		byMessage[msg] = append(byMessage[msg], name)
	}
	if len(byMessage) == 1 {
		for msg := range byMessage {
			return msg
		}
	}
	parts := make([]string, 0, len(byMessage))
	for msg, names := range byMessage {
		slices.Sort(names)
		parts = append(parts, strings.Join(names, ", ")+": "+msg)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

package handlers

// The MCP tools. Each reads the caller's key from the context and works on
// that key's team only; bad input is a tool error that says what to fix.

import (
	"context"
	"errors"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
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

// addMCPTools registers the tools with their schemas and annotations, and
// keeps the input schemas for checkArguments. None of them reaches outside
// the team's CRM (openWorldHint false); none deletes or overwrites anything.
func (s *Server) addMCPTools(srv *mcp.Server) {
	reader := &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)}
	writer := &mcp.ToolAnnotations{DestructiveHint: new(false), OpenWorldHint: new(false)}
	s.toolSchemas = map[string]*jsonschema.Schema{}
	add := func(t *mcp.Tool) *mcp.Tool {
		s.toolSchemas[t.Name] = t.InputSchema.(*jsonschema.Schema)
		return t
	}
	mcp.AddTool(srv, add(&mcp.Tool{Name: "create_lead", Title: "Create or update a lead", Annotations: writer,
		Description: "Add a lead to the pipeline. A person is matched by email or phone, so a known person gets this submission added to their existing lead (status \"updated\") instead of a duplicate. Without an email or a phone the lead is kept, marked as needing contact details, and never matched to another.",
		InputSchema: schemaFor[createLeadIn](func(p map[string]*jsonschema.Schema) {
			p["idempotency_key"].MaxLength = new(255)
		}),
		OutputSchema: schemaFor[createLeadOut](func(p map[string]*jsonschema.Schema) {
			p["status"].Enum = []any{"created", "updated"}
		})}),
		s.toolCreateLead)
	mcp.AddTool(srv, add(&mcp.Tool{Name: "search_leads", Title: "Search leads", Annotations: reader,
		Description: "Find leads whose name, email, phone, source, first or latest message or custom field values contain the query (3 characters or more; case and accents ignored; a phone number matches however it is punctuated), newest first, a page at a time: pass next_cursor as cursor for the next page.",
		InputSchema: schemaFor[searchLeadsIn](func(p map[string]*jsonschema.Schema) {
			p["query"].MaxLength = new(maxSearchText)
			intRange(p["limit"], 1, maxSearchLimit, 20)
			intRange(p["offset"], 0, store.MaxSkip, 0)
		})}),
		s.toolSearchLeads)
	mcp.AddTool(srv, add(&mcp.Tool{Name: "get_lead", Title: "Get a lead", Annotations: reader,
		Description: "One lead with its latest submissions (a page at a time) and the website pages the person viewed (tracker).",
		InputSchema: schemaFor[getLeadIn](func(p map[string]*jsonschema.Schema) {
			intRange(p["id"], 1, 0, 0)
			intRange(p["submissions_before"], 1, 0, 0)
		})}),
		s.toolGetLead)
	mcp.AddTool(srv, add(&mcp.Tool{Name: "recent_visitors", Title: "Recent website visitors", Annotations: reader,
		Description: "Visitors the web tracker saw in the last N hours, latest first: when they were last seen, how many pages they viewed, their last page and the lead they are linked to, if any.",
		InputSchema: schemaFor[recentVisitorsIn](func(p map[string]*jsonschema.Schema) {
			intRange(p["hours"], 1, maxVisitorHours, 24)
			intRange(p["limit"], 1, maxVisitorsLimit, 50)
		})}),
		s.toolRecentVisitors)
	mcp.AddTool(srv, add(&mcp.Tool{Name: "pipeline_summary", Title: "Pipeline summary", Annotations: reader,
		Description: "How many new leads arrived in a period, by source and by day (UTC). Give from and to dates, or a number of days back from today.",
		InputSchema: schemaFor[pipelineSummaryIn](func(p map[string]*jsonschema.Schema) {
			p["from"].Format, p["to"].Format = "date", "date"
			intRange(p["days"], 1, maxSummaryDays, 30)
		})}),
		s.toolPipelineSummary)
	mcp.AddTool(srv, add(&mcp.Tool{Name: "tracked_link", Title: "Make a tracked link", Annotations: writer,
		Description: "A link to a page of the agent's site for one lead: when the person opens it (on a page with the Closr web tracker), their visit joins the lead's history and the lead page says they opened it. Use it in a follow-up message to that person only. Links may point only at the team's tracked domains when it has any.",
		InputSchema: schemaFor[trackedLinkIn](func(p map[string]*jsonschema.Schema) {
			intRange(p["lead_id"], 1, 0, 0)
			p["url"].Format, p["url"].MaxLength = "uri", new(2000)
		})}),
		s.toolTrackedLink)
	srv.AddReceivingMiddleware(s.checkArguments)
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
	Test      bool       `json:"test,omitempty" jsonschema:"a test lead sent from Closr's settings, not a real person"`
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
		KeyLabel: l.KeyLabel, CreatedAt: timeOut(l.CreatedAt), UpdatedAt: timeOut(l.UpdatedAt), Test: l.Test}
	if full {
		o.Message, o.Custom = l.Message, fieldsOut(l.Custom)
	}
	return o
}

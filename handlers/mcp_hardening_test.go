package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/handlers"
	"closr/store"
)

// TestMCPRefusesBatches: one HTTP request carrying a JSON-RPC batch of 500
// create_lead calls would run them all past the per-request rate limits.
// Batches are refused whole, with or without MCP-Protocol-Version.
func TestMCPRefusesBatches(t *testing.T) {
	e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { c.LimitKey, c.LimitIP = 5, 5 }})
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	team := e.agent("ana@example.com").TeamID
	secret := c.generateAccess("Claude", "mcp")
	calls := make([]string, 500)
	for i := range calls {
		calls[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"create_lead","arguments":{"email":"b%d@example.com"}}}`, i+1, i)
	}
	for _, hdr := range [][]string{nil, {"MCP-Protocol-Version", "2025-03-26"}} {
		r := e.postMCP("  \n["+strings.Join(calls, ",")+"]", append([]string{"Authorization", "Bearer " + secret}, hdr...)...)
		stored := len(e.leadsOf(team))
		t.Logf("a batch of 500 create_lead calls (headers %v): %d, %d leads stored", hdr, r.StatusCode, stored)
		var body struct{ Error, Message string }
		json.Unmarshal([]byte(r.body), &body)
		if r.StatusCode != http.StatusBadRequest || body.Error != "batch_not_supported" || stored != 0 {
			t.Fatalf("a batch: %d %.300s; %d leads stored, want 400 batch_not_supported and none", r.StatusCode, r.body, stored)
		}
	}
	if r := e.postMCP(listTools, "Authorization", "Bearer "+secret); r.StatusCode != http.StatusOK {
		t.Fatalf("a single message after the refused batches: %d %s", r.StatusCode, r.body)
	}
}

// TestMCP401SaysBearer: a 401 from /mcp carries a Bearer challenge whose
// error_description is our message and which names no OAuth metadata, so a
// client shows the message instead of starting an OAuth flow that cannot
// succeed.
func TestMCP401SaysBearer(t *testing.T) {
	e := newEnv(t)
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer closr_" + strings.Repeat("A", 43)}} {
		r := e.postMCP(listTools, hdr...)
		got := r.Header.Get("WWW-Authenticate")
		if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(got, `Bearer realm="Closr"`) ||
			!strings.Contains(got, `error="invalid_token"`) || !strings.Contains(got, `error_description="Send a valid Closr MCP key`) ||
			strings.Contains(got, "resource_metadata") {
			t.Fatalf("401 with %v: WWW-Authenticate %q", hdr, got)
		}
		for _, ch := range got { // RFC 6750 §3: printable ASCII only, no quote or backslash inside values
			if ch < 0x20 || ch > 0x7e {
				t.Fatalf("WWW-Authenticate holds %q", ch)
			}
		}
	}
	if r := e.postLead("", `{"email":"a@example.com"}`); r.Header.Get("WWW-Authenticate") != "" {
		t.Fatal("the inbound API's 401 carries an MCP challenge")
	}
}

// TestMCPRefusesRebindingHost: a DNS-rebinding page reaches a server that
// listens on a loopback address under its own host name. /mcp refuses a
// loopback connection naming another host, unless a trusted proxy sent it.
func TestMCPRefusesRebindingHost(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	secret := c.generateAccess("Claude", "mcp")
	port := e.srv.URL[strings.LastIndex(e.srv.URL, ":"):]
	req := func(e *env, host string) resp {
		r, _ := http.NewRequest("POST", e.srv.URL+"/mcp", strings.NewReader(listTools))
		r.Host = host
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.Header.Set("Authorization", "Bearer "+secret)
		return e.client().do(r)
	}
	for _, host := range []string{"localhost" + port, "127.0.0.1" + port, "[::1]" + port} {
		if r := req(e, host); r.StatusCode != http.StatusOK {
			t.Fatalf("Host %s: %d %s", host, r.StatusCode, r.body)
		}
	}
	r := req(e, "attacker.example"+port)
	var body struct{ Error string }
	json.Unmarshal([]byte(r.body), &body)
	if r.StatusCode != http.StatusForbidden || body.Error != "host_not_allowed" || strings.Contains(r.body, "create_lead") {
		t.Fatalf("a rebinding-style Host: %d %s, want 403 host_not_allowed", r.StatusCode, r.body)
	}

	proxied := proxyEnv(t, "127.0.0.0/8", nil)
	pc := proxied.client()
	pc.signup("Bo", "bo@example.com", "Team")
	secret = pc.generateAccess("Claude", "mcp")
	if r := req(proxied, "closr.example"); r.StatusCode != http.StatusOK {
		t.Fatalf("a public Host through a trusted proxy: %d %s", r.StatusCode, r.body)
	}
}

// revokingStore revokes the MCP key while a read tool's query runs, as an
// agent clicking Revoke at that moment would.
type revokingStore struct {
	*store.DB
	revoke func()
}

func (s revokingStore) Leads(ctx context.Context, teamID int64, text string, r store.LeadRange) ([]store.Lead, error) {
	leads, err := s.DB.Leads(ctx, teamID, text, r)
	s.revoke()
	return leads, err
}

// TestMCPReadToolRechecksKey: a key revoked while a read tool's query runs
// gets no data.
func TestMCPReadToolRechecksKey(t *testing.T) {
	var revoke func()
	e := newEnvWith(t, envOptions{config: func(c *handlers.Config) {
		c.Store = revokingStore{DB: c.Store.(*store.DB), revoke: func() { revoke() }}
	}})
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	a := e.agent("ana@example.com")
	secret := c.generateAccess("Claude", "mcp")
	e.mustPostLead(c.generate("Website"), `{"email":"lena@example.com"}`)
	keys, _ := e.db.APIKeys(t.Context(), a.TeamID)
	revoke = func() {
		for _, k := range keys {
			if k.Label == "Claude" {
				e.db.RevokeAPIKey(context.Background(), a.TeamID, k.ID, a.ID)
			}
		}
	}
	cs := e.mustConnectMCP(secret)
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "search_leads", Arguments: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if text := toolText(res); !res.IsError || strings.Contains(text, "lena@example.com") || !strings.Contains(text, "revoked") {
		t.Fatalf("search_leads with the key revoked during the query: %s", text)
	}
}

// TestMCPAnswerCapped: an answer over the cap is refused with a message
// saying how to ask for less, for a tool call and for any other method.
func TestMCPAnswerCapped(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	secret := c.generateAccess("Claude", "mcp")
	key := c.generate("Website")
	for i := range 30 {
		e.mustPostLead(key, fmt.Sprintf(`{"email":"lead%d@example.com"}`, i))
	}
	cs := e.mustConnectMCP(secret)
	e.h.SetMCPAnswerCap(4000)
	if msg := toolError(t, cs, "search_leads", map[string]any{"limit": 30}); !strings.Contains(msg, "over the limit of 4000: ask for less") {
		t.Fatalf("30 leads over a 4,000-byte cap: %q", msg)
	}
	callTool[searchResult](t, cs, "search_leads", map[string]any{"limit": 2})
	e.h.SetMCPAnswerCap(500)
	if _, err := cs.ListTools(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "over the limit of 500") {
		t.Fatalf("tools/list over a 500-byte cap: %v", err)
	}
}

// TestMCPToolsAsAnAssistantSeesThem: the schemas carry what an assistant
// needs (required arguments, ranges, defaults, enums) instead of prose;
// every tool says whether it reads or writes; out-of-range values are a
// tool error that says what to fix, never a silent default.
func TestMCPToolsAsAnAssistantSeesThem(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	cs := e.mustConnectMCP(c.generateAccess("Claude", "mcp"))
	list, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	type prop struct {
		Type        any      `json:"type"`
		Description string   `json:"description"`
		Minimum     *float64 `json:"minimum"`
		Maximum     *float64 `json:"maximum"`
		Default     any      `json:"default"`
		Enum        []string `json:"enum"`
	}
	type schema struct {
		Required   []string        `json:"required"`
		Properties map[string]prop `json:"properties"`
	}
	tools := map[string]*mcp.Tool{}
	schemas := map[string]schema{}
	for _, tool := range list.Tools {
		tools[tool.Name] = tool
		var in, out schema
		b, _ := json.Marshal(tool.InputSchema)
		json.Unmarshal(b, &in)
		b, _ = json.Marshal(tool.OutputSchema)
		json.Unmarshal(b, &out)
		schemas[tool.Name], schemas[tool.Name+" output"] = in, out
		a := tool.Annotations
		if a == nil || a.OpenWorldHint == nil || *a.OpenWorldHint {
			t.Errorf("%s: annotations %+v, want them, with openWorldHint false", tool.Name, a)
			continue
		}
		reader := tool.Name != "create_lead" && tool.Name != "tracked_link"
		if a.ReadOnlyHint != reader || (reader && !a.IdempotentHint) || (!reader && (a.IdempotentHint || a.DestructiveHint == nil || *a.DestructiveHint)) {
			t.Errorf("%s: annotations %+v, want readOnlyHint and idempotentHint on readers, destructiveHint false on writers", tool.Name, a)
		}
		for name, p := range in.Properties {
			if regexp.MustCompile(`\d+ to \d+|default \d`).MatchString(p.Description) {
				t.Errorf("%s.%s: a range or default in prose: %q", tool.Name, name, p.Description)
			}
		}
	}
	for _, tc := range []struct {
		tool, prop string
		min, max   float64
		def        any
	}{
		{"search_leads", "limit", 1, 100, 20.0}, {"search_leads", "offset", 0, 1000, nil},
		{"get_lead", "id", 1, 0, nil}, {"get_lead", "submissions_before", 1, 0, nil},
		{"recent_visitors", "hours", 1, 720, 24.0}, {"recent_visitors", "limit", 1, 200, 50.0},
		{"pipeline_summary", "days", 1, 366, 30.0}, {"tracked_link", "lead_id", 1, 0, nil},
	} {
		p := schemas[tc.tool].Properties[tc.prop]
		if p.Minimum == nil || *p.Minimum != tc.min || (tc.max != 0) != (p.Maximum != nil) || (p.Maximum != nil && *p.Maximum != tc.max) || p.Default != tc.def {
			t.Errorf("%s.%s: %+v, want minimum %v, maximum %v, default %v", tc.tool, tc.prop, p, tc.min, tc.max, tc.def)
		}
	}
	for tool, want := range map[string][]string{"get_lead": {"id"}, "tracked_link": {"lead_id", "url"}} {
		if fmt.Sprint(schemas[tool].Required) != fmt.Sprint(want) {
			t.Errorf("%s requires %v, want %v", tool, schemas[tool].Required, want)
		}
	}
	if got := schemas["create_lead output"].Properties["status"].Enum; fmt.Sprint(got) != "[created updated]" {
		t.Errorf("create_lead's status enum %v", got)
	}

	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"search_leads", map[string]any{"limit": 0}, "limit must be between 1 and 100 (got 0): how many leads to return"},
		{"search_leads", map[string]any{"limit": 2.5}, "limit must be a whole number (got 2.5)"},
		{"search_leads", map[string]any{"offset": -1}, "offset must be between 0 and 1000 (got -1)"},
		{"search_leads", map[string]any{"query": strings.Repeat("q", 201)}, "keep query to 200 characters or fewer (this one has 201)"},
		{"search_leads", map[string]any{"limt": 5}, `unknown argument "limt": this tool takes cursor, limit, offset, query`},
		{"recent_visitors", map[string]any{"hours": 0}, "hours must be between 1 and 720 (got 0)"},
		{"pipeline_summary", map[string]any{"days": 400}, "days must be between 1 and 366 (got 400)"},
		{"get_lead", map[string]any{}, "id is required: the lead's id"},
		{"get_lead", map[string]any{"id": nil}, "id must not be null"},
		{"create_lead", map[string]any{"source": "Referral"}, "This submission holds nothing about the person: send their name, email, phone number or message."},
		{"create_lead", map[string]any{"email": "nope", "phone": "12"}, `email: "nope" is not an email address`},
	} {
		if msg := toolError(t, cs, tc.tool, tc.args); !strings.HasPrefix(msg, tc.want) {
			t.Errorf("%s(%v): %q, want it to start %q", tc.tool, tc.args, msg, tc.want)
		}
	}
	// The one validation message is said once, not once per field.
	if msg := toolError(t, cs, "create_lead", map[string]any{"source": "Referral"}); strings.Count(msg, "holds nothing") != 1 {
		t.Errorf("the message is repeated: %q", msg)
	}
	// A phone sent as a JSON number is taken as its digits.
	created := callTool[struct{ ID int64 }](t, cs, "create_lead", map[string]any{"name": "Num Ber", "phone": 5551234567})
	got := callTool[struct {
		Lead leadJSON `json:"lead"`
	}](t, cs, "get_lead", map[string]any{"id": created.ID})
	if got.Lead.Phone != "+15551234567" {
		t.Fatalf("a phone sent as a number was stored as %q", got.Lead.Phone)
	}
}

// TestPipelineSummarySourcesBounded: anyone with the public intake key can
// give every lead a source of its own; pipeline_summary lists the 20
// largest and counts the rest together, so its answer (and the query's
// rows) stay bounded.
func TestPipelineSummarySourcesBounded(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	team := e.agent("ana@example.com").TeamID
	cs := e.mustConnectMCP(c.generateAccess("Claude", "mcp"))
	for i := range 300 {
		source := fmt.Sprintf("source %03d", i)
		if i < 5 {
			source = "Zillow"
		}
		if _, err := e.db.IngestLead(t.Context(), store.LeadInput{TeamID: team, Email: fmt.Sprintf("l%d@example.com", i), Source: source,
			Raw: []byte("{}"), At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	got := callTool[struct {
		NewLeads int `json:"new_leads"`
		BySource []struct {
			Source string `json:"source"`
			Leads  int    `json:"leads"`
		} `json:"by_source"`
	}](t, cs, "pipeline_summary", map[string]any{})
	n := len(got.BySource)
	if got.NewLeads != 300 || n != 21 || got.BySource[0].Source != "Zillow" || got.BySource[0].Leads != 5 ||
		got.BySource[n-1].Source != "(other sources)" || got.BySource[n-1].Leads != 300-5-19 {
		t.Fatalf("pipeline_summary over 296 sources: %d leads, %d sources: %+v", got.NewLeads, n, got.BySource)
	}
}

package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

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
		_, stored, _ := e.db.Leads(t.Context(), team, 1, 0)
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

func (s revokingStore) SearchLeads(ctx context.Context, teamID int64, text string, limit, offset int) ([]store.Lead, int, error) {
	leads, total, err := s.DB.SearchLeads(ctx, teamID, text, limit, offset)
	s.revoke()
	return leads, total, err
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

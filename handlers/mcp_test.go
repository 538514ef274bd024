package handlers_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/store"
)

// headerRT adds one header to every request, as an MCP client configured
// with the key does.
type headerRT struct {
	name, value string
	base        http.RoundTripper
}

func (h *headerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.name, h.value)
	return h.base.RoundTrip(r)
}

// connectMCP connects the SDK's own client to the running server's /mcp.
func (e *env) connectMCP(header, value string) (*mcp.ClientSession, error) {
	hc := &http.Client{Transport: &headerRT{header, value, http.DefaultTransport}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "closr-test", Version: "0"}, nil).
		Connect(e.t.(*testing.T).Context(), &mcp.StreamableClientTransport{Endpoint: e.srv.URL + "/mcp", HTTPClient: hc, DisableStandaloneSSE: true}, nil)
	if err == nil {
		e.t.Cleanup(func() { cs.Close() })
	}
	return cs, err
}

func (e *env) mustConnectMCP(key string) *mcp.ClientSession {
	e.t.Helper()
	cs, err := e.connectMCP("Authorization", "Bearer "+key)
	if err != nil {
		e.t.Fatalf("connect to /mcp: %v", err)
	}
	return cs
}

// callTool calls a tool that must succeed and decodes its structured result.
func callTool[T any](t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) T {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s(%v): %v", name, args, err)
	}
	if res.IsError {
		t.Fatalf("%s(%v): tool error %s", name, args, toolText(res))
	}
	var out T
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: decode %s: %v", name, b, err)
	}
	return out
}

// toolError calls a tool that must fail with a tool error and returns its text.
func toolError(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) string {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s(%v): protocol error %v, want a tool error", name, args, err)
	}
	if !res.IsError {
		t.Fatalf("%s(%v) succeeded, want a tool error: %s", name, args, toolText(res))
	}
	return toolText(res)
}

func toolText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, " ")
}

// generateAccess creates a key with the given access through the page.
func (c *client) generateAccess(label, access string) string {
	c.e.t.Helper()
	r := c.post("/settings/integrations/api-keys", url.Values{"label": {label}, "access": {access}}, "HX-Request", "true")
	m := newKeyRE.FindStringSubmatch(r.body)
	if r.StatusCode != 200 || m == nil {
		c.e.t.Fatalf("generate %q (%s): %d\n%s", label, access, r.StatusCode, r.body)
	}
	return m[1]
}

// seedSQL writes tracker rows straight into the database file: the tracker
// endpoint is not what these tests are about.
func (e *env) seedSQL(query string, args ...any) int64 {
	e.t.Helper()
	db, err := store.OpenRaw(e.dbPath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	if !strings.HasPrefix(query, "INSERT") {
		if _, err := db.Exec(query, args...); err != nil {
			e.t.Fatalf("seed %q: %v", query, err)
		}
		return 0
	}
	var id int64
	if err := db.QueryRow(query+" RETURNING id", args...).Scan(&id); err != nil {
		e.t.Fatalf("seed %q: %v", query, err)
	}
	return id
}

func (e *env) seedPageView(teamID, visitorID int64, url, title string, at time.Time) {
	e.seedSQL(`INSERT INTO page_views (team_id, visitor_id, url, title, created_at) VALUES (?, ?, ?, ?, ?)`, teamID, visitorID, url, title, at.Unix())
	e.seedSQL(`UPDATE visitors SET last_seen = ?1 WHERE id = ?2 AND last_seen < ?1`, at.Unix(), visitorID)
}

type leadJSON struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Phone  string `json:"phone"`
	Source string `json:"source"`
}

type searchResult struct {
	Total      int        `json:"total"`
	Leads      []leadJSON `json:"leads"`
	NextOffset int        `json:"next_offset"`
	NextCursor string     `json:"next_cursor"`
}

func emails(leads []leadJSON) []string {
	var out []string
	for _, l := range leads {
		out = append(out, l.Email)
	}
	return out
}

// TestMCPToolsSeeOnlyTheirTeam drives every tool through the SDK's client
// over HTTP, with two teams' data in the database.
func TestMCPToolsSeeOnlyTheirTeam(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bob := e.client(), e.client()
	ana.signup("Ana", "ana@example.com", "Ana Realty")
	bob.signup("Bob", "bob@example.com", "Bob Homes")
	anaTeam, bobTeam := e.agent("ana@example.com").TeamID, e.agent("bob@example.com").TeamID
	anaIntake, anaMCP := ana.generateAccess("Website", "intake"), ana.generateAccess("Claude", "mcp")
	bobIntake, bobMCP := bob.generateAccess("Website", "intake"), bob.generateAccess("Cursor", "mcp")

	jamie := e.mustPostLead(anaIntake, `{"name": "Jamie Buyer", "email": "jamie@example.com", "source": "Website", "closr_visitor_id": "visitor-jamie-0000000001"}`)
	pat := e.mustPostLead(anaIntake, `{"name": "Pat 100% Seller", "phone": "+1 (555) 123-4567", "source": "Zillow"}`)
	bobLead := e.mustPostLead(bobIntake, `{"name": "Jamie Other", "email": "jamie@bob.example.com", "phone": "+1 555 999 0000", "source": "Website"}`)

	now := time.Now()
	var jamieVisitor int64
	if err := func() error {
		db, err := store.OpenRaw(e.dbPath)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.QueryRow("SELECT id FROM visitors WHERE team_id = ? AND lead_id = ?", anaTeam, jamie).Scan(&jamieVisitor)
	}(); err != nil {
		t.Fatalf("the inbound post did not link Jamie's visitor: %v", err)
	}
	e.seedPageView(anaTeam, jamieVisitor, "https://ana.example/listings/12-oak", "12 Oak St", now.Add(-2*time.Hour))
	e.seedPageView(anaTeam, jamieVisitor, "https://ana.example/contact", "Contact", now.Add(-time.Hour))
	anon := e.seedSQL("INSERT INTO visitors (team_id, vid, first_seen, last_seen) VALUES (?, 'anon-visitor-00000001', ?, ?)", anaTeam, now.Add(-3*time.Hour).Unix(), now.Add(-3*time.Hour).Unix())
	e.seedPageView(anaTeam, anon, "https://ana.example/", "Home", now.Add(-30*time.Minute))
	old := e.seedSQL("INSERT INTO visitors (team_id, vid, first_seen, last_seen) VALUES (?, 'old-visitor-000000001', ?, ?)", anaTeam, now.Add(-72*time.Hour).Unix(), now.Add(-72*time.Hour).Unix())
	e.seedPageView(anaTeam, old, "https://ana.example/old", "Old", now.Add(-72*time.Hour))
	bobVisitor := e.seedSQL("INSERT INTO visitors (team_id, vid, lead_id, first_seen, last_seen) VALUES (?, 'bob-visitor-000000001', ?, ?, ?)", bobTeam, bobLead, now.Unix(), now.Unix())
	e.seedPageView(bobTeam, bobVisitor, "https://bob.example/secret-listing", "Bob's listing", now.Add(-10*time.Minute))

	cs := e.mustConnectMCP(anaMCP)

	t.Run("list tools", func(t *testing.T) {
		tl, err := cs.ListTools(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range tl.Tools {
			names = append(names, tool.Name)
			if tool.InputSchema == nil || tool.Description == "" {
				t.Errorf("tool %s lacks an input schema or a description", tool.Name)
			}
		}
		slices.Sort(names)
		if want := []string{"create_lead", "get_lead", "pipeline_summary", "recent_visitors", "search_leads", "tracked_link"}; !slices.Equal(names, want) {
			t.Fatalf("tools = %v, want %v", names, want)
		}
	})

	var morgan int64
	t.Run("create_lead", func(t *testing.T) {
		type created struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		got := callTool[created](t, cs, "create_lead", map[string]any{"name": "Morgan Mcp", "email": "Morgan@Example.com", "fields": map[string]any{"budget": "$600k"}})
		if got.Status != "created" || got.ID == 0 {
			t.Fatalf("create_lead = %+v, want a created lead", got)
		}
		morgan = got.ID
		again := callTool[created](t, cs, "create_lead", map[string]any{"email": "morgan@example.com", "message": "Also interested in 14 Oak", "source": "Open house"})
		if again.Status != "updated" || again.ID != morgan {
			t.Fatalf("same email again = %+v, want updated lead %d", again, morgan)
		}
		// A person Bob's team has is a new lead for Ana: dedupe is per team.
		if other := callTool[created](t, cs, "create_lead", map[string]any{"email": "jamie@bob.example.com"}); other.Status != "created" || other.ID == bobLead {
			t.Fatalf("Bob's lead's email via Ana's key = %+v, want a new lead of Ana's", other)
		}
		for _, tc := range []struct {
			args map[string]any
			want string
		}{
			{map[string]any{"source": "Open house"}, "holds nothing about the person"},
			{map[string]any{"email": "not-an-email"}, "is not an email address"},
			{map[string]any{"phone": "12"}, "is not a phone number"},
			{map[string]any{"email": "a@example.com", "colour": "red"}, "colour"},
		} {
			if msg := toolError(t, cs, "create_lead", tc.args); !strings.Contains(msg, tc.want) {
				t.Errorf("create_lead(%v) error %q lacks %q", tc.args, msg, tc.want)
			}
		}
		if total := len(e.leadsOf(anaTeam)); total != 4 {
			t.Fatalf("Ana's team has %d leads, want 4 (jamie, pat, morgan, the other jamie): a refused call stored something", total)
		}
	})

	t.Run("search_leads", func(t *testing.T) {
		got := callTool[searchResult](t, cs, "search_leads", map[string]any{"query": "JAMIE"})
		if got.Total != 2 || !slices.Equal(emails(got.Leads), []string{"jamie@bob.example.com", "jamie@example.com"}) {
			t.Fatalf("search jamie = %+v", got)
		}
		if got.Leads[0].ID == bobLead {
			t.Fatal("search returned Bob's lead to Ana")
		}
		for _, tc := range []struct {
			query string
			want  []int64
		}{
			{"100%", []int64{pat}},    // a literal percent sign
			{"Pat%Seller", nil},       // not "anything"
			{"Pat_100", nil},          // a literal underscore, not "any character"
			{"555 123", []int64{pat}}, // digits match the phone however it is punctuated
			{"zillow", []int64{pat}},  // the source
			{"SÉLLER", []int64{pat}},  // case and accents ignored
			{"999 0000", nil},         // Bob's lead's phone
			{"secret-listing", nil},   // nothing of Bob's, nothing of the tracker
		} {
			res := callTool[searchResult](t, cs, "search_leads", map[string]any{"query": tc.query})
			var ids []int64
			for _, l := range res.Leads {
				ids = append(ids, l.ID)
			}
			if !slices.Equal(ids, tc.want) || res.Total != len(tc.want) {
				t.Errorf("search %q = %v (total %d), want %v", tc.query, ids, res.Total, tc.want)
			}
		}
		page1 := callTool[searchResult](t, cs, "search_leads", map[string]any{"limit": 3})
		if page1.Total != 4 || len(page1.Leads) != 3 || page1.NextOffset != 3 || page1.Leads[0].ID < page1.Leads[1].ID {
			t.Fatalf("first page = %+v, want 3 of 4, newest first, next_offset 3", page1)
		}
		page2 := callTool[searchResult](t, cs, "search_leads", map[string]any{"limit": 3, "offset": page1.NextOffset})
		if len(page2.Leads) != 1 || page2.NextOffset != 0 || page2.NextCursor != "" || page2.Leads[0].ID != jamie {
			t.Fatalf("second page = %+v, want only Jamie (the oldest) and no next_offset", page2)
		}
		byCursor := callTool[searchResult](t, cs, "search_leads", map[string]any{"limit": 3, "cursor": page1.NextCursor})
		if page1.NextCursor == "" || len(byCursor.Leads) != 1 || byCursor.NextCursor != "" || byCursor.Leads[0].ID != jamie || byCursor.Total != 4 {
			t.Fatalf("page after cursor %q = %+v, want only Jamie and no next_cursor", page1.NextCursor, byCursor)
		}
		for _, tc := range []struct {
			args map[string]any
			want string
		}{
			{map[string]any{"limit": 101}, "limit must be between 1 and 100"},
			{map[string]any{"offset": -1}, "offset must be between 0 and 1000"},
			{map[string]any{"offset": 1001}, "offset must be between 0 and 1000 (got 1001): how many matching leads to skip: pass next_offset from the previous page (or use cursor)"},
			{map[string]any{"cursor": "x"}, "cursor must be the next_cursor"},
			{map[string]any{"query": " ab "}, "at least 3 characters"},
			{map[string]any{"query": strings.Repeat("x", 201)}, "200 characters or fewer"},
		} {
			if msg := toolError(t, cs, "search_leads", tc.args); !strings.Contains(msg, tc.want) {
				t.Errorf("search_leads(%v) error %q lacks %q", tc.args, msg, tc.want)
			}
		}
	})

	t.Run("get_lead", func(t *testing.T) {
		type detail struct {
			Lead        leadJSON `json:"lead"`
			Submissions []struct {
				Source   string `json:"source"`
				KeyLabel string `json:"key_label"`
				Fields   []struct{ Name, Value string }
			} `json:"submissions"`
			PageViews []struct {
				URL        string `json:"url"`
				Title      string `json:"title"`
				BeforeLead bool   `json:"before_lead"`
			} `json:"page_views"`
			PageViewsTotal int `json:"page_views_total"`
		}
		got := callTool[detail](t, cs, "get_lead", map[string]any{"id": jamie})
		if got.Lead.Email != "jamie@example.com" || len(got.Submissions) != 1 || got.Submissions[0].KeyLabel != "Website" || got.Submissions[0].Source != "Website" {
			t.Fatalf("get_lead jamie = %+v", got)
		}
		if got.PageViewsTotal != 2 || len(got.PageViews) != 2 || got.PageViews[0].Title != "12 Oak St" || got.PageViews[1].URL != "https://ana.example/contact" {
			t.Fatalf("Jamie's page views = %+v, want 12 Oak St then Contact", got.PageViews)
		}
		m := callTool[detail](t, cs, "get_lead", map[string]any{"id": morgan})
		// A later submission fills blanks only: the lead keeps its first
		// source, and the second one is on its own submission (newest first).
		if m.Lead.Source != "MCP" || len(m.Submissions) != 2 || m.Submissions[1].Source != "MCP" || m.Submissions[1].KeyLabel != "Claude" ||
			m.Submissions[0].Source != "Open house (via MCP)" {
			t.Fatalf("Morgan = %+v, want two submissions, newest first, the first made from MCP through the Claude key", m)
		}
		if msg := toolError(t, cs, "get_lead", map[string]any{"id": bobLead}); msg != fmt.Sprintf("no lead with id %d; find leads with search_leads", bobLead) {
			t.Fatalf("Bob's lead via Ana's key: %q", msg)
		}
		if msg := toolError(t, cs, "get_lead", map[string]any{"id": 0}); msg != "id must be 1 or more (got 0): the lead's id, as search_leads or create_lead returned it" {
			t.Fatalf("id 0: %q", msg)
		}
		if msg := toolError(t, cs, "get_lead", map[string]any{"id": "seven"}); !strings.Contains(msg, "id") {
			t.Fatalf("id as text: %q", msg)
		}
	})

	t.Run("recent_visitors", func(t *testing.T) {
		type visitors struct {
			Total    int `json:"total"`
			Visitors []struct {
				VisitorID int64  `json:"visitor_id"`
				LeadID    int64  `json:"lead_id"`
				LeadName  string `json:"lead_name"`
				PageViews int    `json:"page_views"`
				LastPage  string `json:"last_page"`
			} `json:"visitors"`
		}
		got := callTool[visitors](t, cs, "recent_visitors", map[string]any{})
		if got.Total != 2 || len(got.Visitors) != 2 {
			t.Fatalf("recent visitors (24h) = %+v, want Ana's two recent ones", got)
		}
		// Jamie's visitor was last seen when the form linked it, just now.
		latest, next := got.Visitors[0], got.Visitors[1]
		if latest.VisitorID != jamieVisitor || latest.LeadID != jamie || latest.LeadName != "Jamie Buyer" || latest.PageViews != 2 || latest.LastPage != "https://ana.example/contact" {
			t.Fatalf("latest visitor = %+v, want Jamie with 2 views, last on contact", latest)
		}
		if next.VisitorID != anon || next.LeadID != 0 || next.PageViews != 1 || next.LastPage != "https://ana.example/" {
			t.Fatalf("second visitor = %+v, want the anonymous one on the home page", next)
		}
		if week := callTool[visitors](t, cs, "recent_visitors", map[string]any{"hours": 168}); week.Total != 3 {
			t.Fatalf("visitors in a week = %d, want 3 (Bob's excluded)", week.Total)
		}
		for _, h := range []int{-1, 721} {
			if msg := toolError(t, cs, "recent_visitors", map[string]any{"hours": h}); !strings.Contains(msg, "hours must be between 1 and 720") {
				t.Errorf("hours %d: %q", h, msg)
			}
		}
	})

	t.Run("pipeline_summary", func(t *testing.T) {
		type summary struct {
			From     string `json:"from"`
			To       string `json:"to"`
			NewLeads int    `json:"new_leads"`
			BySource []struct {
				Source string `json:"source"`
				Leads  int    `json:"leads"`
			} `json:"by_source"`
			ByDay []struct {
				Date  string `json:"date"`
				Leads int    `json:"leads"`
			} `json:"by_day"`
		}
		got := callTool[summary](t, cs, "pipeline_summary", map[string]any{"days": 7})
		today := time.Now().UTC().Format("2006-01-02")
		if got.NewLeads != 4 || got.To != today || len(got.ByDay) != 7 || got.ByDay[6].Date != today || got.ByDay[6].Leads != 4 || got.ByDay[0].Leads != 0 {
			t.Fatalf("summary = %+v, want 4 leads today over 7 days", got)
		}
		bySource := map[string]int{}
		for _, s := range got.BySource {
			bySource[s.Source] = s.Leads
		}
		// Morgan keeps the source of the first submission (MCP); the other
		// Jamie came through MCP with no source.
		if want := map[string]int{"Website": 1, "Zillow": 1, "MCP": 2}; fmt.Sprint(bySource) != fmt.Sprint(want) {
			t.Fatalf("by source = %v, want %v", bySource, want)
		}
		if past := callTool[summary](t, cs, "pipeline_summary", map[string]any{"from": "2020-01-01", "to": "2020-01-31"}); past.NewLeads != 0 || len(past.ByDay) != 31 {
			t.Fatalf("January 2020 = %+v, want 31 empty days", past)
		}
		for _, tc := range []struct {
			args map[string]any
			want string
		}{
			{map[string]any{"from": "2024-13-01"}, "from must be a date like"},
			{map[string]any{"from": "2024-02-01", "to": "2024-01-01"}, "must not be after"},
			{map[string]any{"from": "2020-01-01", "to": "2024-01-01"}, "at most 366 days"},
			{map[string]any{"days": 400}, "days must be between 1 and 366"},
		} {
			if msg := toolError(t, cs, "pipeline_summary", tc.args); !strings.Contains(msg, tc.want) {
				t.Errorf("pipeline_summary(%v) error %q lacks %q", tc.args, msg, tc.want)
			}
		}
	})

	t.Run("the other team, with x-api-key", func(t *testing.T) {
		bcs, err := e.connectMCP("x-api-key", bobMCP)
		if err != nil {
			t.Fatal(err)
		}
		got := callTool[searchResult](t, bcs, "search_leads", map[string]any{})
		if got.Total != 1 || got.Leads[0].ID != bobLead {
			t.Fatalf("Bob's search = %+v, want only his lead", got)
		}
		if msg := toolError(t, bcs, "get_lead", map[string]any{"id": jamie}); !strings.Contains(msg, fmt.Sprintf("no lead with id %d", jamie)) {
			t.Fatalf("Ana's lead via Bob's key: %q", msg)
		}
	})
}

// postMCP sends one raw JSON-RPC message to /mcp.
func (e *env) postMCP(body string, hdr ...string) resp {
	req, _ := http.NewRequest("POST", e.srv.URL+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	setHeaders(req, hdr)
	return e.client().do(req)
}

const listTools = `{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}`

func TestMCPAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	intake, secret := c.generateAccess("Website", "intake"), c.generateAccess("Claude", "mcp")
	for _, tc := range []struct {
		name   string
		hdr    []string
		status int
		code   string
		says   string
	}{
		{"no key", nil, 401, "invalid_api_key", "Send a valid Closr API key"},
		{"malformed key", []string{"Authorization", "Bearer closr_short"}, 401, "invalid_api_key", "Send a valid Closr API key"},
		{"unknown key", []string{"x-api-key", "closr_" + strings.Repeat("A", 43)}, 401, "invalid_api_key", "Send a valid Closr API key"},
		{"intake key as Bearer", []string{"Authorization", "Bearer " + intake}, 403, "mcp_key_required", "Generate a key with “MCP: read and write your CRM” access in Settings → Integrations"},
		{"intake key as x-api-key", []string{"x-api-key", intake}, 403, "mcp_key_required", "Settings → Integrations"},
		{"MCP key as Bearer", []string{"Authorization", "Bearer " + secret}, 200, "", `"create_lead"`},
		{"MCP key as x-api-key", []string{"x-api-key", secret}, 200, "", `"pipeline_summary"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postMCP(listTools, tc.hdr...)
			if r.StatusCode != tc.status || !strings.Contains(r.body, tc.says) {
				t.Fatalf("status %d, body %s; want %d with %q", r.StatusCode, r.body, tc.status, tc.says)
			}
			if tc.code != "" {
				var body struct{ Error, Message string }
				if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Error != tc.code {
					t.Fatalf("body %s, want JSON error %q", r.body, tc.code)
				}
			}
		})
	}
	if _, err := e.connectMCP("Authorization", "Bearer "+intake); err == nil {
		t.Fatal("the SDK client connected with an intake key")
	}
	if strings.Contains(e.log.String(), secret[12:]) || strings.Contains(e.log.String(), intake[12:]) {
		t.Fatal("a log line holds a key")
	}
}

func TestMCPRevokedKeyAndLastUsed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	team := e.agent("ana@example.com").TeamID
	secret := c.generateAccess("Claude", "mcp")
	keys, _ := e.db.APIKeys(t.Context(), team)
	if !keys[0].LastUsedAt.IsZero() {
		t.Fatal("a new key already has a last-used time")
	}

	cs := e.mustConnectMCP(secret)
	callTool[searchResult](t, cs, "search_leads", map[string]any{})
	e.flushUsage()
	keys, _ = e.db.APIKeys(t.Context(), team)
	if keys[0].LastUsedAt.IsZero() || time.Since(keys[0].LastUsedAt) > time.Hour {
		t.Fatalf("last used = %v after an MCP call, want now", keys[0].LastUsedAt)
	}
	if page := c.get("/settings/integrations"); strings.Contains(regexp.MustCompile(`data-testid="last-used">[^<]*<`).FindString(page.body), "Never") {
		t.Fatal("the key list still says Never for the used MCP key")
	}

	r := c.send("DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", keys[0].ID), url.Values{}, "HX-Request", "true")
	if r.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", r.StatusCode, r.body)
	}
	// The session connected before the revoke: its very next call fails.
	if res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "search_leads", Arguments: map[string]any{}}); err == nil {
		t.Fatalf("a call with the revoked key succeeded: %+v", res)
	}
	if r := e.postMCP(listTools, "Authorization", "Bearer "+secret); r.StatusCode != 401 || !strings.Contains(r.body, `"invalid_api_key"`) {
		t.Fatalf("revoked key: %d %s, want 401 invalid_api_key", r.StatusCode, r.body)
	}
}

func TestMCPBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	secret := c.generateAccess("Claude", "mcp")
	big := `{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "create_lead", "arguments": {"email": "a@example.com", "message": "` +
		strings.Repeat("x", 1<<20) + `"}}}`
	r := e.postMCP(big, "x-api-key", secret)
	if r.StatusCode < 400 || r.StatusCode >= 500 {
		t.Fatalf("a 1 MiB message: %d %s, want it refused", r.StatusCode, r.body)
	}
	if len(e.leadsOf(e.agent("ana@example.com").TeamID)) != 0 {
		t.Fatal("an oversized message stored a lead")
	}
}

// TestMCPKeyRefusedFromBrowser: a key that can read the CRM must not work
// from a web page, while a server may post leads with it.
func TestMCPKeyRefusedFromBrowser(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	team := e.agent("ana@example.com").TeamID
	intake, secret := c.generateAccess("Website", "intake"), c.generateAccess("Claude", "mcp")
	form := func(key string) resp {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/leads/inbound",
			strings.NewReader(url.Values{"api_key": {key}, "email": {"form@example.com"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		return e.client().do(req)
	}
	lead := `{"email": "server@example.com"}`
	for _, tc := range []struct {
		name   string
		send   func() resp
		status int
		says   string
	}{
		// The visitor is told to reach the agent another way; the reason is
		// the JSON answer's, below.
		{"MCP key in a browser form post", func() resp { return form(secret) }, 403, `data-testid="not-delivered"`},
		{"MCP key in a fetch with Origin", func() resp { return e.postLead(secret, lead, "Origin", "https://ana.example") }, 403, `"secret_key_in_browser"`},
		{"MCP key in a same-origin fetch", func() resp { return e.postLead(secret, lead, "Sec-Fetch-Site", "same-origin") }, 403, "never be embedded on a website"},
		{"MCP key from a server", func() resp { return e.postLead(secret, lead) }, 201, `"created"`},
		{"MCP key in the tracker", func() resp {
			return e.api("POST", "/api/track", "text/plain;charset=UTF-8",
				`{"api_key": "`+secret+`", "type": "pageview", "visitor_id": "0123456789abcdef0123", "url": "https://ana.example/"}`)
		}, 403, `"secret_key_in_browser"`},
		{"intake key in a browser form post", func() resp { return form(intake) }, 303, ""},
		{"intake key in a fetch with Origin", func() resp {
			return e.postLead(intake, `{"email": "fetch@example.com"}`, "Origin", "https://ana.example")
		}, 201, `"received"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.send()
			if r.StatusCode != tc.status || !strings.Contains(r.body, tc.says) {
				t.Fatalf("status %d, body %s; want %d with %q", r.StatusCode, r.body, tc.status, tc.says)
			}
		})
	}
	leads := e.leadsOf(team)
	var got []string
	for _, l := range leads {
		got = append(got, l.Email)
	}
	slices.Sort(got)
	if want := []string{"fetch@example.com", "form@example.com", "server@example.com"}; !slices.Equal(got, want) {
		t.Fatalf("leads = %v, want %v (the refused posts must store nothing)", got, want)
	}
}

var accessRE = regexp.MustCompile(`data-access="(intake|mcp)"`)

func TestGenerateAccessChoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	team := e.agent("ana@example.com").TeamID
	for _, tc := range []struct {
		name, label, access string
		status              int
		stored              string // the new key's access; "" when nothing may be created
		says                []string
	}{
		{"no choice means intake", "Form", "", 200, store.AccessIntake, []string{"COPY NOW"}},
		{"intake", "Tracker", "intake", 200, store.AccessIntake, []string{"COPY NOW"}},
		{"mcp", "Claude", "mcp", 200, store.AccessMCP, []string{"COPY NOW", `data-testid="secret-warning"`, "never put it in a web page"}},
		{"unknown access", "Admin", "admin", 422, "", []string{`data-testid="access-error"`, "Choose the key&#39;s access", `aria-describedby="access-error"`}},
		{"bad label keeps the MCP choice", "", "mcp", 422, "", []string{`data-testid="key-error"`, `id="access-mcp" name="access" value="mcp" aria-describedby="access-mcp-hint" checked`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.activeKeys(team)
			form := url.Values{"label": {tc.label}}
			if tc.access != "" {
				form.Set("access", tc.access)
			}
			r := c.post("/settings/integrations/api-keys", form, "HX-Request", "true")
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d\n%s", r.StatusCode, tc.status, r.body)
			}
			for _, want := range tc.says {
				if !strings.Contains(r.body, want) {
					t.Fatalf("response lacks %q\n%s", want, r.body)
				}
			}
			keys, _ := e.db.APIKeys(t.Context(), team)
			if tc.stored == "" {
				if len(keys) != before {
					t.Fatalf("a refused generate created a key (%d → %d)", before, len(keys))
				}
				if newKeyRE.MatchString(r.body) {
					t.Fatal("a refused generate showed a key")
				}
				return
			}
			if len(keys) != before+1 || keys[0].Access != tc.stored || keys[0].Label != tc.label {
				t.Fatalf("newest key = %+v, want %q with access %s", keys[0], tc.label, tc.stored)
			}
			if tc.stored != store.AccessMCP && strings.Contains(r.body, "secret-warning") {
				t.Fatal("an intake key's COPY NOW panel carries the secret-key warning")
			}
		})
	}
	// The list, newest first, shows each key's access as a badge; the page
	// works without JavaScript (a plain form post gets the whole page).
	page := c.follow(c.post("/settings/integrations/api-keys", url.Values{"label": {"Plain MCP"}, "access": {"mcp"}}))
	if page.StatusCode != 200 || !strings.Contains(page.body, "<html") || !strings.Contains(page.body, "secret-warning") {
		t.Fatalf("plain post: %d", page.StatusCode)
	}
	var got []string
	for _, m := range accessRE.FindAllStringSubmatch(c.get("/settings/integrations").body, -1) {
		got = append(got, m[1])
	}
	if want := []string{"mcp", "mcp", "intake", "intake"}; !slices.Equal(got, want) {
		t.Fatalf("access badges = %v, want %v", got, want)
	}
	if !strings.Contains(c.get("/settings/integrations").body, `<span class="badge secret" data-access="mcp">MCP · secret</span>`) {
		t.Fatal("the MCP key lacks its secret badge")
	}
}

func TestIntegrationsPageShowsMCPConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	page := c.get("/settings/integrations")
	m := regexp.MustCompile(`(?s)data-testid="mcp-config"><code[^>]*>(.*?)</code>`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no MCP client configuration on the page")
	}
	var cfg struct {
		MCPServers map[string]struct {
			Type    string            `json:"type"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
		} `json:"mcpServers"`
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &cfg); err != nil {
		t.Fatalf("the configuration is not valid JSON: %v\n%s", err, m[1])
	}
	s := cfg.MCPServers["closr"]
	if s.Type != "http" || s.URL != e.srv.URL+"/mcp" || s.Headers["Authorization"] != "Bearer YOUR_MCP_KEY" {
		t.Fatalf("configuration = %+v", cfg)
	}
	if !strings.Contains(page.body, "MCP: read and write your CRM") {
		t.Fatal("the MCP card does not say which key to generate")
	}
	// The URL in the configuration is the real endpoint.
	if r := e.postMCP(listTools); r.StatusCode != 401 {
		t.Fatalf("%s: %d, want 401 without a key", s.URL, r.StatusCode)
	}
}

func TestKeyLimitCountsBothKinds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	for i := range store.MaxActiveKeys {
		access := "intake"
		if i%2 == 1 {
			access = "mcp"
		}
		c.generateAccess(fmt.Sprintf("key %d", i), access)
	}
	for _, access := range []string{"mcp", "intake"} {
		r := c.post("/settings/integrations/api-keys", url.Values{"label": {"one too many"}, "access": {access}}, "HX-Request", "true")
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "the most it can have") {
			t.Fatalf("an 11th %s key: %d", access, r.StatusCode)
		}
	}
	if n := e.activeKeys(e.agent("ana@example.com").TeamID); n != store.MaxActiveKeys {
		t.Fatalf("active keys = %d, want %d", n, store.MaxActiveKeys)
	}
}

// TestMCPCreateLeadNeedsContact: an assistant may add a person it knows
// only by name; the lead is kept, marked, and the tool says what is missing.
func TestMCPCreateLeadNeedsContact(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, _ := e.team("ana@example.com")
	cs := e.mustConnectMCP(c.generateAccess("Claude", "mcp"))
	got := callTool[struct {
		ID       int64
		Status   string
		Warnings []string
	}](t, cs, "create_lead", map[string]any{"name": "Alex from the open house", "message": "Wants the brochure"})
	if got.Status != "created" || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "needs contact details") {
		t.Fatalf("create_lead = %+v", got)
	}
	l, err := e.db.Lead(t.Context(), team, got.ID)
	if err != nil || !l.NeedsContact() || l.Name != "Alex from the open house" {
		t.Fatalf("lead %+v, %v", l, err)
	}
}

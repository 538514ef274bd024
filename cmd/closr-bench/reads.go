package main

// The read benchmark: every page and every MCP tool, one request at a time
// through the real server, on a small and a large database.

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/store"
)

// readCase is one page or tool call.
type readCase struct {
	name string
	call func(ctx context.Context, r *reader) error
}

// reader is a signed-in agent and an MCP client of one server.
type reader struct {
	base string
	web  *http.Client
	mcp  *mcp.ClientSession
	d    dataset
}

// readCases are the pages and tools the benchmark times, in table order.
var readCases = []readCase{
	{"GET /leads", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads") }},
	{"GET /leads?page=2", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?page=2") }},
	{"GET /leads, last page", func(ctx context.Context, r *reader) error {
		return r.page(ctx, fmt.Sprintf("/leads?page=%d", (r.d.leadCount+49)/50))
	}},
	{"GET /leads?before=(middle)", func(ctx context.Context, r *reader) error {
		return r.page(ctx, "/leads?before="+store.LeadCursor{At: r.d.middleAt, ID: r.d.middle}.String())
	}},
	{"GET /leads?source=Zillow", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?source=Zillow") }},
	{"GET /leads?source=Zillow, before (middle)", func(ctx context.Context, r *reader) error {
		return r.page(ctx, "/leads?source=Zillow&before="+store.LeadCursor{At: r.d.middleAt, ID: r.d.middle}.String())
	}},
	{"GET /leads?needs_contact=1", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?needs_contact=1") }},
	{"GET /leads?needs_contact=1&source=Zillow", func(ctx context.Context, r *reader) error {
		return r.page(ctx, "/leads?needs_contact=1&source=Zillow")
	}},
	{"GET /leads?hot=1", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?hot=1") }},
	{"GET /leads?hot=1&source=Zillow", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?hot=1&source=Zillow") }},
	{"GET /leads?tests=1", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?tests=1") }},
	{"GET /leads?q=gmail&source=Zillow", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?q=gmail&source=Zillow") }},
	{"GET /leads?q=gmail&needs_contact=1", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?q=gmail&needs_contact=1") }},
	{"GET /leads?q=weekend&hot=1", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?q=weekend&hot=1") }},
	{"GET /leads?q=gmail&tests=1", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?q=gmail&tests=1") }},
	{"GET /leads?q=(rare message word)", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?q="+rareWord) }},
	{"GET /leads?q=(rare custom value)", func(ctx context.Context, r *reader) error {
		return r.page(ctx, "/leads?q="+url.QueryEscape(rareValue))
	}},
	{"GET /leads?q=weekend (common message word)", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?q=weekend") }},
	{"GET /leads?q=(rare name)", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?q=Farquharson") }},
	{"GET /leads?q=gmail", func(ctx context.Context, r *reader) error { return r.page(ctx, "/leads?q=gmail") }},
	{"GET /leads/{id}, a few dozen views", func(ctx context.Context, r *reader) error {
		return r.page(ctx, fmt.Sprintf("/leads/%d", r.d.typical))
	}},
	{"GET /leads/{id}, the hot lead", func(ctx context.Context, r *reader) error {
		return r.page(ctx, fmt.Sprintf("/leads/%d", r.d.hotLead))
	}},
	{"GET /settings/integrations", func(ctx context.Context, r *reader) error { return r.page(ctx, "/settings/integrations") }},
	{"search_leads, rare name", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "search_leads", map[string]any{"query": "Farquharson"})
	}},
	{"search_leads, rare message word", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "search_leads", map[string]any{"query": rareWord})
	}},
	{"search_leads, rare custom value", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "search_leads", map[string]any{"query": rareValue})
	}},
	{"search_leads, common (gmail)", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "search_leads", map[string]any{"query": "gmail"})
	}},
	{"search_leads, a phone number", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "search_leads", map[string]any{"query": r.d.phone})
	}},
	{"search_leads, no query", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "search_leads", map[string]any{})
	}},
	{"search_leads, offset 40", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "search_leads", map[string]any{"query": "gmail", "offset": 40})
	}},
	{"get_lead, a few dozen views", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "get_lead", map[string]any{"id": r.d.typical})
	}},
	{"get_lead, the hot lead", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "get_lead", map[string]any{"id": r.d.hotLead})
	}},
	{"recent_visitors, 24 h", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "recent_visitors", map[string]any{"hours": 24})
	}},
	{"recent_visitors, 720 h", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "recent_visitors", map[string]any{"hours": 720})
	}},
	{"pipeline_summary, 30 days", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "pipeline_summary", map[string]any{})
	}},
	{"pipeline_summary, 365 days", func(ctx context.Context, r *reader) error {
		return r.tool(ctx, "pipeline_summary", map[string]any{"days": 365})
	}},
	{"create_lead", func(ctx context.Context, r *reader) error {
		n := time.Now().UnixNano()
		return r.tool(ctx, "create_lead", map[string]any{"name": "Bench Reader", "email": fmt.Sprintf("reader%d@bench.example", n)})
	}},
}

// readTiming is one case's latencies on one server.
type readTiming struct {
	p50, p99 time.Duration
	errors   int
	timedOut bool
	firstErr string
}

// benchKeys are the keys the bench makes for the big team of a database.
type benchKeys struct{ intake, mcp string }

// newKeys makes an intake and an MCP key for the big team of a bench
// database; no server may be running on it yet. Keys an earlier run made
// are revoked first: a PostgreSQL database is not copied for each run, and
// a team keeps 10 active keys at most.
func newKeys(path string, d dataset) (benchKeys, error) {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		return benchKeys{}, err
	}
	defer db.Close()
	a, err := db.AgentByEmail(ctx, d.agentEmail)
	if err != nil {
		return benchKeys{}, err
	}
	old, err := db.APIKeys(ctx, a.TeamID)
	if err != nil {
		return benchKeys{}, err
	}
	for _, k := range old {
		if (k.Label == "bench intake" || k.Label == "bench MCP") && k.RevokedAt.IsZero() {
			if _, err := db.RevokeAPIKey(ctx, a.TeamID, k.ID, a.ID); err != nil {
				return benchKeys{}, err
			}
		}
	}
	var k benchKeys
	if _, k.intake, err = db.CreateAPIKey(ctx, a.TeamID, a.ID, "bench intake", store.AccessIntake, 0); err != nil {
		return k, err
	}
	_, k.mcp, err = db.CreateAPIKey(ctx, a.TeamID, a.ID, "bench MCP", store.AccessMCP, 0)
	return k, err
}

// bigServer is a server on the large data set: its SQLite file, or the
// same data moved to PostgreSQL.
type bigServer struct {
	name string
	url  string
	keys benchKeys
}

// runReads builds a small database like the large one, starts a server on
// it, and times every page and tool on it and on each large server.
func runReads(dir string, start func(name, db string) (*process, error), bigs []bigServer, bigData dataset, n int, timeout time.Duration) error {
	smallPath := filepath.Join(dir, "small.db")
	smallData, err := loadOrBuild(smallPath, smallShape)
	if err != nil {
		return err
	}
	smallKeys, err := newKeys(smallPath, smallData)
	if err != nil {
		return err
	}
	small, err := start("closr-small", smallPath)
	if err != nil {
		return err
	}
	defer small.stop()
	servers := append([]bigServer{{"small", small.url, smallKeys}}, bigs...)
	results := make([]map[string]readTiming, len(servers))
	for i, srv := range servers {
		d := bigData
		if i == 0 {
			d = smallData
		}
		r, err := signIn(srv.url, srv.keys.mcp, d)
		if err != nil {
			return fmt.Errorf("%s: %w", srv.name, err)
		}
		results[i] = timeReads(r, n, timeout)
		r.mcp.Close()
	}
	fmt.Printf("\nreads: %d requests per page or tool, one at a time, after 2 warm-ups; small: %d leads, large: %d leads\n\n",
		n, smallData.leadCount, bigData.leadCount)
	names := make([]string, len(servers))
	for i, srv := range servers {
		names[i] = srv.name
	}
	printReads(names, results, timeout)
	fmt.Println()
	return nil
}

// copyFile copies a database file (no server may be running on it).
func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signIn logs the big team's owner in and connects an MCP client.
func signIn(base, mcpKey string, d dataset) (*reader, error) {
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := web.Get(base + "/login")
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(b)
	if m == nil {
		return nil, errors.New("no CSRF token on /login")
	}
	resp, err = web.PostForm(base+"/login", url.Values{"email": {d.agentEmail}, "password": {benchPassword}, "_csrf": {html.UnescapeString(string(m[1]))}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("login: status %d", resp.StatusCode)
	}
	hc := &http.Client{Transport: bearer{mcpKey, http.DefaultTransport}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "closr-bench", Version: "0"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: base + "/mcp", HTTPClient: hc, DisableStandaloneSSE: true}, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to /mcp: %w", err)
	}
	return &reader{base: base, web: web, mcp: cs, d: d}, nil
}

// bearer sends the MCP key with every request, as a configured client does.
type bearer struct {
	key  string
	base http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.base.RoundTrip(r)
}

func (r *reader) page(ctx context.Context, path string) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", r.base+path, nil)
	resp, err := r.web.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return nil
}

func (r *reader) tool(ctx context.Context, name string, args map[string]any) error {
	res, err := r.mcp.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return err
	}
	if res.IsError {
		var text []string
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				text = append(text, tc.Text)
			}
		}
		return fmt.Errorf("%s: %s", name, strings.Join(text, " "))
	}
	return nil
}

// timeReads runs each case n times, one request at a time, after two
// untimed warm-up calls. A case that exceeds timeout once is not run again:
// on a server that does not stop abandoned queries, it would keep the
// machine busy for the cases after it.
func timeReads(r *reader, n int, timeout time.Duration) map[string]readTiming {
	out := map[string]readTiming{}
	for _, c := range readCases {
		var t readTiming
		var lat []time.Duration
		for i := -2; i < n; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			start := time.Now()
			err := c.call(ctx, r)
			d := time.Since(start)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) || d >= timeout {
				t.timedOut = true
				break
			}
			if err != nil {
				t.errors++
				if t.firstErr == "" {
					t.firstErr = err.Error()
				}
			}
			if i >= 0 {
				lat = append(lat, d)
			}
		}
		slices.Sort(lat)
		if len(lat) > 0 {
			t.p50, t.p99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
		}
		out[c.name] = t
	}
	return out
}

// printReads prints the table of the servers' timings, p50 and p99 each.
func printReads(names []string, results []map[string]readTiming, timeout time.Duration) {
	cell := func(t readTiming, d time.Duration) string {
		if t.timedOut {
			return "> " + timeout.String()
		}
		return ms(d)
	}
	fmt.Printf("%-42s", "page or tool")
	for _, n := range names {
		fmt.Printf(" %11s %11s", n+" p50", n+" p99")
	}
	fmt.Printf(" %7s\n", "errors")
	for _, c := range readCases {
		fmt.Printf("%-42s", c.name)
		errs := 0
		for _, res := range results {
			t := res[c.name]
			fmt.Printf(" %11s %11s", cell(t, t.p50), cell(t, t.p99))
			errs += t.errors
		}
		fmt.Printf(" %7d\n", errs)
		for i, res := range results {
			if e := res[c.name].firstErr; e != "" {
				fmt.Printf("    first error (%s): %s\n", names[i], e)
			}
		}
	}
}

package handlers_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/store"
)

// allocated runs f and returns how many bytes the whole process allocated
// meanwhile (the in-process server included) and how much the memory
// obtained from the OS grew.
func allocated(f func()) (alloc, sys uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, after.Sys - before.Sys
}

// TestLeadWithThousandSubmissionsStaysSmall: anyone holding a team's public
// intake key can post the same email a thousand times with large bodies.
// The lead's page and MCP get_lead stay small, loading them allocates a
// bounded amount, and the lead keeps only the newest raw bodies.
func TestLeadWithThousandSubmissionsStaysSmall(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	team := e.agent("ana@example.com").TeamID
	key := c.generate("Website")
	mcpKey := c.generateAccess("Claude", "mcp")
	keys, _ := e.db.APIKeys(t.Context(), team)
	var keyID int64
	for _, k := range keys {
		if k.Label == "Website" {
			keyID = k.ID
		}
	}
	// Three 10,000-character fields (the most a value keeps) and padding
	// to 60 KB of raw body.
	big := strings.Repeat("x", 10_000)
	body := fmt.Sprintf(`{"email":"big@example.com","a":%q,"b":%q,"c":%q,"pad":%q}`, big, big, big, strings.Repeat("p", 29_000))
	const viaHTTP, total = 50, 1000
	for range viaHTTP {
		e.mustPostLead(key, body)
	}
	id := e.lastLeadID()
	// The rest straight into the store, as the inbound endpoint stores
	// them, from 16 writers at once (group commit keeps it quick).
	fields := []store.Field{{Name: "email", Value: "big@example.com"}, {Name: "a", Value: big}, {Name: "b", Value: big}, {Name: "c", Value: big}}
	var wg sync.WaitGroup
	work := make(chan struct{}, total-viaHTTP)
	for range total - viaHTTP {
		work <- struct{}{}
	}
	close(work)
	for range 16 {
		wg.Go(func() {
			for range work {
				if _, err := e.db.IngestLead(t.Context(), store.LeadInput{TeamID: team, KeyID: keyID, Email: "big@example.com",
					Custom: fields[1:], Fields: fields, ContentType: "application/json", Raw: []byte(body), At: time.Now()}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	var page resp
	pageAlloc, pageSys := allocated(func() {
		for range 2 {
			page = c.get(fmt.Sprintf("/leads/%d", id))
		}
	})
	if page.StatusCode != http.StatusOK {
		t.Fatalf("lead page: %d", page.StatusCode)
	}
	cs := e.mustConnectMCP(mcpKey)
	var answer []byte
	mcpAlloc, _ := allocated(func() {
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "get_lead", Arguments: map[string]any{"id": id}})
		if err != nil || res.IsError {
			t.Fatalf("get_lead: %v %v", err, res)
		}
		answer, _ = json.Marshal(res)
	})
	var rawBytes int64
	rawDB(t, e).QueryRow("SELECT coalesce(sum(length(raw)), 0) FROM submissions WHERE lead_id = ?", id).Scan(&rawBytes)
	t.Logf("lead with %d submissions of %d bytes: page %d bytes, two page loads allocated %.1f MB (OS memory +%.1f MB); get_lead answer %d bytes, allocated %.1f MB; raw bodies stored %.1f MB",
		total, len(body), len(page.body), float64(pageAlloc)/1e6, float64(pageSys)/1e6, len(answer), float64(mcpAlloc)/1e6, float64(rawBytes)/1e6)

	// The bounds leave room over what 20 submissions of 64 KiB can make;
	// the allocations are the whole process's, the test's MCP client's
	// decoding included (about 50 MB for get_lead, 80 MB under -race).
	if len(page.body) > 2<<20 || pageAlloc > 2*16<<20 {
		t.Fatalf("lead page %d bytes, two loads allocated %d bytes; want under 2 MiB and 16 MiB a load", len(page.body), pageAlloc)
	}
	if len(answer) > 3<<20 || mcpAlloc > 128<<20 {
		t.Fatalf("get_lead answer %d bytes, allocated %d; want under 3 MiB and 128 MiB", len(answer), mcpAlloc)
	}
	if rawBytes > store.KeptRawBodies*64<<10 {
		t.Fatalf("%d bytes of raw bodies stored for one lead, want at most %d × 64 KiB", rawBytes, store.KeptRawBodies)
	}
	for _, want := range []string{
		fmt.Sprintf(`data-testid="submissions-count">Latest %d of %d submissions`, 20, total),
		fmt.Sprintf(`data-testid="raw-folded">Raw bodies are kept for the newest %d submissions; %d older ones were folded`, store.KeptRawBodies, total-store.KeptRawBodies),
		`rel="next"`,
	} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the page does not say %q", want)
		}
	}

	// The newest page links to its raw bodies and to older submissions;
	// the older page's raw bodies are folded.
	rawLink := regexp.MustCompile(`href="(/leads/\d+/submissions/\d+/raw)"`).FindStringSubmatch(page.body)
	if rawLink == nil {
		t.Fatal("no raw body link on the newest page")
	}
	if r := c.get(rawLink[1]); r.StatusCode != http.StatusOK || r.body != body {
		t.Fatalf("raw body: %d, %d bytes; want the %d bytes posted", r.StatusCode, len(r.body), len(body))
	}
	next := regexp.MustCompile(`href="(/leads/\d+\?before=\d+)" rel="next"`).FindStringSubmatch(page.body)
	older := c.get(html.UnescapeString(next[1]))
	if !strings.Contains(older.body, fmt.Sprintf(`data-testid="submissions-count">20 older submissions of %d`, total)) ||
		strings.Contains(older.body, `data-testid="raw-link"`) || !strings.Contains(older.body, `rel="first"`) {
		t.Fatalf("the older page:\n%.3000s", older.body)
	}
}

// TestSubmissionRawIsPlainText: a raw body, which anyone with the public
// intake key can write, is served on its own as inert plain text, capped,
// and only under its own lead.
func TestSubmissionRawIsPlainText(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	team := e.agent("ana@example.com").TeamID
	key := c.generate("Website")
	body := `{"email":"x@example.com","message":"<script>alert(1)</script><img src=x onerror=alert(2)>"}`
	id := e.mustPostLead(key, body)
	other := e.mustPostLead(key, `{"email":"y@example.com"}`)
	_, subs, _ := e.lead(team, id)
	_, otherSubs, _ := e.lead(team, other)
	r := c.get(fmt.Sprintf("/leads/%d/submissions/%d/raw", id, subs[0].ID))
	csp := r.Header.Get("Content-Security-Policy")
	if r.StatusCode != http.StatusOK || r.body != body || r.Header.Get("Content-Type") != "text/plain; charset=UTF-8" ||
		r.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "sandbox") ||
		r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("raw body: %d %q %v", r.StatusCode, r.body, r.Header)
	}
	if r := c.get(fmt.Sprintf("/leads/%d/submissions/%d/raw", id, otherSubs[0].ID)); r.StatusCode != http.StatusNotFound {
		t.Fatalf("another lead's submission under this lead: %d, want 404", r.StatusCode)
	}

	// An MCP create_lead can carry more than the inbound limit: the page
	// serves the first 64 KiB and says so.
	cs := e.mustConnectMCP(c.generateAccess("Claude", "mcp"))
	long := strings.Repeat("m", 100_000)
	callTool[map[string]any](t, cs, "create_lead", map[string]any{"email": "x@example.com", "fields": map[string]any{"notes": long}})
	_, subs, _ = e.lead(team, id)
	r = c.get(fmt.Sprintf("/leads/%d/submissions/%d/raw", id, subs[0].ID))
	if r.StatusCode != http.StatusOK || len(r.body) > 64<<10+100 || !strings.HasSuffix(r.body, fmt.Sprintf("[the first %d of %d bytes]\n", 64<<10, subs[0].RawSize)) {
		t.Fatalf("a raw body over 64 KiB: %d, %d bytes, ending %q", r.StatusCode, len(r.body), r.body[max(0, len(r.body)-60):])
	}

	// Past the newest KeptRawBodies, the oldest raw body is folded.
	for range store.KeptRawBodies {
		e.postLead(key, body)
	}
	r = c.get(fmt.Sprintf("/leads/%d/submissions/%d/raw", id, subs[len(subs)-1].ID))
	if r.StatusCode != http.StatusGone || !strings.Contains(r.body, "folded") {
		t.Fatalf("a folded raw body: %d %q", r.StatusCode, r.body)
	}
}

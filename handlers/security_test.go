package handlers_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"closr/handlers"
)

// TestAPIRateLimits: per IP and per key, the API answers 429 with
// Retry-After and the JSON error; other clients and 0 (off) are unaffected.
func TestAPIRateLimits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name              string
		limitKey, limitIP float64
		who               string
	}{
		{"per key", 0.5, 0, "API key"}, // burst 2
		{"per IP", 0, 0.5, "address"},  // burst 2
		{"both off", 0, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { c.LimitKey, c.LimitIP = tc.limitKey, tc.limitIP }})
			c := e.client()
			c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
			key := c.generate("Website")
			other := c.generate("Zapier")
			var last resp
			for i := range 3 {
				last = c.e.postLead(key, `{"email":"a`+strconv.Itoa(i)+`@example.com"}`)
			}
			if tc.who == "" {
				if last.StatusCode != http.StatusCreated {
					t.Fatalf("limits off: %d %s", last.StatusCode, last.body)
				}
				return
			}
			var body struct{ Error, Message string }
			json.Unmarshal([]byte(last.body), &body)
			ra, _ := strconv.Atoi(last.Header.Get("Retry-After"))
			if last.StatusCode != http.StatusTooManyRequests || ra < 1 || body.Error != "rate_limited" ||
				!strings.Contains(body.Message, "Retry in "+last.Header.Get("Retry-After")) || !strings.Contains(body.Message, tc.who) {
				t.Fatalf("third request: %d Retry-After %q %s", last.StatusCode, last.Header.Get("Retry-After"), last.body)
			}
			if last.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatal("a site's script cannot read the 429 without CORS")
			}
			if n := e.leadsOf(e.agent("ana@example.com").TeamID); len(n) != 2 {
				t.Fatalf("%d leads stored, want the 2 allowed", len(n))
			}
			r := c.e.postLead(other, `{"email":"other@example.com"}`)
			if tc.who == "API key" && r.StatusCode != http.StatusCreated {
				t.Fatalf("another key was limited too: %d", r.StatusCode)
			}
			if tc.who == "address" && r.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("the same address with another key: %d, want 429", r.StatusCode)
			}
			if r := c.get("/settings/integrations"); r.StatusCode != 200 {
				t.Fatalf("the app is rate-limited too: %d", r.StatusCode)
			}
		})
	}
}

// TestBrowserFormRateLimitedGetsPage: a person whose form post is over the
// per-IP limit gets the HTML error page with Retry-After, like any other
// refused form, not JSON.
func TestBrowserFormRateLimitedGetsPage(t *testing.T) {
	e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { c.LimitIP = 0.5 }}) // burst 2
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	key := c.generate("Website")
	var last resp
	for i := range 3 {
		form := url.Values{"api_key": {key}, "email": {"a" + strconv.Itoa(i) + "@example.com"}}
		last = e.api("POST", "/api/leads/inbound", "application/x-www-form-urlencoded", form.Encode(),
			"Accept", "text/html,application/xhtml+xml,*/*;q=0.8", "Referer", "https://agent.example/contact")
	}
	ra, _ := strconv.Atoi(last.Header.Get("Retry-After"))
	if last.StatusCode != http.StatusTooManyRequests || ra < 1 || !strings.HasPrefix(last.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(last.body, "Too many requests") || !strings.Contains(last.body, `href="https://agent.example/contact"`) {
		t.Fatalf("third form post: %d Retry-After %q %s\n%s", last.StatusCode, last.Header.Get("Retry-After"), last.Header.Get("Content-Type"), last.body)
	}
}

// TestBodyLimits: oversized bodies are refused with 413 before any work.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	key := c.generate("Website")
	before := rowCounts(t, e)
	big := strings.Repeat("x", 65<<10)
	r := c.e.postLead(key, `{"email":"big@example.com","message":"`+big+`"}`)
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "too_large") {
		t.Fatalf("65 KiB lead: %d %s", r.StatusCode, r.body)
	}
	r = c.post("/settings/integrations/api-keys", url.Values{"label": {big}})
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("65 KiB form: %d", r.StatusCode)
	}
	sameCounts(t, "oversized bodies", before, rowCounts(t, e))
}

// TestSecurityHeadersOnEveryPage: CSP without inline script, no framing,
// nosniff, a referrer policy; HSTS only over TLS.
func TestSecurityHeadersOnEveryPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	for _, p := range []string{"/login", "/signup", "/thanks", "/static/app.css"} {
		checkHeaders(t, p, c.get(p), false)
	}
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	key := c.generate("Website")
	c.e.postLead(key, `{"name":"Lena","email":"lena@example.com"}`)
	for _, p := range []string{"/settings/integrations", "/leads", "/leads/1", "/nowhere"} {
		r := c.get(p)
		checkHeaders(t, p, r, false)
		// Real attributes only: the snippet shown for agents' sites is escaped text.
		if m := regexp.MustCompile(`<script[^>]*>[^<]|<style|\sstyle="|\son[a-z]+="`).FindString(r.body); m != "" {
			t.Fatalf("%s has inline script or style, which the CSP blocks", p)
		}
	}

	checkHeaders(t, "/login over TLS", resp{Response: getOverTLS(t, e, "/login")}, true)

	// The API's JSON answers get the policy that forbids everything; the
	// HTML page it shows a browser form gets the page headers.
	for what, r := range map[string]resp{
		"inbound 201":     e.postLead(key, `{"email":"mia@example.com"}`),
		"inbound 401":     e.api("POST", "/api/leads/inbound", "application/json", `{"email":"mia@example.com"}`),
		"track 202":       e.track(pageviewBody(key, testVID, "https://anywhere.example/")),
		"track preflight": e.api("OPTIONS", "/api/track", "", ""),
	} {
		if r.Header.Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: CSP %q, nosniff %q", what, r.Header.Get("Content-Security-Policy"), r.Header.Get("X-Content-Type-Options"))
		}
	}
	formError := e.api("POST", "/api/leads/inbound", "application/x-www-form-urlencoded", "api_key="+key+"&email=not-an-address",
		"Accept", "text/html", "Referer", "https://agent.example/contact")
	if !strings.HasPrefix(formError.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("browser form error: %d %s", formError.StatusCode, formError.Header.Get("Content-Type"))
	}
	checkHeaders(t, "browser form error page", formError, false)
}

// getOverTLS requests path from e's handler served directly over TLS.
func getOverTLS(t *testing.T, e *env, path string) *http.Response {
	t.Helper()
	tlsSrv := httptest.NewTLSServer(e.h)
	t.Cleanup(tlsSrv.Close)
	cl := tlsSrv.Client()
	cl.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	r, err := cl.Get(tlsSrv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r
}

func checkHeaders(t *testing.T, what string, r resp, tls bool) {
	t.Helper()
	h := r.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'self'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows inline or eval: %q", what, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s: nosniff %q, Referrer-Policy %q, X-Frame-Options %q", what, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"), h.Get("X-Frame-Options"))
	}
	if hsts := h.Get("Strict-Transport-Security"); tls != strings.Contains(hsts, "max-age=") {
		t.Errorf("%s: Strict-Transport-Security %q (TLS %v)", what, hsts, tls)
	}
}

// TestLogsHoldNoSecrets runs a full flow and searches every log line for
// the key, the passwords and the session cookie; every line carries a
// request id.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	c.post("/logout", nil)
	c.get("/login")
	c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"wrong password 123"}})
	c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}})
	c.get("/settings/integrations")
	key := c.generate("Website")
	c.e.postLead(key, `{"email":"h@example.com"}`)
	c.e.postLead("", `{"email":"b@example.com"}`, "Authorization", "Bearer "+key)
	c.e.postLead("", `{"email":"j@example.com","api_key":"`+key+`"}`)
	c.post("/api/leads/inbound", url.Values{"email": {"f@example.com"}, "api_key": {key}})
	c.e.postLead(key[:40]+"wrongwrong", `{"email":"w@example.com"}`)
	// The tracker (key in the body, as t.js sends it) and MCP (Bearer).
	if r := e.api("POST", "/api/track", "text/plain;charset=UTF-8", `{"api_key":"`+key+`","type":"pageview","visitor_id":"visitor-0123456789","url":"https://a.example/"}`); r.StatusCode != 202 {
		t.Fatalf("track: %d %s", r.StatusCode, r.body)
	}
	mcpKey := c.generateAccess("Claude", "mcp")
	if r := e.api("POST", "/mcp", "application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		"Authorization", "Bearer "+mcpKey, "Accept", "application/json, text/event-stream"); r.StatusCode >= 300 {
		t.Fatalf("mcp: %d %s", r.StatusCode, r.body)
	}
	e.api("POST", "/mcp", "application/json", `{}`, "Authorization", "Bearer "+mcpKey[:30]+"wrongwrongwrongwrongwrong")
	cookies := c.http.Jar.Cookies(mustURL(e.srv.URL))
	c.post("/logout", nil)

	logs := e.log.String()
	secrets := map[string]string{"API key": key, "key body": key[len("closr_"):], "MCP key": mcpKey[len("closr_"):], "password": "correct horse battery", "wrong password": "wrong password 123"}
	for _, ck := range cookies {
		secrets["cookie "+ck.Name] = ck.Value
	}
	if len(cookies) == 0 {
		t.Fatal("no session cookie to look for")
	}
	for what, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold the %s", what)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	for _, l := range lines {
		// The MCP SDK logs without the request's context; its lines are
		// marked, and only warnings and errors are kept.
		if strings.Contains(l, "component=mcp-sdk") && !strings.Contains(l, "level=INFO") {
			continue
		}
		if !regexp.MustCompile(`request_id=[A-Za-z0-9_-]{8,}`).MatchString(l) {
			t.Errorf("log line without a request id: %s", l)
		}
	}
	t.Logf("%d log lines checked for %d secrets", len(lines), len(secrets))
}

func mustURL(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

// TestRefusedRequestLinesAreBudgeted: a flood of bad keys writes at most
// handlers.RefusedLogBudget request lines a second and one line with the count of
// the rest; accepted requests are always logged.
func TestRefusedRequestLinesAreBudgeted(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	_, _, key := e.team("ana@example.com")
	const flood = 300
	for i := range flood {
		if r := e.postLead(fmt.Sprintf("closr_%043d", i), `{"email":"x@example.com"}`); r.StatusCode != 401 {
			t.Fatalf("bad key: %d", r.StatusCode)
		}
		if i == flood/2 {
			if r := e.postLead(key, `{"email":"lena@example.com"}`); r.StatusCode != 201 {
				t.Fatalf("lead during the flood: %d %s", r.StatusCode, r.body)
			}
		}
	}
	// The clock stood still: the whole flood fell in one second.
	written := strings.Count(e.log.String(), "status=401")
	if written != handlers.RefusedLogBudget {
		t.Fatalf("%d of %d refusals logged, want %d", written, flood, handlers.RefusedLogBudget)
	}
	if !strings.Contains(e.log.String(), "status=201") {
		t.Fatal("the lead accepted during the flood was not logged")
	}
	clock.Advance(1100 * time.Millisecond)
	e.client().get("/healthz")
	m := regexp.MustCompile(`msg="refused API requests not logged one by one" count=(\d+)`).FindStringSubmatch(e.log.String())
	if m == nil {
		t.Fatalf("no summary line:\n%s", e.log.String())
	}
	if n, _ := strconv.Atoi(m[1]); n != flood-written {
		t.Fatalf("summary counts %d refusals, want %d", n, flood-written)
	}
}

package main

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"closr/store"
	"closr/store/storetest"
)

// TestTwoInstancesRevokeUnderLoad is issue 19's "done when": two closr
// processes share one PostgreSQL database; an owner signs up on A and
// makes a key there, which works on B at once; lead load runs on B (and a
// little on A) while the key is revoked on A. No request that started
// after the revoke returned is accepted on either instance, and every
// acknowledged lead is stored exactly once.
func TestTwoInstancesRevokeUnderLoad(t *testing.T) {
	storetest.PostgresOnly(t, "several instances share a database on PostgreSQL only")
	addr := storetest.Addr(t)
	bin := buildBinary(t)
	a := startServer(t, bin, addr)
	b := startServer(t, bin, addr)

	owner := newWebClient(t, "http://"+a.addr)
	owner.signup()
	// The session made on A signs the owner in on B too: the cookie's
	// keys come from the database, so no sticky sessions are needed.
	if r := owner.on("http://" + b.addr).get("/settings/integrations"); r.status != http.StatusOK {
		t.Fatalf("A's session on B: %d", r.status)
	}
	key := owner.generate("Zapier")
	if st := postLead("http://"+b.addr, key, "first@example.com"); st != http.StatusCreated {
		t.Fatalf("a key made on A, used at once on B: %d", st)
	}

	l := startTimedLoad(map[string]int{"http://" + b.addr: 6, "http://" + a.addr: 1}, key)
	time.Sleep(700 * time.Millisecond)
	raw, err := store.OpenRaw(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var keyID int64
	if err := raw.QueryRow("SELECT id FROM api_keys").Scan(&keyID); err != nil {
		t.Fatal(err)
	}
	if r := owner.send("DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", keyID)); r.status != http.StatusOK || !strings.Contains(r.body, "Revoked") {
		t.Fatalf("revoke on A: %d\n%.400s", r.status, r.body)
	}
	revoked := time.Now()
	time.Sleep(700 * time.Millisecond)
	results := l.finish()

	acked := map[string]bool{"first@example.com": true}
	var before, after, refusedAfter int
	for _, r := range results {
		if r.start.After(revoked) {
			after++
			if r.status/100 == 2 {
				t.Errorf("%s: a request started %v after the revoke returned was accepted (%d)", r.instance, r.start.Sub(revoked), r.status)
			}
			if r.status == http.StatusUnauthorized {
				refusedAfter++
			}
		}
		if r.status/100 == 2 {
			acked[r.email] = true
			if r.start.Before(revoked) {
				before++
			}
		}
	}
	if before == 0 || after == 0 || refusedAfter != after {
		t.Fatalf("%d leads acknowledged before the revoke, %d requests after it of which %d refused with 401: the load did not span the revoke, or something else failed", before, after, refusedAfter)
	}

	stored := map[string]int{}
	rows, err := raw.Query("SELECT l.email, count(s.id) FROM leads l LEFT JOIN submissions s ON s.lead_id = l.id GROUP BY l.id, l.email")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var email string
		var n int
		if err := rows.Scan(&email, &n); err != nil {
			t.Fatal(err)
		}
		stored[email] += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	checkStored(t, acked, stored)
	for email := range stored {
		if !acked[email] {
			t.Errorf("lead %s is stored but was never acknowledged", email)
		}
	}
	t.Logf("%d leads acknowledged before the revoke, all stored once; %d requests after it, all refused", before, after)
}

// timedLoad posts leads with unique emails to several instances and
// records when each request started and how it ended.
type timedLoad struct {
	mu      sync.Mutex
	results []timedResult
	stop    chan struct{}
	wg      sync.WaitGroup
}

type timedResult struct {
	instance string
	email    string
	start    time.Time
	status   int // 0: no answer
}

func startTimedLoad(workers map[string]int, key string) *timedLoad {
	l := &timedLoad{stop: make(chan struct{})}
	n := 0
	for base, count := range workers {
		for range count {
			n++
			w := n
			l.wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-l.stop:
						return
					default:
					}
					email := fmt.Sprintf("w%d-%d@example.com", w, i)
					start := time.Now()
					st := postLead(base, key, email)
					l.mu.Lock()
					l.results = append(l.results, timedResult{base, email, start, st})
					l.mu.Unlock()
				}
			})
		}
	}
	return l
}

func (l *timedLoad) finish() []timedResult {
	close(l.stop)
	l.wg.Wait()
	return l.results
}

var loadClient = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}

// postLead posts one lead and returns the status, 0 when there was none.
func postLead(base, key, email string) int {
	req, _ := http.NewRequest("POST", base+"/api/leads/inbound", strings.NewReader(fmt.Sprintf(`{"name":"Lead","email":%q}`, email)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", key)
	r, err := loadClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return r.StatusCode
}

// webClient is a browser signed in to one instance or another: the
// cookie jar is shared, as a browser behind a load balancer shares it.
type webClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newWebClient(t *testing.T, base string) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// on is the same browser talking to another instance.
func (c *webClient) on(base string) *webClient {
	return &webClient{t: c.t, base: base, http: c.http, csrf: c.csrf}
}

type webResp struct {
	status int
	body   string
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (c *webClient) do(method, path string, form url.Values, hdr ...string) webResp {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", c.csrf)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		c.csrf = html.UnescapeString(string(m[1]))
	}
	return webResp{r.StatusCode, string(b)}
}

func (c *webClient) get(path string) webResp { return c.do("GET", path, url.Values{}) }

// send makes an HTMX request, as the pages do.
func (c *webClient) send(method, path string, form ...string) webResp {
	v := url.Values{}
	for i := 0; i+1 < len(form); i += 2 {
		v.Set(form[i], form[i+1])
	}
	return c.do(method, path, v, "HX-Request", "true")
}

func (c *webClient) signup() {
	c.t.Helper()
	c.get("/signup")
	r := c.do("POST", "/signup", url.Values{"name": {"Ana Owner"}, "email": {"ana@example.com"}, "password": {"correct horse battery"},
		"team": {"Sunset Realty"}, "_csrf": {c.csrf}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("signup: %d\n%.400s", r.status, r.body)
	}
	c.get("/settings/integrations")
}

var newKeyField = regexp.MustCompile(`data-testid="new-key">(closr_[A-Za-z0-9_-]{43})<`)

func (c *webClient) generate(label string) string {
	c.t.Helper()
	r := c.send("POST", "/settings/integrations/api-keys", "label", label)
	m := newKeyField.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		c.t.Fatalf("generate: %d\n%.400s", r.status, r.body)
	}
	return m[1]
}

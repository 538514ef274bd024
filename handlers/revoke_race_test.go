package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Revoking a key while requests with it are in flight: every request that
// started after RevokeAPIKey returned must be refused, on both ingest
// endpoints.
func TestRevokeHoldsUnderLoad(t *testing.T) {
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	keys, _ := e.db.APIKeys(context.Background(), team)
	agent := e.agent("ana@example.com")

	type outcome struct {
		start  time.Time
		status int
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		seq      atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for !stop.Load() {
				n := seq.Add(1)
				path, ctype, body := "/api/leads/inbound", "application/json", fmt.Sprintf(`{"email": "p%d@example.com"}`, n)
				if w%2 == 1 {
					path, ctype, body = "/api/track", "text/plain", fmt.Sprintf(`{"type": "pageview", "visitor_id": "visitor-%012d", "url": "https://a.example/%d"}`, n, n)
				}
				req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				req.Header.Set("X-Api-Key", key)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				resp.Body.Close()
				mu.Lock()
				outcomes = append(outcomes, outcome{start, resp.StatusCode})
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := e.db.RevokeAPIKey(context.Background(), team, keys[0].ID, agent.ID); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	var before, after, acceptedAfter int
	for _, o := range outcomes {
		if o.start.After(revoked) {
			after++
			if o.status < 300 {
				acceptedAfter++
			}
		} else if o.status < 300 {
			before++
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("the load did not straddle the revoke: %d accepted before, %d started after", before, after)
	}
	if acceptedAfter > 0 {
		t.Fatalf("%d of %d requests started after the revoke returned were accepted", acceptedAfter, after)
	}
	t.Logf("%d requests accepted before the revoke, %d started after it, all refused", before, after)
}

// A request already on its way when its key is revoked (its body still
// arriving) stores nothing and gets the 401: the key is checked again
// inside the write.
func TestRevokeRefusesRequestsInFlight(t *testing.T) {
	e := newEnv(t)
	_, team, key := e.team("ana@example.com")
	keys, _ := e.db.APIKeys(context.Background(), team)
	for _, path := range []string{"/api/leads/inbound", "/api/track"} {
		body := `{"email": "slow@example.com"}`
		if path == "/api/track" {
			body = `{"type": "pageview", "visitor_id": "visitor-slow-0123456", "url": "https://a.example/"}`
		}
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", e.srv.URL+path, pr)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Api-Key", key)
		got := make(chan *http.Response, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				got <- nil
				return
			}
			got <- resp
		}()
		pw.Write([]byte(body[:10])) // the headers, and the key, are in
		time.Sleep(100 * time.Millisecond)
		if path == "/api/leads/inbound" {
			if _, err := e.db.RevokeAPIKey(context.Background(), team, keys[0].ID, e.agent("ana@example.com").ID); err != nil {
				t.Fatal(err)
			}
		}
		pw.Write([]byte(body[10:]))
		pw.Close()
		resp := <-got
		if resp == nil {
			t.FailNow()
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: a request whose key was revoked mid-way got %d", path, resp.StatusCode)
		}
	}
	if n, _ := e.counts(team); n != 0 {
		t.Fatalf("%d leads stored with a revoked key", n)
	}
	_, visitors := e.stored(team)
	if len(visitors) != 0 {
		t.Fatalf("page views stored with a revoked key: %+v", visitors)
	}
}

package handlers_test

import (
	"context"
	"fmt"
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

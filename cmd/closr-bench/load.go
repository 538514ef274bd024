package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// requestFunc builds the n-th request of a phase.
type requestFunc func(n int64) *http.Request

type result struct {
	rate     float64
	requests int
	elapsed  time.Duration
	p50, p99 time.Duration
	errors   int
	firstErr string
}

// load runs conns closed-loop clients for d: each sends its next request as
// soon as the previous answer is read. A non-2xx answer counts as an error,
// except in the invalid-key phase where 401 is the expected answer.
func load(req requestFunc, conns int, d time.Duration) result {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	var seq atomic.Int64
	var mu sync.Mutex
	var all []time.Duration
	var res result
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<14)
			errs, first := 0, ""
			for time.Now().Before(deadline) {
				r := req(seq.Add(1))
				start := time.Now()
				resp, err := client.Do(r)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				lat = append(lat, time.Since(start))
				if err != nil || !expected(r, resp.StatusCode) {
					errs++
					if first == "" {
						if err != nil {
							first = err.Error()
						} else {
							first = fmt.Sprintf("status %d", resp.StatusCode)
						}
					}
				}
			}
			mu.Lock()
			all = append(all, lat...)
			res.errors += errs
			if res.firstErr == "" {
				res.firstErr = first
			}
			mu.Unlock()
		}()
	}
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(all)
	if len(all) > 0 {
		res.p50, res.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	res.requests, res.elapsed = len(all), elapsed
	res.rate = float64(len(all)) / elapsed.Seconds()
	return res
}

func expected(r *http.Request, status int) bool {
	if r.Header.Get("X-Bench-Expect") == "401" {
		return status == http.StatusUnauthorized
	}
	return status >= 200 && status < 300
}

func noopRequest(base string) requestFunc {
	return func(n int64) *http.Request {
		r, _ := http.NewRequest("POST", base+"/noop", bytes.NewReader([]byte(`{"email":"x@example.com"}`)))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
}

func inboundRequest(base, key string) requestFunc {
	return func(n int64) *http.Request {
		body := fmt.Sprintf(`{"name":"Bench Lead %d","email":"lead%d@example.com","phone":"+1 555 %03d %04d","message":"Interested in 12 Oak St","source":"bench"}`, n, n, n/10000%1000, n%10000)
		r, _ := http.NewRequest("POST", base+"/api/leads/inbound", bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Api-Key", key)
		return r
	}
}

func trackRequest(base, key string) requestFunc {
	return func(n int64) *http.Request {
		body := fmt.Sprintf(`{"api_key":%q,"type":"pageview","visitor_id":"%032x","url":"https://agent.example/listings/%d?utm_source=bench","title":"Listing %d","referrer":"https://www.google.com/","screen_width":1280}`, key, n%5000, n%300, n%300)
		r, _ := http.NewRequest("POST", base+"/api/track", bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		r.Header.Set("Origin", "https://agent.example") // as a browser's beacon carries
		return r
	}
}

func invalidKeyRequest(base string) requestFunc {
	return func(n int64) *http.Request {
		r, _ := http.NewRequest("POST", base+"/api/leads/inbound", bytes.NewReader([]byte(`{"email":"x@example.com"}`)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Api-Key", fmt.Sprintf("closr_%043d", n))
		r.Header.Set("X-Bench-Expect", "401")
		return r
	}
}

// serveNoop is the baseline: the same stack as closr (net/http + Echo) with
// a handler that reads the body and answers 204.
func serveNoop(addr string) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.POST("/noop", func(c echo.Context) error {
		io.Copy(io.Discard, c.Request().Body)
		return c.NoContent(http.StatusNoContent)
	})
	srv := &http.Server{Addr: addr, Handler: e, ReadHeaderTimeout: 5 * time.Second}
	srv.ListenAndServe()
}

func cpus() int { return runtime.NumCPU() }

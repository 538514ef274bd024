package handlers

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Default API rate limits, in requests per second; each allows a burst of
// four seconds' worth. A key is shared by every visitor of an agent's site
// (the tracker sends a few events per page view), so 50/s with a burst of
// 200 carries an open-house email blast; an IP is one visitor, an office
// NAT or an integration's egress, so 25/s with a burst of 100 is far above
// any honest client and still stops one machine flooding us.
const (
	DefaultKeyRate = 50
	DefaultIPRate  = 25
)

// burstSeconds is how many seconds of requests a limiter lets through at once.
const burstSeconds = 4

// maxLimiters bounds each limiter set's memory under a flood of random keys
// or addresses.
const maxLimiters = 50_000

// limiterSet holds one token bucket per client (a key id or an IP), created
// on first sight and forgotten when full again or when the set overflows.
type limiterSet struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	max   int
	now   func() time.Time
	m     map[string]*rate.Limiter
}

// newLimiterSet returns a set allowing perSecond requests per client, or
// nil (no limit) when perSecond is 0 or less.
func newLimiterSet(perSecond float64) *limiterSet {
	if perSecond <= 0 {
		return nil
	}
	return newBucketSet(rate.Limit(perSecond), max(1, int(math.Ceil(perSecond*burstSeconds))))
}

// newBucketSet returns a set of buckets of the given rate and burst.
func newBucketSet(limit rate.Limit, burst int) *limiterSet {
	return &limiterSet{limit: limit, burst: burst, max: maxLimiters, now: time.Now, m: make(map[string]*rate.Limiter)}
}

// allow takes one request from client's bucket; when it is empty, it says
// how long until the next request would pass. A nil set allows everything.
func (l *limiterSet) allow(client string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	lim := l.m[client]
	if lim == nil {
		if len(l.m) >= l.max {
			l.evict(now)
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[client] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict drops limiters whose bucket has refilled (forgetting them changes
// nothing); if the set is still crowded, arbitrary ones go too, which at
// worst gives a flooding client a fresh bucket. Each call frees at least a
// quarter of the set, so the sweep costs O(1) per insert on average.
func (l *limiterSet) evict(now time.Time) {
	for k, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < l.max*3/4 {
			break
		}
		delete(l.m, k)
	}
}

// size is how many clients the set remembers.
func (l *limiterSet) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// rateLimited is the 429 answer; wait is rounded up to whole seconds.
func rateLimited(who string, wait time.Duration) *problem {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &problem{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: secs,
		Message: fmt.Sprintf("Too many requests from this %s. Retry in %d second(s); the Retry-After header says the same.", who, secs)}
}

// limitIP refuses API requests over the per-IP limit before any work is
// done, so unauthenticated junk costs us almost nothing. It applies to
// every API path (see isAPI), so a new API route is covered by being one.
func (s *Server) limitIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !isAPI(c) || c.Request().Method == http.MethodOptions {
			return next(c)
		}
		if ok, wait := s.ipLimits.allow(c.RealIP()); !ok {
			allowCORS(c) // a browser script must be able to read the 429
			// A person posting a plain form gets a page, as for any other
			// refused lead, not JSON.
			return s.leadFailed(c, isBrowserForm(c.Request()), rateLimited("address", wait))
		}
		return next(c)
	}
}

// limitKey charges one request to an authenticated key's bucket.
func (s *Server) limitKey(keyID int64) error {
	if ok, wait := s.keyLimits.allow(fmt.Sprint(keyID)); !ok {
		return rateLimited("API key", wait)
	}
	return nil
}

package handlers

import (
	"sync"
	"time"
)

// throttle counts failures per key (an account, an IP) in a fixed window and
// says when a key has had too many.
type throttle struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	now    func() time.Time
	counts map[string]*failures
}

type failures struct {
	n     int
	reset time.Time
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, now: time.Now, counts: make(map[string]*failures)}
}

// blocked reports whether key is over the limit and, if so, for how long.
func (t *throttle) blocked(key string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.counts[key]
	now := t.now()
	if f == nil || now.After(f.reset) {
		return false, 0
	}
	return f.n >= t.limit, f.reset.Sub(now)
}

// fail records a failure for key.
func (t *throttle) fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.counts) > 100_000 { // bound memory under a spray of keys
		for k, f := range t.counts {
			if now.After(f.reset) {
				delete(t.counts, k)
			}
		}
	}
	f := t.counts[key]
	if f == nil || now.After(f.reset) {
		f = &failures{reset: now.Add(t.window)}
		t.counts[key] = f
	}
	f.n++
}

// clear forgets key's failures (after a successful login).
func (t *throttle) clear(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.counts, key)
}

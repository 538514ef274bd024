package handlers

import (
	"sync"
	"time"
)

// throttle counts attempts per key (an account, an IP) in a fixed window and
// refuses a key that has had too many.
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

// reserve counts an attempt for key before it is checked, so parallel
// attempts cannot all pass while the first ones are still being checked.
// Over the limit it counts nothing and says how long until the window ends.
func (t *throttle) reserve(key string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.counts[key]
	if f != nil && !now.After(f.reset) && f.n >= t.limit {
		return false, f.reset.Sub(now)
	}
	if len(t.counts) > 100_000 { // bound memory under a spray of keys
		for k, f := range t.counts {
			if now.After(f.reset) {
				delete(t.counts, k)
			}
		}
	}
	if f == nil || now.After(f.reset) {
		f = &failures{reset: now.Add(t.window)}
		t.counts[key] = f
	}
	f.n++
	return true, 0
}

// refund gives back one reserved attempt (one that succeeded, or one that
// was never checked).
func (t *throttle) refund(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.counts[key]; f != nil && f.n > 0 {
		f.n--
	}
}

// clear forgets key's failures (after a successful login).
func (t *throttle) clear(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.counts, key)
}

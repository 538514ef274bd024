package handlers

import (
	"hash/maphash"
	"sync"
	"time"
)

// maxThrottled bounds each throttle's memory under a spray of accounts or
// addresses: an entry costs about 60 bytes whatever the key's length,
// because keys are kept as hashes.
const maxThrottled = 50_000

// throttle counts attempts per key (an account, an address, or both) in a
// fixed window and refuses a key that has had too many.
type throttle struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	max    int
	now    func() time.Time
	seed   maphash.Seed
	counts map[uint64]*attempts
}

type attempts struct {
	n     int
	reset time.Time // end of the window
	last  time.Time // the latest attempt
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, max: maxThrottled, now: time.Now,
		seed: maphash.MakeSeed(), counts: make(map[uint64]*attempts)}
}

// reserve counts an attempt for key before it is checked, so parallel
// attempts cannot all pass while the first ones are still being checked.
// A key over its limit, or whose last attempt was less than spacing ago,
// is refused: nothing is counted and it is told how long to wait.
func (t *throttle) reserve(key string, spacing time.Duration) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	h := maphash.String(t.seed, key)
	a := t.counts[h]
	if a != nil && now.After(a.reset) {
		a = nil
	}
	if a != nil {
		if a.n >= t.limit {
			return false, a.reset.Sub(now)
		}
		if next := a.last.Add(spacing); now.Before(next) {
			return false, next.Sub(now)
		}
	}
	if a == nil {
		if _, ok := t.counts[h]; !ok && len(t.counts) >= t.max {
			t.evict(now)
		}
		a = &attempts{reset: now.Add(t.window)}
		t.counts[h] = a
	}
	a.n++
	a.last = now
	return true, 0
}

// evict drops the entries whose window has ended (forgetting them changes
// nothing); if the table is still crowded, arbitrary ones go too, which at
// worst gives a spraying client a fresh count. Each call frees at least a
// quarter of the table, so the sweep costs O(1) per insert on average.
func (t *throttle) evict(now time.Time) {
	for k, a := range t.counts {
		if now.After(a.reset) {
			delete(t.counts, k)
		}
	}
	for k := range t.counts {
		if len(t.counts) < t.max*3/4 {
			break
		}
		delete(t.counts, k)
	}
}

// count is how many attempts key has in its current window.
func (t *throttle) count(key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.counts[maphash.String(t.seed, key)]; a != nil && !t.now().After(a.reset) {
		return a.n
	}
	return 0
}

// refund gives back one reserved attempt (one that succeeded, or one that
// was never checked).
func (t *throttle) refund(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.counts[maphash.String(t.seed, key)]; a != nil && a.n > 0 {
		a.n--
	}
}

// clear forgets key's attempts.
func (t *throttle) clear(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.counts, maphash.String(t.seed, key))
}

// size is how many keys the throttle remembers.
func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.counts)
}

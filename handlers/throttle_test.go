package handlers

import (
	"strconv"
	"testing"
	"time"
)

// TestThrottleStaysBounded: a spray of distinct keys cannot grow a throttle
// past its bound, and a key over its limit is refused until its window ends.
func TestThrottleStaysBounded(t *testing.T) {
	th := newThrottle(3, time.Minute)
	th.max = 1000
	now := time.Unix(1_700_000_000, 0)
	th.now = func() time.Time { return now }
	for i := range 100_000 {
		th.reserve("spray-"+strconv.Itoa(i), 0)
		if th.size() > th.max {
			t.Fatalf("after %d keys the throttle holds %d, bound %d", i+1, th.size(), th.max)
		}
	}
	for i := range 3 {
		if ok, _ := th.reserve("busy", 0); !ok {
			t.Fatalf("attempt %d of 3 refused", i+1)
		}
	}
	ok, wait := th.reserve("busy", 0)
	if ok || wait != time.Minute {
		t.Fatalf("over the limit: ok %v wait %v, want refused for the window's minute", ok, wait)
	}
	now = now.Add(time.Minute + time.Second)
	if ok, _ := th.reserve("busy", 0); !ok {
		t.Fatal("refused after the window ended")
	}
}

// TestLoginThrottleSpacingGrows: past the account's ceiling, an address that
// has tried waits between attempts, longer as the failures grow; an address
// that has not tried is let in at once.
func TestLoginThrottleSpacingGrows(t *testing.T) {
	l := newLoginThrottle(5) // ceiling 100 failures, spacing doubles every 5
	now := time.Unix(1_700_000_000, 0)
	for _, th := range []*throttle{l.ips, l.pairs, l.accounts} {
		th.now = func() time.Time { return now }
	}
	l.rate.now = func() time.Time { return now }
	for i := range 100 { // 20 addresses × 5 failures: the ceiling
		if ok, _, what := l.admit("ana@example.com", "203.0.113."+strconv.Itoa(i/5)); !ok {
			t.Fatalf("failure %d refused (%s)", i+1, what)
		}
	}
	sprayed := 0
	fail := func(n int) { // n more failures, each from a new address
		for range n {
			sprayed++
			if ok, _, what := l.admit("ana@example.com", "192.0.2."+strconv.Itoa(sprayed)); !ok {
				t.Fatalf("a new address's first try refused (%s)", what)
			}
		}
	}
	var waits []time.Duration
	for _, more := range []int{0, 10, 20, 40} {
		fail(more)
		l.admit("ana@example.com", "198.51.100.1") // the address's first try: let in
		ok, wait, _ := l.admit("ana@example.com", "198.51.100.1")
		if ok {
			t.Fatalf("a second try right away at %d failures was let in", 100+more)
		}
		l.pairs.clear(pairKey("ana@example.com", "198.51.100.1"))
		waits = append(waits, wait)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] <= waits[i-1] {
			t.Fatalf("waits %v, want them to grow with the failures", waits)
		}
	}
	if ok, _, _ := l.admit("ana@example.com", "198.51.100.99"); !ok {
		t.Fatal("an address that never tried was refused")
	}
	now = now.Add(maxLoginSpacing)
	if ok, _, _ := l.admit("ana@example.com", "198.51.100.1"); !ok {
		t.Fatal("refused after the longest spacing")
	}
}

// BenchmarkThrottleSpray: attempts with distinct keys against a full table.
func BenchmarkThrottleSpray(b *testing.B) {
	th := newThrottle(5, 15*time.Minute)
	for i := range 100_001 {
		th.reserve("warm-"+strconv.Itoa(i), 0)
	}
	b.ResetTimer()
	for i := range b.N {
		th.reserve("spray-"+strconv.Itoa(i), 0)
	}
}

package handlers

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiterSetStaysBounded: a flood of distinct clients cannot grow the
// set past its bound, and a client over its limit is told how long to wait.
func TestLimiterSetStaysBounded(t *testing.T) {
	t.Parallel()
	l := newLimiterSet(2) // burst 8
	l.max = 1000
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	for i := range 100_000 {
		l.allow(fmt.Sprint("client-", i))
		if l.size() > l.max {
			t.Fatalf("after %d clients the set holds %d, bound %d", i+1, l.size(), l.max)
		}
	}
	for i := range 8 {
		if ok, _ := l.allow("busy"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("busy")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over the limit: ok %v wait %v, want refused with a wait of at most 1/rate", ok, wait)
	}
	now = now.Add(wait)
	if ok, _ := l.allow("busy"); !ok {
		t.Fatal("refused after waiting as told")
	}
	if newLimiterSet(0) != nil {
		t.Fatal("0 must turn the limit off")
	}
	if ok, _ := (*limiterSet)(nil).allow("x"); !ok {
		t.Fatal("a nil set must allow")
	}
}

package handlers

import (
	"net/http"
	"testing"
	"time"
)

func TestKeyTouchesCoalescePerMinute(t *testing.T) {
	t.Parallel()
	var kt keyTouches
	t0 := time.Unix(1_800_000_000, 0)
	steps := []struct {
		key  int64
		at   time.Duration
		want bool
	}{
		{1, 0, true}, {1, 10 * time.Second, false}, {2, 10 * time.Second, true},
		{1, 59 * time.Second, false}, {1, 60 * time.Second, true}, {1, 61 * time.Second, false},
	}
	for _, s := range steps {
		if got := kt.due(s.key, t0.Add(s.at)); got != s.want {
			t.Fatalf("key %d at +%v: due = %v, want %v", s.key, s.at, got, s.want)
		}
	}
}

func TestPresentedKeyOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hdr     map[string]string
		body    string
		want    string
		comment string
	}{
		{map[string]string{"X-Api-Key": " a "}, "c", "a", "header first, trimmed"},
		{map[string]string{"Authorization": "Bearer b"}, "c", "b", "then Bearer"},
		{map[string]string{"Authorization": "Basic b"}, "c", "c", "not Basic"},
		{nil, "c", "c", "then the body"},
		{nil, "", "", "none"},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("POST", "/", nil)
		for k, v := range tt.hdr {
			r.Header.Set(k, v)
		}
		if got := presentedKey(r, tt.body); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.comment, got, tt.want)
		}
	}
}

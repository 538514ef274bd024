package handlers

import (
	"net/http"
	"testing"
)

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

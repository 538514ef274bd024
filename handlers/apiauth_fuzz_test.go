package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"closr/store"
)

// oneKeyStore knows a single key; every other Store method is unused here.
type oneKeyStore struct {
	Store
	hash   [32]byte
	lookup int // how many times the store was asked
}

func (s *oneKeyStore) APIKeyByHash(_ context.Context, h [32]byte) (store.APIKey, error) {
	s.lookup++
	if h == s.hash {
		return store.APIKey{ID: 7, TeamID: 3, Access: store.AccessIntake}, nil
	}
	return store.APIKey{}, store.ErrNotFound
}

// FuzzKeyParsing checks the path a presented key takes: where it is read
// from (header, bearer, body), its shape check, and authenticate's answer.
// Whatever the input, a malformed key never reaches the store, every
// refusal is the one errBadKey, and only the exact stored key passes.
func FuzzKeyParsing(f *testing.F) {
	const good = "closr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	f.Add(good, "", "")
	f.Add("", "Bearer "+good, "")
	f.Add("", "bearer  "+good+" ", "")
	f.Add("", "Basic "+good, good)
	f.Add("", "", " "+good+"\n")
	f.Add(" ", "Bearer", good)
	f.Add("closr_", "", "")
	f.Add(good[:48], "", "")
	f.Add(good+"A", "", "")
	f.Add("closr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "", "")
	f.Add("CLOSR_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", "")
	f.Add("closr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAÄ", "", "")
	f.Add("", "Bearer closr_\x00AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "")
	f.Fuzz(func(t *testing.T, header, authorization, body string) {
		r, _ := http.NewRequest(http.MethodPost, "/api/leads/inbound", nil)
		// net/http refuses to send header values with control characters,
		// but a raw client can; the parser must cope either way.
		r.Header["X-Api-Key"] = []string{header}
		r.Header["Authorization"] = []string{authorization}
		key := presentedKey(r, body)

		if key != strings.TrimSpace(key) {
			t.Fatalf("presentedKey returned untrimmed %q", key)
		}
		if k := strings.TrimSpace(header); k != "" && key != k {
			t.Fatalf("x-api-key %q present but presentedKey chose %q", header, key)
		}
		wellFormed := store.WellFormedKey(key)
		if wellFormed && (len(key) != store.KeyLen || !strings.HasPrefix(key, store.KeyPrefix) || strings.ContainsAny(key, " =+/\x00\n")) {
			t.Fatalf("WellFormedKey accepted %q", key)
		}

		fake := &oneKeyStore{hash: store.HashKey(good)}
		s := &Server{store: fake}
		k, err := s.authenticate(echo.New().NewContext(r, httptest.NewRecorder()), key)
		switch {
		case !wellFormed && fake.lookup != 0:
			t.Fatalf("malformed key %q reached the store", key)
		case key == good && (err != nil || k.ID != 7):
			t.Fatalf("the stored key was refused: %v", err)
		case key != good && !errors.Is(err, errBadKey):
			t.Fatalf("key %q: err = %v, want errBadKey", key, err)
		}
	})
}

package store_test

import (
	"bytes"
	"closr/store/storetest"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"closr/store"
)

// openDB opens a fresh database file in a temporary directory.
func openDB(t testing.TB) (*store.DB, string) {
	t.Helper()
	path := storetest.Addr(t)
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func newTeam(t testing.TB, db *store.DB, email string) store.Agent {
	t.Helper()
	a, err := db.CreateTeamWithOwner(context.Background(), "Team "+email, store.NewAgent{Name: "Agent " + email, Email: email, PasswordHash: []byte("hash")})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var keyRE = regexp.MustCompile(`^closr_[A-Za-z0-9_-]{43}$`)

func TestCreateAPIKeyFormatAndStorage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, path := openDB(t)
	a := newTeam(t, db, "ana@example.com")
	var plain []string
	for i := 0; i < 5; i++ {
		k, key, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, "Webflow form", store.AccessIntake, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !keyRE.MatchString(key) || !store.WellFormedKey(key) {
			t.Fatalf("key %q does not match the format", key)
		}
		if k.Preview != key[:12] {
			t.Fatalf("preview = %q, want %q", k.Preview, key[:12])
		}
		if k.CreatedByName != a.Name {
			t.Fatalf("created by %q, want %q", k.CreatedByName, a.Name)
		}
		plain = append(plain, key)
	}
	db.Close()
	// The database file, with its WAL, must never hold a key.
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, key := range plain {
			if bytes.Contains(b, []byte(key)) || bytes.Contains(b, []byte(key[12:])) {
				t.Fatalf("%s contains a generated key", filepath.Base(f))
			}
		}
	}
}

func TestKeyLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a := newTeam(t, db, "ana@example.com")
	for i := 0; i < store.MaxActiveKeys-1; i++ {
		if _, _, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, "k", store.AccessIntake, 0); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, "race", store.AccessIntake, 0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrKeyLimit):
				limited++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || limited != 19 {
		t.Fatalf("successes = %d, limited = %d; want 1 and 19", ok, limited)
	}
	keys, err := db.APIKeys(ctx, a.TeamID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != store.MaxActiveKeys {
		t.Fatalf("active keys = %d, want %d", len(keys), store.MaxActiveKeys)
	}
}

func TestRevokeAndIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a := newTeam(t, db, "ana@example.com")
	b := newTeam(t, db, "bo@example.com")
	ka, keyA, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, "A's form", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	kb, _, err := db.CreateAPIKey(ctx, b.TeamID, b.ID, "B's form", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.APIKeyByHash(ctx, store.HashKey(keyA))
	if err != nil || got.ID != ka.ID || got.TeamID != a.TeamID {
		t.Fatalf("lookup = %+v, %v; want key %d of team %d", got, err, ka.ID, a.TeamID)
	}

	// B cannot revoke A's key, and A's list never shows B's key.
	if _, err := db.RevokeAPIKey(ctx, b.TeamID, ka.ID, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-team revoke: err = %v, want ErrNotFound", err)
	}
	if _, err := db.APIKeyByHash(ctx, store.HashKey(keyA)); err != nil {
		t.Fatalf("key stopped working after a refused cross-team revoke: %v", err)
	}
	keys, _ := db.APIKeys(ctx, a.TeamID)
	for _, k := range keys {
		if k.ID == kb.ID {
			t.Fatal("team A's list shows team B's key")
		}
	}

	if _, err := db.RevokeAPIKey(ctx, a.TeamID, ka.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	// Remembered as revoked, so its requests can be counted against it.
	if got, err := db.APIKeyByHash(ctx, store.HashKey(keyA)); !errors.Is(err, store.ErrKeyRevoked) || got.ID != ka.ID {
		t.Fatalf("lookup after revoke: %d, %v; want key %d with ErrKeyRevoked", got.ID, err, ka.ID)
	}
	if _, err := db.RevokeAPIKey(ctx, a.TeamID, ka.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second revoke: err = %v, want ErrNotFound", err)
	}
	events, err := db.TeamEvents(ctx, a.TeamID, store.EventFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Action != "key_revoked" || events[1].Action != "key_generated" || events[0].Actor != a.Name || events[0].KeyLabel != "A's form" {
		t.Fatalf("audit trail = %+v", events)
	}
	if ev, _ := db.TeamEvents(ctx, b.TeamID, store.EventFilter{Limit: 10}); len(ev) != 1 {
		t.Fatalf("team B sees %d events, want only its own 1", len(ev))
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a := newTeam(t, db, "ana@example.com")
	if _, err := db.CreateTeamWithOwner(ctx, "Other", store.NewAgent{Name: "X", Email: "ANA@example.com", PasswordHash: []byte("h")}); !errors.Is(err, store.ErrEmailTaken) {
		t.Fatalf("duplicate email (other case): err = %v, want ErrEmailTaken", err)
	}
	tok, err := db.CreateSession(ctx, a.ID, rules)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.SessionAgent(ctx, tok, rules)
	if err != nil || got.ID != a.ID {
		t.Fatalf("session agent = %+v, %v", got, err)
	}
	if err := db.DeleteSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionAgent(ctx, tok, rules); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after logout: err = %v, want ErrNotFound", err)
	}
}

var rules = store.SessionRules{Lifetime: 30 * 24 * time.Hour, Idle: 7 * 24 * time.Hour, PerAgent: 3}

// TestSessionIdleAndLifetime: a session unused for its idle time ends; one
// in use is kept to the end of its lifetime, and no further.
func TestSessionIdleAndLifetime(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	db, err := store.OpenWith(ctx, storetest.Addr(t), store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := newTeam(t, db, "ana@example.com")
	idle, err := db.CreateSession(ctx, a.ID, rules)
	if err != nil {
		t.Fatal(err)
	}
	busy, _ := db.CreateSession(ctx, a.ID, rules)
	day := 24 * time.Hour
	for elapsed := 6 * day; elapsed < 30*day; elapsed += 6 * day {
		now = time.Unix(1_800_000_000, 0).Add(elapsed)
		if _, err := db.SessionAgent(ctx, busy, rules); err != nil {
			t.Fatalf("a session used every 6 days, %v after sign-in: %v", elapsed, err)
		}
	}
	if _, err := db.SessionAgent(ctx, idle, rules); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a session unused for 24 days: err = %v, want ErrNotFound", err)
	}
	now = time.Unix(1_800_000_000, 0).Add(30*day + time.Second)
	if _, err := db.SessionAgent(ctx, busy, rules); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a busy session past its 30-day lifetime: err = %v, want ErrNotFound", err)
	}
}

// TestSessionsPerAgentBounded: an agent keeps only the newest sessions, the
// one just made always among them; signing out everywhere ends them all and
// no one else's.
func TestSessionsPerAgentBounded(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	a, b := newTeam(t, db, "ana@example.com"), newTeam(t, db, "bo@example.com")
	other, _ := db.CreateSession(ctx, b.ID, rules)
	var toks []string
	for range 5 { // in the same second: the newest must still be kept
		tok, err := db.CreateSession(ctx, a.ID, rules)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionAgent(ctx, tok, rules); err != nil {
			t.Fatalf("the session just made is gone: %v", err)
		}
		toks = append(toks, tok)
	}
	live := 0
	for _, tok := range toks {
		if _, err := db.SessionAgent(ctx, tok, rules); err == nil {
			live++
		}
	}
	if live != rules.PerAgent {
		t.Fatalf("%d of the agent's 5 sessions live, want %d", live, rules.PerAgent)
	}
	if err := db.DeleteAgentSessions(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if _, err := db.SessionAgent(ctx, tok, rules); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a session survived signing out everywhere: %v", err)
		}
	}
	if _, err := db.SessionAgent(ctx, other, rules); err != nil {
		t.Fatalf("another agent's session ended: %v", err)
	}
}

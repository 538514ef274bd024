package store_test

import (
	"closr/store/storetest"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"closr/store"
)

// clock is a settable clock for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openAt opens the database file at path with a clock at Nov 28, 14:00 UTC
// (or the one given).
func openAt(t *testing.T, path string, c *clock) *store.DB {
	t.Helper()
	db, err := store.OpenWith(context.Background(), path, store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)} }

func TestRotateAPIKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	db := openAt(t, storetest.Addr(t), c)
	a, b := newTeam(t, db, "ana@example.com"), newTeam(t, db, "bo@example.com")
	old, oldKey, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, "Claude", store.AccessMCP, 90)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := db.RotateAPIKey(ctx, b.TeamID, old.ID, b.ID, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another team's rotate: %v", err)
	}
	c.Advance(24 * time.Hour)
	got, repl, key, err := db.RotateAPIKey(ctx, a.TeamID, old.ID, a.ID, "Claude (rotated Nov 29)")
	if err != nil {
		t.Fatal(err)
	}
	if got.ReplacedBy != repl.ID || repl.Access != store.AccessMCP || repl.Label != "Claude (rotated Nov 29)" {
		t.Fatalf("old %+v, replacement %+v", got, repl)
	}
	if want := c.Now().AddDate(0, 0, 90); !repl.ExpiresAt.Equal(want) || repl.LifetimeDays != 90 {
		t.Fatalf("replacement expires %v (%d days), want %v: the old key's lifetime", repl.ExpiresAt, repl.LifetimeDays, want)
	}
	for _, k := range []string{oldKey, key} {
		if _, err := db.APIKeyByHash(ctx, store.HashKey(k)); err != nil {
			t.Fatalf("a key stopped working at rotation: %v", err)
		}
	}
	if _, _, _, err := db.RotateAPIKey(ctx, a.TeamID, old.ID, a.ID, "again"); !errors.Is(err, store.ErrRotating) {
		t.Fatalf("second rotate: %v, want ErrRotating", err)
	}
	events, _ := db.TeamEvents(ctx, a.TeamID, store.EventFilter{Kind: store.EventsKeys, Limit: 10})
	if len(events) != 3 || events[0].Action != "key_rotated" || events[0].KeyLabel != "Claude" || events[0].Detail != "Claude (rotated Nov 29)" || events[1].Action != "key_generated" {
		t.Fatalf("audit trail %+v", events)
	}
}

// An expired key is refused everywhere a revoked one is: the lookup, the
// check inside a write, the check before an MCP tool acts, the list and the
// active-key limit.
func TestExpiredKeyIsRefusedLikeARevokedOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	db := openAt(t, storetest.Addr(t), c)
	a, b := newTeam(t, db, "ana@example.com"), newTeam(t, db, "bo@example.com")
	k, key, _ := db.CreateAPIKey(ctx, a.TeamID, a.ID, "Zapier", store.AccessIntake, 0)
	if _, err := db.ExpireAPIKey(ctx, b.TeamID, k.ID, b.ID, c.Now().Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another team's expiry: %v", err)
	}
	if _, err := db.ExpireAPIKey(ctx, a.TeamID, k.ID, a.ID, c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour - time.Second)
	if _, err := db.APIKeyByHash(ctx, store.HashKey(key)); err != nil || !db.KeyActive(k.ID) {
		t.Fatalf("before its expiry: %v, active %v", err, db.KeyActive(k.ID))
	}
	c.Advance(time.Second)
	if got, err := db.APIKeyByHash(ctx, store.HashKey(key)); !errors.Is(err, store.ErrKeyRevoked) || got.ID != k.ID {
		t.Fatalf("at its expiry: %d, %v; want the key and ErrKeyRevoked", got.ID, err)
	}
	if db.KeyActive(k.ID) {
		t.Fatal("KeyActive after expiry")
	}
	if _, err := db.IngestLead(ctx, store.LeadInput{TeamID: a.TeamID, KeyID: k.ID, Email: "x@example.com", Raw: []byte("{}"), At: c.Now()}); !errors.Is(err, store.ErrKeyRevoked) {
		t.Fatalf("a write with the expired key: %v", err)
	}
	if _, err := db.RevokeAPIKey(ctx, a.TeamID, k.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking an expired key: %v, want ErrNotFound", err)
	}
	if keys, _ := db.APIKeys(ctx, a.TeamID); len(keys) != 0 {
		t.Fatalf("the active list shows %d keys", len(keys))
	}
	ended, _ := db.EndedKeys(ctx, a.TeamID)
	if len(ended) != 1 || !ended[0].EndedAt.Equal(c.Now()) || !ended[0].RevokedAt.IsZero() {
		t.Fatalf("ended keys %+v", ended)
	}
	for i := range store.MaxActiveKeys {
		if _, _, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, fmt.Sprint(i), store.AccessIntake, 0); err != nil {
			t.Fatalf("key %d next to an expired one: %v", i, err)
		}
	}
}

// Revoked keys stay known (so their requests are counted) for 30 days, at
// most MaxEndedKeys a team, across a restart; then they are forgotten.
func TestEndedKeysRememberedAndBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	path := storetest.Addr(t)
	db, err := store.OpenWith(ctx, path, store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	a := newTeam(t, db, "ana@example.com")
	var keys []string
	for i := range store.MaxEndedKeys + 5 {
		k, key, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, fmt.Sprint(i), store.AccessIntake, 0)
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
		if _, err := db.RevokeAPIKey(ctx, a.TeamID, k.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	known := func(db *store.DB) (n int) {
		for _, k := range keys {
			if _, err := db.APIKeyByHash(ctx, store.HashKey(k)); errors.Is(err, store.ErrKeyRevoked) {
				n++
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("revoked key: %v", err)
			}
		}
		return n
	}
	if n := known(db); n != store.MaxEndedKeys {
		t.Fatalf("%d revoked keys known, want %d", n, store.MaxEndedKeys)
	}
	if _, err := db.APIKeyByHash(ctx, store.HashKey(keys[0])); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the oldest revoked key is still known past the bound")
	}
	db.Close()
	db = openAt(t, path, c)
	if n := known(db); n != store.MaxEndedKeys {
		t.Fatalf("after a restart %d revoked keys known, want %d", n, store.MaxEndedKeys)
	}
	if ended, _ := db.EndedKeys(ctx, a.TeamID); len(ended) != store.MaxEndedKeys || ended[0].Label != fmt.Sprint(store.MaxEndedKeys+4) {
		t.Fatalf("Revoked keys list: %d keys, first %q", len(ended), ended[0].Label)
	}
	c.Advance(store.EndedKeyWindow)
	if err := db.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := known(db); n != 0 {
		t.Fatalf("%d revoked keys still known after 30 days", n)
	}
	if ended, _ := db.EndedKeys(ctx, a.TeamID); len(ended) != 0 {
		t.Fatalf("Revoked keys list after 30 days: %d", len(ended))
	}
}

func TestRenameAPIKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a, b := newTeam(t, db, "ana@example.com"), newTeam(t, db, "bo@example.com")
	k, _, _ := db.CreateAPIKey(ctx, a.TeamID, a.ID, "Form", store.AccessIntake, 0)
	if _, err := db.RenameAPIKey(ctx, b.TeamID, k.ID, b.ID, "Mine now"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another team's rename: %v", err)
	}
	got, err := db.RenameAPIKey(ctx, a.TeamID, k.ID, a.ID, "Webflow form")
	if err != nil || got.Label != "Webflow form" {
		t.Fatalf("rename: %+v %v", got, err)
	}
	events, _ := db.TeamEvents(ctx, a.TeamID, store.EventFilter{Kind: store.EventsKeys, Limit: 10})
	if events[0].Action != "key_renamed" || events[0].Detail != "Form" || events[0].KeyLabel != "Webflow form" || events[0].Actor != a.Name {
		t.Fatalf("audit %+v", events[0])
	}
}

// Use is counted in memory and written by FlushUsage; what a failed flush
// took is put back, older than what came since, and written once.
func TestUsageFlushAndRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	db := openAt(t, storetest.Addr(t), c)
	a := newTeam(t, db, "ana@example.com")
	k, _, _ := db.CreateAPIKey(ctx, a.TeamID, a.ID, "Form", store.AccessIntake, 0)
	use := func(kind store.UseKind, status int, from string, test bool) {
		db.RecordUse(store.Use{TeamID: a.TeamID, KeyID: k.ID, At: c.Now(), Endpoint: "/api/leads/inbound", Kind: kind, Status: status, From: from, Test: test})
		c.Advance(time.Second)
	}
	use(store.UseLeadCreated, 201, "Closr", true)            // a test: counted nowhere
	use(store.UseRefusedOrigin, 403, "other.example", false) // refused: not a first use
	use(store.UseLeadCreated, 303, "agent-site.com", false)  // a form post: redirected
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.FlushUsage(cancelled); err == nil {
		t.Fatal("a flush with a cancelled context succeeded")
	}
	use(store.UseLeadUpdated, 201, "agent-site.com/contact", false)
	if err := db.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.FlushUsage(ctx); err != nil { // nothing left: writes nothing
		t.Fatal(err)
	}
	usage, _ := db.KeyUsage(ctx, a.TeamID, k.ID, c.Now().Add(-time.Hour))
	d := usage[k.ID]
	if len(d) != 1 || d[0].LeadsCreated != 1 || d[0].LeadsUpdated != 1 || d[0].RefusedOrigin != 1 || !d[0].Day.Equal(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("usage %+v", d)
	}
	reqs, _ := db.KeyRequests(ctx, a.TeamID, k.ID)
	var order []string
	for _, r := range reqs {
		order = append(order, r.From)
	}
	if fmt.Sprint(order) != "[agent-site.com/contact agent-site.com other.example Closr]" {
		t.Fatalf("requests newest first: %v", order)
	}
	got, _ := db.APIKey(ctx, a.TeamID, k.ID)
	start := time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)
	if !got.LastUsedAt.Equal(start.Add(3*time.Second)) || got.LastUsedFrom != "agent-site.com/contact" ||
		!got.FirstUsedAt.Equal(start.Add(2*time.Second)) || got.FirstUsedKind != store.UseLeadCreated || got.FirstUsedFrom != "agent-site.com" ||
		!got.TestedAt.Equal(start) {
		t.Fatalf("key after flush: %+v", got)
	}
	// Another team's key use is not theirs to read.
	b := newTeam(t, db, "bo@example.com")
	if u, _ := db.KeyUsage(ctx, b.TeamID, k.ID, c.Now().Add(-time.Hour)); len(u) != 0 {
		t.Fatal("another team reads the key's usage")
	}
	if r, _ := db.KeyRequests(ctx, b.TeamID, k.ID); len(r) != 0 {
		t.Fatal("another team reads the key's requests")
	}
}

// Close writes what was counted since the last flush.
func TestCloseFlushesUsage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := storetest.Addr(t)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := newTeam(t, db, "ana@example.com")
	k, _, _ := db.CreateAPIKey(ctx, a.TeamID, a.ID, "Form", store.AccessIntake, 0)
	db.RecordUse(store.Use{TeamID: a.TeamID, KeyID: k.ID, At: time.Now(), Endpoint: "/api/track", Kind: store.UsePageView, Status: 202})
	db.Close()
	db, _ = store.Open(ctx, path)
	defer db.Close()
	usage, _ := db.KeyUsage(ctx, a.TeamID, 0, time.Now().Add(-time.Hour))
	if d := usage[k.ID]; len(d) != 1 || d[0].PageViews != 1 {
		t.Fatalf("usage after Close and reopen: %+v", usage)
	}
}

func TestTestLeads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a, b := newTeam(t, db, "ana@example.com"), newTeam(t, db, "bo@example.com")
	lead := func(email string, test bool) store.IngestResult {
		t.Helper()
		r, err := db.IngestLead(ctx, store.LeadInput{TeamID: a.TeamID, Email: email, Test: test, Raw: []byte("{}"), Source: "Closr test", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	test := lead("test-lead@example.com", true)
	lead("test-lead@example.com", true) // still a test
	if l, _ := db.Lead(ctx, a.TeamID, test.LeadID); !l.Test {
		t.Fatal("a lead of test submissions only is not a test lead")
	}
	if n, _ := db.TestLeads(ctx, a.TeamID); n != 1 {
		t.Fatalf("%d test leads, want 1", n)
	}
	// A real submission for the same person makes the lead real: it cannot
	// be hidden or removed as a test.
	person := lead("jamie@example.com", true)
	lead("jamie@example.com", false)
	if _, err := db.DeleteTestLead(ctx, a.TeamID, person.LeadID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removing a lead with a real submission: %v", err)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	bySource, _, _ := db.LeadCounts(ctx, a.TeamID, today, today.AddDate(0, 0, 1), 20)
	if len(bySource) != 1 || bySource[0].N != 1 {
		t.Fatalf("pipeline counts %+v, want the real lead only", bySource)
	}
	if _, err := db.DeleteTestLead(ctx, b.TeamID, test.LeadID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another team's removal: %v", err)
	}
	if _, err := db.DeleteTestLead(ctx, a.TeamID, test.LeadID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Lead(ctx, a.TeamID, test.LeadID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the removed lead: %v", err)
	}
	// Removing a test lead leaves the pipeline's counts as they were.
	if bySource, _, _ := db.LeadCounts(ctx, a.TeamID, today, today.AddDate(0, 0, 1), 20); len(bySource) != 1 || bySource[0].N != 1 {
		t.Fatalf("pipeline counts after removing the test lead: %+v", bySource)
	}
}

// Rotating, setting an expiry and renaming are for owners and admins; the
// role is checked inside the write, as for generating and revoking.
func TestKeyChangesNeedAManager(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	owner := newTeam(t, db, "ana@example.com")
	agent := join(t, db, owner, "abe@example.com", store.RoleAgent)
	admin := join(t, db, owner, "ada@example.com", store.RoleAdmin)
	k, _, _ := db.CreateAPIKey(ctx, owner.TeamID, owner.ID, "Form", store.AccessIntake, 0)
	if _, _, _, err := db.RotateAPIKey(ctx, owner.TeamID, k.ID, agent.ID, "x"); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("an agent's rotate: %v", err)
	}
	if _, err := db.ExpireAPIKey(ctx, owner.TeamID, k.ID, agent.ID, time.Now().Add(time.Hour)); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("an agent's expiry: %v", err)
	}
	if _, err := db.RenameAPIKey(ctx, owner.TeamID, k.ID, agent.ID, "x"); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("an agent's rename: %v", err)
	}
	if _, _, _, err := db.RotateAPIKey(ctx, owner.TeamID, k.ID, admin.ID, "Form (rotated)"); err != nil {
		t.Fatalf("an admin's rotate: %v", err)
	}
	if keys, _ := db.APIKeys(ctx, owner.TeamID); len(keys) != 2 {
		t.Fatalf("%d keys, want the key and its replacement", len(keys))
	}
}

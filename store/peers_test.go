package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"closr/store"
	"closr/store/storetest"
)

// These tests open one PostgreSQL schema several times, as several Closr
// instances sharing a database do, and check that what one instance
// changes reaches the others' caches. They need CLOSR_TEST_POSTGRES.

// instances opens n stores on one fresh PostgreSQL schema.
func instances(t *testing.T, n int) []*store.DB {
	t.Helper()
	addr := pgAddr(t)
	out := make([]*store.DB, n)
	for i := range out {
		out[i] = openInstance(t, addr, store.Options{})
	}
	return out
}

// openRaw opens addr with no store around it (see store.OpenRaw).
func openRaw(t *testing.T, addr string) *sql.DB {
	t.Helper()
	db, err := store.OpenRaw(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openInstance(t *testing.T, addr string, opt store.Options) *store.DB {
	t.Helper()
	db, err := store.OpenWith(context.Background(), addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// eventually polls cond for up to 5 s: a notification takes milliseconds
// to arrive, and a loaded machine may take longer.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%s: not after 5 s", what)
	return 0
}

func intakeLead(k store.APIKey, email string) store.LeadInput {
	return store.LeadInput{TeamID: k.TeamID, KeyID: k.ID, Email: email, Source: "test", ContentType: "application/json",
		Raw: []byte(`{}`), At: time.Now()}
}

// TestInstancesKeyCreatedWorksElsewhere: a key made on A works on B at
// once, whether or not B has heard of it: a key no notification announced
// (written behind the stores' backs, as a notification that is late) is
// looked up in the database.
func TestInstancesKeyCreatedWorksElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := pgAddr(t)
	a, b := openInstance(t, addr, store.Options{}), openInstance(t, addr, store.Options{})
	owner := newTeam(t, a, "ana@example.com")
	k, key, err := a.CreateAPIKey(ctx, owner.TeamID, owner.ID, "Zapier", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	unannounced := store.KeyPrefix + "unannounced-key-made-behind-the-stores-back"
	h := store.HashKey(unannounced)
	var id int64
	if err := openRaw(t, addr).QueryRow(`INSERT INTO api_keys (team_id, hash, preview, label, access, created_by, created_at)
		VALUES (?, ?, ?, 'Webflow', 'intake', ?, ?) RETURNING id`, owner.TeamID, h[:], unannounced[:store.PreviewLen], owner.ID, time.Now().Unix()).Scan(&id); err != nil {
		t.Fatal(err)
	}
	// The write's own check trusts the row, not B's memory, which may not
	// have kept a key it looked up (a change heard meanwhile discards the
	// lookup): here B writes with the key before ever looking it up.
	if _, err := b.IngestLead(ctx, intakeLead(store.APIKey{ID: id, TeamID: owner.TeamID}, "unseen@example.com")); err != nil {
		t.Fatalf("a lead on B with a key its memory never saw: %v", err)
	}
	for i, want := range []store.APIKey{k, {ID: id, TeamID: owner.TeamID}} {
		plain := []string{key, unannounced}[i]
		got, err := b.APIKeyByHash(ctx, store.HashKey(plain))
		if err != nil || got.ID != want.ID || got.TeamID != owner.TeamID {
			t.Fatalf("B's lookup of key %d: %+v, %v", want.ID, got, err)
		}
		if _, err := b.IngestLead(ctx, intakeLead(got, fmt.Sprintf("lead%d@example.com", i))); err != nil {
			t.Fatalf("a lead on B with key %d: %v", want.ID, err)
		}
	}
	if _, err := b.APIKeyByHash(ctx, store.HashKey(store.KeyPrefix+"0000000000000000000000000000000000000000000")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an unknown key on B: %v, want ErrNotFound", err)
	}
}

// TestInstancesRevokeReachesOthers: once a revoke on A returns, a write
// on B with the key stores nothing (its transaction checks the key), and
// B's memory learns of it from the notification.
func TestInstancesRevokeReachesOthers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs := instances(t, 2)
	a, b := dbs[0], dbs[1]
	owner := newTeam(t, a, "ana@example.com")
	k, key, err := a.CreateAPIKey(ctx, owner.TeamID, owner.ID, "Zapier", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "B hears of the new key", func() bool { return b.KeyActive(k.ID) })
	if _, err := a.RevokeAPIKey(ctx, owner.TeamID, k.ID, owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.IngestLead(ctx, intakeLead(k, "late@example.com")); !errors.Is(err, store.ErrKeyRevoked) {
		t.Fatalf("a lead on B right after the revoke on A: %v, want ErrKeyRevoked", err)
	}
	took := eventually(t, "B's memory drops the revoked key", func() bool { return !b.KeyActive(k.ID) })
	t.Logf("the revoke reached B's memory in %v", took)
	if _, err := b.APIKeyByHash(ctx, store.HashKey(key)); !errors.Is(err, store.ErrKeyRevoked) {
		t.Fatalf("B's lookup of the revoked key: %v, want ErrKeyRevoked", err)
	}
	if n, _, err := a.CountLeads(ctx, owner.TeamID, "", store.LeadFilter{}, 10); err != nil || n != 0 {
		t.Fatalf("%d leads stored with the revoked key (%v)", n, err)
	}

	// An expiry set on A reaches B too.
	k2, _, err := a.CreateAPIKey(ctx, owner.TeamID, owner.ID, "Webflow", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "B hears of the second key", func() bool { return b.KeyActive(k2.ID) })
	if _, err := a.ExpireAPIKey(ctx, owner.TeamID, k2.ID, owner.ID, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B's memory sees the expiry", func() bool { return !b.KeyActive(k2.ID) })
}

// TestInstancesTrackedDomains: B's cached list follows A's changes.
func TestInstancesTrackedDomains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs := instances(t, 2)
	a, b := dbs[0], dbs[1]
	owner := newTeam(t, a, "ana@example.com")
	listed := func(db *store.DB) []string {
		ds, err := db.TrackedDomains(ctx, owner.TeamID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.Domain)
		}
		return out
	}
	if got := listed(b); len(got) != 0 { // B caches the empty list
		t.Fatalf("B lists %v", got)
	}
	d, err := a.AddTrackedDomain(ctx, owner.TeamID, "sunset.example")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "B lists the domain added on A", func() bool { return fmt.Sprint(listed(b)) == "[sunset.example]" })
	if _, err := a.RemoveTrackedDomain(ctx, owner.TeamID, d.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B drops the domain removed on A", func() bool { return len(listed(b)) == 0 })
}

// TestInstancesSettingOnce: instances starting together on an empty
// database agree on one generated session secret.
func TestInstancesSettingOnce(t *testing.T) {
	t.Parallel()
	dbs := instances(t, 3)
	var wg sync.WaitGroup
	got := make([]string, len(dbs))
	for i, db := range dbs {
		wg.Go(func() {
			v, err := db.Setting(context.Background(), "session_secret", func() ([]byte, error) { return fmt.Appendf(nil, "secret of %d", i), nil })
			if err != nil {
				t.Error(err)
			}
			got[i] = string(v)
		})
	}
	wg.Wait()
	if got[0] == "" || got[1] != got[0] || got[2] != got[0] {
		t.Fatalf("the instances got %q", got)
	}
}

// TestListenerReconnects: when B's listening connection is cut (its
// backend terminated), B reconnects, reloads what it may have missed (a
// revoke made during the gap) and hears later changes (a revoke after).
func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := pgAddr(t)
	raw := openRaw(t, addr)
	var schema string
	if err := raw.QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	// The listeners of this schema's channel, by backend pid.
	listeners := func() map[int]bool {
		rows, err := raw.Query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'closr listener' AND query = ?`,
			`LISTEN "closr_`+schema+`"`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int]bool{}
		for rows.Next() {
			var pid int
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			out[pid] = true
		}
		return out
	}
	a := openInstance(t, addr, store.Options{})
	ofA := listeners()
	logs := &storetest.LogBuffer{}
	b := openInstance(t, addr, store.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	pidB := 0
	for pid := range listeners() {
		if !ofA[pid] {
			pidB = pid
		}
	}
	if len(ofA) != 1 || pidB == 0 {
		t.Fatalf("listeners: %v of A, B's %d", ofA, pidB)
	}
	owner := newTeam(t, a, "ana@example.com")
	var keys [2]store.APIKey
	for i := range keys {
		var err error
		if keys[i], _, err = a.CreateAPIKey(ctx, owner.TeamID, owner.ID, fmt.Sprint("key ", i), store.AccessIntake, 0); err != nil {
			t.Fatal(err)
		}
		eventually(t, "B hears of a new key", func() bool { return b.KeyActive(keys[i].ID) })
	}

	var ok bool
	if err := raw.QueryRow("SELECT pg_terminate_backend(?)", pidB).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate B's listener: %v %v", ok, err)
	}
	// Most likely before B is back: only the reload brings it.
	if _, err := a.RevokeAPIKey(ctx, owner.TeamID, keys[0].ID, owner.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B listens again", func() bool {
		now := listeners()
		return len(now) == 2 && !now[pidB]
	})
	eventually(t, "B drops the key revoked while it was away", func() bool { return !b.KeyActive(keys[0].ID) })
	if _, err := a.RevokeAPIKey(ctx, owner.TeamID, keys[1].ID, owner.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B drops the key revoked after it came back", func() bool { return !b.KeyActive(keys[1].ID) })
	if !strings.Contains(logs.String(), "lost the connection") || !strings.Contains(logs.String(), "again; caches reloaded") {
		t.Fatalf("B's log does not tell of the loss and the return:\n%s", logs)
	}
}

// TestInstancesIdentifyMeetsTheLead: a visitor identifies on A while the
// lead with that email arrives on B, at the same moment, round after
// round. Whichever commits first, the visitor ends up tied to the lead:
// the lead looks for waiting visitors, or the identify finds the lead.
func TestInstancesIdentifyMeetsTheLead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := pgAddr(t)
	a, b := openInstance(t, addr, store.Options{}), openInstance(t, addr, store.Options{})
	owner := newTeam(t, a, "ana@example.com")
	const rounds = 150
	var wg sync.WaitGroup
	for i := range rounds {
		email := fmt.Sprintf("person%d@example.com", i)
		wg.Go(func() {
			if _, err := a.Identify(ctx, store.IdentifyInput{TeamID: owner.TeamID, VisitorID: fmt.Sprintf("visitor-%d", i), Email: email, At: time.Now()}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := b.IngestLead(ctx, store.LeadInput{TeamID: owner.TeamID, Email: email, Raw: []byte("{}"), At: time.Now()}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	raw := openRaw(t, addr)
	var unlinked int
	if err := raw.QueryRow("SELECT count(*) FROM visitors WHERE team_id = ? AND lead_id IS NULL", owner.TeamID).Scan(&unlinked); err != nil {
		t.Fatal(err)
	}
	if unlinked != 0 {
		t.Fatalf("%d of %d identified visitors are tied to no lead, though their leads exist", unlinked, rounds)
	}
}

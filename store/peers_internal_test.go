package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"closr/store/storetest"
)

// TestKeyIndexSetAndFill: changes read from the database (set) replace
// what the index holds, a revoked key is kept once among its team's ended
// keys however often it is heard of, and a lookup that began before a
// change cannot store what it read (fill).
func TestKeyIndexSetAndFill(t *testing.T) {
	var ix keyIndex
	ix.byHash, ix.active, ix.ended = map[[32]byte]APIKey{}, map[int64]int64{}, map[int64][][32]byte{}
	now := time.Now
	h := [32]byte{1}
	k := APIKey{ID: 7, TeamID: 3}

	gen := ix.generation()
	ix.set(h, k)
	if !ix.isActive(7, now) {
		t.Fatal("a key set active is not active")
	}
	revoked := k
	revoked.RevokedAt = time.Unix(1_800_000_000, 0)
	ix.set(h, revoked)
	ix.set(h, revoked) // heard of twice: the listener's reload and a notification
	if ix.isActive(7, now) || len(ix.ended[3]) != 1 || !ix.byHash[h].RevokedAt.Equal(revoked.RevokedAt) {
		t.Fatalf("after a revoke: active %v, ended %v, %+v", ix.isActive(7, now), ix.ended[3], ix.byHash[h])
	}
	// A lookup that read the key active before the revoke was heard of.
	ix.fill(h, k, gen)
	if ix.isActive(7, now) {
		t.Fatal("a stale lookup brought a revoked key back")
	}
	// A lookup with nothing heard of since fills the index.
	h2 := [32]byte{2}
	ix.fill(h2, APIKey{ID: 8, TeamID: 3, ExpiresAt: time.Now().Add(time.Hour)}, ix.generation())
	if !ix.isActive(8, now) {
		t.Fatal("a fresh lookup was not kept")
	}
}

func TestChangePayload(t *testing.T) {
	for _, c := range []change{{changeKey, 42}, {changeDomains, 9_000_000_000}} {
		got, err := parseChange(c.payload())
		if err != nil || got != c {
			t.Fatalf("%+v → %q → %+v, %v", c, c.payload(), got, err)
		}
	}
	for _, p := range []string{"", "k", "x12", "k1a", "d-"} {
		if _, err := parseChange(p); err == nil {
			t.Fatalf("%q parsed", p)
		}
	}
}

// TestStaleCachesReadTheDatabase: while the listener is down (here: marked
// so), B may have missed notifications, so it reads keys and domains from
// the database; a revoke and a removal made where no notification tells
// of them (behind the stores' backs) are seen at once.
func TestStaleCachesReadTheDatabase(t *testing.T) {
	storetest.PostgresOnly(t, "several instances share a database on PostgreSQL only")
	t.Parallel()
	ctx := context.Background()
	addr := storetest.Addr(t)
	b, err := Open(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	owner, err := b.CreateTeamWithOwner(ctx, "Sunset Realty", NewAgent{Name: "Ana", Email: "ana@example.com", PasswordHash: []byte("hash")})
	if err != nil {
		t.Fatal(err)
	}
	k, key, err := b.CreateAPIKey(ctx, owner.TeamID, owner.ID, "Zapier", AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddTrackedDomain(ctx, owner.TeamID, "sunset.example"); err != nil {
		t.Fatal(err)
	}
	if ds, err := b.TrackedDomains(ctx, owner.TeamID); err != nil || len(ds) != 1 {
		t.Fatalf("domains %v, %v", ds, err)
	}
	raw, err := OpenRaw(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{"UPDATE api_keys SET revoked_at = extract(epoch FROM now())::bigint", "DELETE FROM tracked_domains"} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.APIKeyByHash(ctx, HashKey(key)); err != nil || !b.KeyActive(k.ID) {
		t.Fatalf("listening, B trusts its memory: %v", err)
	}
	// Except where a read made with the key asks before it answers.
	if ok, err := b.KeyActiveNow(ctx, k.ID); ok || err != nil {
		t.Fatalf("KeyActiveNow of a key revoked unannounced: %v, %v", ok, err)
	}
	b.peers.live.Store(false)
	if _, err := b.APIKeyByHash(ctx, HashKey(key)); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("not listening, B's lookup of a key revoked unannounced: %v, want ErrKeyRevoked", err)
	}
	if ds, err := b.TrackedDomains(ctx, owner.TeamID); err != nil || len(ds) != 0 {
		t.Fatalf("not listening, B lists %v, %v", ds, err)
	}
}

// TestMigrationLockIsPerSchema: a schema being migrated (its lock held)
// does not hold up another schema's instances. The lock was one for the
// whole database before, and tests (or deployments) in other schemas
// waited for it: with a short lock timeout they failed to start.
func TestMigrationLockIsPerSchema(t *testing.T) {
	storetest.PostgresOnly(t, "migrations lock nothing on SQLite")
	t.Parallel()
	ctx := context.Background()
	raw, err := OpenRaw(storetest.Addr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	unlock, err := postgres{}.lockMigrations(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	db, err := OpenWith(octx, storetest.Addr(t), Options{BusyTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("another schema's migration held this one up: %v", err)
	}
	db.Close()
}

// TestTeamLockIsPerSchema: a team's lock held in one schema does not hold
// up the team with the same id in another. It was one key for the whole
// database before: parallel tests (or deployments) in other schemas, all
// with a team 1, waited on each other, past a short lock timeout.
func TestTeamLockIsPerSchema(t *testing.T) {
	storetest.PostgresOnly(t, "teams lock nothing on SQLite")
	t.Parallel()
	ctx := context.Background()
	raw, err := OpenRaw(storetest.Addr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+teamLockKey+")", 1); err != nil {
		t.Fatal(err)
	}
	db, err := OpenWith(ctx, storetest.Addr(t), Options{BusyTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := db.CreateTeamWithOwner(ctx, "Sunset Realty", NewAgent{Name: "Ana", Email: "ana@example.com", PasswordHash: []byte("hash")})
	if err != nil || a.TeamID != 1 {
		t.Fatalf("team %d, %v; want team 1", a.TeamID, err)
	}
	if _, _, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, "Zapier", AccessIntake, 0); err != nil {
		t.Fatalf("team 1 of another schema held this one's up: %v", err)
	}
}

// A lookup that read a key's row before this instance revoked it or set
// its expiry does not put the old row back over the change.
func TestKeyIndexLookupDoesNotUndoALocalChange(t *testing.T) {
	h := [32]byte{1}
	row := APIKey{ID: 7, TeamID: 1, Label: "site"}
	for name, change := range map[string]func(ix *keyIndex){
		"revoke": func(ix *keyIndex) { ix.revoke(h, time.Unix(100, 0)) },
		"expire": func(ix *keyIndex) { ix.expire(h, time.Unix(100, 0)) },
	} {
		ix := &keyIndex{byHash: map[[32]byte]APIKey{}, active: map[int64]int64{}, ended: map[int64][][32]byte{}}
		ix.put(h, row)
		gen := ix.generation() // a lookup reads the row as it is now...
		change(ix)             // ...the key changes here...
		ix.fill(h, row, gen)   // ...and the lookup's answer arrives
		k, _ := ix.get(h)
		if k.RevokedAt.IsZero() && k.ExpiresAt.IsZero() {
			t.Errorf("%s: the lookup's older row replaced the change: %+v", name, k)
		}
	}
}

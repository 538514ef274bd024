package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// keyIndex holds every active key by hash, so that checking a key, valid or
// not, never waits on the database: a flood of made-up keys costs a map
// lookup. Keys are created and revoked only through this process (one
// server per database), and the writer updates the index right after each
// change commits, in commit order; so the very next request after a revoke
// is refused, and a write already queued with the key is refused too (see
// keyStillActive).
//
// It also remembers the keys each team revoked or saw expire within
// EndedKeyWindow (at most MaxEndedKeys a team), in the same map: a request
// with one is refused like any unknown key, and counted against it, at
// the cost of the same single lookup.
//
// On PostgreSQL other instances change keys too: their notifications (see
// peers) bring each change here with set, and a key not found here is
// looked up in the database before it is refused.
type keyIndex struct {
	mu     sync.RWMutex
	byHash map[[32]byte]APIKey
	active map[int64]int64      // id → expiry (Unix seconds, 0 for none) of every unrevoked key in byHash
	ended  map[int64][][32]byte // team → its revoked keys in byHash, oldest first
	// gen counts the changes (read from the database, or made here), so
	// that a lookup that began before one cannot store what it read
	// before it over it.
	gen uint64
}

func (ix *keyIndex) get(h [32]byte) (APIKey, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	k, ok := ix.byHash[h]
	return k, ok
}

func (ix *keyIndex) put(h [32]byte, k APIKey) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.gen++
	ix.byHash[h] = k
	ix.active[k.ID] = unixOrZeroTime(k.ExpiresAt)
}

// revoke keeps the key as an ended one, dropping the team's oldest ended
// key past MaxEndedKeys.
func (ix *keyIndex) revoke(h [32]byte, at time.Time) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.revokeLocked(h, at)
}

func (ix *keyIndex) revokeLocked(h [32]byte, at time.Time) {
	k, ok := ix.byHash[h]
	if !ok || !k.RevokedAt.IsZero() {
		return
	}
	ix.gen++
	delete(ix.active, k.ID)
	k.RevokedAt = at
	ix.byHash[h] = k
	list := append(ix.ended[k.TeamID], h)
	for len(list) > MaxEndedKeys {
		delete(ix.byHash, list[0])
		list = list[1:]
	}
	ix.ended[k.TeamID] = list
}

// set records the key as the database has it now, changed by another
// instance or looked up after a miss.
func (ix *keyIndex) set(h [32]byte, k APIKey) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.setLocked(h, k)
}

func (ix *keyIndex) setLocked(h [32]byte, k APIKey) {
	ix.gen++
	revoked := k.RevokedAt
	if old, ok := ix.byHash[h]; ok && !old.RevokedAt.IsZero() {
		k.RevokedAt = old.RevokedAt // already in its team's ended list
	} else {
		k.RevokedAt = time.Time{}
	}
	ix.byHash[h] = k
	if k.RevokedAt.IsZero() {
		ix.active[k.ID] = unixOrZeroTime(k.ExpiresAt)
	}
	if !revoked.IsZero() {
		ix.revokeLocked(h, revoked)
	}
}

// generation is read before a lookup in the database; fill stores what
// the lookup found unless a change was read meanwhile.
func (ix *keyIndex) generation() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.gen
}

func (ix *keyIndex) fill(h [32]byte, k APIKey, gen uint64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if gen == ix.gen {
		ix.setLocked(h, k)
	}
}

func (ix *keyIndex) expire(h [32]byte, at time.Time) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.gen++
	if k, ok := ix.byHash[h]; ok {
		k.ExpiresAt = at
		ix.byHash[h] = k
		ix.active[k.ID] = at.Unix()
	}
}

// prune forgets the keys that ended more than EndedKeyWindow ago and keeps
// each team's MaxEndedKeys latest ended keys, expired ones included.
func (ix *keyIndex) prune(now time.Time) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.pruneLocked(now)
}

func (ix *keyIndex) pruneLocked(now time.Time) {
	type endedKey struct {
		h  [32]byte
		at time.Time
	}
	byTeam := map[int64][]endedKey{}
	for h, k := range ix.byHash {
		if at := k.EndedAt(now); !at.IsZero() {
			byTeam[k.TeamID] = append(byTeam[k.TeamID], endedKey{h, at})
		}
	}
	ix.ended = map[int64][][32]byte{}
	cutoff := now.Add(-EndedKeyWindow)
	for team, list := range byTeam {
		slices.SortFunc(list, func(a, b endedKey) int { return a.at.Compare(b.at) })
		for i, e := range list {
			if len(list)-i > MaxEndedKeys || !e.at.After(cutoff) {
				delete(ix.active, ix.byHash[e.h].ID)
				delete(ix.byHash, e.h)
				continue
			}
			if !ix.byHash[e.h].RevokedAt.IsZero() {
				ix.ended[team] = append(ix.ended[team], e.h)
			}
		}
	}
}

// KeyActive reports whether the key with this id still works (from
// memory): long requests check it again before they act.
func (db *DB) KeyActive(id int64) bool { return db.keys.isActive(id, db.now) }

// keyActiveRowSQL finds the key ?1 if it is active at ?2.
const keyActiveRowSQL = "SELECT 1 FROM api_keys k WHERE k.id = ? AND " + activeKey

// KeyActiveNow is KeyActive, except on PostgreSQL, where it asks the
// database: another instance's revoke may not have reached memory yet. A
// read made with a key asks it once its query has run, so that no answer
// leaves after a revoke has returned, on whichever instance.
func (db *DB) KeyActiveNow(ctx context.Context, id int64) (bool, error) {
	if !db.peers.shared() {
		return db.KeyActive(id), nil
	}
	_, err := queryOne(ctx, db, scanInt, keyActiveRowSQL, id, db.now().Unix())
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check key %d: %w", id, err)
	}
	return true, nil
}

func (ix *keyIndex) isActive(id int64, now func() time.Time) bool {
	ix.mu.RLock()
	exp, ok := ix.active[id]
	ix.mu.RUnlock()
	return ok && (exp == 0 || now().Unix() < exp)
}

// keyStillActive is checked by every write made with a key, inside the
// transaction: a request whose key was revoked (or expired) while it was
// being read or queued stores nothing, whichever instance revoked it. 0 is
// no key (e.g. a test's direct store call).
func (db *DB) keyStillActive(ctx context.Context, tx writeTx, teamID, keyID int64) error {
	if keyID == 0 {
		return nil
	}
	// On PostgreSQL memory may not know a key made on another instance a
	// moment ago: the row decides.
	if tx.noted(batchNote{kind: noteKeyRevoked, id: keyID}) || !db.peers.shared() && !db.keys.isActive(keyID, db.now) {
		return refuse(ErrKeyRevoked)
	}
	if err := tx.lockTeam(ctx, teamID); err != nil { // see keyRowActive
		return err
	}
	// Found active earlier in this transaction and in the same second: the
	// team's lock, held since, keeps another instance's revoke or expiry
	// from committing between, and a change made in this transaction drops
	// the note (wtx.notify). One row read per body is a round trip on
	// PostgreSQL.
	now := db.now().Unix()
	active := batchNote{noteKeyActive, keyID, now}
	if tx.noted(active) {
		return nil
	}
	if ok, err := db.eng.keyRowActive(ctx, tx, keyID, now); err != nil || !ok {
		return cmp.Or(err, refuse(ErrKeyRevoked))
	}
	tx.note(active)
	return nil
}

// loadKeys fills the index from the database: at start, and again when
// the notifications from other instances may have missed some (see peers).
// It reads the active keys and each team's latest keys ended within
// EndedKeyWindow.
func (db *DB) loadKeys(ctx context.Context) error {
	now := db.now()
	rows, err := db.r.QueryContext(ctx, "SELECT k.hash, "+keyColumns+" WHERE k.revoked_at IS NULL OR k.revoked_at > ?",
		now.Add(-EndedKeyWindow).Unix())
	if err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	keys, err := scanAll(rows, scanHashedKey)
	if err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	ix := &db.keys
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.gen++
	ix.byHash, ix.active, ix.ended = map[[32]byte]APIKey{}, map[int64]int64{}, map[int64][][32]byte{}
	for _, h := range keys {
		ix.byHash[h.hash] = h.key
		if h.key.RevokedAt.IsZero() {
			ix.active[h.key.ID] = unixOrZeroTime(h.key.ExpiresAt)
		}
	}
	ix.pruneLocked(now)
	return nil
}

// hashedKey is a key's record with its hash, as the index keeps it.
type hashedKey struct {
	hash [32]byte
	key  APIKey
}

func scanHashedKey(sc scanner) (hashedKey, error) {
	var h hashedKey
	var hash []byte
	var err error
	if h.key, err = scanKey(prefixScanner{sc, &hash}); err != nil {
		return h, err
	}
	if len(hash) != len(h.hash) {
		return h, fmt.Errorf("key %d: a hash of %d bytes", h.key.ID, len(hash))
	}
	h.hash = [32]byte(hash)
	return h, nil
}

func unixOrZeroTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// prefixScanner scans one leading column into first, the rest as usual.
type prefixScanner struct {
	sc    scanner
	first any
}

func (p prefixScanner) Scan(dest ...any) error { return p.sc.Scan(append([]any{p.first}, dest...)...) }

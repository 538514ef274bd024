package store

import (
	"cmp"
	"context"
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
type keyIndex struct {
	mu     sync.RWMutex
	byHash map[[32]byte]APIKey
	active map[int64]int64      // id → expiry (Unix seconds, 0 for none) of every unrevoked key in byHash
	ended  map[int64][][32]byte // team → its revoked keys in byHash, oldest first
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
	ix.byHash[h] = k
	ix.active[k.ID] = unixOrZeroTime(k.ExpiresAt)
}

// revoke keeps the key as an ended one, dropping the team's oldest ended
// key past MaxEndedKeys.
func (ix *keyIndex) revoke(h [32]byte, at time.Time) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	k, ok := ix.byHash[h]
	if !ok {
		return
	}
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

func (ix *keyIndex) expire(h [32]byte, at time.Time) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
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
func (db *DB) keyStillActive(ctx context.Context, tx writeTx, keyID int64) error {
	if keyID == 0 {
		return nil
	}
	if tx.noted(batchNote{noteKeyRevoked, keyID}) || !db.keys.isActive(keyID, db.now) {
		return refuse(ErrKeyRevoked)
	}
	if ok, err := db.eng.keyRowActive(ctx, tx, keyID, db.now().Unix()); err != nil || !ok {
		return cmp.Or(err, refuse(ErrKeyRevoked))
	}
	return nil
}

// loadKeys fills the index from the database at start: the active keys and
// each team's latest keys ended within EndedKeyWindow.
func (db *DB) loadKeys(ctx context.Context) error {
	type hashed struct {
		hash []byte
		key  APIKey
	}
	now := db.now()
	rows, err := db.r.QueryContext(ctx, "SELECT k.hash, "+keyColumns+" WHERE k.revoked_at IS NULL OR k.revoked_at > ?",
		now.Add(-EndedKeyWindow).Unix())
	if err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	keys, err := scanAll(rows, func(sc scanner) (hashed, error) {
		var h hashed
		var err error
		h.key, err = scanKey(prefixScanner{sc, &h.hash})
		return h, err
	})
	if err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	db.keys.byHash, db.keys.active, db.keys.ended = map[[32]byte]APIKey{}, map[int64]int64{}, map[int64][][32]byte{}
	for _, h := range keys {
		db.keys.byHash[[32]byte(h.hash)] = h.key
		if h.key.RevokedAt.IsZero() {
			db.keys.active[h.key.ID] = unixOrZeroTime(h.key.ExpiresAt)
		}
	}
	db.keys.prune(now)
	return nil
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

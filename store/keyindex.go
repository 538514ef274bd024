package store

import (
	"context"
	"fmt"
	"sync"
)

// keyIndex holds every active key by hash, so that checking a key, valid or
// not, never waits on the database: a flood of made-up keys costs a map
// lookup. Keys are created and revoked only through this process (one
// server per database), and the writer updates the index right after each
// change commits, in commit order; so the very next request after a revoke
// is refused, and a write already queued with the key is refused too (see
// keyStillActive).
type keyIndex struct {
	mu     sync.RWMutex
	byHash map[[32]byte]APIKey
	active map[int64]bool // ids of the keys in byHash
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
	ix.active[k.ID] = true
}

func (ix *keyIndex) remove(h [32]byte) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.active, ix.byHash[h].ID)
	delete(ix.byHash, h)
}

// KeyActive reports whether the key with this id is still active (from
// memory): long requests check it again before they act.
func (db *DB) KeyActive(id int64) bool { return db.keys.isActive(id) }

func (ix *keyIndex) isActive(id int64) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.active[id]
}

// keyStillActive is checked by every write made with a key, inside the
// transaction: a request whose key was revoked while it was being read or
// queued stores nothing. 0 is no key (e.g. a test's direct store call).
func (db *DB) keyStillActive(tx writeTx, keyID int64) error {
	if keyID == 0 {
		return nil
	}
	if tx.noted(batchNote{noteKeyRevoked, keyID}) || !db.keys.isActive(keyID) {
		return refuse(ErrKeyRevoked)
	}
	return nil
}

// loadKeys fills the index from the database at start.
func (db *DB) loadKeys(ctx context.Context) error {
	type hashed struct {
		hash []byte
		key  APIKey
	}
	rows, err := db.r.QueryContext(ctx, "SELECT k.hash, "+keyColumns+" WHERE k.revoked_at IS NULL")
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
	ix, active := map[[32]byte]APIKey{}, map[int64]bool{}
	for _, h := range keys {
		ix[[32]byte(h.hash)] = h.key
		active[h.key.ID] = true
	}
	db.keys.byHash, db.keys.active = ix, active
	return nil
}

// prefixScanner scans one leading column into first, the rest as usual.
type prefixScanner struct {
	sc    scanner
	first any
}

func (p prefixScanner) Scan(dest ...any) error { return p.sc.Scan(append([]any{p.first}, dest...)...) }

package store

import (
	"context"
	"fmt"
	"sync"
)

// keyIndex holds every active key by hash, so that checking a key, valid or
// not, never waits on the database: a flood of made-up keys costs a map
// lookup. Keys are created and revoked only through this process, which
// updates the index as each change commits; revoking removes the key before
// RevokeAPIKey returns, so the very next request is refused.
type keyIndex struct {
	mu     sync.RWMutex
	byHash map[[32]byte]APIKey
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
}

func (ix *keyIndex) remove(h [32]byte) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.byHash, h)
}

// loadKeys fills the index from the database at start.
func (db *DB) loadKeys(ctx context.Context) error {
	rows, err := db.r.QueryContext(ctx, "SELECT k.hash, "+keyColumns+" WHERE k.revoked_at IS NULL")
	if err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	defer rows.Close()
	ix := map[[32]byte]APIKey{}
	for rows.Next() {
		var hash []byte
		var k APIKey
		if k, err = scanKey(prefixScanner{rows, &hash}); err != nil {
			return fmt.Errorf("load keys: %w", err)
		}
		ix[[32]byte(hash)] = k
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	db.keys.byHash = ix
	return nil
}

// prefixScanner scans one leading column into first, the rest as usual.
type prefixScanner struct {
	sc    interface{ Scan(...any) error }
	first any
}

func (p prefixScanner) Scan(dest ...any) error { return p.sc.Scan(append([]any{p.first}, dest...)...) }

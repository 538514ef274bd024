package store

import (
	"context"
	"fmt"
	"sync"
)

// visitorCacheMax bounds the visitor cache; when full it starts afresh.
const visitorCacheMax = 50_000

// visitorCache remembers each recent visitor's row id and when its
// last_seen was last written, so that a visitor's page views within a minute
// of each other skip the visitor upsert (half the tracker's database work in
// the profile). last_seen may therefore lag by up to a minute. Entries are
// added only after a commit, so an id in the cache always exists.
type visitorCache struct {
	mu sync.Mutex
	m  map[visitorKey]visitorSeen
}

type visitorKey struct {
	team int64
	vid  string
}

type visitorSeen struct{ id, written int64 }

// get returns the visitor's row id when its last_seen was written less
// than a minute before at.
func (c *visitorCache) get(team int64, vid string, at int64) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[visitorKey{team, vid}]
	if !ok || at-v.written >= 60 {
		return 0, false
	}
	return v.id, true
}

func (c *visitorCache) put(team int64, vid string, id, written int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= visitorCacheMax {
		c.m = make(map[visitorKey]visitorSeen)
	}
	c.m[visitorKey{team, vid}] = visitorSeen{id, written}
}

// teamSet is a set of team ids, safe for concurrent use.
type teamSet struct {
	mu sync.RWMutex
	m  map[int64]bool
}

func (s *teamSet) has(team int64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[team]
}

func (s *teamSet) add(team int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[int64]bool{}
	}
	s.m[team] = true
}

// loadPendingIdentities notes the teams with visitors who identified before
// their lead existed; only those teams' new leads look for such visitors.
func (db *DB) loadPendingIdentities(ctx context.Context) error {
	rows, err := db.r.QueryContext(ctx, pendingTeamsSQL)
	if err != nil {
		return fmt.Errorf("load pending identities: %w", err)
	}
	teams, err := scanAll(rows, scanInt64)
	if err != nil {
		return fmt.Errorf("load pending identities: %w", err)
	}
	for _, team := range teams {
		db.pending.add(team)
	}
	return nil
}

// pendingTeamsSQL reads the two partial indexes of waiting visitors, not
// every visitor.
const pendingTeamsSQL = `SELECT team_id FROM visitors WHERE lead_id IS NULL AND email <> ''
	UNION SELECT team_id FROM visitors WHERE lead_id IS NULL AND phone <> ''`

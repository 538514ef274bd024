package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// UseKind is what one request made with a key came to.
type UseKind uint8

// The kinds of use; the first few are counted per day (see DayUsage).
const (
	UseOther          UseKind = iota // any other answer: invalid fields, a replay, a spam trap, an MCP handshake
	UseLeadCreated                   // a new lead
	UseLeadUpdated                   // a submission joined a lead
	UsePageView                      // a tracker page view
	UseIdentify                      // a tracker identify call
	UseMCPCall                       // an MCP tool call
	UseRefusedOrigin                 // refused or dropped: the site is not a tracked domain
	UseRefusedRate                   // refused: over the key's rate limit
	UseRefusedRevoked                // refused: the key was revoked or had expired
)

// Use is one request made with a key.
type Use struct {
	TeamID, KeyID int64
	At            time.Time
	Endpoint      string // "/api/leads/inbound", "/api/track", "/mcp", "/mcp search_leads"
	Kind          UseKind
	Status        int
	From          string // the site's host (and page), or "" for a server
	Test          bool   // sent by Closr's own test buttons: counted nowhere
}

// KeyRequests is how many of a key's latest requests are kept.
const KeyRequests = 50

// usageFlushEvery is how often counted use is written: one write for all
// keys, whatever the request rate, so that ingest pays a map update a
// request and the pages lag at most this much.
const usageFlushEvery = time.Second

// usageRetention is how long per-day counts are kept: the 30 days shown,
// and the day in progress.
const usageRetention = 31 * 24 * time.Hour

// usage is the use counted since the last flush.
type usage struct {
	mu   sync.Mutex
	days map[usageDay]*dayCounts
	keys map[int64]*keyUse
	// flushing is held through a whole flush, so that a flush returns
	// only once what was counted before it began is written, even when
	// another flush had taken part of it.
	flushing sync.Mutex
}

type usageDay struct{ key, day int64 }

type dayCounts struct {
	team int64
	n    [7]int64 // in the order of the key_usage columns
}

// keyUse is one key's latest use since the last flush.
type keyUse struct {
	team   int64
	last   Use // the latest request
	first  Use // the earliest request that succeeded and was no test; zero At if none
	tested time.Time
	recent [KeyRequests]Use // a ring: the newest KeyRequests requests
	n      int              // requests put in the ring, in all
}

// counters maps a kind to its key_usage column (in dayCounts.n), or -1.
var counters = [...]int8{UseOther: -1, UseLeadCreated: 0, UseLeadUpdated: 1, UsePageView: 2, UseIdentify: -1,
	UseMCPCall: 3, UseRefusedOrigin: 4, UseRefusedRate: 5, UseRefusedRevoked: 6}

// dayOf is the UTC day number of t.
func dayOf(t time.Time) int64 { return t.Unix() / 86400 }

// RecordUse counts one request made with a key, in memory; it is written
// within about a second (FlushUsage).
func (db *DB) RecordUse(u Use) {
	db.usage.mu.Lock()
	defer db.usage.mu.Unlock()
	if c := counters[u.Kind]; c >= 0 && !u.Test {
		db.usage.day(usageDay{u.KeyID, dayOf(u.At)}, u.TeamID).n[c]++
	}
	k := db.usage.key(u.KeyID, u.TeamID)
	k.push(u)
	switch {
	case u.Test:
		k.note(u, Use{}, u.At)
	case u.Status < 400 && u.Kind < UseRefusedOrigin: // a form post succeeds with a 303
		k.note(u, u, time.Time{})
	default:
		k.note(u, Use{}, time.Time{})
	}
}

func (s *usage) day(d usageDay, team int64) *dayCounts {
	if s.days == nil {
		s.days = map[usageDay]*dayCounts{}
	}
	dc := s.days[d]
	if dc == nil {
		dc = &dayCounts{team: team}
		s.days[d] = dc
	}
	return dc
}

func (s *usage) key(id, team int64) *keyUse {
	if s.keys == nil {
		s.keys = map[int64]*keyUse{}
	}
	k := s.keys[id]
	if k == nil {
		k = &keyUse{team: team}
		s.keys[id] = k
	}
	return k
}

// push puts a request in the key's ring.
func (k *keyUse) push(u Use) {
	k.recent[k.n%KeyRequests] = u
	k.n++
}

// note keeps the later of the latest requests and of the tests, and the
// earlier of the first uses; a zero first or tested is none.
func (k *keyUse) note(last, first Use, tested time.Time) {
	if !last.At.Before(k.last.At) {
		k.last = last
	}
	if !first.At.IsZero() && (k.first.At.IsZero() || first.At.Before(k.first.At)) {
		k.first = first
	}
	if tested.After(k.tested) {
		k.tested = tested
	}
}

// requests returns the ring's requests, oldest first.
func (k *keyUse) requests() []Use {
	n := min(k.n, KeyRequests)
	out := make([]Use, 0, n)
	for i := k.n - n; i < k.n; i++ {
		out = append(out, k.recent[i%KeyRequests])
	}
	return out
}

// take empties the buffer and returns what it held.
func (s *usage) take() *usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &usage{days: s.days, keys: s.keys}
	s.days, s.keys = nil, nil
	return out
}

// putBack returns use that could not be written. It is older than what
// was counted since, so its requests go first in the rings.
func (s *usage) putBack(old *usage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	newer := &usage{days: s.days, keys: s.keys}
	s.days, s.keys = nil, nil
	s.absorb(old)
	s.absorb(newer)
}

// absorb adds src's use to s; src's requests go after s's.
func (s *usage) absorb(src *usage) {
	for d, dc := range src.days {
		t := s.day(d, dc.team)
		for i, n := range dc.n {
			t.n[i] += n
		}
	}
	for id, k := range src.keys {
		t := s.key(id, k.team)
		for _, u := range k.requests() {
			t.push(u)
		}
		t.note(k.last, k.first, k.tested)
	}
}

// FlushUsage writes the use counted since the last flush in one
// transaction; when it returns without error, every use recorded before it
// was called is written. The server does it every second; tests call it to
// read what they just did. Use that cannot be written is kept for the next
// try.
func (db *DB) FlushUsage(ctx context.Context) error {
	db.usage.flushing.Lock()
	defer db.usage.flushing.Unlock()
	buf := db.usage.take()
	if len(buf.keys) == 0 {
		return nil
	}
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error { return writeUsage(ctx, tx, buf) })
	if err != nil {
		db.usage.putBack(buf)
		return fmt.Errorf("flush key usage: %w", err)
	}
	return nil
}

// usageFlushLock is the lock a usage flush takes in place of a team's: it
// updates keys and counters of many teams, so it shares its transaction
// with no team's lock (it would wait for rows a team's lock holder of
// another instance holds, while that one waits for the team), and the
// instances' flushes run one at a time. Team ids are positive.
const usageFlushLock = -1

func writeUsage(ctx context.Context, tx writeTx, buf *usage) error {
	if err := tx.lockTeam(ctx, usageFlushLock); err != nil {
		return err
	}
	for d, dc := range buf.days {
		n := dc.n
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_usage (key_id, day, team_id, leads_created, leads_updated, page_views,
			mcp_calls, refused_origin, refused_rate, refused_revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (key_id, day) DO UPDATE SET leads_created = key_usage.leads_created + excluded.leads_created,
			leads_updated = key_usage.leads_updated + excluded.leads_updated, page_views = key_usage.page_views + excluded.page_views,
			mcp_calls = key_usage.mcp_calls + excluded.mcp_calls, refused_origin = key_usage.refused_origin + excluded.refused_origin,
			refused_rate = key_usage.refused_rate + excluded.refused_rate, refused_revoked = key_usage.refused_revoked + excluded.refused_revoked`,
			d.key, d.day, dc.team, n[0], n[1], n[2], n[3], n[4], n[5], n[6]); err != nil {
			return err
		}
	}
	for id, k := range buf.keys {
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ?1, last_used_from = ?2
			WHERE id = ?3 AND team_id = ?4 AND coalesce(last_used_at, 0) <= ?1`, k.last.At.Unix(), k.last.From, id, k.team); err != nil {
			return err
		}
		if !k.first.At.IsZero() {
			if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET first_used_at = ?1, first_used_kind = ?2, first_used_from = ?3
				WHERE id = ?4 AND team_id = ?5 AND first_used_at IS NULL`, k.first.At.Unix(), k.first.Kind, k.first.From, id, k.team); err != nil {
				return err
			}
		}
		if !k.tested.IsZero() {
			if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET tested_at = ?1 WHERE id = ?2 AND team_id = ?3 AND coalesce(tested_at, 0) <= ?1`,
				k.tested.Unix(), id, k.team); err != nil {
				return err
			}
		}
		for _, u := range k.requests() {
			if _, err := tx.ExecContext(ctx, `INSERT INTO key_requests (key_id, team_id, at, endpoint, kind, status, origin, test)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, k.team, u.At.Unix(), u.Endpoint, u.Kind, u.Status, u.From, u.Test); err != nil {
				return err
			}
		}
		// The ring stays bounded as it is added to.
		if _, err := tx.ExecContext(ctx, pruneRequestsSQL, id, KeyRequests); err != nil {
			return err
		}
	}
	return nil
}

// pruneRequestsSQL keeps a key's latest requests only.
const pruneRequestsSQL = `DELETE FROM key_requests WHERE key_id = ?1 AND id <=
	(SELECT id FROM key_requests WHERE key_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`

// flushUsageLoop writes counted use every usageFlushEvery until Close,
// and once more at the end, before the writer stops.
func (db *DB) flushUsageLoop() {
	defer close(db.usageDone)
	t := time.NewTicker(usageFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-db.usageQuit:
			db.FlushUsage(context.Background())
			return
		case <-t.C:
			// A failure keeps the use for the next tick; the storage
			// trouble itself shows in the requests that meet it.
			db.FlushUsage(context.Background())
		}
	}
}

// DayUsage is what one key did on one UTC day.
type DayUsage struct {
	Day                                        time.Time // midnight UTC
	LeadsCreated, LeadsUpdated, PageViews      int
	MCPCalls                                   int
	RefusedOrigin, RefusedRate, RefusedRevoked int
}

const keyUsageSQL = `SELECT key_id, day, leads_created, leads_updated, page_views, mcp_calls,
	refused_origin, refused_rate, refused_revoked FROM key_usage
	WHERE team_id = ?1 AND day >= ?2 AND (?3 = 0 OR key_id = ?3) ORDER BY key_id, day`

// KeyUsage returns the team's per-day use since the given time, by key,
// oldest day first; keyID 0 means every key of the team. Days without use
// are left out.
func (db *DB) KeyUsage(ctx context.Context, teamID, keyID int64, since time.Time) (map[int64][]DayUsage, error) {
	type keyDay struct {
		key int64
		DayUsage
	}
	rows, err := queryAll(ctx, db, func(sc scanner) (keyDay, error) {
		var r keyDay
		var day int64
		err := sc.Scan(&r.key, &day, &r.LeadsCreated, &r.LeadsUpdated, &r.PageViews, &r.MCPCalls,
			&r.RefusedOrigin, &r.RefusedRate, &r.RefusedRevoked)
		r.Day = time.Unix(day*86400, 0).UTC()
		return r, err
	}, keyUsageSQL, teamID, dayOf(since), keyID)
	if err != nil {
		return nil, fmt.Errorf("key usage: %w", err)
	}
	out := map[int64][]DayUsage{}
	for _, r := range rows {
		out[r.key] = append(out[r.key], r.DayUsage)
	}
	return out, nil
}

// KeyRequest is one of a key's latest requests.
type KeyRequest struct {
	At       time.Time
	Endpoint string
	Kind     UseKind
	Status   int
	From     string
	Test     bool
}

const keyRequestsSQL = `SELECT at, endpoint, kind, status, origin, test FROM key_requests
	WHERE key_id = ? AND team_id = ? ORDER BY id DESC LIMIT ?`

// KeyRequests returns the latest requests made with one of the team's keys,
// newest first.
func (db *DB) KeyRequests(ctx context.Context, teamID, keyID int64) ([]KeyRequest, error) {
	out, err := queryAll(ctx, db, func(sc scanner) (KeyRequest, error) {
		var r KeyRequest
		var at int64
		err := sc.Scan(&at, &r.Endpoint, &r.Kind, &r.Status, &r.From, &r.Test)
		r.At = time.Unix(at, 0).UTC()
		return r, err
	}, keyRequestsSQL, keyID, teamID, KeyRequests)
	if err != nil {
		return nil, fmt.Errorf("key requests: %w", err)
	}
	return out, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MaxTrackedDomains is how many domains a team may list for the tracker.
const MaxTrackedDomains = 50

// Errors adding a tracked domain.
var (
	ErrDomainListed = errors.New("domain already listed")
	ErrDomainLimit  = errors.New("tracked domain limit reached")
)

// TrackedDomain is a site a team accepts tracker events and browser form
// posts from (the domain and its subdomains).
type TrackedDomain struct {
	ID        int64
	Domain    string
	CreatedAt time.Time
}

// TrackedDomains returns the team's domains in alphabetical order. Every
// tracker event and browser form post from a page asks, so the lists are
// kept in memory; the returned slice must not be modified.
func (db *DB) TrackedDomains(ctx context.Context, teamID int64) ([]TrackedDomain, error) {
	if ds, ok := db.domains.get(teamID); ok {
		return ds, nil
	}
	gen := db.domains.generation()
	ds, err := db.trackedDomains(ctx, teamID)
	if err == nil {
		db.domains.fill(teamID, ds, gen)
	}
	return ds, err
}

func (db *DB) trackedDomains(ctx context.Context, teamID int64) ([]TrackedDomain, error) {
	out, err := queryAll(ctx, db, func(sc scanner) (TrackedDomain, error) {
		var d TrackedDomain
		var at int64
		err := sc.Scan(&d.ID, &d.Domain, &at)
		d.CreatedAt = time.Unix(at, 0).UTC()
		return d, err
	}, trackedDomainsSQL, teamID)
	if err != nil {
		return nil, fmt.Errorf("list tracked domains: %w", err)
	}
	return out, nil
}

const trackedDomainsSQL = `SELECT id, domain, created_at FROM tracked_domains WHERE team_id = ? ORDER BY domain`

// AddTrackedDomain lists a domain (already validated and lower-cased) for
// the team. The limit and the duplicate check run in the write transaction.
func (db *DB) AddTrackedDomain(ctx context.Context, teamID int64, domain string) (TrackedDomain, error) {
	d := TrackedDomain{Domain: domain, CreatedAt: db.now().UTC().Truncate(time.Second)}
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if err := tx.lockTeam(ctx, teamID); err != nil { // the domain limit, across instances
			return err
		}
		var n, same int
		if err := tx.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE domain = ?) FROM tracked_domains WHERE team_id = ?`,
			domain, teamID).Scan(&n, &same); err != nil {
			return err
		}
		if same > 0 {
			return refuse(ErrDomainListed)
		}
		if n >= MaxTrackedDomains {
			return refuse(ErrDomainLimit)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO tracked_domains (team_id, domain, created_at) VALUES (?, ?, ?) RETURNING id`,
			teamID, domain, d.CreatedAt.Unix()).Scan(&d.ID); err != nil {
			return err
		}
		tx.afterCommit(func() { db.domains.invalidate(teamID) })
		return nil
	})
	if err != nil {
		return TrackedDomain{}, fmt.Errorf("add tracked domain %s: %w", domain, err)
	}
	return d, nil
}

// RemoveTrackedDomain deletes one of the team's domains and returns it.
// Another team's domain is ErrNotFound and stays.
func (db *DB) RemoveTrackedDomain(ctx context.Context, teamID, id int64) (TrackedDomain, error) {
	var d TrackedDomain
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		var at int64
		err := tx.QueryRowContext(ctx, `DELETE FROM tracked_domains WHERE id = ? AND team_id = ? RETURNING id, domain, created_at`,
			id, teamID).Scan(&d.ID, &d.Domain, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ErrNotFound)
		}
		if err != nil {
			return err
		}
		d.CreatedAt = time.Unix(at, 0).UTC()
		tx.afterCommit(func() { db.domains.invalidate(teamID) })
		return nil
	})
	if err != nil {
		return TrackedDomain{}, fmt.Errorf("remove tracked domain %d: %w", id, err)
	}
	return d, nil
}

// domainCache holds each team's tracked domains as last read. A change
// drops the team's list once committed; the generation stops a read that
// began before a change from filling the cache after it.
type domainCache struct {
	mu     sync.Mutex
	byTeam map[int64][]TrackedDomain
	gen    uint64
}

func (c *domainCache) get(team int64) ([]TrackedDomain, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ds, ok := c.byTeam[team]
	return ds, ok
}

func (c *domainCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *domainCache) fill(team int64, ds []TrackedDomain, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.byTeam == nil {
		c.byTeam = map[int64][]TrackedDomain{}
	}
	c.byTeam[team] = ds
}

func (c *domainCache) invalidate(team int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.byTeam, team)
}

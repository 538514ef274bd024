package store

// The pipeline in numbers: new leads per source and per day, from the
// per-day counts a trigger keeps as leads are stored (migration 005), so a
// year costs a few hundred rows whatever the team's size.

import (
	"context"
	"fmt"
	"time"
)

// Count is a number of leads under a label: a source or a day (YYYY-MM-DD).
type Count struct {
	Label string
	N     int
}

const day = 24 * 60 * 60 // seconds; lead_days numbers UTC days from 1970-01-01

// LeadCounts counts the team's leads created in [from, to), two UTC
// midnights: by source (most first) and by UTC day (only days with leads,
// in order). A lead counts under its current source.
func (db *DB) LeadCounts(ctx context.Context, teamID int64, from, to time.Time) (bySource, byDay []Count, err error) {
	args := []any{teamID, from.Unix() / day, to.Unix() / day}
	bySource, err = queryAll(ctx, db, scanCount, leadsBySourceSQL, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("leads by source: %w", err)
	}
	byDay, err = queryAll(ctx, db, scanCount, leadsByDaySQL, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("leads by day: %w", err)
	}
	return bySource, byDay, nil
}

const leadsBySourceSQL = `SELECT source, sum(leads) FROM lead_days WHERE team_id = ? AND day >= ? AND day < ?
	GROUP BY source HAVING sum(leads) > 0 ORDER BY sum(leads) DESC, source`

const leadsByDaySQL = `SELECT strftime('%Y-%m-%d', day * 86400, 'unixepoch'), sum(leads) FROM lead_days
	WHERE team_id = ? AND day >= ? AND day < ? GROUP BY day HAVING sum(leads) > 0 ORDER BY day`

func scanCount(sc scanner) (Count, error) {
	var c Count
	err := sc.Scan(&c.Label, &c.N)
	return c, err
}

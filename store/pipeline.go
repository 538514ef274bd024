package store

// The pipeline in numbers: new leads per source and per day, from the
// per-day counts a trigger keeps as leads are stored (migration 012), so a
// year costs a few hundred rows whatever the team's size.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Count is a number of leads under a label: a source or a day (YYYY-MM-DD).
type Count struct {
	Label string
	N     int
}

const day = 24 * 60 * 60 // seconds; lead_days numbers UTC days from 1970-01-01

// LeadCounts counts the team's leads created in [from, to), two UTC
// midnights: by source (most first, at most maxSources of them: anyone
// with an intake key can invent sources) and by UTC day (only days with
// leads, in order). A lead counts under its current source. One pass over
// the period's per-day rows, in key order, gives both.
func (db *DB) LeadCounts(ctx context.Context, teamID int64, from, to time.Time, maxSources int) (bySource, byDay []Count, err error) {
	type row struct {
		day    int64
		source string
		n      int
	}
	rows, err := queryAll(ctx, db, func(sc scanner) (row, error) {
		var r row
		err := sc.Scan(&r.day, &r.source, &r.n)
		return r, err
	}, leadDaysSQL, teamID, from.Unix()/day, to.Unix()/day)
	if err != nil {
		return nil, nil, fmt.Errorf("lead counts: %w", err)
	}
	perSource := map[string]int{}
	for _, r := range rows {
		perSource[r.source] += r.n
		label := time.Unix(r.day*day, 0).UTC().Format(time.DateOnly)
		if len(byDay) == 0 || byDay[len(byDay)-1].Label != label {
			byDay = append(byDay, Count{Label: label})
		}
		byDay[len(byDay)-1].N += r.n
	}
	for source, n := range perSource {
		bySource = append(bySource, Count{Label: source, N: n})
	}
	slices.SortFunc(bySource, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Label, b.Label))
	})
	return bySource[:min(len(bySource), maxSources)], byDay, nil
}

const leadDaysSQL = `SELECT day, source, leads FROM lead_days WHERE team_id = ? AND day >= ? AND day < ? AND leads > 0 ORDER BY day`

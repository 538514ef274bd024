package store

// Read queries the MCP server's tools need beyond the pipeline pages:
// search, a lead's page views, recent tracker activity and a summary.

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// VisitorActivity is a tracked visitor seen in a period.
type VisitorActivity struct {
	ID        int64
	LeadID    int64 // 0 while the visitor is anonymous
	LeadName  string
	LeadEmail string
	FirstSeen time.Time
	LastSeen  time.Time
	Views     int // page views in the period
	LastURL   string
	LastTitle string
}

// Count is a number of leads under a label: a source or a day (YYYY-MM-DD).
type Count struct {
	Label string
	N     int
}

// escapeLike makes s match literally inside a LIKE pattern that uses
// ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// digitsOf keeps only the digits of s, so "(555) 123" finds +1555123….
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SearchLeads returns a page of the team's leads whose name, email, phone or
// source contains text (ASCII case-insensitive), newest first, and how many
// match in all. Empty text matches every lead. Digits in text also match the
// phone however it was punctuated.
func (db *DB) SearchLeads(ctx context.Context, teamID int64, text string, limit, offset int) ([]Lead, int, error) {
	pattern := "%" + escapeLike(strings.TrimSpace(text)) + "%"
	digits := digitsOf(text)
	if len(digits) < 3 { // too few digits would match nearly every phone
		digits = ""
	}
	where := `l.team_id = ?1 AND (l.name LIKE ?2 ESCAPE '\' OR l.email LIKE ?2 ESCAPE '\'
		OR l.phone LIKE ?2 ESCAPE '\' OR l.source LIKE ?2 ESCAPE '\' OR (?3 <> '' AND l.phone LIKE '%' || ?3 || '%'))`
	var total int
	if err := db.r.QueryRowContext(ctx, "SELECT count(*) FROM leads l WHERE "+where, teamID, pattern, digits).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count leads matching %q: %w", text, wrapUnavailable(err))
	}
	leads, err := db.queryLeads(ctx, "SELECT "+leadColumns+" WHERE "+where+" ORDER BY l.id DESC LIMIT ?4 OFFSET ?5",
		teamID, pattern, digits, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("search leads for %q: %w", text, err)
	}
	return leads, total, nil
}

// RecentVisitors returns the team's visitors seen since the given time,
// latest first (at most limit), and how many there were in all.
func (db *DB) RecentVisitors(ctx context.Context, teamID int64, since time.Time, limit int) ([]VisitorActivity, int, error) {
	sec := since.Unix()
	var total int
	if err := db.r.QueryRowContext(ctx, "SELECT count(*) FROM visitors WHERE team_id = ? AND last_seen >= ?", teamID, sec).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count recent visitors: %w", wrapUnavailable(err))
	}
	rows, err := db.r.QueryContext(ctx, `SELECT v.id, coalesce(l.id, 0), coalesce(l.name, ''), coalesce(l.email, ''), v.first_seen, v.last_seen,
		(SELECT count(*) FROM page_views p WHERE p.visitor_id = v.id AND p.team_id = v.team_id AND p.created_at >= ?2),
		coalesce(last.url, ''), coalesce(last.title, '')
		FROM visitors v
		LEFT JOIN leads l ON l.id = v.lead_id AND l.team_id = v.team_id
		LEFT JOIN page_views last ON last.id = (SELECT p.id FROM page_views p WHERE p.visitor_id = v.id AND p.team_id = v.team_id
			ORDER BY p.created_at DESC, p.id DESC LIMIT 1)
		WHERE v.team_id = ?1 AND v.last_seen >= ?2 ORDER BY v.last_seen DESC, v.id DESC LIMIT ?3`, teamID, sec, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("recent visitors: %w", wrapUnavailable(err))
	}
	defer rows.Close()
	var out []VisitorActivity
	for rows.Next() {
		var a VisitorActivity
		var first, last int64
		if err := rows.Scan(&a.ID, &a.LeadID, &a.LeadName, &a.LeadEmail, &first, &last, &a.Views, &a.LastURL, &a.LastTitle); err != nil {
			return nil, 0, fmt.Errorf("recent visitors: %w", err)
		}
		a.FirstSeen, a.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		out = append(out, a)
	}
	return out, total, wrapUnavailable(rows.Err())
}

// LeadCounts counts the team's leads created in [from, to): by source (most
// first, at most maxSources of them: anyone with an intake key can invent
// sources) and by UTC day (only days with leads, in order).
func (db *DB) LeadCounts(ctx context.Context, teamID int64, from, to time.Time, maxSources int) (bySource, byDay []Count, err error) {
	bySource, err = db.counts(ctx, `SELECT source, count(*) FROM leads WHERE team_id = ? AND created_at >= ? AND created_at < ?
		GROUP BY source ORDER BY count(*) DESC, source LIMIT ?`, teamID, from.Unix(), to.Unix(), maxSources)
	if err != nil {
		return nil, nil, fmt.Errorf("leads by source: %w", err)
	}
	byDay, err = db.counts(ctx, `SELECT strftime('%Y-%m-%d', created_at, 'unixepoch') AS day, count(*) FROM leads
		WHERE team_id = ? AND created_at >= ? AND created_at < ? GROUP BY day ORDER BY day`, teamID, from.Unix(), to.Unix())
	if err != nil {
		return nil, nil, fmt.Errorf("leads by day: %w", err)
	}
	return bySource, byDay, nil
}

func (db *DB) counts(ctx context.Context, query string, args ...any) ([]Count, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapUnavailable(err)
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Label, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, wrapUnavailable(rows.Err())
}

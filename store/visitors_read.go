package store

// Reading tracker visitors: the anonymous ones the Web tracker card lists
// and the recent ones MCP's recent_visitors reports.

import (
	"context"
	"fmt"
	"time"
)

// AnonymousVisitor is a visitor not (yet) tied to a lead.
type AnonymousVisitor struct {
	FirstSeen time.Time
	LastSeen  time.Time
	PageViews int
	LastURL   string
}

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

// AnonymousVisitors returns the team's most recently seen visitors that no
// lead is tied to, with how many pages each viewed and the last one.
func (db *DB) AnonymousVisitors(ctx context.Context, teamID int64, limit int) ([]AnonymousVisitor, error) {
	out, err := queryAll(ctx, db, func(sc scanner) (AnonymousVisitor, error) {
		var v AnonymousVisitor
		var first, last int64
		err := sc.Scan(&first, &last, &v.PageViews, &v.LastURL)
		v.FirstSeen, v.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		return v, err
	}, anonymousVisitorsSQL, teamID, limit)
	if err != nil {
		return nil, fmt.Errorf("anonymous visitors: %w", err)
	}
	return out, nil
}

// A page view's team is its visitor's (RecordPageView stores both from one
// team): the visitor's team is checked, and the views are counted on the
// index alone.
const anonymousVisitorsSQL = `SELECT v.first_seen, v.last_seen,
	(SELECT count(*) FROM page_views p INDEXED BY page_views_visitor_time WHERE p.visitor_id = v.id),
	coalesce((SELECT p.url FROM page_views p INDEXED BY page_views_visitor_time WHERE p.visitor_id = v.id
		ORDER BY p.created_at DESC, p.id DESC LIMIT 1), '')
	FROM visitors v INDEXED BY visitors_team_anonymous
	WHERE v.team_id = ?1 AND v.lead_id IS NULL ORDER BY v.last_seen DESC, v.id DESC LIMIT ?2`

// RecentVisitors returns the team's visitors seen since the given time,
// latest first (at most limit), and how many there were in all.
func (db *DB) RecentVisitors(ctx context.Context, teamID int64, since time.Time, limit int) ([]VisitorActivity, int, error) {
	sec := since.Unix()
	total, err := queryOne(ctx, db, scanInt, recentVisitorCountSQL, teamID, sec)
	if err != nil {
		return nil, 0, fmt.Errorf("count recent visitors: %w", err)
	}
	out, err := queryAll(ctx, db, func(sc scanner) (VisitorActivity, error) {
		var a VisitorActivity
		var first, last int64
		err := sc.Scan(&a.ID, &a.LeadID, &a.LeadName, &a.LeadEmail, &first, &last, &a.Views, &a.LastURL, &a.LastTitle)
		a.FirstSeen, a.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		return a, err
	}, recentVisitorsSQL, teamID, sec, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("recent visitors: %w", err)
	}
	return out, total, nil
}

const recentVisitorCountSQL = `SELECT count(*) FROM visitors INDEXED BY visitors_team_recent WHERE team_id = ? AND last_seen >= ?`

// As in anonymousVisitorsSQL, a visitor's views are its team's.
const recentVisitorsSQL = `SELECT v.id, coalesce(l.id, 0), coalesce(l.name, ''), coalesce(l.email, ''), v.first_seen, v.last_seen,
	(SELECT count(*) FROM page_views p INDEXED BY page_views_visitor_time WHERE p.visitor_id = v.id AND p.created_at >= ?2),
	coalesce(last.url, ''), coalesce(last.title, '')
	FROM visitors v INDEXED BY visitors_team_recent
	LEFT JOIN leads l ON l.id = v.lead_id AND l.team_id = v.team_id
	LEFT JOIN page_views last ON last.id = (SELECT p.id FROM page_views p INDEXED BY page_views_visitor_time
		WHERE p.visitor_id = v.id ORDER BY p.created_at DESC, p.id DESC LIMIT 1) AND last.team_id = v.team_id
	WHERE v.team_id = ?1 AND v.last_seen >= ?2 ORDER BY v.last_seen DESC, v.id DESC LIMIT ?3`

package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// VisitGap is the pause that ends a visit: page views of one visitor less
// than 30 minutes apart belong to the same visit (the usual analytics rule).
const VisitGap = 30 * time.Minute

// TrackerStats says whether a team's tracker events arrive.
type TrackerStats struct {
	LastEvent time.Time // zero when none yet
	Last24h   int       // page views in the 24 hours before now
}

// AnonymousVisitor is a visitor not (yet) tied to a lead.
type AnonymousVisitor struct {
	FirstSeen time.Time
	LastSeen  time.Time
	PageViews int
	LastURL   string
}

// LeadVisits is how often a lead came to the team's site.
type LeadVisits struct {
	Visits int // all visits
	Recent int // visits that started at or after the "since" time asked for
}

// TrackerStats returns when the team's last page view arrived and how many
// arrived in the 24 hours before now.
func (db *DB) TrackerStats(ctx context.Context, teamID int64, now time.Time) (TrackerStats, error) {
	var last *int64
	var st TrackerStats
	err := db.r.QueryRowContext(ctx, `SELECT max(created_at), count(*) FILTER (WHERE created_at > ?)
		FROM page_views WHERE team_id = ?`, now.Add(-24*time.Hour).Unix(), teamID).Scan(&last, &st.Last24h)
	if err != nil {
		return TrackerStats{}, fmt.Errorf("tracker stats: %w", wrapUnavailable(err))
	}
	if last != nil {
		st.LastEvent = time.Unix(*last, 0).UTC()
	}
	return st, nil
}

// AnonymousVisitors returns the team's most recently seen visitors that no
// lead is tied to, with how many pages each viewed and the last one.
func (db *DB) AnonymousVisitors(ctx context.Context, teamID int64, limit int) ([]AnonymousVisitor, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT v.first_seen, v.last_seen,
		(SELECT count(*) FROM page_views p WHERE p.visitor_id = v.id AND p.team_id = v.team_id),
		coalesce((SELECT p.url FROM page_views p WHERE p.visitor_id = v.id AND p.team_id = v.team_id ORDER BY p.id DESC LIMIT 1), '')
		FROM visitors v WHERE v.team_id = ? AND v.lead_id IS NULL ORDER BY v.last_seen DESC, v.id DESC LIMIT ?`, teamID, limit)
	if err != nil {
		return nil, fmt.Errorf("anonymous visitors: %w", wrapUnavailable(err))
	}
	defer rows.Close()
	var out []AnonymousVisitor
	for rows.Next() {
		var v AnonymousVisitor
		var first, last int64
		if err := rows.Scan(&first, &last, &v.PageViews, &v.LastURL); err != nil {
			return nil, fmt.Errorf("anonymous visitors: %w", err)
		}
		v.FirstSeen, v.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		out = append(out, v)
	}
	return out, wrapUnavailable(rows.Err())
}

// VisitsOfLeads counts, in one query, the visits of each of the team's
// leads given (see VisitGap), and how many of them started at or after
// since. Leads without page views are left out of the map.
func (db *DB) VisitsOfLeads(ctx context.Context, teamID int64, leadIDs []int64, since time.Time) (map[int64]LeadVisits, error) {
	out := map[int64]LeadVisits{}
	if len(leadIDs) == 0 {
		return out, nil
	}
	args := []any{int64(VisitGap / time.Second), since.Unix(), teamID}
	for _, id := range leadIDs {
		args = append(args, id)
	}
	// A page view starts a visit when it is its visitor's first, or comes
	// VisitGap or more after the one before.
	rows, err := db.r.QueryContext(ctx, `SELECT lead_id, count(*) FILTER (WHERE starts), count(*) FILTER (WHERE starts AND at >= ?2)
		FROM (SELECT v.lead_id, p.created_at AS at,
			coalesce(p.created_at - lag(p.created_at) OVER (PARTITION BY p.visitor_id ORDER BY p.created_at, p.id) >= ?1, 1) AS starts
			FROM visitors v JOIN page_views p ON p.visitor_id = v.id AND p.team_id = v.team_id
			WHERE v.team_id = ?3 AND v.lead_id IN (?`+strings.Repeat(", ?", len(leadIDs)-1)+`))
		GROUP BY lead_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("visits of leads: %w", wrapUnavailable(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var v LeadVisits
		if err := rows.Scan(&id, &v.Visits, &v.Recent); err != nil {
			return nil, fmt.Errorf("visits of leads: %w", err)
		}
		out[id] = v
	}
	return out, wrapUnavailable(rows.Err())
}

// ViewedPage is one page view of a tracked visitor.
type ViewedPage struct {
	VisitorID   int64
	URL         string
	Title       string
	Referrer    string
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	At          time.Time
	// BeforeLead: viewed before the lead's first submission. Times are kept
	// to the second, and a view in the same second counts as before (it is
	// usually the page with the form).
	BeforeLead bool
}

// PagesViewedByLead returns the latest page views (at most limit, oldest
// first) of every visitor linked to the team's lead, and how many there are.
func (db *DB) PagesViewedByLead(ctx context.Context, teamID, leadID int64, limit int) ([]ViewedPage, int, error) {
	const from = ` FROM page_views p JOIN visitors v ON v.id = p.visitor_id AND v.team_id = p.team_id
		JOIN leads l ON l.id = v.lead_id AND l.team_id = v.team_id
		WHERE p.team_id = ? AND v.lead_id = ?`
	var total int
	if err := db.r.QueryRowContext(ctx, "SELECT count(*)"+from, teamID, leadID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count page views of lead %d: %w", leadID, wrapUnavailable(err))
	}
	rows, err := db.r.QueryContext(ctx, `SELECT * FROM (SELECT p.id, p.visitor_id, p.url, p.title, p.referrer,
		p.utm_source, p.utm_medium, p.utm_campaign, p.created_at, p.created_at <= l.created_at`+from+` ORDER BY p.created_at DESC, p.id DESC LIMIT ?)
		ORDER BY created_at, id`, teamID, leadID, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("page views of lead %d: %w", leadID, wrapUnavailable(err))
	}
	defer rows.Close()
	var views []ViewedPage
	for rows.Next() {
		var v ViewedPage
		var id, at int64
		if err := rows.Scan(&id, &v.VisitorID, &v.URL, &v.Title, &v.Referrer, &v.UTMSource, &v.UTMMedium, &v.UTMCampaign, &at, &v.BeforeLead); err != nil {
			return nil, 0, fmt.Errorf("page views of lead %d: %w", leadID, err)
		}
		v.At = time.Unix(at, 0).UTC()
		views = append(views, v)
	}
	return views, total, wrapUnavailable(rows.Err())
}

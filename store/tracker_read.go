package store

// Reading page views: whether a team's tracker events arrive, a lead's
// latest views and its visits. A visitor's views are read through
// page_views_visitor_time, named in each query (INDEXED BY): the planner,
// left to itself without fresh statistics, once walked all of a team's
// page views for every visitor instead.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// VisitGap is the pause that ends a visit: page views of one visitor less
// than 30 minutes apart belong to the same visit (the usual analytics rule).
// Migration 012 starts visits with the same gap, in seconds.
const VisitGap = 30 * time.Minute

// TrackerStats says whether a team's tracker events arrive.
type TrackerStats struct {
	LastEvent time.Time // zero when none yet
	Last24h   int       // page views in the 24 hours before now
}

// TrackerStats returns when the team's last page view arrived and how many
// arrived in the 24 hours before now: the end of an index, and a range of it.
func (db *DB) TrackerStats(ctx context.Context, teamID int64, now time.Time) (TrackerStats, error) {
	st, err := queryOne(ctx, db, func(sc scanner) (TrackerStats, error) {
		var st TrackerStats
		var last *int64
		err := sc.Scan(&last, &st.Last24h)
		if last != nil {
			st.LastEvent = time.Unix(*last, 0).UTC()
		}
		return st, err
	}, trackerStatsSQL, teamID, now.Add(-24*time.Hour).Unix())
	if err != nil {
		return TrackerStats{}, fmt.Errorf("tracker stats: %w", err)
	}
	return st, nil
}

const trackerStatsSQL = `SELECT (SELECT max(created_at) FROM page_views INDEXED BY page_views_team_recent WHERE team_id = ?1),
	(SELECT count(*) FROM page_views INDEXED BY page_views_team_recent WHERE team_id = ?1 AND created_at > ?2)`

// VisitsOfLeads counts, in one query, the visits of each of the team's
// leads given (see VisitGap). Leads without page views are left out of
// the map. Visits are counted from their starts, which a trigger records
// as page views arrive, so a lead with fifty thousand page views costs its
// thousand visits.
func (db *DB) VisitsOfLeads(ctx context.Context, teamID int64, leadIDs []int64) (map[int64]int, error) {
	out := map[int64]int{}
	if len(leadIDs) == 0 {
		return out, nil
	}
	args := []any{teamID}
	for _, id := range leadIDs {
		args = append(args, id)
	}
	type row struct {
		lead   int64
		visits int
	}
	rows, err := queryAll(ctx, db, func(sc scanner) (row, error) {
		var r row
		err := sc.Scan(&r.lead, &r.visits)
		return r, err
	}, visitsOfLeadsSQL(len(leadIDs)), args...)
	if err != nil {
		return nil, fmt.Errorf("visits of leads: %w", err)
	}
	for _, r := range rows {
		out[r.lead] = r.visits
	}
	return out, nil
}

func visitsOfLeadsSQL(leads int) string {
	return `SELECT v.lead_id, count(*)
		FROM visitors v INDEXED BY visitors_lead CROSS JOIN visit_starts s ON s.visitor_id = v.id AND s.team_id = v.team_id
		WHERE v.team_id = ?1 AND v.lead_id IN (?` + strings.Repeat(", ?", leads-1) + `)
		GROUP BY v.lead_id`
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
// first) of every visitor linked to the team's lead, and how many there
// are. Each visitor gives at most its latest limit views, read backwards
// from the end of its range of the index, so a lead with fifty thousand
// views sorts only limit of them per visitor.
func (db *DB) PagesViewedByLead(ctx context.Context, teamID, leadID int64, limit int) ([]ViewedPage, int, error) {
	total, err := queryOne(ctx, db, scanInt, leadViewCountSQL, teamID, leadID)
	if err != nil {
		return nil, 0, fmt.Errorf("count page views of lead %d: %w", leadID, err)
	}
	views, err := queryAll(ctx, db, func(sc scanner) (ViewedPage, error) {
		var v ViewedPage
		var at int64
		err := sc.Scan(&v.VisitorID, &v.URL, &v.Title, &v.Referrer, &v.UTMSource, &v.UTMMedium, &v.UTMCampaign, &at, &v.BeforeLead)
		v.At = time.Unix(at, 0).UTC()
		return v, err
	}, leadViewsSQL, teamID, leadID, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("page views of lead %d: %w", leadID, err)
	}
	slices.Reverse(views)
	return views, total, nil
}

// leadViewCountSQL counts on the index alone: a page view's team is its
// visitor's (RecordPageView stores both from one team), so the visitor's
// team is the one checked.
const leadViewCountSQL = `SELECT count(*) FROM visitors v INDEXED BY visitors_lead
	CROSS JOIN page_views p INDEXED BY page_views_visitor_time ON p.visitor_id = v.id
	WHERE v.team_id = ?1 AND v.lead_id = ?2`

const leadViewsSQL = `SELECT p.visitor_id, p.url, p.title, p.referrer, p.utm_source, p.utm_medium, p.utm_campaign,
	p.created_at, p.created_at <= l.created_at
	FROM visitors v INDEXED BY visitors_lead
	CROSS JOIN leads l ON l.id = v.lead_id AND l.team_id = v.team_id
	CROSS JOIN page_views p ON p.id IN (SELECT id FROM page_views INDEXED BY page_views_visitor_time
		WHERE visitor_id = v.id ORDER BY created_at DESC, id DESC LIMIT ?3)
	WHERE v.team_id = ?1 AND v.lead_id = ?2 AND p.team_id = v.team_id
	ORDER BY p.created_at DESC, p.id DESC LIMIT ?3`

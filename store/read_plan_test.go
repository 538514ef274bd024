package store

import (
	"closr/store/storetest"
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// bigStats are the planner statistics (sqlite_stat1) of the large database
// closr-bench builds (-big): one team with a million leads and five
// million page views over 200,000 visitors, and two small teams; gathered
// with a full ANALYZE. Given to a small database, they make the planner
// plan as it would on the large one.
var bigStats = [][3]string{
	{"agents", "agents_team", "3 1"},
	{"agents", "sqlite_autoindex_agents_1", "3 1"},
	{"api_keys", "api_keys_team_active", "3 1"},
	{"api_keys", "sqlite_autoindex_api_keys_1", "3 1"},
	{"key_events", "key_events_team", "3 1 1"},
	{"lead_days", "lead_days", "8500 2834 4 1"},
	{"leads", "leads_team_email", "1004000 334667 1"},
	{"leads", "leads_team_phone", "1004000 334667 1"},
	{"leads", "leads_team_activity", "1004000 334667 2 1"},
	{"leads", "leads_team_needs_contact", "1000 334 1 1"},
	{"leads", "leads_team_recent", "1004000 334667 1"},
	{"leads", "leads_team_source_activity", "1004000 334667 100000 2 1"},
	{"leads", "leads_team_hot", "1000 334 2 1 1"},
	{"leads", "leads_team_test_activity", "10 4 1 1"},
	{"page_views", "page_views_team_recent", "5100000 1700000 1"},
	{"page_views", "page_views_visitor_time", "5100000 25 1"},
	{"submissions", "submissions_lead", "1004000 1 1"},
	{"teams", "", "3"},
	{"visit_starts", "visit_starts", "367832 2 1"},
	{"visitors", "sqlite_autoindex_visitors_1", "204000 68000 1"},
	{"visitors", "visitors_lead", "40671 1"},
	{"visitors", "visitors_pending_email", "10 2 1"},
	{"visitors", "visitors_pending_phone", "10 2 1"},
	{"visitors", "visitors_team_anonymous", "163329 54443 1"},
	{"visitors", "visitors_team_recent", "204000 68000 1"},
}

// planDB is the database plans are asked of: the large one closr-bench
// built when CLOSR_BIG_DB names it, else a small seeded one that carries
// the large one's statistics.
func planDB(t *testing.T) *sql.DB {
	t.Helper()
	path := os.Getenv("CLOSR_BIG_DB")
	if path == "" {
		path = filepath.Join(t.TempDir(), "planned.db")
		seedForPlans(t, path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// seedForPlans fills a small database and replaces its statistics with
// bigStats.
func seedForPlans(t *testing.T, path string) {
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for team := range 3 {
		a, err := db.CreateTeamWithOwner(ctx, "T", NewAgent{Name: "A", Email: fmt.Sprintf("a%d@example.com", team), PasswordHash: []byte("h")})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 200 {
			if _, err := db.IngestLead(ctx, LeadInput{TeamID: a.TeamID, Email: fmt.Sprintf("l%d@example.com", i), Source: "Web",
				Raw: []byte("{}"), VisitorID: fmt.Sprintf("v%d", i%50), At: at.Add(time.Duration(i) * time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if err := db.RecordPageView(ctx, PageViewInput{TeamID: a.TeamID, VisitorID: fmt.Sprintf("v%d", i%70), URL: "https://x.example/",
				At: at.Add(time.Duration(i) * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	stmts := []string{"ANALYZE", "DELETE FROM sqlite_stat1", "DELETE FROM sqlite_stat4"}
	for _, s := range bigStats {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO sqlite_stat1 VALUES ('%s', nullif('%s', ''), '%s')", s[0], s[1], s[2]))
	}
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestReadPlansUseIndexes asks the planner how it runs every query a page
// or an MCP tool makes, with the large database's statistics, and fails
// when one would read a table or index from end to end (a whole team, or
// every team), leaves the index it needs, or sorts more than a page.
func TestReadPlansUseIndexes(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite query plans")
	t.Parallel()
	db := planDB(t)
	// The big team, and a small one whose leads come after the big one's.
	for _, tl := range [][2]int64{{1, 999_990}, {2, 1_001_990}} {
		t.Run(fmt.Sprintf("team %d", tl[0]), func(t *testing.T) { checkReadPlans(t, db, tl[0], tl[1]) })
	}
}

func checkReadPlans(t *testing.T, db *sql.DB, team, lead int64) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).Unix()
	visits := []any{now, team}
	for i := range 50 {
		visits = append(visits, lead-int64(i))
	}
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		want  []string // parts of the plan, in order
		sort  string   // the one sort allowed, bounded by a page ("" for none)
		scan  string   // the one scan allowed, of a small partial index
	}{
		{"/leads, latest activity first", leadsByActivitySQL(false, LeadFilter{}), []any{team, now, lead, 0, 0, 51, 0},
			[]string{leadByID, "LIST SUBQUERY", "COVERING INDEX leads_team_activity (team_id=? AND last_activity_at>? AND last_activity_at<?)"}, "USE TEMP B-TREE FOR ORDER BY", ""},
		{"/leads, the page above a lead and from the bottom", leadsByActivitySQL(true, LeadFilter{}), []any{team, int64(math.MaxInt64), maxLeadID + 1, now, lead, 51, 0},
			[]string{leadByID, "LIST SUBQUERY", "COVERING INDEX leads_team_activity (team_id=? AND last_activity_at>? AND last_activity_at<?)"}, "USE TEMP B-TREE FOR ORDER BY", ""},
		{"search, newest first", searchSQL(false, LeadFilter{}), []any{team, team<<teamShift | maxLeadID, team << teamShift, 21, 0, `"gmail"`},
			[]string{leadByID, "LIST SUBQUERY", "SCAN f VIRTUAL TABLE INDEX", ":M"}, "", ""},
		{"search, newer page", searchSQL(true, LeadFilter{}), []any{team, team<<teamShift | maxLeadID, team<<teamShift | lead, 21, 0, `"gmail"`},
			[]string{leadByID, "LIST SUBQUERY", "SCAN f VIRTUAL TABLE INDEX", ":M"}, "", ""},
		{"search count", matchCountSQL, []any{`"gmail"`, team << teamShift, (team + 1) << teamShift, 1000},
			[]string{"SCAN f VIRTUAL TABLE INDEX", ":M"}, "", ""},
		{"/leads?source=", leadsByActivitySQL(false, LeadFilter{Source: "Zillow"}), []any{team, now, lead, 0, 0, 51, 0, "Zillow"},
			[]string{leadByID, "LIST SUBQUERY", "COVERING INDEX leads_team_source_activity (team_id=? AND source=? AND last_activity_at>? AND last_activity_at<?)"},
			"USE TEMP B-TREE FOR ORDER BY", ""},
		{"/leads?needs_contact=1", leadsByActivitySQL(true, LeadFilter{NeedsContact: true}), []any{team, now, lead, 0, 0, 51, 0},
			[]string{leadByID, "LIST SUBQUERY", "COVERING INDEX leads_team_needs_contact (team_id=? AND last_activity_at>? AND last_activity_at<?)"},
			"USE TEMP B-TREE FOR ORDER BY", ""},
		{"/leads, both filters", leadsByActivitySQL(false, LeadFilter{Source: "Zillow", NeedsContact: true}), []any{team, now, lead, 0, 0, 51, 0, "Zillow"},
			[]string{leadByID, "LIST SUBQUERY", "INDEX leads_team_needs_contact (team_id=? AND last_activity_at>? AND last_activity_at<?)"},
			"USE TEMP B-TREE FOR ORDER BY", ""},
		// The hot leads are read in hot_until order and sorted: they are
		// few, so the sort's second line is allowed here alone.
		{"/leads?hot=1", leadsByActivitySQL(false, LeadFilter{Hot: true}), []any{team, now, lead, 0, 0, 51, 0, now},
			[]string{leadByID, "LIST SUBQUERY", "COVERING INDEX leads_team_hot (team_id=? AND hot_until>?)"}, "USE TEMP B-TREE FOR ORDER BY", ""},
		{"/leads?hot=1&source=&needs_contact=1", leadsByActivitySQL(true, LeadFilter{Hot: true, Source: "Zillow", NeedsContact: true}),
			[]any{team, now, lead, 0, 0, 51, 0, "Zillow", now},
			[]string{leadByID, "LIST SUBQUERY", "INDEX leads_team_hot (team_id=? AND hot_until>?)"}, "USE TEMP B-TREE FOR ORDER BY", ""},
		{"/leads?tests=1", leadsByActivitySQL(false, LeadFilter{Tests: true}), []any{team, now, lead, 0, 0, 51, 0},
			[]string{leadByID, "LIST SUBQUERY", "COVERING INDEX leads_team_test_activity (team_id=? AND last_activity_at>? AND last_activity_at<?)"},
			"USE TEMP B-TREE FOR ORDER BY", ""},
		{"/leads?tests=1&source=", leadsByActivitySQL(false, LeadFilter{Tests: true, Source: "Zillow"}), []any{team, now, lead, 0, 0, 51, 0, "Zillow"},
			[]string{leadByID, "LIST SUBQUERY", "INDEX leads_team_test_activity (team_id=? AND last_activity_at>? AND last_activity_at<?)"},
			"USE TEMP B-TREE FOR ORDER BY", ""},
		// Hot and needs contact: the filter's rowids gathered into a set,
		// the search's matches checked against it (no rowid lookups, 0:=).
		{"search with hot", searchSQL(false, LeadFilter{Hot: true}), []any{team, team<<teamShift | maxLeadID, team << teamShift, 21, 0, `"pool"`, now},
			[]string{leadByID, "LIST SUBQUERY", "SCAN f VIRTUAL TABLE INDEX", ":M", "LIST SUBQUERY", "COVERING INDEX leads_team_hot (team_id=? AND hot_until>?)", "BLOOM FILTER"},
			"", ""},
		// Tests: each test lead looked up in the search index by rowid
		// (0:=M), then sorted by id.
		{"search with tests, newer page", searchSQL(true, LeadFilter{Tests: true, Source: "Zillow"}),
			[]any{team, team<<teamShift | maxLeadID, team<<teamShift | lead, 21, 0, `"pool"`, "Zillow"},
			[]string{leadByID, "LIST SUBQUERY", "INDEX leads_team_test_activity (team_id=?)", "SCAN leads_fts VIRTUAL TABLE INDEX 0:=M"},
			"USE TEMP B-TREE FOR ORDER BY", ""},
		{"search count with tests", filteredMatchCountSQL(LeadFilter{Tests: true}), []any{`"pool"`, team << teamShift, (team + 1) << teamShift, 20},
			[]string{"COVERING INDEX leads_team_test_activity (team_id=?)", "SCAN leads_fts VIRTUAL TABLE INDEX 0:=M"}, "", ""},
		{"search count with hot", filteredMatchCountSQL(LeadFilter{Hot: true}), []any{`"pool"`, team << teamShift, (team + 1) << teamShift, 10000, now},
			[]string{"SCAN f VIRTUAL TABLE INDEX 0:M", "LIST SUBQUERY", "COVERING INDEX leads_team_hot (team_id=? AND hot_until>?)", "BLOOM FILTER"}, "", ""},
		{"filter count, needs contact and source", filterCountSQL(LeadFilter{NeedsContact: true, Source: "Zillow"}), []any{team, 1000, "Zillow"},
			[]string{"INDEX leads_team_needs_contact (team_id=?)"}, "", ""},
		{"filter count, hot", filterCountSQL(LeadFilter{Hot: true}), []any{team, 1000, now},
			[]string{"COVERING INDEX leads_team_hot (team_id=? AND hot_until>?)"}, "", ""},
		{"filter count, tests", filterCountSQL(LeadFilter{Tests: true}), []any{team, 1000},
			[]string{"COVERING INDEX leads_team_test_activity (team_id=?)"}, "", ""},
		{"search with a filter", searchSQL(false, LeadFilter{Source: "Zillow"}), []any{team, team<<teamShift | maxLeadID, team << teamShift, 21, 0, `"gmail"`, "Zillow"},
			[]string{leadByID, "LIST SUBQUERY", "SCAN f VIRTUAL TABLE INDEX", ":M", "CORRELATED SCALAR SUBQUERY", "SEARCH leads USING INTEGER PRIMARY KEY"}, "", ""},
		{"search count with a filter", filteredMatchCountSQL(LeadFilter{Source: "Zillow"}), []any{`"gmail"`, team << teamShift, (team + 1) << teamShift, 10000, "Zillow"},
			[]string{"SCAN f VIRTUAL TABLE INDEX", ":M", "SEARCH leads USING INTEGER PRIMARY KEY"}, "", ""},
		{"search count with needs contact", filteredMatchCountSQL(LeadFilter{NeedsContact: true}), []any{`"gmail"`, team << teamShift, (team + 1) << teamShift, 10000},
			[]string{"SCAN f VIRTUAL TABLE INDEX 0:M", "LIST SUBQUERY", "COVERING INDEX leads_team_needs_contact (team_id=?)", "BLOOM FILTER"}, "", ""},
		{"filter count, source", filterCountSQL(LeadFilter{Source: "Zillow"}), []any{team, 1000, "Zillow"},
			[]string{"COVERING INDEX leads_team_source_activity (team_id=? AND source=?)"}, "", ""},
		{"filter count, needs contact", filterCountSQL(LeadFilter{NeedsContact: true}), []any{team, 1000},
			[]string{"COVERING INDEX leads_team_needs_contact (team_id=?)"}, "", ""},
		{"lead count", leadCountSQL, []any{team}, []string{"SEARCH teams USING INTEGER PRIMARY KEY"}, "", ""},
		{"visits of a page of leads", visitsOfLeadsSQL(50), visits,
			[]string{"SEARCH v USING INDEX visitors_lead (lead_id=?)", "SEARCH s USING PRIMARY KEY (visitor_id=?)"}, "", ""},
		{"one lead", leadSQL, []any{lead, team}, []string{"SEARCH l USING INTEGER PRIMARY KEY"}, "", ""},
		{"a lead's tracked links", trackedLinksSQL, []any{lead, team, 10}, []string{"SEARCH l USING INDEX tracked_links_lead (lead_id=?)"}, "", ""},
		{"a lead's page view count", leadViewCountSQL, []any{team, lead},
			[]string{"SEARCH v USING INDEX visitors_lead (lead_id=?)", "SEARCH p USING COVERING INDEX page_views_visitor_time (visitor_id=?)"}, "", ""},
		{"a lead's latest page views", leadViewsSQL, []any{team, lead, 200},
			[]string{"SEARCH v USING INDEX visitors_lead (lead_id=?)", "SEARCH l USING INTEGER PRIMARY KEY", "SEARCH p USING INTEGER PRIMARY KEY",
				"CORRELATED LIST SUBQUERY", "page_views_visitor_time (visitor_id=?)"}, "USE TEMP B-TREE FOR ORDER BY", ""},
		{"tracker card: last event, last 24 h", trackerStatsSQL, []any{team, now - 86400},
			[]string{"page_views_team_recent (team_id=?)", "page_views_team_recent (team_id=? AND created_at>?)"}, "", ""},
		{"tracker card: anonymous visitors", anonymousVisitorsSQL, []any{team, 10},
			[]string{"SEARCH v USING INDEX visitors_team_anonymous (team_id=?)", "page_views_visitor_time (visitor_id=?)", "page_views_visitor_time (visitor_id=?)"},
			"USE TEMP B-TREE FOR LAST TERM OF ORDER BY", ""},
		{"recent_visitors count", recentVisitorCountSQL, []any{team, now - 720*3600},
			[]string{"visitors_team_recent (team_id=? AND last_seen>?)"}, "", ""},
		{"recent_visitors", recentVisitorsSQL, []any{team, now - 720*3600, 50},
			[]string{"SEARCH v USING INDEX visitors_team_recent (team_id=? AND last_seen>?)", "SEARCH l USING INTEGER PRIMARY KEY",
				"SEARCH last USING INTEGER PRIMARY KEY", "page_views_visitor_time (visitor_id=?)", "page_views_visitor_time (visitor_id=? AND created_at>?)"},
			"USE TEMP B-TREE FOR LAST TERM OF ORDER BY", ""},
		{"pipeline_summary", leadDaysSQL, []any{team, now/day - 365, now/day + 1},
			[]string{"SEARCH lead_days USING PRIMARY KEY (team_id=? AND day>? AND day<?)"}, "", ""},
		{"keys card", apiKeysSQL, []any{team, now}, []string{"SEARCH k USING INDEX api_keys_team_active (team_id=?)"}, "", ""},
		{"tracked domains", trackedDomainsSQL, []any{team}, []string{"sqlite_autoindex_tracked_domains_1 (team_id=?)"}, "", ""},
		{"signed-in agent", sessionAgentSQL, []any{[]byte("h"), now}, []string{"SEARCH s USING PRIMARY KEY (hash=?)"}, "", ""},
		{"login", agentByEmailSQL, []any{"a@example.com"}, []string{"sqlite_autoindex_agents_1 (email=?)"}, "", ""},
		{"teams waiting for a lead (at start)", pendingTeamsSQL, nil,
			[]string{"visitors_pending_email", "visitors_pending_phone"}, "", "USING INDEX visitors_pending_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := explain(t, db, tc.query, tc.args...)
			rest := plan
			for _, w := range tc.want {
				if w == leadByID {
					w = leadByIDRE.FindString(rest)
				}
				i := strings.Index(rest, w)
				if i < 0 || w == "" {
					t.Fatalf("plan lacks %q (or has it out of order):\n%s", w, plan)
				}
				rest = rest[i+len(w):]
			}
			for _, line := range strings.Split(plan, "\n") {
				if m := fullReadRE.FindString(line); m != "" && (tc.scan == "" || !strings.Contains(line, tc.scan)) {
					t.Errorf("reads a whole table or index: %q\n%s", line, plan)
				}
				if strings.Contains(line, "USE TEMP B-TREE") && line != tc.sort {
					t.Errorf("sorts: %q\n%s", line, plan)
				}
			}
		})
	}
}

// fullReadRE is a plan line that reads one of the tables that grow with a
// team (by name or by the aliases the queries give them) from end to end.
var fullReadRE = regexp.MustCompile(`^SCAN (leads|l|submissions|s|visitors|v|page_views|p|last|visit_starts|lead_days|web_sessions)\b`)

// leadByID stands for a lead read by its id: by rowid, or by team and id.
const leadByID = "(lead by id)"

var leadByIDRE = regexp.MustCompile(`SEARCH l USING (INTEGER PRIMARY KEY \(rowid=\?\)|INDEX leads_team_recent \(team_id=\? AND id=\?\))`)

func explain(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n")
}

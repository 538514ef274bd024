package store

import (
	"closr/store/storetest"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// openTestDBWith opens a fresh database with options in the test's
// temporary directory.
func openTestDBWith(t *testing.T, opt Options) *DB {
	t.Helper()
	db, err := OpenWith(context.Background(), storetest.Addr(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func addTeam(t *testing.T, db *DB, email string) Agent {
	t.Helper()
	a, err := db.CreateTeamWithOwner(context.Background(), "Team "+email, NewAgent{Name: "Agent " + email, Email: email, PasswordHash: []byte("hash")})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// addKey makes an intake key for the agent's team.
func addKey(t *testing.T, db *DB, a Agent) APIKey {
	t.Helper()
	k, _, err := db.CreateAPIKey(context.Background(), a.TeamID, a.ID, "site", AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func addLead(t *testing.T, db *DB, team int64, name, email, phone, source string, at time.Time) int64 {
	t.Helper()
	res, err := db.IngestLead(context.Background(), LeadInput{TeamID: team, Name: name, Email: email, Phone: phone,
		Source: source, Raw: []byte("{}"), At: at})
	if err != nil {
		t.Fatal(err)
	}
	return res.LeadID
}

func ids(leads []Lead) []int64 {
	out := make([]int64, len(leads))
	for i, l := range leads {
		out[i] = l.ID
	}
	return out
}

// TestLeadPages: keyset pages by latest activity from either end and from
// any lead, skips near the ends, one team's leads only, and the count kept
// by a trigger.
func TestLeadPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	ana, bob := addTeam(t, db, "ana@example.com"), addTeam(t, db, "bob@example.com")
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var all []int64 // Ana's, oldest first
	at := map[int64]time.Time{}
	for i := range 25 {
		// The first two share a time: the larger id comes first.
		when := t0.Add(time.Duration(max(i, 1)) * time.Minute)
		id := addLead(t, db, ana.TeamID, "", fmt.Sprintf("a%d@example.com", i), "", "Web", when)
		all, at[id] = append(all, id), when
		addLead(t, db, bob.TeamID, "", fmt.Sprintf("b%d@example.com", i), "", "Web", t0) // interleaved ids
	}
	// A repeat enquiry moves the fourth lead to the top.
	repeat := addLead(t, db, ana.TeamID, "", "a3@example.com", "", "Web", t0.Add(time.Hour))
	if repeat != all[3] {
		t.Fatalf("the repeat enquiry made lead %d, want %d", repeat, all[3])
	}
	at[repeat] = t0.Add(time.Hour)
	newest := slices.DeleteFunc(slices.Clone(all), func(id int64) bool { return id == repeat })
	slices.Reverse(newest)
	newest = append([]int64{repeat}, newest...)
	cur := func(id int64) LeadCursor { return LeadCursor{at[id].Unix(), id} }
	for _, tc := range []struct {
		name string
		r    LeadRange
		want []int64
	}{
		{"first page", LeadRange{Limit: 10}, newest[:10]},
		{"older than the 10th", LeadRange{Before: cur(newest[9]), Limit: 10}, newest[10:20]},
		{"newer than the 20th: the page just above it", LeadRange{After: cur(newest[19]), Limit: 10}, newest[9:19]},
		{"skip 20 from the newest", LeadRange{Skip: 20, Limit: 10}, newest[20:]},
		{"the oldest page", LeadRange{Oldest: true, Limit: 10}, newest[15:]},
		{"skip 10 from the oldest", LeadRange{Oldest: true, Skip: 10, Limit: 10}, newest[5:15]},
		{"past the end", LeadRange{Before: cur(newest[24]), Limit: 10}, nil},
	} {
		got, err := db.Leads(ctx, ana.TeamID, "", tc.r)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, ids(got), tc.want)
		}
	}
	if _, err := db.Leads(ctx, ana.TeamID, "", LeadRange{Skip: MaxSkip + 1, Limit: 10}); !errors.Is(err, ErrSkipTooFar) {
		t.Errorf("skip past MaxSkip: %v, want ErrSkipTooFar", err)
	}
	if n, _, err := db.CountLeads(ctx, ana.TeamID, "", LeadFilter{}, 0); n != 25 || err != nil {
		t.Errorf("count = %d, %v; want 25", n, err)
	}
}

// TestSearch: what a search finds (any part of three characters or more of
// name, email, phone or source; case and accents ignored; the phone by its
// digits), in one team only, newest first, and that the index follows
// changes made in any transaction.
func TestSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	ana, bob := addTeam(t, db, "ana@example.com"), addTeam(t, db, "bob@example.com")
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	jose := addLead(t, db, ana.TeamID, "José Núñez", "jose@example.com", "+15551234567", "Zillow", at)
	pat := addLead(t, db, ana.TeamID, "Pat 100% Seller", "pat@example.org", "+442071234567", "Open house", at)
	bobs := addLead(t, db, bob.TeamID, "Jose Other", "jose@bob.example", "+15551234567", "Zillow", at)
	for _, tc := range []struct {
		text string
		want []int64
	}{
		{"jose", []int64{jose}},
		{"NUÑEZ", []int64{jose}},
		{"nunez", []int64{jose}},
		{"example", []int64{pat, jose}},
		{"(555) 123-4567", []int64{jose}},
		{"555 1234", []int64{jose}},
		{"20 7123", []int64{pat}},
		{"100%", []int64{pat}},
		{"0% S", []int64{pat}},
		{"open h", []int64{pat}},
		{`"quoted" OR x*`, nil}, // FTS5 syntax is taken literally
		{"nobody", nil},
	} {
		got, err := db.Leads(ctx, ana.TeamID, tc.text, LeadRange{Limit: 10})
		if err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("search %q = %v, want %v", tc.text, ids(got), tc.want)
		}
		if n, _, err := db.CountLeads(ctx, ana.TeamID, tc.text, LeadFilter{}, 100); n != len(tc.want) || err != nil {
			t.Errorf("count %q = %d, %v; want %d", tc.text, n, err, len(tc.want))
		}
	}
	if got, _ := db.Leads(ctx, bob.TeamID, "jose", LeadRange{Limit: 10}); !slices.Equal(ids(got), []int64{bobs}) {
		t.Errorf("Bob's search = %v, want only his lead %d", ids(got), bobs)
	}
	for _, short := range []string{"jo", " é ", "55"} {
		if _, err := db.Leads(ctx, ana.TeamID, short, LeadRange{Limit: 10}); !errors.Is(err, ErrSearchTooShort) {
			t.Errorf("search %q: %v, want ErrSearchTooShort", short, err)
		}
	}
	// Counting stops at upTo.
	if n, _, _ := db.CountLeads(ctx, ana.TeamID, "example", LeadFilter{}, 1); n != 1 {
		t.Errorf("count up to 1 = %d", n)
	}

	// A later submission fills the blank name; the index follows, and
	// nothing is left waiting once the write is committed.
	blank := addLead(t, db, ana.TeamID, "", "lee@example.net", "", "Web", at)
	addLead(t, db, ana.TeamID, "Lee Marvin", "lee@example.net", "", "Web", at)
	if got, _ := db.Leads(ctx, ana.TeamID, "marvin", LeadRange{Limit: 10}); !slices.Equal(ids(got), []int64{blank}) {
		t.Errorf("search for the filled-in name = %v, want %d", ids(got), blank)
	}
	// Changes made outside the ingest path (by hand, with SQL) are indexed
	// too: old words out, new ones in; a deleted lead is gone.
	exec(t, db, `UPDATE leads SET name = 'Joseph Knight', source = 'Referral' WHERE id = ?`, jose)
	exec(t, db, `DELETE FROM submissions WHERE lead_id = ?`, pat)
	exec(t, db, `DELETE FROM leads WHERE id = ?`, pat)
	for text, want := range map[string][]int64{"núñez": nil, "knight": {jose}, "zillow": nil, "referral": {jose}, "seller": nil} {
		if got, _ := db.Leads(ctx, ana.TeamID, text, LeadRange{Limit: 10}); !slices.Equal(ids(got), want) {
			t.Errorf("after the change, search %q = %v, want %v", text, ids(got), want)
		}
	}
	var queued int
	db.r.QueryRow("SELECT count(*) FROM leads_fts_queue").Scan(&queued)
	if queued != 0 {
		t.Errorf("%d leads still wait for the index after their commit", queued)
	}
	if n, _, _ := db.CountLeads(ctx, ana.TeamID, "", LeadFilter{}, 0); n != 2 {
		t.Errorf("count after a delete = %d, want 2", n)
	}
}

// exec runs a statement through the writer, as a hand-made change would.
func exec(t *testing.T, db *DB, query string, args ...any) {
	t.Helper()
	if err := db.write(context.Background(), func(ctx context.Context, tx writeTx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestLeadCountsFollowLeads: pipeline_summary's per-day counts follow new
// leads, a changed source and a deleted lead, per team and UTC day.
func TestLeadCountsFollowLeads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	ana, bob := addTeam(t, db, "ana@example.com"), addTeam(t, db, "bob@example.com")
	d1 := time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC)
	d2 := d1.Add(time.Second)
	addLead(t, db, ana.TeamID, "", "a@example.com", "", "Zillow", d1)
	moved := addLead(t, db, ana.TeamID, "", "b@example.com", "", "Zillow", d2)
	addLead(t, db, ana.TeamID, "", "c@example.com", "", "Web", d2)
	gone := addLead(t, db, ana.TeamID, "", "d@example.com", "", "Web", d2)
	addLead(t, db, bob.TeamID, "", "a@example.com", "", "Zillow", d2)
	exec(t, db, `UPDATE leads SET source = 'Referral' WHERE id = ?`, moved)
	exec(t, db, `DELETE FROM submissions WHERE lead_id = ?`, gone)
	exec(t, db, `DELETE FROM leads WHERE id = ?`, gone)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	bySource, byDay, err := db.LeadCounts(ctx, ana.TeamID, from, from.AddDate(0, 0, 2), 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Count{{"Referral", 1}, {"Web", 1}, {"Zillow", 1}}; !slices.Equal(bySource, want) {
		t.Errorf("by source = %v, want %v", bySource, want)
	}
	if want := []Count{{"2026-03-01", 1}, {"2026-03-02", 2}}; !slices.Equal(byDay, want) {
		t.Errorf("by day = %v, want %v", byDay, want)
	}
	if _, byDay, _ := db.LeadCounts(ctx, ana.TeamID, from, from.AddDate(0, 0, 1), 10); !slices.Equal(byDay, []Count{{"2026-03-01", 1}}) {
		t.Errorf("first day only = %v", byDay)
	}
}

// TestVisitsMatchTheirDefinition: the visits counted from the starts the
// trigger records equal those a window over every page view finds (a view
// starts a visit when it is its visitor's first or comes VisitGap or more
// after the one before), for views arriving in time order.
func TestVisitsMatchTheirDefinition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	a := addTeam(t, db, "ana@example.com")
	rnd := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var leads []int64
	for i := range 4 {
		leads = append(leads, addLead(t, db, a.TeamID, "", fmt.Sprintf("v%d@example.com", i), "", "Web", t0))
	}
	type view struct {
		vid string
		at  time.Time
	}
	var views []view
	for v := range 8 {
		at := t0
		for range 40 {
			// Gaps around VisitGap, and some views in the same second.
			at = at.Add([]time.Duration{0, time.Minute, VisitGap - time.Second, VisitGap, 3 * time.Hour}[rnd.IntN(5)])
			views = append(views, view{fmt.Sprintf("visitor-%d", v), at})
		}
	}
	slices.SortStableFunc(views, func(x, y view) int { return x.at.Compare(y.at) })
	for _, v := range views {
		if err := db.RecordPageView(ctx, PageViewInput{TeamID: a.TeamID, VisitorID: v.vid, URL: "https://ana.example/", At: v.at}); err != nil {
			t.Fatal(err)
		}
	}
	for v := range 8 { // two visitors per lead
		exec(t, db, `UPDATE visitors SET lead_id = ? WHERE vid = ?`, leads[v/2], fmt.Sprintf("visitor-%d", v))
	}
	got, err := db.VisitsOfLeads(ctx, a.TeamID, leads)
	if err != nil {
		t.Fatal(err)
	}
	// Every visit start of each lead, newest first.
	rows, err := db.r.Query(`SELECT lead_id, at FROM (SELECT v.lead_id, p.created_at AS at,
			CASE WHEN lag(p.created_at) OVER w IS NULL OR p.created_at - lag(p.created_at) OVER w >= ?1 THEN 1 ELSE 0 END AS starts
			FROM visitors v JOIN page_views p ON p.visitor_id = v.id WHERE v.team_id = ?2
			WINDOW w AS (PARTITION BY p.visitor_id ORDER BY p.created_at, p.id)) AS views
		WHERE starts = 1 ORDER BY at DESC`, int64(VisitGap/time.Second), a.TeamID)
	if err != nil {
		t.Fatal(err)
	}
	starts := map[int64][]int64{}
	for rows.Next() {
		var id, at int64
		rows.Scan(&id, &at)
		starts[id] = append(starts[id], at)
	}
	rows.Close()
	want := map[int64]int{}
	for id, s := range starts {
		want[id] = len(s)
	}
	if len(want) != len(leads) || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("visits = %v, want %v", got, want)
	}
	// Hot until HotWindow after the third latest visit started, kept by
	// the triggers although the visitors were tied to their leads after
	// their page views.
	for _, id := range leads {
		l, err := db.Lead(ctx, a.TeamID, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Unix(starts[id][HotVisits-1], 0).Add(HotWindow).UTC(); !l.HotUntil.Equal(want) {
			t.Errorf("lead %d hot until %v, want %v", id, l.HotUntil, want)
		}
	}
}

// TestReadsHaveADeadline: every read the pages and tools make stops at the
// read deadline, and says storage is unavailable.
func TestReadsHaveADeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDBWith(t, Options{ReadTimeout: time.Nanosecond})
	a := addTeam(t, db, "ana@example.com")
	id := addLead(t, db, a.TeamID, "Jo", "jo@example.com", "", "Web", time.Now())
	now := time.Now()
	for name, read := range map[string]func() error{
		"Lead":              func() error { _, err := db.Lead(ctx, a.TeamID, id); return err },
		"LeadSubmissions":   func() error { _, err := db.LeadSubmissions(ctx, a.TeamID, id, 0, 20); return err },
		"SubmissionRaw":     func() error { _, err := db.SubmissionRaw(ctx, a.TeamID, id, 1, 100); return err },
		"TrackedLinks":      func() error { _, err := db.TrackedLinks(ctx, a.TeamID, id, 10); return err },
		"TeamEvents":        func() error { _, err := db.TeamEvents(ctx, a.TeamID, EventFilter{Limit: 8}); return err },
		"Members":           func() error { _, err := db.Members(ctx, a.TeamID); return err },
		"OpenInvitations":   func() error { _, err := db.OpenInvitations(ctx, a.TeamID); return err },
		"DepartedKeys":      func() error { _, err := db.DepartedKeys(ctx, a.TeamID); return err },
		"Invitation":        func() error { _, err := db.Invitation(ctx, "token"); return err },
		"Leads":             func() error { _, err := db.Leads(ctx, a.TeamID, "", LeadRange{Limit: 10}); return err },
		"Leads, a search":   func() error { _, err := db.Leads(ctx, a.TeamID, "example", LeadRange{Limit: 10}); return err },
		"CountLeads":        func() error { _, _, err := db.CountLeads(ctx, a.TeamID, "", LeadFilter{}, 0); return err },
		"VisitsOfLeads":     func() error { _, err := db.VisitsOfLeads(ctx, a.TeamID, []int64{id}); return err },
		"PagesViewedByLead": func() error { _, _, err := db.PagesViewedByLead(ctx, a.TeamID, id, 10); return err },
		"TrackerStats":      func() error { _, err := db.TrackerStats(ctx, a.TeamID, now); return err },
		"AnonymousVisitors": func() error { _, err := db.AnonymousVisitors(ctx, a.TeamID, 10); return err },
		"RecentVisitors":    func() error { _, _, err := db.RecentVisitors(ctx, a.TeamID, now, 10); return err },
		"LeadCounts":        func() error { _, _, err := db.LeadCounts(ctx, a.TeamID, now, now, 10); return err },
		"APIKeys":           func() error { _, err := db.APIKeys(ctx, a.TeamID); return err },
		"TrackedDomains":    func() error { _, err := db.TrackedDomains(ctx, a.TeamID); return err },
		"AgentByEmail":      func() error { _, err := db.AgentByEmail(ctx, "ana@example.com"); return err },
		"SessionAgent": func() error {
			_, err := db.SessionAgent(ctx, "token", SessionRules{Lifetime: time.Hour, Idle: time.Hour})
			return err
		},
	} {
		if err := read(); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s past its deadline: %v, want ErrUnavailable and DeadlineExceeded", name, err)
		}
	}
}

// TestReadStopsWhenContextEnds: a statement that would run for minutes
// stops when its context is cancelled (a client gone) and, with no
// deadline of the caller's, at the read deadline.
func TestReadStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	db := openTestDBWith(t, Options{ReadTimeout: 200 * time.Millisecond})
	const endless = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n`
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	for name, c := range map[string]struct {
		ctx  context.Context
		want error
	}{"cancelled": {ctx, context.Canceled}, "no deadline of its own": {context.Background(), context.DeadlineExceeded}} {
		done := make(chan error, 1)
		go func() { _, err := queryOne(c.ctx, db, scanInt, endless); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", name, err, c.want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the statement ran on", name)
		}
	}
}

// TestMigrationBuildsWhatTriggersKeep: a database filled before migration
// 012 gets the same counts, search index and visits as one filled after.
func TestMigrationBuildsWhatTriggersKeep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	steps := []string{`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	for _, name := range names { // in order, up to this one
		v := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		if v == "012_read_scale" {
			break
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, string(body), fmt.Sprintf(`INSERT INTO schema_migrations VALUES ('%s', 0)`, v))
	}
	steps = append(steps,
		`INSERT INTO teams VALUES (1, 'A', 0), (2, 'B', 0)`,
		`INSERT INTO leads (id, team_id, name, email, source, created_at, updated_at) VALUES
			(1, 1, 'Ann Early', 'ann@example.com', 'Web', 86400, 86400), (2, 2, 'Bo', 'bo@example.com', 'Zillow', 86400, 86400),
			(3, 1, 'Cy Late', 'cy@example.com', 'Zillow', 2*86400, 2*86400)`,
		`INSERT INTO visitors (id, team_id, vid, lead_id, first_seen, last_seen) VALUES (1, 1, 'v1', 1, 0, 9000)`,
		`INSERT INTO page_views (team_id, visitor_id, url, created_at) VALUES (1, 1, 'u', 100), (1, 1, 'u', 200), (1, 1, 'u', 5000), (1, 1, 'u', 9000)`)
	for _, s := range steps {
		if _, err := old.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, _, _ := db.CountLeads(ctx, 1, "", LeadFilter{}, 0); n != 2 {
		t.Errorf("team 1 count = %d, want 2", n)
	}
	if got, _ := db.Leads(ctx, 1, "late", LeadRange{Limit: 10}); !slices.Equal(ids(got), []int64{3}) {
		t.Errorf("search after the migration = %v, want lead 3", ids(got))
	}
	bySource, _, _ := db.LeadCounts(ctx, 1, time.Unix(0, 0), time.Unix(3*86400, 0), 10)
	if want := []Count{{"Web", 1}, {"Zillow", 1}}; !slices.Equal(bySource, want) {
		t.Errorf("by source = %v, want %v", bySource, want)
	}
	if v, _ := db.VisitsOfLeads(ctx, 1, []int64{1}); v[1] != 3 {
		t.Errorf("visits = %d, want 3", v[1])
	}
	// Migration 019 set hot_until from the visits already there: the
	// third latest started at 100.
	if l, _ := db.Lead(ctx, 1, 1); !l.HotUntil.Equal(time.Unix(100, 0).Add(HotWindow)) {
		t.Errorf("hot until %v after the migration, want %v", l.HotUntil, time.Unix(100, 0).Add(HotWindow))
	}
}

// TestOptimizeGathersStatistics: once a table has grown, Optimize gives
// the planner statistics for it, within analysisLimit rows an index.
func TestOptimizeGathersStatistics(t *testing.T) {
	storetest.SQLiteOnly(t, "reads sqlite_stat1")
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	a := addTeam(t, db, "ana@example.com")
	stat := func() string {
		var s string
		db.r.QueryRow("SELECT coalesce((SELECT stat FROM sqlite_stat1 WHERE idx = 'leads_team_recent'), '')").Scan(&s)
		return s
	}
	if s := stat(); s != "" {
		t.Fatalf("statistics of an empty table: %q", s)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 600; i += 8 {
				if _, err := db.IngestLead(ctx, LeadInput{TeamID: a.TeamID, Email: fmt.Sprintf("s%d@example.com", i), Raw: []byte("{}"), At: time.Now()}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := db.Optimize(ctx); err != nil {
		t.Fatal(err)
	}
	var rows, perTeam int
	if _, err := fmt.Sscan(stat(), &rows, &perTeam); err != nil || rows < analysisLimit || perTeam < analysisLimit {
		t.Fatalf("statistics of leads_team_recent after 600 leads: %q, want at least %d rows of one team", stat(), analysisLimit)
	}
}

// TestLeadFilters: a source, the leads that need contact details, both, and
// either with a search: pages by latest activity down the filter's index,
// counted, one team's leads only.
func TestLeadFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	ana, bob := addTeam(t, db, "ana@example.com"), addTeam(t, db, "bob@example.com")
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var zillow, noContact, zillowNoContact []int64 // latest activity first
	for i := range 12 {
		at := t0.Add(time.Duration(12-i) * time.Minute)
		source, email := "Web", fmt.Sprintf("a%d@example.com", i)
		if i%2 == 0 {
			source = "Zillow"
		}
		if i%3 == 0 {
			email = ""
		}
		id := addLead(t, db, ana.TeamID, fmt.Sprintf("Marvin %d", i), email, "", source, at)
		if source == "Zillow" {
			zillow = append(zillow, id)
		}
		if email == "" {
			noContact = append(noContact, id)
		}
		if source == "Zillow" && email == "" {
			zillowNoContact = append(zillowNoContact, id)
		}
		addLead(t, db, bob.TeamID, "Marvin", "", "", "Zillow", at) // Bob's match every filter
	}
	for _, tc := range []struct {
		name string
		text string
		f    LeadFilter
		want []int64
	}{
		{"source", "", LeadFilter{Source: "Zillow"}, zillow},
		{"source, another case", "", LeadFilter{Source: "zillow"}, nil},
		{"needs contact", "", LeadFilter{NeedsContact: true}, noContact},
		{"both", "", LeadFilter{Source: "Zillow", NeedsContact: true}, zillowNoContact},
		// A search's matches come newest first: here, the reverse of activity.
		{"search and source", "marvin", LeadFilter{Source: "Zillow"}, reversed(zillow)},
		{"search and needs contact", "marvin", LeadFilter{NeedsContact: true}, reversed(noContact)},
	} {
		got, err := db.Leads(ctx, ana.TeamID, tc.text, LeadRange{LeadFilter: tc.f, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, ids(got), tc.want)
		}
		if n, _, err := db.CountLeads(ctx, ana.TeamID, tc.text, tc.f, 100); n != len(tc.want) || err != nil {
			t.Errorf("%s: count %d, %v; want %d", tc.name, n, err, len(tc.want))
		}
	}
	if n, _, _ := db.CountLeads(ctx, ana.TeamID, "", LeadFilter{Source: "Zillow"}, 2); n != 2 {
		t.Errorf("count capped at 2 = %d", n)
	}
	// The page below the second Zillow lead, by its place in the list.
	second, err := db.Lead(ctx, ana.TeamID, zillow[1])
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Leads(ctx, ana.TeamID, "", LeadRange{LeadFilter: LeadFilter{Source: "Zillow"}, Before: CursorOf(second), Limit: 2})
	if err != nil || !slices.Equal(ids(got), zillow[2:4]) {
		t.Errorf("page below the second: %v %v, want %v", ids(got), err, zillow[2:4])
	}
}

func reversed(s []int64) []int64 {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

package store

import (
	"closr/store/storetest"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// visit records one page view of the team's visitor vid at at: a visit,
// when the visitor viewed nothing in the VisitGap before.
func visit(t *testing.T, db *DB, team int64, vid string, at time.Time) {
	t.Helper()
	if err := db.RecordPageView(context.Background(), PageViewInput{TeamID: team, VisitorID: vid, URL: "https://ana.example/", At: at}); err != nil {
		t.Fatal(err)
	}
}

// TestHotFilter: ?hot=1 lists the leads with HotVisits visits in the last
// HotWindow, by latest activity, whichever way their visitor was tied to
// them (a form carrying the visitor id, before or after the visits;
// identify), never a test lead, never another team's; and a lead cools
// down once its third latest visit is older than the window.
func TestHotFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db := openTestDBWith(t, Options{Now: clock})
	ana, bo := addTeam(t, db, "ana@example.com"), addTeam(t, db, "bo@example.com")
	threeVisits := func(team int64, vid string, from time.Time) {
		for i := range 3 {
			visit(t, db, team, vid, from.Add(time.Duration(i)*2*time.Hour))
		}
	}
	ingest := func(in LeadInput) int64 {
		t.Helper()
		in.Raw, in.At = []byte("{}"), now.Add(-48*time.Hour)
		res, err := db.IngestLead(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return res.LeadID
	}
	// Visits first, then the form that names the visitor.
	threeVisits(ana.TeamID, "v-first", now.Add(-3*24*time.Hour))
	first := ingest(LeadInput{TeamID: ana.TeamID, Email: "first@example.com", Source: "Web", VisitorID: "v-first"})
	// The form first, then the visits.
	second := ingest(LeadInput{TeamID: ana.TeamID, Email: "second@example.com", Source: "Zillow", VisitorID: "v-second"})
	threeVisits(ana.TeamID, "v-second", now.Add(-24*time.Hour))
	// Identified after its visits.
	third := ingest(LeadInput{TeamID: ana.TeamID, Email: "third@example.com", Source: "Web"})
	threeVisits(ana.TeamID, "v-third", now.Add(-2*24*time.Hour))
	if _, err := db.Identify(ctx, IdentifyInput{TeamID: ana.TeamID, VisitorID: "v-third", Email: "third@example.com", At: now}); err != nil {
		t.Fatal(err)
	}
	// Two visits only; three, but a test lead; three, the other team's.
	cool := ingest(LeadInput{TeamID: ana.TeamID, Email: "cool@example.com", Source: "Web", VisitorID: "v-cool"})
	visit(t, db, ana.TeamID, "v-cool", now.Add(-time.Hour))
	visit(t, db, ana.TeamID, "v-cool", now.Add(-5*time.Hour))
	test := ingest(LeadInput{TeamID: ana.TeamID, Email: "test@example.com", Source: "Web", VisitorID: "v-test", Test: true})
	threeVisits(ana.TeamID, "v-test", now.Add(-24*time.Hour))
	other := ingest(LeadInput{TeamID: bo.TeamID, Email: "other@example.com", Source: "Web", VisitorID: "v-other"})
	threeVisits(bo.TeamID, "v-other", now.Add(-24*time.Hour))

	list := func(team int64, text string, f LeadFilter) []int64 {
		t.Helper()
		got, err := db.Leads(ctx, team, text, LeadRange{LeadFilter: f, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range got {
			if !l.Hot(now) && f.Hot {
				t.Errorf("lead %d listed as hot is not Hot at now (until %v)", l.ID, l.HotUntil)
			}
		}
		return ids(got)
	}
	// Latest activity first: the second's visits are the latest.
	if got, want := list(ana.TeamID, "", LeadFilter{Hot: true}), []int64{second, third, first}; !slices.Equal(got, want) {
		t.Errorf("hot = %v, want %v (cool %d, test %d)", got, want, cool, test)
	}
	if n, _, _ := db.CountLeads(ctx, ana.TeamID, "", LeadFilter{Hot: true}, 100); n != 3 {
		t.Errorf("hot count = %d, want 3", n)
	}
	if got := list(bo.TeamID, "", LeadFilter{Hot: true}); !slices.Equal(got, []int64{other}) {
		t.Errorf("the other team's hot = %v, want %v", got, []int64{other})
	}
	if got := list(ana.TeamID, "", LeadFilter{Hot: true, Source: "Zillow"}); !slices.Equal(got, []int64{second}) {
		t.Errorf("hot from Zillow = %v, want %v", got, []int64{second})
	}
	if got := list(ana.TeamID, "third@", LeadFilter{Hot: true}); !slices.Equal(got, []int64{third}) {
		t.Errorf("hot matching third@ = %v, want %v", got, []int64{third})
	}
	if got := list(ana.TeamID, "cool@", LeadFilter{Hot: true}); len(got) != 0 {
		t.Errorf("hot matching cool@ = %v, want none", got)
	}
	if n, _, _ := db.CountLeads(ctx, ana.TeamID, "example", LeadFilter{Hot: true}, 100); n != 3 {
		t.Errorf("hot search count = %d, want 3", n)
	}
	// A real submission makes the test lead real, and hot.
	ingest(LeadInput{TeamID: ana.TeamID, Email: "test@example.com", Source: "Web"})
	if got := list(ana.TeamID, "", LeadFilter{Hot: true}); !slices.Contains(got, test) {
		t.Errorf("hot after the test lead became real = %v, want %d in it", got, test)
	}
	// The first's third latest visit was 3 days ago: 4 days later it has
	// cooled down, the second (a day ago) is still hot.
	now = now.Add(4*24*time.Hour + 3*time.Hour)
	if got := list(ana.TeamID, "", LeadFilter{Hot: true}); slices.Contains(got, first) || !slices.Contains(got, second) {
		t.Errorf("hot 4 days later = %v, want %d gone and %d still there", got, first, second)
	}
	// One return visit is two in the window; two make it hot again.
	visit(t, db, ana.TeamID, "v-first", now.Add(-time.Hour))
	if got := list(ana.TeamID, "", LeadFilter{Hot: true}); slices.Contains(got, first) {
		t.Errorf("hot after one return visit = %v, want %d not in it", got, first)
	}
	visit(t, db, ana.TeamID, "v-first", now)
	if got := list(ana.TeamID, "", LeadFilter{Hot: true}); !slices.Contains(got, first) {
		t.Errorf("hot after two return visits = %v, want %d in it", got, first)
	}
}

// TestTestsFilter: ?tests=1 lists the test leads alone, by latest activity,
// the team's only; a lead made real leaves it.
func TestTestsFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	ana, bo := addTeam(t, db, "ana@example.com"), addTeam(t, db, "bo@example.com")
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ingest := func(team int64, email string, test bool, at time.Time) int64 {
		t.Helper()
		res, err := db.IngestLead(ctx, LeadInput{TeamID: team, Email: email, Source: "Closr test", Test: test, Raw: []byte("{}"), At: at})
		if err != nil {
			t.Fatal(err)
		}
		return res.LeadID
	}
	t1 := ingest(ana.TeamID, "t1@example.com", true, t0)
	ingest(ana.TeamID, "real@example.com", false, t0.Add(time.Minute))
	t2 := ingest(ana.TeamID, "t2@example.com", true, t0.Add(2*time.Minute))
	t3 := ingest(ana.TeamID, "t3@example.com", true, t0.Add(3*time.Minute))
	ingest(bo.TeamID, "t@example.com", true, t0)
	list := func(r LeadRange) []int64 {
		t.Helper()
		r.Tests, r.Limit = true, 10
		got, err := db.Leads(ctx, ana.TeamID, "", r)
		if err != nil {
			t.Fatal(err)
		}
		return ids(got)
	}
	if got, want := list(LeadRange{}), []int64{t3, t2, t1}; !slices.Equal(got, want) {
		t.Errorf("tests = %v, want %v", got, want)
	}
	// Keyset pages hold: below t3, and above t1.
	if got, want := list(LeadRange{Before: LeadCursor{t0.Add(3 * time.Minute).Unix(), t3}}), []int64{t2, t1}; !slices.Equal(got, want) {
		t.Errorf("tests below t3 = %v, want %v", got, want)
	}
	if got, want := list(LeadRange{After: LeadCursor{t0.Unix(), t1}}), []int64{t3, t2}; !slices.Equal(got, want) {
		t.Errorf("tests above t1 = %v, want %v", got, want)
	}
	if n, _, _ := db.CountLeads(ctx, ana.TeamID, "", LeadFilter{Tests: true}, 100); n != 3 {
		t.Errorf("tests count = %d, want 3", n)
	}
	if got, err := db.Leads(ctx, ana.TeamID, "t2@", LeadRange{LeadFilter: LeadFilter{Tests: true}, Limit: 10}); err != nil || !slices.Equal(ids(got), []int64{t2}) {
		t.Errorf("tests matching t2@ = %v, %v", ids(got), err)
	}
	// A search with the filter, a page at a time (by lead id).
	search := func(text string, f LeadFilter, r LeadRange) []int64 {
		t.Helper()
		r.LeadFilter, r.Limit = f, 2
		got, err := db.Leads(ctx, ana.TeamID, text, r)
		if err != nil {
			t.Fatal(err)
		}
		return ids(got)
	}
	tests := LeadFilter{Tests: true}
	if got, want := search("example", tests, LeadRange{}), []int64{t3, t2}; !slices.Equal(got, want) {
		t.Errorf("tests matching example, first page = %v, want %v", got, want)
	}
	if got, want := search("example", tests, LeadRange{Before: LeadCursor{ID: t2}}), []int64{t1}; !slices.Equal(got, want) {
		t.Errorf("tests matching example, below t2 = %v, want %v", got, want)
	}
	if got, want := search("example", tests, LeadRange{After: LeadCursor{ID: t1}}), []int64{t3, t2}; !slices.Equal(got, want) {
		t.Errorf("tests matching example, above t1 = %v, want %v", got, want)
	}
	// Needs contact details, searched: by its message.
	res, err := db.IngestLead(ctx, LeadInput{TeamID: ana.TeamID, Name: "Nora", Message: "Call me about the loft", Source: "Web", Raw: []byte("{}"), At: t0})
	if err != nil {
		t.Fatal(err)
	}
	if got := search("the loft", LeadFilter{NeedsContact: true}, LeadRange{}); !slices.Equal(got, []int64{res.LeadID}) {
		t.Errorf("needing contact, matching the loft = %v, want %v", got, []int64{res.LeadID})
	}
	if got := search("t2@", LeadFilter{NeedsContact: true}, LeadRange{}); len(got) != 0 {
		t.Errorf("needing contact, matching t2@ = %v, want none", got)
	}
	if n, _, _ := db.CountLeads(ctx, ana.TeamID, "example", tests, 100); n != 3 {
		t.Errorf("tests matching example counted %d, want 3", n)
	}
	ingest(ana.TeamID, "t2@example.com", false, t0.Add(4*time.Minute)) // a real submission
	if got, want := list(LeadRange{}), []int64{t3, t1}; !slices.Equal(got, want) {
		t.Errorf("tests after t2 became real = %v, want %v", got, want)
	}
}

// TestSearchMessagesAndCustomFields: a search finds a lead by its first
// message, its latest message and its custom fields' values, kept current
// as submissions come, in the team's leads only; a removed lead's words
// leave the index.
func TestSearchMessagesAndCustomFields(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	ana, bo := addTeam(t, db, "ana@example.com"), addTeam(t, db, "bo@example.com")
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ingest := func(team int64, email, message string, custom []Field, test bool) int64 {
		t.Helper()
		res, err := db.IngestLead(ctx, LeadInput{TeamID: team, Email: email, Message: message, Custom: custom, Source: "Web", Test: test,
			Raw: []byte("{}"), At: t0})
		if err != nil {
			t.Fatal(err)
		}
		t0 = t0.Add(time.Minute)
		return res.LeadID
	}
	search := func(team int64, text string) []int64 {
		t.Helper()
		got, err := db.Leads(ctx, team, text, LeadRange{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return ids(got)
	}
	pool := ingest(ana.TeamID, "pool@example.com", "Does 7 Harbor Ln have a heated pool?", []Field{{"Pre-approved with", "Wells Fargo"}}, false)
	ingest(ana.TeamID, "quiet@example.com", "Just browsing", []Field{{"Budget", "$650k"}}, false)
	other := ingest(bo.TeamID, "other@example.com", "Heated pool wanted", []Field{{"Lender", "Wells Fargo"}}, false)
	quiet := pool + 1
	for text, want := range map[string][]int64{
		"heated pool": {pool}, "HARBOR": {pool}, "wells fargo": {pool}, "650k": {quiet}, "Pre-approved": nil, "browsing pool": nil,
	} {
		if got := search(ana.TeamID, text); !slices.Equal(got, want) {
			t.Errorf("search %q = %v, want %v", text, got, want)
		}
	}
	if got := search(bo.TeamID, "heated pool"); !slices.Equal(got, []int64{other}) {
		t.Errorf("the other team's search = %v, want %v", got, []int64{other})
	}
	// A second submission: its message is the latest, the first stays
	// findable, and a new custom field joins.
	ingest(ana.TeamID, "pool@example.com", "Can we see it Saturday morning?", []Field{{"Move-in", "June"}}, false)
	for _, text := range []string{"saturday morning", "heated pool", "june", "wells fargo"} {
		if got := search(ana.TeamID, text); !slices.Equal(got, []int64{pool}) {
			t.Errorf("search %q after a second submission = %v, want %v", text, got, []int64{pool})
		}
	}
	// The third replaces the latest message: the second's words go.
	ingest(ana.TeamID, "pool@example.com", "Sunday works better", nil, false)
	if got := search(ana.TeamID, "saturday"); len(got) != 0 {
		t.Errorf("search for the replaced latest message = %v, want none", got)
	}
	if got := search(ana.TeamID, "sunday works"); !slices.Equal(got, []int64{pool}) {
		t.Errorf("search for the latest message = %v, want %v", got, []int64{pool})
	}
	// A removed test lead's words leave the index.
	test := ingest(ana.TeamID, "t@example.com", "zebra crossing", []Field{{"Colour", "ultramarine"}}, true)
	if got := search(ana.TeamID, "ultramarine"); !slices.Equal(got, []int64{test}) {
		t.Fatalf("search for the test lead = %v", got)
	}
	if _, err := db.DeleteTestLead(ctx, ana.TeamID, test); err != nil {
		t.Fatal(err)
	}
	if got := search(ana.TeamID, "ultramarine"); len(got) != 0 {
		t.Errorf("search for the removed test lead = %v, want none", got)
	}
	// Custom values as written: quotes, accents, one value after another.
	kitchen := ingest(ana.TeamID, "k1@example.com", "", []Field{{"Kitchen", `36" gas range`}, {"Style", "Café au lait"}, {"Plans", `C:\Docs\Offer`}}, false)
	for text, want := range map[string][]int64{`36" gas`: {kitchen}, "cafe au": {kitchen}, "CAFÉ": {kitchen}, `C:\Docs\Off`: {kitchen},
		"range Café": nil, "Kitchen": nil} {
		if got := search(ana.TeamID, text); !slices.Equal(got, want) {
			t.Errorf("search %q = %v, want %v", text, got, want)
		}
	}
	if storetest.Postgres() {
		return // PostgreSQL's index is on the leads rows themselves
	}
	var n int
	if err := db.r.QueryRow(`SELECT count(*) FROM leads_fts WHERE leads_fts MATCH '"ultramarine" OR "zebra"'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("index entries of the removed lead = %d, %v; want 0", n, err)
	}
}

// TestSearchColumnsAreTheIndexColumns: searchColumns and migration 019's
// index name the same columns in the same order.
func TestSearchColumnsAreTheIndexColumns(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite's FTS5 index; PostgreSQL's closr_search_text names the same fields")
	t.Parallel()
	db := openTestDB(t)
	rows, err := db.r.Query("SELECT name FROM pragma_table_info('leads_fts')")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got, want []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		got = append(got, n)
	}
	for _, c := range searchColumns {
		want = append(want, c.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("index columns %v, searchColumns %v", got, want)
	}
}

// TestSearchIndexWritesUseIndexes: a transaction's queued leads leave the
// search index by rowid (a lookup each, never a scan of the index) and
// are read back by id; the queue, which holds that transaction's leads
// only, is the one table read whole.
func TestSearchIndexWritesUseIndexes(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite query plans")
	t.Parallel()
	db := openTestDB(t)
	for i, want := range [][]string{
		{"SCAN leads_fts VIRTUAL TABLE INDEX 0:=", "LIST SUBQUERY", "SCAN leads_fts_queue"},
		{"SCAN q", "SEARCH l USING INTEGER PRIMARY KEY (rowid=?)"},
	} {
		plan := explain(t, db.r, indexQueueSQL[i])
		rest := plan
		for _, w := range want {
			j := strings.Index(rest, w)
			if j < 0 {
				t.Fatalf("plan lacks %q (or has it out of order):\n%s", w, plan)
			}
			rest = rest[j+len(w):]
		}
	}
}

// TestHotUntilTriggersUseIndexes: the query every hot_until trigger runs
// (a lead's third latest visit start) reads the lead's visitors and their
// visit starts by index, with the large database's statistics, never a
// whole table; it sorts only the lead's own visit starts.
func TestHotUntilTriggersUseIndexes(t *testing.T) {
	t.Parallel()
	db := planDB(t)
	subquery := regexp.MustCompile(`(?s)\(SELECT s\.at \+ 604800.*?OFFSET 2\)`)
	for _, trigger := range []string{"visit_starts_hot", "visitors_lead_hot", "leads_made_real_hot"} {
		var body string
		if err := db.QueryRow("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", trigger).Scan(&body); err != nil {
			t.Fatalf("%s: %v", trigger, err)
		}
		q := subquery.FindString(body)
		if q == "" {
			t.Fatalf("%s: no third-latest-visit query in\n%s", trigger, body)
		}
		q = strings.NewReplacer("leads.id", "?1", "leads.team_id", "?2").Replace(q[1 : len(q)-1])
		plan := explain(t, db, q, 999_990, 1)
		for _, want := range []string{"SEARCH v USING INDEX visitors_lead (lead_id=?)", "SEARCH s USING PRIMARY KEY (visitor_id=?)", "USE TEMP B-TREE FOR ORDER BY"} {
			if !strings.Contains(plan, want) {
				t.Errorf("%s: plan lacks %q:\n%s", trigger, want, plan)
			}
		}
		for _, line := range strings.Split(plan, "\n") {
			if fullReadRE.MatchString(line) {
				t.Errorf("%s reads a whole table: %q", trigger, line)
			}
		}
	}
}

// A search with a filter counts among the text's first SearchCountWork
// matches only: a common word with few leads passing the filter read every
// match of the word before (0.5 s at a million leads). Past that many
// matches the count is a lower bound and says so; within it, exact.
// Not parallel: it changes SearchCountWork.
func TestSearchWithFilterCountsBoundedWork(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	ana, bo := addTeam(t, db, "ana@example.com"), addTeam(t, db, "bo@example.com")
	// 8 leads asking about the harbor: Zillow's are 0, 3 and 6; 1 and 4
	// came with neither email nor phone.
	for i := range 8 {
		in := LeadInput{TeamID: ana.TeamID, Name: "Buyer", Message: "Is the harbor house still for sale?", Source: "Web", Raw: []byte("{}"), At: time.Now()}
		if i%3 == 0 {
			in.Source = "Zillow"
		}
		if i%3 != 1 {
			in.Email = strings.Repeat("b", i+1) + "@example.com"
		}
		if _, err := db.IngestLead(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	// Another team's Zillow lead about the harbor counts nowhere.
	if _, err := db.IngestLead(ctx, LeadInput{TeamID: bo.TeamID, Email: "x@example.com", Message: "harbor", Source: "Zillow", Raw: []byte("{}"), At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	zillow, noContact := LeadFilter{Source: "Zillow"}, LeadFilter{NeedsContact: true}
	for _, tc := range []struct {
		work    int
		f       LeadFilter
		n       int // exact, or the most a lower bound may say
		atLeast bool
	}{
		{100, zillow, 3, false},
		{100, noContact, 3, false},
		{100, LeadFilter{Source: "Zillow", NeedsContact: true}, 0, false},
		// 4 of the 8 matches looked at (which 4 is the engine's
		// business): a lower bound.
		{4, zillow, 3, true},
		{4, noContact, 3, true},
		{8, zillow, 3, true}, // all 8 looked at: the limit was reached, so maybe more
	} {
		SearchCountWork = tc.work
		n, atLeast, err := db.CountLeads(ctx, ana.TeamID, "harbor", tc.f, 1000)
		exact := !tc.atLeast
		if err != nil || atLeast != tc.atLeast || exact && n != tc.n || n > tc.n {
			t.Errorf("work %d, %+v: %d (at least: %v), %v; want %d (at least: %v)", tc.work, tc.f, n, atLeast, err, tc.n, tc.atLeast)
		}
	}
	SearchCountWork = 10000
	// The cap still holds: two of three is "at least two".
	if n, atLeast, _ := db.CountLeads(ctx, ana.TeamID, "harbor", zillow, 2); n != 2 || !atLeast {
		t.Errorf("capped at 2: %d, %v", n, atLeast)
	}
}

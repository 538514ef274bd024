package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"closr/store"
)

var (
	rowIDRE  = regexp.MustCompile(`data-lead-id="(\d+)"`)
	olderRE  = regexp.MustCompile(`href="([^"]+)" rel="next" data-testid="older"`)
	newerRE  = regexp.MustCompile(`href="([^"]+)" rel="prev" data-testid="newer"`)
	noticeRE = regexp.MustCompile(`data-testid="page-notice">([^<]+)<`)
)

// leadIDs lists the leads a list page shows, in order.
func leadIDs(body string) []string {
	var out []string
	for _, m := range rowIDRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func link(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s link on the page", re)
	}
	return html.UnescapeString(m[1])
}

// TestLeadsPageKeysetAndNumbers: /leads pages by latest activity through
// Older and Newer (a search's matches by lead id), opens numbered pages within store.MaxSkip leads of either end,
// says so for a page past the end or too deep to open by number, and
// searches with ?q=.
func TestLeadsPageKeysetAndNumbers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, _ := e.team("ana@example.com")
	const n = 2300 // 46 pages: the middle ones lie more than MaxSkip leads from both ends
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	ids := make([]int64, n) // by creation
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				name := fmt.Sprintf("Lead %04d", i)
				if i == 1234 {
					name = "Quentin Farquharson"
				}
				res, err := e.db.IngestLead(context.Background(), store.LeadInput{TeamID: team, Name: name,
					Email: fmt.Sprintf("p%04d@example.com", i), Source: "API", Raw: []byte("{}"), At: t0.Add(time.Duration(i) * time.Second)})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = res.LeadID
			}
		}()
	}
	wg.Wait()
	// The list shows leads by latest activity: their times, not their ids
	// (which the workers above shuffled).
	latest := func(from, count int) []string {
		var out []string
		for i := n - 1 - from; i >= max(n-from-count, 0); i-- {
			out = append(out, fmt.Sprint(ids[i]))
		}
		return out
	}
	// A search shows its matches by id, newest first.
	newest := func(from, count int) []string {
		all := slices.Sorted(slices.Values(ids))
		slices.Reverse(all)
		var out []string
		for _, id := range all[from:min(from+count, len(all))] {
			out = append(out, fmt.Sprint(id))
		}
		return out
	}
	same := func(what string, got, want []string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: %d leads %v…, want %d %v…", what, len(got), got[:min(3, len(got))], len(want), want[:min(3, len(want))])
		}
	}

	p1 := c.get("/leads")
	same("page 1", leadIDs(p1.body), latest(0, 50))
	if !strings.Contains(p1.body, "Page 1 of 46") || !strings.Contains(p1.body, "2300 leads") {
		t.Fatal("page 1 does not say where it is")
	}
	p2 := c.get(link(t, olderRE, p1.body))
	same("Older from page 1", leadIDs(p2.body), latest(50, 50))
	if !strings.Contains(p2.body, "Page 2 of 46") {
		t.Fatal("the Older link does not carry the page number")
	}
	back := c.get(link(t, newerRE, p2.body))
	same("Newer from page 2", leadIDs(back.body), latest(0, 50))

	for _, tc := range []struct {
		page int
		from int // position of the page's first lead
	}{{2, 50}, {21, 1000}, {45, 2200}, {46, 2250}} {
		r := c.get(fmt.Sprintf("/leads?page=%d", tc.page))
		if r.StatusCode != http.StatusOK {
			t.Fatalf("page %d: %d", tc.page, r.StatusCode)
		}
		same(fmt.Sprintf("page %d", tc.page), leadIDs(r.body), latest(tc.from, 50))
	}
	// From the last page, Newer walks on by latest activity.
	last := c.get("/leads?page=46")
	same("Newer from the last page", leadIDs(c.get(link(t, newerRE, last.body)).body), latest(2200, 50))

	for _, tc := range []struct {
		path   string
		status int
		notice string
	}{
		{"/leads?page=47", http.StatusNotFound, "There is no page 47: the list ends at page 46."},
		{"/leads?page=23", http.StatusNotFound, "Page 23 is too far from either end of the list to open by number"},
		{fmt.Sprintf("/leads?before=%d.%s", t0.Unix(), latest(n-1, 1)[0]), http.StatusNotFound, "There are no leads past this point of the list."},
		{"/leads?q=ab", http.StatusBadRequest, "Type at least 3 characters to search."},
	} {
		r := c.get(tc.path)
		m := noticeRE.FindStringSubmatch(r.body)
		if r.StatusCode != tc.status || m == nil || !strings.HasPrefix(html.UnescapeString(m[1]), tc.notice) {
			t.Errorf("%s: %d %q, want %d %q", tc.path, r.StatusCode, m, tc.status, tc.notice)
		}
	}
	for _, bad := range []string{"/leads?page=x", "/leads?page=0", "/leads?before=-3", "/leads?after=abc", "/leads?before=12", "/leads?after=1.x"} {
		if r := c.get(bad); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "This list address is not valid") {
			t.Errorf("%s: %d, want 400 saying what is wrong", bad, r.StatusCode)
		}
	}

	found := c.get("/leads?q=farquharson")
	same("search", leadIDs(found.body), []string{fmt.Sprint(ids[1234])})
	if !strings.Contains(found.body, "1 lead matches") {
		t.Fatal("the search does not say how many leads match")
	}
	many := c.get("/leads?q=example.com")
	same("a search matching every lead", leadIDs(many.body), newest(0, 50))
	if !strings.Contains(many.body, "1000 or more leads match") {
		t.Fatal("a common search does not say its count stopped at 1000")
	}
	if older := link(t, olderRE, many.body); !strings.Contains(older, "q=example.com") {
		t.Fatalf("the Older link %q drops the search", older)
	}
}

// TestLeadsPageFilters: ?source= and ?needs_contact=1 narrow the list,
// alone, together and with a search, latest activity first; the count,
// the form and the Older and Newer links keep them, so a view can be
// bookmarked; another team's leads never show.
func TestLeadsPageFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, team, _ := e.team("ana@example.com")
	_, bobTeam, _ := e.team("bob@example.com")
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var zillow, noContact, both []string // latest activity first
	byName := map[int]string{}
	const n = 120
	for i := n - 1; i >= 0; i-- { // oldest first: i is the place in the list
		source, email := "Web", fmt.Sprintf("p%03d@example.com", i)
		if i%2 == 0 {
			source = "Zillow"
		}
		if i%5 == 0 {
			email = ""
		}
		res, err := e.db.IngestLead(context.Background(), store.LeadInput{TeamID: team, Name: fmt.Sprintf("Rowan %03d", i), Email: email,
			Source: source, Message: "Hello", Raw: []byte("{}"), At: t0.Add(time.Duration(n-i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.IngestLead(context.Background(), store.LeadInput{TeamID: bobTeam, Name: "Rowan", Source: "Zillow",
			Message: "Bob's", Raw: []byte("{}"), At: t0.Add(time.Duration(n-i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprint(res.LeadID)
		byName[i] = id
		if source == "Zillow" {
			zillow = append([]string{id}, zillow...)
		}
		if email == "" {
			noContact = append([]string{id}, noContact...)
		}
		if source == "Zillow" && email == "" {
			both = append([]string{id}, both...)
		}
	}
	same := func(what string, got, want []string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: %d leads %v, want %d %v", what, len(got), got, len(want), want)
		}
	}

	z1 := c.get("/leads?source=Zillow")
	same("source", leadIDs(z1.body), zillow[:50])
	if !strings.Contains(z1.body, "60 leads match these filters") || !strings.Contains(z1.body, `name="source" value="Zillow"`) {
		t.Fatal("the source filter's page does not say what it shows, or its form drops the source")
	}
	older := link(t, olderRE, z1.body)
	if !strings.Contains(older, "source=Zillow") {
		t.Fatalf("the Older link %q drops the filter", older)
	}
	z2 := c.get(older)
	same("source, Older", leadIDs(z2.body), zillow[50:])
	same("source, Newer", leadIDs(c.get(link(t, newerRE, z2.body)).body), zillow[:50])

	nc := c.get("/leads?needs_contact=1")
	same("needs contact", leadIDs(nc.body), noContact)
	if !strings.Contains(nc.body, `name="needs_contact" value="1" checked`) {
		t.Fatal("the form drops the needs-contact filter")
	}
	same("both", leadIDs(c.get("/leads?source=Zillow&needs_contact=1").body), both)
	// A search with a filter: its matches by lead id, newest first.
	found := c.get("/leads?q=rowan+010&source=Zillow")
	same("search and source", leadIDs(found.body), []string{byName[10]})
	if r := c.get("/leads?q=rowan+011&source=Zillow"); len(leadIDs(r.body)) != 0 || !strings.Contains(r.body, "No lead matches") {
		t.Fatal("a Web lead shows under the Zillow filter")
	}
	if r := c.get("/leads?source=Nowhere"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "No lead matches these filters.") {
		t.Fatalf("an empty filter: %d", r.StatusCode)
	}
	if r := c.get("/leads?needs_contact=yes"); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "needs_contact must be 1") {
		t.Fatalf("needs_contact=yes: %d, want 400 saying what is wrong", r.StatusCode)
	}
}

// TestLeadsPageHotAndTests: ?hot=1 lists the leads with three visits this
// week and ?tests=1 the test leads, by latest activity, alone or with a
// source or a search, kept by the form and by Older and Newer; a search
// finds messages and custom fields' values; another team's leads never
// show; a wrong value says what to fix.
func TestLeadsPageHotAndTests(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	c, team, _ := e.team("ana@example.com")
	_, bobTeam, _ := e.team("bob@example.com")
	ctx := context.Background()
	now := clock.Now()
	ingest := func(in store.LeadInput) string {
		t.Helper()
		in.Raw = []byte("{}")
		res, err := e.db.IngestLead(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(res.LeadID)
	}
	visits := func(team int64, vid string, n int) {
		t.Helper()
		for i := range n {
			if err := e.db.RecordPageView(ctx, store.PageViewInput{TeamID: team, VisitorID: vid, URL: "https://ana.example/",
				At: now.Add(-time.Duration(i+1) * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var hot, hotZillow, tests []string // latest activity first
	for i := 59; i >= 0; i-- {         // oldest first
		at := now.Add(-72*time.Hour - time.Duration(i)*time.Minute)
		source := "Web"
		if i%3 == 0 {
			source = "Zillow"
		}
		vid := fmt.Sprintf("hot-%d", i)
		id := ingest(store.LeadInput{TeamID: team, Name: fmt.Sprintf("Hotly %02d", i), Email: fmt.Sprintf("h%d@example.com", i), Source: source,
			Message: "Is the pool heated?", Custom: []store.Field{{Name: "Lender", Value: fmt.Sprintf("Bank %02d", i)}}, VisitorID: vid, At: at})
		hot = append([]string{id}, hot...)
		if source == "Zillow" {
			hotZillow = append([]string{id}, hotZillow...)
		}
		visits(team, vid, 3)
	}
	// Lukewarm: two visits; and test leads with three.
	lukewarm := ingest(store.LeadInput{TeamID: team, Name: "Luke Warm", Email: "luke@example.com", Source: "Web", VisitorID: "luke", At: now.Add(-time.Hour)})
	visits(team, "luke", 2)
	for i := range 3 {
		id := ingest(store.LeadInput{TeamID: team, Email: fmt.Sprintf("t%d@example.com", i), Source: "Closr test", Test: true,
			VisitorID: fmt.Sprintf("test-%d", i), At: now.Add(-time.Duration(10-i) * time.Minute)})
		tests = append([]string{id}, tests...)
		visits(team, fmt.Sprintf("test-%d", i), 3)
	}
	ingest(store.LeadInput{TeamID: bobTeam, Email: "b@example.com", Source: "Web", Message: "Is the pool heated?", VisitorID: "bob-v", At: now})
	visits(bobTeam, "bob-v", 3)

	same := func(what string, got, want []string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: %d leads %v, want %d %v", what, len(got), got, len(want), want)
		}
	}
	h1 := c.get("/leads?hot=1")
	same("hot", leadIDs(h1.body), hot[:50])
	if !strings.Contains(h1.body, "60 leads match these filters") || !strings.Contains(h1.body, `name="hot" value="1" checked`) {
		t.Fatal("the hot filter's page does not say what it shows, or its form drops the filter")
	}
	if n := strings.Count(h1.body, `data-testid="hot"`); n != 50 {
		t.Errorf("%d rows marked Hot on the hot page, want 50", n)
	}
	older := link(t, olderRE, h1.body)
	if !strings.Contains(older, "hot=1") {
		t.Fatalf("the Older link %q drops the filter", older)
	}
	h2 := c.get(older)
	same("hot, Older", leadIDs(h2.body), hot[50:])
	same("hot, Newer", leadIDs(c.get(link(t, newerRE, h2.body)).body), hot[:50])
	same("hot from Zillow", leadIDs(c.get("/leads?hot=1&source=Zillow").body), hotZillow)
	same("hot, searched", leadIDs(c.get("/leads?hot=1&q=Hotly+07").body), []string{hot[7]})
	if r := c.get("/leads?hot=1&q=luke"); len(leadIDs(r.body)) != 0 {
		t.Fatal("a lead with two visits shows as hot")
	}

	all := c.get("/leads")
	if !strings.Contains(all.body, `href="/leads?tests=1" data-testid="tests-link"`) || !strings.Contains(all.body, "Plus 3 test leads, marked Test") {
		t.Fatal("the list does not say that test leads are in it, marked, or how to see them alone")
	}
	if rows := leadIDs(all.body); !slices.Contains(rows, tests[0]) || !slices.Contains(rows, lukewarm) {
		t.Fatalf("the whole list %v lacks a test lead or the lukewarm one", rows)
	}
	ts := c.get("/leads?tests=1")
	same("tests", leadIDs(ts.body), tests)
	if !strings.Contains(ts.body, `name="tests" value="1" checked`) {
		t.Fatal("the form drops the tests filter")
	}
	same("tests, searched", leadIDs(c.get("/leads?tests=1&q=t1%40example").body), []string{tests[1]})
	if r := c.get("/leads?tests=1&hot=1"); len(leadIDs(r.body)) != 0 || !strings.Contains(r.body, "No lead matches these filters.") {
		t.Fatal("a test lead shows as hot")
	}

	// Search: a message word and a custom field's value, in this team only.
	if got := leadIDs(c.get("/leads?q=pool+heated").body); len(got) != 50 || slices.Contains(got, "") {
		t.Fatalf("search for a message: %d leads, want a page of 50", len(got))
	}
	same("search for a custom value", leadIDs(c.get("/leads?q=bank+07").body), []string{hot[7]})

	for _, bad := range []string{"hot=yes", "tests=0"} {
		name, _, _ := strings.Cut(bad, "=")
		if r := c.get("/leads?" + bad); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, name+" must be 1") {
			t.Fatalf("%s: %d, want 400 saying what is wrong", bad, r.StatusCode)
		}
	}
}

package store_test

import (
	"closr/store/storetest"
	"context"
	"testing"
	"time"

	"closr/store"
)

// A visitor who identified before their lead existed is tied to the lead
// when it arrives, also after a restart (the set of teams with such
// visitors is rebuilt from the database).
func TestPendingIdentityLinksAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := storetest.Addr(t)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := newTeam(t, db, "ana@example.com")
	now := time.Now()
	if err := db.RecordPageView(ctx, store.PageViewInput{TeamID: a.TeamID, VisitorID: "visitor-0123456789", URL: "https://ana.example/a", At: now}); err != nil {
		t.Fatal(err)
	}
	if lead, err := db.Identify(ctx, store.IdentifyInput{TeamID: a.TeamID, VisitorID: "visitor-0123456789", Email: "jo@example.com", At: now}); err != nil || lead != 0 {
		t.Fatalf("identify = %d, %v; want no lead yet", lead, err)
	}
	db.Close()

	db, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.IngestLead(ctx, store.LeadInput{TeamID: a.TeamID, Email: "jo@example.com", Raw: []byte("{}"), At: now})
	if err != nil {
		t.Fatal(err)
	}
	views, _, err := db.PagesViewedByLead(ctx, a.TeamID, res.LeadID, 10)
	if err != nil || len(views) != 1 {
		t.Fatalf("lead's page views = %v, %v; want the one view from before", views, err)
	}
}

// Repeat page views of one visitor share its row, also when they come from
// the visitor cache.
func TestRepeatPageViewsShareTheVisitor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a := newTeam(t, db, "ana@example.com")
	b := newTeam(t, db, "bo@example.com")
	now := time.Now()
	for i, team := range []int64{a.TeamID, a.TeamID, b.TeamID, a.TeamID} {
		if err := db.RecordPageView(ctx, store.PageViewInput{TeamID: team, VisitorID: "same-visitor-id-01", URL: "https://x.example/", At: now.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := db.IngestLead(ctx, store.LeadInput{TeamID: a.TeamID, Email: "v@example.com", VisitorID: "same-visitor-id-01", Raw: []byte("{}"), At: now})
	views, _, _ := db.PagesViewedByLead(ctx, a.TeamID, res.LeadID, 10)
	if len(views) != 3 {
		t.Fatalf("team A's visitor has %d views, want 3 (team B's view is B's own visitor)", len(views))
	}
}

// The in-memory domain lists follow every add and remove at once, per team.
func TestTrackedDomainsFollowChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a := newTeam(t, db, "ana@example.com")
	b := newTeam(t, db, "bo@example.com")
	names := func(team int64) []string {
		ds, err := db.TrackedDomains(ctx, team)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.Domain)
		}
		return out
	}
	if got := names(a.TeamID); len(got) != 0 {
		t.Fatalf("new team lists %v", got)
	}
	d, err := db.AddTrackedDomain(ctx, a.TeamID, "sunset.example")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(a.TeamID); len(got) != 1 || got[0] != "sunset.example" {
		t.Fatalf("after add: %v", got)
	}
	if got := names(b.TeamID); len(got) != 0 {
		t.Fatalf("team B sees %v", got)
	}
	if _, err := db.RemoveTrackedDomain(ctx, a.TeamID, d.ID); err != nil {
		t.Fatal(err)
	}
	if got := names(a.TeamID); len(got) != 0 {
		t.Fatalf("after remove: %v", got)
	}
}

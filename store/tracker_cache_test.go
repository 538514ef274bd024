package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"closr/store"
)

// A visitor who identified before their lead existed is tied to the lead
// when it arrives, also after a restart (the set of teams with such
// visitors is rebuilt from the database).
func TestPendingIdentityLinksAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "closr.db")
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
	views, err := db.LeadPageViews(ctx, a.TeamID, res.LeadID, 10)
	if err != nil || len(views) != 1 {
		t.Fatalf("lead's page views = %v, %v; want the one view from before", views, err)
	}
}

// Repeat page views of one visitor share its row, also when they come from
// the visitor cache.
func TestRepeatPageViewsShareTheVisitor(t *testing.T) {
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
	views, _ := db.LeadPageViews(ctx, a.TeamID, res.LeadID, 10)
	if len(views) != 3 {
		t.Fatalf("team A's visitor has %d views, want 3 (team B's view is B's own visitor)", len(views))
	}
}

package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"closr/store"
)

func TestIdempotencyKeptOneDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a := newTeam(t, db, "ana@example.com")
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	in := store.LeadInput{TeamID: a.TeamID, Email: "jo@example.com", Raw: []byte(`{"email":"jo@example.com"}`),
		IdemKey: "k1", IdemHash: sha256.Sum256([]byte("body")), At: t0}
	first, err := db.IngestLead(ctx, in)
	if err != nil || !first.Created {
		t.Fatalf("first = %+v, %v", first, err)
	}
	in.At = t0.Add(23 * time.Hour)
	again, err := db.IngestLead(ctx, in)
	if err != nil || !again.Replayed || !again.Created || again.LeadID != first.LeadID {
		t.Fatalf("replay within a day = %+v, %v", again, err)
	}
	other := in
	other.IdemHash = sha256.Sum256([]byte("other body"))
	if _, err := db.IngestLead(ctx, other); !errors.Is(err, store.ErrIdempotencyMismatch) {
		t.Fatalf("other body: err = %v", err)
	}
	// After 24 hours the key is forgotten: the post is processed again and
	// joins the same person's lead.
	in.At = t0.Add(25 * time.Hour)
	later, err := db.IngestLead(ctx, in)
	if err != nil || later.Replayed || later.Created || later.LeadID != first.LeadID {
		t.Fatalf("after a day = %+v, %v", later, err)
	}
	// The same key in another team is another key.
	b := newTeam(t, db, "bo@example.com")
	in.TeamID, in.At = b.TeamID, t0.Add(time.Hour)
	if res, err := db.IngestLead(ctx, in); err != nil || res.Replayed || !res.Created {
		t.Fatalf("other team = %+v, %v", res, err)
	}
}

func TestDedupeDoesNotStealAnotherLeadsPhone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a := newTeam(t, db, "ana@example.com")
	now := time.Now()
	x, _ := db.IngestLead(ctx, store.LeadInput{TeamID: a.TeamID, Email: "x@example.com", Raw: []byte("{}"), At: now})
	y, _ := db.IngestLead(ctx, store.LeadInput{TeamID: a.TeamID, Phone: "+15551234567", Raw: []byte("{}"), At: now})
	// Email of X with phone of Y: joins X (email wins) and leaves Y's phone alone.
	res, err := db.IngestLead(ctx, store.LeadInput{TeamID: a.TeamID, Email: "x@example.com", Phone: "+15551234567", Raw: []byte("{}"), At: now})
	if err != nil || res.LeadID != x.LeadID || res.Created {
		t.Fatalf("res = %+v, %v", res, err)
	}
	lx, _ := db.Lead(ctx, a.TeamID, x.LeadID)
	ly, _ := db.Lead(ctx, a.TeamID, y.LeadID)
	if lx.Phone != "" || ly.Phone != "+15551234567" {
		t.Fatalf("phones: x=%q y=%q", lx.Phone, ly.Phone)
	}
}

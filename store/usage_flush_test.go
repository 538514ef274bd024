package store

import (
	"context"
	"testing"
	"time"
)

// A flush that finds the counts already taken by another flush still in
// progress (the server's every-second one) waits for it: when FlushUsage
// returns, what was counted before is written. Without that, a page read
// right after a flush could miss the request just made.
func TestFlushWaitsForAFlushUnderWay(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	a, err := db.CreateTeamWithOwner(context.Background(), "T", NewAgent{Name: "A", Email: "a@example.com", PasswordHash: []byte("h")})
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := db.CreateAPIKey(context.Background(), a.TeamID, a.ID, "k", AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	db.RecordUse(Use{TeamID: a.TeamID, KeyID: k.ID, At: time.Now(), Endpoint: "/api/track", Kind: UsePageView, Status: 202})

	// Hold the writer, so that the first flush takes the counts and waits.
	release, held := make(chan struct{}), make(chan struct{})
	go db.write(context.Background(), func(context.Context, writeTx) error {
		close(held)
		<-release
		return nil
	})
	<-held
	first := make(chan error, 1)
	go func() { first <- db.FlushUsage(context.Background()) }()
	for taken := false; !taken; {
		db.usage.mu.Lock()
		taken = db.usage.keys == nil
		db.usage.mu.Unlock()
	}
	second := make(chan error, 1)
	go func() { second <- db.FlushUsage(context.Background()) }()
	select {
	case <-second:
		close(release) // or Close would wait for the writer for ever
		t.Fatal("a flush returned while the counts it should wait for were still being written")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	usage, err := db.KeyUsage(context.Background(), a.TeamID, k.ID, time.Now().Add(-time.Hour))
	if err != nil || len(usage[k.ID]) != 1 || usage[k.ID][0].PageViews != 1 {
		t.Fatalf("after the second flush: %+v, %v", usage, err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

package store_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"closr/store"
)

// BenchmarkIngestLead is the store's insert path from many goroutines.
func BenchmarkIngestLead(b *testing.B) {
	db, _ := openDB(b)
	a := newTeam(b, db, "ana@example.com")
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := db.IngestLead(context.Background(), store.LeadInput{TeamID: a.TeamID, Name: "Lead", Email: fmt.Sprintf("l%d@example.com", i),
				Phone: fmt.Sprintf("+1555%07d", i), Source: "bench", Raw: []byte(`{"email":"x"}`), At: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAPIKeyByHash is key verification for a known and an unknown key.
func BenchmarkAPIKeyByHash(b *testing.B) {
	db, _ := openDB(b)
	a := newTeam(b, db, "ana@example.com")
	_, key, _ := db.CreateAPIKey(context.Background(), a.TeamID, a.ID, "k", store.AccessIntake, 0)
	for _, tc := range []struct {
		name string
		key  string
	}{{"known", key}, {"unknown", "closr_" + fmt.Sprintf("%043d", 7)}} {
		b.Run(tc.name, func(b *testing.B) {
			h := store.HashKey(tc.key)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					db.APIKeyByHash(context.Background(), h)
				}
			})
		})
	}
}

// BenchmarkIngestSameLead posts one person again and again: each
// submission joins the same lead and folds the raw body that falls out of
// the newest KeptRawBodies, which must cost the same however many
// submissions the lead already has.
func BenchmarkIngestSameLead(b *testing.B) {
	db, _ := openDB(b)
	a := newTeam(b, db, "ana@example.com")
	raw := make([]byte, 4<<10)
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := db.IngestLead(context.Background(), store.LeadInput{TeamID: a.TeamID, Name: "Lead", Email: "same@example.com",
				Source: "bench", Raw: raw, At: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRecordUse is what counting a request against its key adds to
// every API request: the in-memory count, from many goroutines.
func BenchmarkRecordUse(b *testing.B) {
	db, _ := openDB(b)
	a := newTeam(b, db, "ana@example.com")
	k, _, _ := db.CreateAPIKey(context.Background(), a.TeamID, a.ID, "k", store.AccessIntake, 0)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			db.RecordUse(store.Use{TeamID: a.TeamID, KeyID: k.ID, At: time.Now(), Endpoint: "/api/leads/inbound", Kind: store.UseLeadCreated, Status: 201})
		}
	})
}

// BenchmarkSearchLargeTeam is a page of the lead list ("") and of search
// results in a team of a million leads, on the database CLOSR_BIG_SEARCH_DB
// names: closr-bench's large database (-big FILE), or that database moved
// to PostgreSQL with `closr migrate`. Its team 1 is the large one. Each
// search runs many times on the same connections, as a server's do, so
// that a plan PostgreSQL would keep for any text shows.
func BenchmarkSearchLargeTeam(b *testing.B) {
	addr := os.Getenv("CLOSR_BIG_SEARCH_DB")
	if addr == "" {
		b.Skip("CLOSR_BIG_SEARCH_DB names no large database")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, addr)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, text := range []string{"", "Maria Wilson", "hotmail.com", "Zapier", "Elm Ave?", "wilson99", "Bank 93", "(300) 001-2345"} {
		b.Run(cmp.Or(text, "list"), func(b *testing.B) {
			for b.Loop() {
				if _, err := db.Leads(ctx, 1, text, store.LeadRange{Limit: 50}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

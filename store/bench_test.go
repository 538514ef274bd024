package store_test

import (
	"context"
	"fmt"
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
	_, key, _ := db.CreateAPIKey(context.Background(), a.TeamID, a.ID, "k", store.AccessIntake)
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

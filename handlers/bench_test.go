package handlers_test

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"closr"
	"closr/handlers"
	"closr/store"
)

// benchServer is the real handler on a real SQLite file, without HTTP
// sockets, with an intake key.
func benchServer(b *testing.B) (http.Handler, string) {
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	a, _ := db.CreateTeamWithOwner(context.Background(), "T", store.NewAgent{Name: "A", Email: "a@example.com", PasswordHash: []byte("x")})
	_, key, _ := db.CreateAPIKey(context.Background(), a.TeamID, a.ID, "bench", store.AccessIntake)
	static, _ := fs.Sub(closr.Static, "static")
	h, err := handlers.New(handlers.Config{Store: db, Static: static, SessionKey: []byte("k"),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return h, key
}

// BenchmarkInbound is POST /api/leads/inbound with full processing, from
// many goroutines, as the load command does over HTTP.
func BenchmarkInbound(b *testing.B) {
	h, key := benchServer(b)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"name":"Lead %d","email":"lead%d@example.com","phone":"+1 555 %03d %04d","source":"bench"}`, i, i, i/10000%1000, i%10000)
			r := httptest.NewRequest("POST", "/api/leads/inbound", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Api-Key", key)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 201 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkInvalidKey is the cost of refusing a well-formed unknown key.
func BenchmarkInvalidKey(b *testing.B) {
	h, _ := benchServer(b)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("POST", "/api/leads/inbound", strings.NewReader(`{"email":"x@example.com"}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Api-Key", fmt.Sprintf("closr_%043d", n.Add(1)))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 401 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"closr/store"
	"closr/store/storetest"
)

// These tests run the real binary, as an operator would, against a real
// database file, and check what ended up on disk.

// buildBinary compiles cmd/closr into the test's temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "closr")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// seedDB creates the database with one team and an intake key.
func seedDB(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := db.CreateTeamWithOwner(ctx, "Sunset Realty", store.NewAgent{Name: "Ana Agent", Email: "ana@example.com", PasswordHash: []byte("not a real hash")})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, "load", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// server is one run of the binary.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stderr *storetest.LogBuffer
	done   chan error
}

// startServer runs the binary on a port of its choosing (port 0) with the
// API limits off (the load comes from one address), and waits until it
// logs its address and /healthz answers there.
func startServer(t *testing.T, bin, dbPath string) *server {
	t.Helper()
	s := &server{stderr: &storetest.LogBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "--addr", "127.0.0.1:0", "--db", dbPath, "--limit-key", "0", "--limit-ip", "0")
	s.cmd.Env = append(os.Environ(), "CLOSR_SESSION_SECRET=")
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { s.cmd.Process.Kill(); <-s.done; s.done <- nil })
	listening := regexp.MustCompile(`msg="closr listening" addr=(\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if s.addr == "" {
			if m := listening.FindStringSubmatch(s.stderr.String()); m != nil {
				s.addr = m[1]
			}
		}
		if s.addr != "" {
			if r, err := http.Get("http://" + s.addr + "/healthz"); err == nil {
				r.Body.Close()
				if r.StatusCode == 200 {
					return s
				}
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("closr exited at start: %v\n%s", err, s.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("closr did not become healthy\n%s", s.stderr)
	return nil
}

// wait returns the process's exit error, or fails after limit.
func (s *server) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(limit):
		t.Fatalf("closr still running %v after the signal\n%s", limit, s.stderr)
		return nil
	}
}

// load posts leads with unique emails from several goroutines and records
// which ones were acknowledged (2xx).
type load struct {
	mu    sync.Mutex
	acked map[string]bool
	sent  atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startLoad(addr, key, prefix string, workers int) *load {
	l := &load{acked: map[string]bool{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				email := fmt.Sprintf("%s-w%d-%d@example.com", prefix, w, i)
				body := fmt.Sprintf(`{"name":"Lead %d","email":%q,"message":"crash test"}`, i, email)
				req, _ := http.NewRequest("POST", "http://"+addr+"/api/leads/inbound", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Api-Key", key)
				l.sent.Add(1)
				r, err := client.Do(req)
				if err != nil {
					// The server is gone or going; back off a little.
					time.Sleep(20 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				if r.StatusCode/100 == 2 {
					l.mu.Lock()
					l.acked[email] = true
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

// snapshot copies the acknowledged emails so far.
func (l *load) snapshot() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]bool, len(l.acked))
	for k := range l.acked {
		out[k] = true
	}
	return out
}

// submissionsByEmail counts each lead's submissions in the database (a
// SQLite file, after its integrity check, or a PostgreSQL address).
func submissionsByEmail(t *testing.T, path string) map[string]int {
	t.Helper()
	db, err := store.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !store.IsPostgres(path) {
		var check string
		if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("integrity_check of %s: %q %v", path, check, err)
		}
	}
	rows, err := db.Query(`SELECT l.email, count(s.id) FROM leads l LEFT JOIN submissions s ON s.lead_id = l.id GROUP BY l.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var email string
		var n int
		if err := rows.Scan(&email, &n); err != nil {
			t.Fatal(err)
		}
		out[email] += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkStored fails unless every acknowledged lead is stored exactly once.
func checkStored(t *testing.T, acked map[string]bool, stored map[string]int) {
	t.Helper()
	missing := 0
	for email := range acked {
		switch n := stored[email]; n {
		case 1:
		case 0:
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged lead %s is not in the database", email)
			}
		default:
			t.Errorf("acknowledged lead %s is stored %d times", email, n)
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged leads lost", missing, len(acked))
	}
	for email, n := range stored {
		if n != 1 {
			t.Errorf("lead %s has %d submissions, want exactly 1", email, n)
		}
	}
}

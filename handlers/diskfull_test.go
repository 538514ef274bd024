//go:build linux

package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"closr/handlers"
	"closr/store"
	"closr/store/storetest"
)

// smallDisk is where the database lives in the disk-full test, and how the
// test runs it out of space and gives the space back.
type smallDisk interface {
	dbPath() string
	fill(t *testing.T) // from now on writes fail for want of space
	free(t *testing.T) // space is back
}

// tmpfsDisk is a real 4 MiB filesystem that a filler file fills up.
type tmpfsDisk struct{ dir string }

func (d tmpfsDisk) dbPath() string { return filepath.Join(d.dir, "closr.db") }
func (d tmpfsDisk) filler() string { return filepath.Join(d.dir, "filler") }

func (d tmpfsDisk) fill(t *testing.T) { d.fillLeaving(t, 0) }

// fillLeaving grows the filler file until no more than leave bytes are free.
func (d tmpfsDisk) fillLeaving(t *testing.T, leave int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(d.filler(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	free := int64(st.Bavail) * int64(st.Bsize)
	if leave > 0 && free > leave {
		if _, err := f.Write(make([]byte, free-leave)); err != nil {
			t.Fatalf("fill %s: %v", d.dir, err)
		}
		return
	}
	// Every last byte: halve the chunk each time the disk refuses it.
	chunk := make([]byte, 64<<10)
	for size := len(chunk); size > 0; {
		if _, err := f.Write(chunk[:size]); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", d.dir, err)
			}
			size /= 2
		}
	}
}

func (d tmpfsDisk) free(t *testing.T) {
	t.Helper()
	if err := os.Remove(d.filler()); err != nil {
		t.Fatal(err)
	}
}

// mountTmpfs mounts a small tmpfs, or says why it cannot. CI runs as root,
// so there the mount must work.
func mountTmpfs(t *testing.T) (tmpfsDisk, error) {
	dir := t.TempDir() // removed after the unmount below
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		return tmpfsDisk{}, fmt.Errorf("mount tmpfs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return tmpfsDisk{dir: dir}, nil
}

// injectedDisk stands in where no filesystem can be mounted: the store's
// writes fail as SQLite's do when the disk is full.
type injectedDisk struct {
	path string
	st   *fullStore
}

func (d injectedDisk) dbPath() string    { return d.path }
func (d injectedDisk) fill(t *testing.T) { d.st.full.Store(true) }
func (d injectedDisk) free(t *testing.T) { d.st.full.Store(false) }
func (s *fullStore) err(what string) error {
	return fmt.Errorf("%s: %w: database or disk is full", what, store.ErrUnavailable)
}

// fullStore is the real store whose writes fail while full is set.
type fullStore struct {
	*store.DB
	full atomic.Bool
}

func (s *fullStore) IngestLead(ctx context.Context, in store.LeadInput) (store.IngestResult, error) {
	if s.full.Load() {
		return store.IngestResult{}, s.err("ingest lead")
	}
	return s.DB.IngestLead(ctx, in)
}

func (s *fullStore) RecordPageView(ctx context.Context, in store.PageViewInput) error {
	if s.full.Load() {
		return s.err("record page view")
	}
	return s.DB.RecordPageView(ctx, in)
}

func (s *fullStore) Identify(ctx context.Context, in store.IdentifyInput) (int64, error) {
	if s.full.Load() {
		return 0, s.err("identify")
	}
	return s.DB.Identify(ctx, in)
}

func (s *fullStore) CreateAPIKey(ctx context.Context, teamID, agentID int64, label, access string, lifetimeDays int) (store.APIKey, string, error) {
	if s.full.Load() {
		return store.APIKey{}, "", s.err("create key")
	}
	return s.DB.CreateAPIKey(ctx, teamID, agentID, label, access, lifetimeDays)
}

func (s *fullStore) RevokeAPIKey(ctx context.Context, teamID, keyID, agentID int64) (store.APIKey, error) {
	if s.full.Load() {
		return store.APIKey{}, s.err("revoke key")
	}
	return s.DB.RevokeAPIKey(ctx, teamID, keyID, agentID)
}

// bigLead is a JSON lead whose message takes room on disk.
func bigLead(email string, size int) string {
	b, _ := json.Marshal(map[string]string{"name": "Bo Buyer", "email": email, "message": strings.Repeat("Is 12 Oak St still available? ", size/30)})
	return string(b)
}

// TestStorageDiskFull puts the database on a 4 MiB tmpfs and fills it up.
// While it is full every write (ingest, tracker, keys) answers 503 with
// Retry-After and changes nothing, reads keep working, and once the filler
// is deleted the very next request succeeds without a restart. Then leads
// pour in from several clients until the disk fills mid-load: every lead
// that got a 2xx is stored exactly once, none that got a 503 is stored, and
// the file passes integrity_check. Without root (and outside CI) the disk is
// simulated by a store whose writes fail.
func TestStorageDiskFull(t *testing.T) {
	storetest.SQLiteOnly(t, "fills the disk under a SQLite file")
	var disk smallDisk
	opts := envOptions{}
	if d, err := mountTmpfs(t); err == nil {
		disk, opts.dbPath = d, d.dbPath()
	} else if os.Getenv("CI") != "" {
		t.Fatalf("CI runs as root and must test a really full disk: %v", err)
	} else {
		t.Logf("no real small disk (%v): simulating a full disk with injected write errors", err)
		d := injectedDisk{path: filepath.Join(t.TempDir(), "closr.db"), st: &fullStore{}}
		disk, opts.dbPath = d, d.path
		opts.config = func(cfg *handlers.Config) {
			d.st.DB = cfg.Store.(*store.DB)
			cfg.Store = d.st
		}
	}
	e := newEnvWith(t, opts)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	key := c.generate("Webflow form")
	keyID := e.onlyKeyID(e.agent("ana@example.com").TeamID)
	if r := c.e.postLead(key, `{"email":"first@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("baseline lead: %d %s", r.StatusCode, r.body)
	}
	if r := e.track(pageviewBody(key, testVID, "https://sunset.example/")); r.StatusCode != http.StatusAccepted {
		t.Fatalf("baseline page view: %d %s", r.StatusCode, r.body)
	}
	before := rowCounts(t, e)

	disk.fill(t)
	r := c.e.postLead(key, bigLead("full@example.com", 20<<10))
	want503(t, "JSON lead on a full disk", r)
	wantStorageJSON(t, r)
	r = c.e.postLead(key, `{"email":"small@example.com"}`)
	want503(t, "small JSON lead on a full disk", r)
	r = c.post("/api/leads/inbound", url.Values{"email": {"form@example.com"}, "api_key": {key}})
	want503(t, "form lead on a full disk", r)
	if !strings.Contains(r.body, "try again") || !strings.Contains(r.body, "<html") {
		t.Fatalf("form lead on a full disk is not a page saying to retry:\n%s", r.body)
	}
	r = e.track(pageviewBody(key, testVID, "https://sunset.example/homes/12-oak"))
	want503(t, "page view on a full disk", r)
	wantStorageJSON(t, r)
	r = e.track(`{"api_key":"` + key + `","type":"identify","visitor_id":"` + testVID + `","url":"https://sunset.example/","email":"first@example.com"}`)
	want503(t, "identify on a full disk", r)
	wantStorageJSON(t, r)

	// Several at once: they share one group commit, and all of it fails.
	var wg sync.WaitGroup
	answers := make([]string, 8)
	for i := range answers {
		wg.Go(func() { answers[i] = postLead(e.srv.URL, key, bigLead(fmt.Sprintf("burst%d@example.com", i), 8<<10)) })
	}
	wg.Wait()
	for i, a := range answers {
		if a != "503 storage_unavailable" {
			t.Fatalf("burst lead %d on a full disk: %s", i, a)
		}
	}

	// Reads still work: the settings page shows the key. Writing from it is
	// a clear error page (or, through HTMX, the message for the alert).
	if r := c.get("/settings/integrations"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, key[:12]) {
		t.Fatalf("settings page on a full disk: %d", r.StatusCode)
	}
	r = c.post("/settings/integrations/api-keys", url.Values{"label": {"Zapier"}})
	want503(t, "generate key (form) on a full disk", r)
	if !strings.Contains(r.body, "storage is busy") || !strings.Contains(r.body, `data-testid="message"`) {
		t.Fatalf("generate key on a full disk is not a clear error page:\n%s", r.body)
	}
	// HTMX sends Accept */*; app.js shows the plain text in an alert.
	r = c.post("/settings/integrations/api-keys", url.Values{"label": {"Zapier"}}, "HX-Request", "true", "Accept", "*/*")
	want503(t, "generate key (HTMX) on a full disk", r)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") || !strings.Contains(r.body, "storage is busy") || strings.Contains(r.body, "<") {
		t.Fatalf("HTMX generate on a full disk: want the plain message, got:\n%s", r.body)
	}
	r = c.send("DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", keyID), nil, "HX-Request", "true")
	want503(t, "revoke key on a full disk", r)
	sameCounts(t, "requests refused on a full disk", before, rowCounts(t, e))
	if _, isTmpfs := disk.(tmpfsDisk); isTmpfs && !strings.Contains(e.log.String(), "database or disk is full") {
		t.Fatalf("the log does not name the full disk for the operator:\n%s", e.log.String())
	}

	// Space is back: no restart, the very next requests succeed, and the key
	// whose revocation failed still works.
	disk.free(t)
	if r := c.e.postLead(key, bigLead("full@example.com", 20<<10)); r.StatusCode != http.StatusCreated {
		t.Fatalf("lead after space came back: %d %s", r.StatusCode, r.body)
	}
	if r := e.track(pageviewBody(key, testVID, "https://sunset.example/homes/12-oak")); r.StatusCode != http.StatusAccepted {
		t.Fatalf("page view after space came back: %d %s", r.StatusCode, r.body)
	}
	c.get("/settings/integrations")
	c.generate("Zapier")

	d, ok := disk.(tmpfsDisk)
	if !ok {
		t.Log("simulated disk: the fill-under-load part needs a real filesystem and did not run")
		return
	}
	acked, refused := fillUnderLoad(t, e, d, key)
	// Space is back once more; the server carries on.
	d.free(t)
	if r := c.e.postLead(key, `{"email":"after-load@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("lead after the load filled the disk: %d %s", r.StatusCode, r.body)
	}
	acked["after-load@example.com"] = true
	checkNothingHalfWritten(t, e, acked, refused)
	t.Logf("load filled the disk: %d leads acknowledged and stored once each, %d refused with 503 and absent", len(acked), len(refused))
}

// fillUnderLoad leaves a little space free and posts big leads from four
// clients until each has been refused three times. Every answer must be a
// 201 or a 503 storage_unavailable.
func fillUnderLoad(t *testing.T, e *env, d tmpfsDisk, key string) (acked, refused map[string]bool) {
	t.Helper()
	d.fillLeaving(t, 512<<10)
	acked, refused = map[string]bool{}, map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var bad atomic.Value
	for w := range 4 {
		wg.Go(func() {
			for i, no := 0, 0; no < 3 && i < 200; i++ {
				email := fmt.Sprintf("load%d-%d@example.com", w, i)
				a := postLead(e.srv.URL, key, bigLead(email, 16<<10))
				mu.Lock()
				switch a {
				case "201 ":
					acked[email] = true
				case "503 storage_unavailable":
					refused[email] = true
					no++
				default:
					bad.Store(email + ": " + a)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Fatalf("lead while the disk filled up: %s", b)
	}
	if len(acked) == 0 || len(refused) < 12 {
		t.Fatalf("the load did not fill the disk: %d acknowledged, %d refused", len(acked), len(refused))
	}
	return acked, refused
}

// checkNothingHalfWritten opens the file as another process would: it
// passes integrity_check, every acknowledged lead is there once with one
// submission, no refused lead is there, no submission lacks its lead.
func checkNothingHalfWritten(t *testing.T, e *env, acked, refused map[string]bool) {
	t.Helper()
	db := rawDB(t, e)
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	var orphans int
	if err := db.QueryRow("SELECT count(*) FROM submissions s LEFT JOIN leads l ON l.id = s.lead_id WHERE l.id IS NULL").Scan(&orphans); err != nil || orphans != 0 {
		t.Fatalf("%d submissions without their lead (%v)", orphans, err)
	}
	rows, err := db.Query("SELECT l.email, count(s.id) FROM leads l LEFT JOIN submissions s ON s.lead_id = l.id WHERE l.email LIKE '%load%' GROUP BY l.id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string]int{}
	for rows.Next() {
		var email string
		var n int
		if err := rows.Scan(&email, &n); err != nil {
			t.Fatal(err)
		}
		stored[email] += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for email := range acked {
		if stored[email] != 1 {
			t.Errorf("acknowledged lead %s: %d submissions stored, want 1", email, stored[email])
		}
	}
	for email := range refused {
		if stored[email] != 0 {
			t.Errorf("lead %s was refused with 503 but is stored (%d submissions)", email, stored[email])
		}
	}
	for email := range stored {
		if !acked[email] && !refused[email] {
			t.Errorf("stored lead %s was never sent", email)
		}
	}
}

// postLead sends one JSON lead from a goroutine and sums up the answer as
// "STATUS error-code" (the code is empty on success).
func postLead(base, key, body string) string {
	r, err := http.DefaultClient.Do(leadRequest(base, key, body))
	if err != nil {
		return err.Error()
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	var answer struct{ Error string }
	json.Unmarshal(b, &answer)
	if r.StatusCode == http.StatusServiceUnavailable && r.Header.Get("Retry-After") == "" {
		return "503 without Retry-After"
	}
	return fmt.Sprintf("%d %s", r.StatusCode, answer.Error)
}

// onlyKeyID is the id of the team's one active key.
func (e *env) onlyKeyID(teamID int64) int64 {
	keys, err := e.db.APIKeys(context.Background(), teamID)
	if err != nil || len(keys) != 1 {
		e.t.Fatalf("want one key, have %d (%v)", len(keys), err)
	}
	return keys[0].ID
}

// TestStorageWriteIOError makes the database's files unable to grow (a
// file size limit on the process: writes past it fail with EFBIG, which
// SQLite reports as SQLITE_IOERR_WRITE, not as a full disk). The group
// commit comes back as 503 storage_unavailable, nothing is written, and the
// next lead after the limit goes is stored.
func TestStorageWriteIOError(t *testing.T) {
	storetest.SQLiteOnly(t, "limits the size of this process's files, SQLite's")
	e := newEnv(t)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	key := c.generate("Webflow form")
	if r := c.e.postLead(key, `{"email":"first@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("baseline lead: %d %s", r.StatusCode, r.body)
	}
	before := rowCounts(t, e)
	wal, err := os.Stat(e.dbPath + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	// The Go runtime ignores SIGXFSZ, so the write fails instead of the
	// process dying. Nothing else in this test process writes files meanwhile.
	limited := syscall.Rlimit{Cur: uint64(wal.Size()), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer restore()
	r := c.e.postLead(key, `{"email":"ioerr@example.com"}`)
	r2 := e.track(pageviewBody(key, testVID, "https://sunset.example/"))
	restore()
	want503(t, "JSON lead when writes fail", r)
	wantStorageJSON(t, r)
	want503(t, "page view when writes fail", r2)
	wantStorageJSON(t, r2)
	if !strings.Contains(e.log.String(), "disk I/O error") {
		t.Fatalf("the log does not show SQLite's I/O error:\n%s", e.log.String())
	}
	sameCounts(t, "requests refused when writes fail", before, rowCounts(t, e))
	if r := c.e.postLead(key, `{"email":"ioerr@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("lead after writes work again: %d %s", r.StatusCode, r.body)
	}
}

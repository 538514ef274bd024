package handlers_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"closr/handlers"
	"closr/store"
)

// rawDB opens the test's database as another process would.
func rawDB(t *testing.T, e *env) *sql.DB {
	t.Helper()
	db, err := store.OpenRaw(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// holdWriteLock has another process take the database's write lock and
// sit on it until release is called.
func holdWriteLock(t *testing.T, e *env) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := rawDB(t, e).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// On PostgreSQL, the like of SQLite's write lock: every table locked
	// against writes, reads still allowed.
	begin := "BEGIN IMMEDIATE"
	if store.IsPostgres(e.dbPath) {
		begin = "BEGIN; LOCK TABLE " + strings.Join(tableNames(t, e, nil), ", ") + " IN EXCLUSIVE MODE"
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
}

// rowCounts counts the rows of every table, to prove a refused request
// left nothing behind. The key usage tables are left out: a refused request
// made with a known key is counted against it on purpose (see
// TestRefusedRequestsCountAgainstTheKey), and the counts are written every
// second, whenever that falls.
func rowCounts(t *testing.T, e *env) map[string]int {
	t.Helper()
	db := rawDB(t, e)
	counts := map[string]int{}
	for _, tb := range tableNames(t, e, []string{"key_usage", "key_requests"}) {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM "` + tb + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[tb] = n
	}
	db.Close()
	return counts
}

// tableNames lists the database's tables but those left out, in name
// order.
func tableNames(t *testing.T, e *env, leftOut []string) []string {
	t.Helper()
	db := rawDB(t, e)
	// A virtual table (SQLite's search index) is counted through its own
	// tables, which hold its rows.
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
	if store.IsPostgres(e.dbPath) {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(leftOut, n) {
			tables = append(tables, n)
		}
	}
	sort.Strings(tables)
	return tables
}

func sameCounts(t *testing.T, what string, before, after map[string]int) {
	t.Helper()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("%s changed the database:\nbefore %v\nafter  %v", what, before, after)
	}
}

// noInternals fails if an answer shows an error's innards to a person.
func noInternals(t *testing.T, what string, r resp) {
	t.Helper()
	for _, s := range []string{"SQLITE", "database is locked", "goroutine", "ingest lead:", ".go:"} {
		if strings.Contains(r.body, s) {
			t.Fatalf("%s shows internals (%q):\n%s", what, s, r.body)
		}
	}
}

func want503(t *testing.T, what string, r resp) {
	t.Helper()
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "5" {
		t.Fatalf("%s: %d Retry-After %q, want 503 with Retry-After 5\n%s", what, r.StatusCode, r.Header.Get("Retry-After"), r.body)
	}
	noInternals(t, what, r)
}

func wantStorageJSON(t *testing.T, r resp) {
	t.Helper()
	var body struct{ Error, Message string }
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Error != "storage_unavailable" || !strings.Contains(body.Message, "try again") {
		t.Fatalf("503 body = %s (%v)", r.body, err)
	}
}

// TestStorageLockedByAnotherProcess: while another process holds the write
// lock, ingest and key generation answer 503 with Retry-After and write
// nothing; once the lock goes, the next request succeeds without a restart.
// With the whole file locked, the settings page is a clear error page.
func TestStorageLockedByAnotherProcess(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{store: store.Options{BusyTimeout: 200 * time.Millisecond}})
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	key := c.generate("Webflow form")
	if r := c.e.postLead(key, `{"email":"first@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("baseline lead: %d %s", r.StatusCode, r.body)
	}
	before := rowCounts(t, e)

	// Another process takes the write lock and sits on it.
	release := holdWriteLock(t, e)

	r := c.e.postLead(key, `{"name":"Bo","email":"locked@example.com"}`)
	want503(t, "JSON lead while locked", r)
	wantStorageJSON(t, r)
	form := url.Values{"email": {"form@example.com"}, "api_key": {key}}
	r = c.post("/api/leads/inbound", form)
	want503(t, "form lead while locked", r)
	if !strings.Contains(r.body, "try again") || !strings.Contains(r.body, "<html") {
		t.Fatalf("form lead while locked is not a page saying to retry:\n%s", r.body)
	}
	r = c.post("/settings/integrations/api-keys", url.Values{"label": {"Zapier"}})
	want503(t, "generate key (form) while locked", r)
	if !strings.Contains(r.body, "storage is busy") || !strings.Contains(r.body, `data-testid="message"`) {
		t.Fatalf("generate key while locked is not a clear error page:\n%s", r.body)
	}
	r = c.post("/settings/integrations/api-keys", url.Values{"label": {"Zapier"}}, "HX-Request", "true")
	want503(t, "generate key (HTMX) while locked", r)

	release()
	sameCounts(t, "requests refused while locked", before, rowCounts(t, e))

	// Storage is back: no restart, the very next requests succeed.
	if r := c.e.postLead(key, `{"name":"Bo","email":"locked@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("lead after the lock went: %d %s", r.StatusCode, r.body)
	}
	c.get("/settings/integrations")
	c.generate("Zapier")

}

// readFailStore is the real store whose reads of the key list fail as if
// the disk had gone away; in WAL mode another process cannot block reads.
type readFailStore struct {
	*store.DB
	fail atomic.Bool
}

func (s *readFailStore) APIKeys(ctx context.Context, teamID int64) ([]store.APIKey, error) {
	if s.fail.Load() {
		return nil, fmt.Errorf("list keys: %w: disk I/O error", store.ErrUnavailable)
	}
	return s.DB.APIKeys(ctx, teamID)
}

// TestSettingsPageWhenStorageFails: the page is a clear error page with
// Retry-After, not a stack trace, and comes back by itself.
func TestSettingsPageWhenStorageFails(t *testing.T) {
	t.Parallel()
	var fs *readFailStore
	e := newEnvWith(t, envOptions{config: func(cfg *handlers.Config) {
		fs = &readFailStore{DB: cfg.Store.(*store.DB)}
		cfg.Store = fs
	}})
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	fs.fail.Store(true)
	r := c.get("/settings/integrations", "Accept", "text/html")
	want503(t, "settings page", r)
	if !strings.Contains(r.body, "storage is busy") || !strings.Contains(r.body, `data-testid="message"`) || strings.Contains(r.body, "disk I/O") {
		t.Fatalf("settings page with failing storage is not a clear error page:\n%s", r.body)
	}
	if !strings.Contains(e.log.String(), "disk I/O error") {
		t.Fatal("the cause was not logged for the operator")
	}
	fs.fail.Store(false)
	if r := c.get("/settings/integrations"); r.StatusCode != http.StatusOK {
		t.Fatalf("settings page after storage came back: %d", r.StatusCode)
	}
}

// A key generated while the key list cannot be read is still shown once:
// it exists, and that answer is the only place it can ever be seen.
func TestGeneratedKeyShownWhenTheListFails(t *testing.T) {
	t.Parallel()
	var fs *readFailStore
	e := newEnvWith(t, envOptions{config: func(cfg *handlers.Config) {
		fs = &readFailStore{DB: cfg.Store.(*store.DB)}
		cfg.Store = fs
	}})
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	fs.fail.Store(true)
	for _, hdr := range [][]string{{"HX-Request", "true"}, nil} {
		r := c.post("/settings/integrations/api-keys", url.Values{"label": {"Zapier"}}, hdr...)
		if hdr == nil { // a plain post is redirected to the page that shows the key
			r = c.follow(r)
		}
		key := newKeyRE.FindStringSubmatch(r.body)
		if r.StatusCode != http.StatusOK || key == nil || !strings.Contains(r.body, "could not be loaded") {
			t.Fatalf("HTMX %v: %d, key shown: %v\n%s", hdr != nil, r.StatusCode, key != nil, r.body)
		}
		if _, err := e.db.APIKeyByHash(context.Background(), store.HashKey(key[1])); err != nil {
			t.Fatalf("the shown key does not work: %v", err)
		}
	}
}

// TestClientGoneWhileQueuedIsNoServerError: a client that hangs up while
// its lead waits for the writer stores nothing and is logged as a
// cancelled request (499), not as a server error.
func TestClientGoneWhileQueuedIsNoServerError(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{store: store.Options{BusyTimeout: 5 * time.Second}})
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	key := c.generate("Webflow form")
	before := rowCounts(t, e)

	// Another process holds the write lock, so the writer waits on its
	// first batch and the next lead queues behind it.
	release := holdWriteLock(t, e)
	first := make(chan resp, 1)
	go func() { first <- c.e.postLead(key, `{"email":"waits@example.com"}`) }()
	// The first lead's batch is waiting for the lock before the next lead
	// comes: on PostgreSQL it waits inside its transaction, which a lead
	// arriving at the same moment could join.
	time.Sleep(300 * time.Millisecond)

	gone, hangUp := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(gone, "POST", e.srv.URL+"/api/leads/inbound", strings.NewReader(`{"email":"gone@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", key)
	sent := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		sent <- err
	}()
	time.Sleep(time.Second) // the lead is read and queued (the writer waits up to 5 s)
	hangUp()
	if err := <-sent; err == nil {
		t.Fatal("the cancelled request got an answer")
	}
	release()
	if r := <-first; r.StatusCode != http.StatusCreated {
		t.Fatalf("the lead ahead of it: %d %s", r.StatusCode, r.body)
	}
	// The writer answers the cancelled request after the first one; wait
	// for its log line.
	for i := 0; i < 100 && !strings.Contains(e.log.String(), "status=499"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	logs := e.log.String()
	if !strings.Contains(logs, "status=499") {
		t.Fatalf("no cancelled-request line in the logs:\n%s", logs)
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Fatalf("a client that went away was logged as an error:\n%s", logs)
	}
	after := rowCounts(t, e)
	if after["leads"] != before["leads"]+1 {
		t.Fatalf("leads %d → %d, want only the first one stored", before["leads"], after["leads"])
	}
}

package handlers_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"closr"
	"closr/handlers"
	"closr/store"
	"closr/store/storetest"
)

// env is a running server on a real database (see storetest.Addr), with
// everything its logs said.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	db     *store.DB
	dbPath string
	log    *storetest.LogBuffer
	h      *handlers.Server
}

func newEnv(t testing.TB) *env { return newEnvWith(t, envOptions{}) }

// envOptions change newEnv's defaults for tests that need to.
type envOptions struct {
	dbPath string                 // "" is storetest.Addr: a file in t.TempDir(), or a PostgreSQL schema
	store  store.Options          // e.g. a short busy timeout
	config func(*handlers.Config) // adjusts the server's config
	clock  *fakeClock             // nil: the real clock
}

// fakeClock is a clock that moves only when told, for the store and the
// server alike.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newEnvWith(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.dbPath == "" {
		o.dbPath = storetest.Addr(t)
	}
	if o.clock != nil {
		o.store.Now = o.clock.Now
	}
	db, err := store.OpenWith(context.Background(), o.dbPath, o.store)
	if err != nil {
		t.Fatal(err)
	}
	static, err := fs.Sub(closr.Static, "static")
	if err != nil {
		t.Fatal(err)
	}
	logs := &storetest.LogBuffer{}
	cfg := handlers.Config{
		Store: db, Static: static, SessionKey: []byte("test secret"),
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PasswordCost: 64, // KiB: fast hashing in tests
		Now:          o.store.Now,
	}
	if o.config != nil {
		o.config(&cfg)
	}
	h, err := handlers.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); db.Close() })
	return &env{t: t, srv: srv, db: db, dbPath: o.dbPath, log: logs, h: h}
}

// client is one browser-like user: a cookie jar, no automatic redirects.
type client struct {
	e    *env
	http *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type resp struct {
	*http.Response
	body string
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) resp {
	c.e.t.Helper()
	r, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if m := csrfRE.FindSubmatch(b); m != nil {
		c.csrf = html.UnescapeString(string(m[1]))
	}
	return resp{r, string(b)}
}

func (c *client) get(path string, hdr ...string) resp {
	req, _ := http.NewRequest("GET", c.e.srv.URL+path, nil)
	setHeaders(req, hdr)
	return c.do(req)
}

// post sends a urlencoded form with the CSRF token the client last saw
// (unless the form sets _csrf itself).
func (c *client) post(path string, form url.Values, hdr ...string) resp {
	return c.send("POST", path, form, hdr...)
}

func (c *client) send(method, path string, form url.Values, hdr ...string) resp {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.csrf)
	}
	req, _ := http.NewRequest(method, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if method != "POST" {
		// Go reads no form body on DELETE; HTMX sends the token as a header.
		req.Header.Set("X-CSRF-Token", form.Get("_csrf"))
	}
	setHeaders(req, hdr)
	return c.do(req)
}

// follow is the page a plain form post's 303 leads to (Post/Redirect/Get),
// as a browser would load it.
func (c *client) follow(r resp) resp {
	c.e.t.Helper()
	if r.StatusCode != http.StatusSeeOther {
		c.e.t.Fatalf("want a 303 to follow, got %d\n%.600s", r.StatusCode, r.body)
	}
	return c.get(r.Header.Get("Location"))
}

func setHeaders(req *http.Request, hdr []string) {
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
}

// signup creates a team and signs the client in.
func (c *client) signup(name, email, team string) {
	c.e.t.Helper()
	c.get("/signup")
	r := c.post("/signup", url.Values{"name": {name}, "email": {email}, "password": {"correct horse battery"}, "team": {team}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/integrations" {
		c.e.t.Fatalf("signup: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	c.get("/settings/integrations")
}

var newKeyRE = regexp.MustCompile(`data-testid="new-key">(closr_[A-Za-z0-9_-]{43})<`)

// generate creates a key through the page and returns it.
func (c *client) generate(label string) string {
	c.e.t.Helper()
	r := c.post("/settings/integrations/api-keys", url.Values{"label": {label}}, "HX-Request", "true")
	m := newKeyRE.FindStringSubmatch(r.body)
	if r.StatusCode != 200 || m == nil {
		c.e.t.Fatalf("generate %q: %d\n%s", label, r.StatusCode, r.body)
	}
	return m[1]
}

// flushUsage writes the key use counted so far, as the server does every
// second, so a test reads what it just did.
func (e *env) flushUsage() {
	e.t.Helper()
	if err := e.db.FlushUsage(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// activeKeys counts the team's active keys straight from the database.
func (e *env) activeKeys(teamID int64) int {
	keys, err := e.db.APIKeys(context.Background(), teamID)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(keys)
}

func (e *env) agent(email string) store.Agent {
	a, err := e.db.AgentByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// leadRequest is a JSON lead for /api/leads/inbound of the server at base,
// sent as a server would (no key header when key is ""), plus any headers
// given. Every test posts leads through it.
func leadRequest(base, key, body string, hdr ...string) *http.Request {
	req, _ := http.NewRequest("POST", base+"/api/leads/inbound", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	setHeaders(req, hdr)
	return req
}

// postLead posts a JSON lead to the test server.
func (e *env) postLead(key, body string, hdr ...string) resp {
	return e.client().do(leadRequest(e.srv.URL, key, body, hdr...))
}

// mustPostLead posts a lead that must be received and returns the id of
// the lead it joined (an intake key's answer names none, so it is looked up).
func (e *env) mustPostLead(key, body string, hdr ...string) int64 {
	e.t.Helper()
	if r := e.postLead(key, body, hdr...); r.StatusCode != http.StatusCreated {
		e.t.Fatalf("post lead %s: %d %s", body, r.StatusCode, r.body)
	}
	return e.lastLeadID()
}

// lastLeadID is the lead of the latest submission stored.
func (e *env) lastLeadID() int64 {
	e.t.Helper()
	var id int64
	if err := rawDB(e.t.(*testing.T), e).QueryRow("SELECT lead_id FROM submissions ORDER BY id DESC LIMIT 1").Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// storedIn says where the database keeps s, if anywhere: for SQLite a file
// beside it (the database, its WAL), for PostgreSQL a row of one of its
// tables (text columns as they are, binary ones as hex). Call it after
// e.db.Close, so that SQLite has written everything to its files.
func (e *env) storedIn(t testing.TB, s string) string {
	t.Helper()
	if !store.IsPostgres(e.dbPath) {
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(e.dbPath), "*"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(s)) {
				return filepath.Base(f)
			}
		}
		return ""
	}
	raw, err := store.OpenRaw(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tables, err := raw.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	for _, n := range names {
		var found int
		q := `SELECT count(*) FROM "` + n + `" r WHERE strpos(r::text, ?1) > 0 OR strpos(r::text, ?2) > 0`
		if err := raw.QueryRow(q, s, hex.EncodeToString([]byte(s))).Scan(&found); err != nil {
			t.Fatal(err)
		}
		if found > 0 {
			return "table " + n
		}
	}
	return ""
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"closr/store"
	"closr/store/storetest"
)

// populated is what fillSQLite made, to read back after the move.
type populated struct {
	teams        []int64
	owner        store.Agent
	rivalOwner   store.Agent
	session      string
	keys         []string // plain keys: intake, mcp, revoked, rotated (old), its replacement
	lead, tested int64
	intake       int64 // the key the leads and page views came with
	secret       []byte
}

var sessionRules = store.SessionRules{Lifetime: 24 * time.Hour, Idle: time.Hour, PerAgent: 10}

// fillSQLite writes every kind of row through the store's API: two teams,
// members who joined by invitation, removed and promoted ones, keys live,
// revoked, rotated and expiring, leads with several submissions, custom
// fields, notes and an Idempotency-Key, a test lead, tracked domains,
// visitors with page views (a visit starts), an identify, a tracked link
// opened, key use counted, and a session.
func fillSQLite(t *testing.T, path string, now time.Time) populated {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenWith(ctx, path, store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var p populated
	p.secret, err = db.Setting(ctx, "session_secret", func() ([]byte, error) { return []byte("s3cret bytes \x00\xff"), nil })
	must(err)
	for i, name := range []string{"Sunset Realty", "Rival Homes"} {
		a, err := db.CreateTeamWithOwner(ctx, name, store.NewAgent{Name: "Owner " + name, Email: fmt.Sprintf("owner%d@example.com", i),
			PasswordHash: []byte("hash\x00bytes"), TimeZone: "America/New_York"})
		must(err)
		p.teams = append(p.teams, a.TeamID)
		if i == 0 {
			p.owner = a
		} else {
			p.rivalOwner = a
		}
	}
	team, owner := p.teams[0], p.owner.ID
	p.session, err = db.CreateSession(ctx, owner, sessionRules)
	must(err)

	// Members: one joins as admin, one as agent then removed; one
	// invitation left open, one cancelled.
	for i, role := range []string{store.RoleAdmin, store.RoleAgent} {
		_, token, err := db.CreateInvitation(ctx, team, owner, fmt.Sprintf("member%d@example.com", i), role)
		must(err)
		a, err := db.AcceptInvitation(ctx, token, store.NewAgent{Name: fmt.Sprintf("Member %d", i), Email: fmt.Sprintf("member%d@example.com", i), PasswordHash: []byte("h")})
		must(err)
		if role == store.RoleAgent {
			_, err = db.ChangeRole(ctx, team, a.ID, owner, store.RoleAdmin)
			must(err)
			_, err = db.RemoveAgent(ctx, team, a.ID, owner)
			must(err)
		}
	}
	_, _, err = db.CreateInvitation(ctx, team, owner, "open@example.com", store.RoleAgent)
	must(err)
	inv, _, err := db.CreateInvitation(ctx, team, owner, "cancelled@example.com", store.RoleAgent)
	must(err)
	_, err = db.CancelInvitation(ctx, team, inv.ID, owner)
	must(err)

	newKey := func(label, access string, days int) (store.APIKey, string) {
		k, plain, err := db.CreateAPIKey(ctx, team, owner, label, access, days)
		must(err)
		p.keys = append(p.keys, plain)
		return k, plain
	}
	intake, _ := newKey("Website form", store.AccessIntake, 90)
	p.intake = intake.ID
	newKey("Claude", store.AccessMCP, 0)
	revoked, _ := newKey("Old zap", store.AccessIntake, 0)
	_, err = db.RevokeAPIKey(ctx, team, revoked.ID, owner)
	must(err)
	rotated, _ := newKey("Make", store.AccessIntake, 30)
	_, _, repl, err := db.RotateAPIKey(ctx, team, rotated.ID, owner, "Make (new)")
	must(err)
	p.keys = append(p.keys, repl)
	_, err = db.RenameAPIKey(ctx, team, intake.ID, owner, "Webflow form")
	must(err)

	_, err = db.AddTrackedDomain(ctx, team, "agent.example")
	must(err)
	_, err = db.AddTrackedDomain(ctx, team, "www.agent.example")
	must(err)
	ingest := func(in store.LeadInput) store.IngestResult {
		t.Helper()
		in.TeamID, in.ContentType = team, "application/json"
		if in.KeyID == 0 {
			in.KeyID = intake.ID
		}
		if in.At.IsZero() {
			in.At = now
		}
		in.Raw = []byte(fmt.Sprintf(`{"name":%q,"email":%q}`, in.Name, in.Email))
		in.Fields = []store.Field{{Name: "name", Value: in.Name}, {Name: "email", Value: in.Email}}
		r, err := db.IngestLead(ctx, in)
		must(err)
		return r
	}
	for i := range 30 {
		ingest(store.LeadInput{Name: fmt.Sprintf("Buyer %02d Oakley", i), Email: fmt.Sprintf("buyer%d@example.com", i),
			Phone: fmt.Sprintf("+1212555%04d", i), Message: "Is 12 Oak St available?", Source: []string{"Website", "Zillow"}[i%2],
			At: now.Add(time.Duration(i-40) * time.Hour)})
	}
	r := ingest(store.LeadInput{Name: "Zoë Quartermaine", Email: "zoe@example.com", Message: "first", Source: "Website",
		Custom: []store.Field{{Name: "budget", Value: "$650k"}}, VisitorID: "visitor-zoe", IdemKey: "idem-1",
		IdemHash: [32]byte{1, 2, 3}, At: now.Add(-3 * time.Hour)})
	p.lead = r.LeadID
	ingest(store.LeadInput{Name: "Zoë Quartermaine", Email: "zoe@example.com", Phone: "+14155550100", Message: "second",
		Source: "Zillow", Custom: []store.Field{{Name: "bedrooms", Value: "3"}}, Notes: []string{"a file was not kept"}})
	p.tested = ingest(store.LeadInput{Name: "Test Lead", Email: "test@closr.example", Test: true, Source: "Closr test"}).LeadID
	// The other team: a lead and a key of its own.
	k2, _, err := db.CreateAPIKey(ctx, p.teams[1], p.rivalOwner.ID, "Rival form", store.AccessIntake, 0)
	must(err)
	_, err = db.IngestLead(ctx, store.LeadInput{TeamID: p.teams[1], KeyID: k2.ID, Name: "Rival Lead", Email: "zoe@example.com",
		ContentType: "application/json", Raw: []byte(`{}`), At: now})
	must(err)

	// The tracker: an anonymous visitor, Zoë's visitor over two visits, an
	// identify of someone who is not a lead yet, and a tracked link opened.
	view := func(vid, url, clsr string, at time.Time) {
		t.Helper()
		must(db.RecordPageView(ctx, store.PageViewInput{TeamID: team, KeyID: intake.ID, VisitorID: vid, URL: url, Title: "Page " + url,
			Referrer: "https://www.google.com/", UTMSource: "google", Clsr: clsr, ScreenWidth: 1280, At: at}))
	}
	view("visitor-anon", "https://agent.example/", "", now.Add(-5*time.Hour))
	view("visitor-zoe", "https://agent.example/listings/12-oak", "", now.Add(-4*time.Hour))
	view("visitor-zoe", "https://agent.example/listings/7-elm", "", now.Add(-2*time.Hour))
	_, err = db.Identify(ctx, store.IdentifyInput{TeamID: team, KeyID: intake.ID, VisitorID: "visitor-later", Email: "later@example.com", At: now})
	must(err)
	_, token, err := db.NewTrackedLink(ctx, team, p.lead, owner, 0, "https://agent.example/listings/9-pine")
	must(err)
	view("visitor-link", "https://agent.example/listings/9-pine", token, now.Add(-time.Hour))

	db.RecordUse(store.Use{TeamID: team, KeyID: intake.ID, At: now, Endpoint: "/api/leads/inbound", Kind: store.UseLeadCreated, Status: 201, From: "agent.example"})
	db.RecordUse(store.Use{TeamID: team, KeyID: intake.ID, At: now, Endpoint: "/api/track", Kind: store.UsePageView, Status: 204, From: "agent.example/listings"})
	db.RecordUse(store.Use{TeamID: team, KeyID: revoked.ID, At: now, Endpoint: "/api/leads/inbound", Kind: store.UseRefusedRevoked, Status: 401})
	must(db.FlushUsage(ctx))
	return p
}

// readBack is what an agent would see of the team, through the store's
// read API; the same on both databases after a move.
type readBack struct {
	Leads       []store.Lead
	Search      []store.Lead
	Submissions store.SubmissionPage
	Keys        []store.APIKey
	Ended       []store.EndedKey
	Members     []store.Member
	Invitations []store.Invitation
	Events      []store.TeamEvent
	Domains     []store.TrackedDomain
	Links       []store.TrackedLink
	Pages       []store.ViewedPage
	PagesTotal  int
	Visitors    []store.AnonymousVisitor
	Stats       store.TrackerStats
	BySource    []store.Count
	ByDay       []store.Count
	Usage       map[int64][]store.DayUsage
	Requests    []store.KeyRequest
	Session     store.Agent
	Rival       []store.Lead
}

func readAll(t *testing.T, db *store.DB, p populated, now time.Time) readBack {
	t.Helper()
	ctx := context.Background()
	var r readBack
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	team := p.teams[0]
	r.Leads, err = db.Leads(ctx, team, "", store.LeadRange{Limit: 100})
	must(err)
	r.Search, err = db.Leads(ctx, team, "quarterm", store.LeadRange{Limit: 100})
	must(err)
	r.Submissions, err = db.LeadSubmissions(ctx, team, p.lead, 0, 10)
	must(err)
	r.Keys, err = db.APIKeys(ctx, team)
	must(err)
	r.Ended, err = db.EndedKeys(ctx, team)
	must(err)
	r.Members, err = db.Members(ctx, team)
	must(err)
	r.Invitations, err = db.OpenInvitations(ctx, team)
	must(err)
	r.Events, err = db.TeamEvents(ctx, team, store.EventFilter{Limit: 100})
	must(err)
	r.Domains, err = db.TrackedDomains(ctx, team)
	must(err)
	r.Links, err = db.TrackedLinks(ctx, team, p.lead, 10)
	must(err)
	r.Pages, r.PagesTotal, err = db.PagesViewedByLead(ctx, team, p.lead, 10)
	must(err)
	r.Visitors, err = db.AnonymousVisitors(ctx, team, 10)
	must(err)
	r.Stats, err = db.TrackerStats(ctx, team, now)
	must(err)
	r.BySource, r.ByDay, err = db.LeadCounts(ctx, team, now.AddDate(0, 0, -30), now, 10)
	must(err)
	r.Usage, err = db.KeyUsage(ctx, team, 0, now.AddDate(0, 0, -7))
	must(err)
	r.Requests, err = db.KeyRequests(ctx, team, p.intake)
	must(err)
	r.Session, err = db.SessionAgent(ctx, p.session, sessionRules)
	must(err)
	r.Rival, err = db.Leads(ctx, p.teams[1], "", store.LeadRange{Limit: 10})
	must(err)
	return r
}

// TestMigrateToPostgres moves a SQLite database holding every kind of row
// into PostgreSQL with closr migrate, then opens PostgreSQL through the
// store: every page and list reads the same, search finds the leads, the
// keys and the session still work, and new rows get new ids.
func TestMigrateToPostgres(t *testing.T) {
	storetest.PostgresOnly(t, "closr migrate copies into PostgreSQL")
	addr := storetest.Addr(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	path := filepath.Join(t.TempDir(), "closr.db")
	p := fillSQLite(t, path, now)

	src, err := store.OpenWith(ctx, path, store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, src, p, now)
	src.Close()
	if len(want.Leads) != 32 || len(want.Search) != 1 || len(want.Submissions.Submissions) != 2 || len(want.Pages) == 0 ||
		len(want.Links) != 1 || len(want.Usage) == 0 || len(want.Requests) == 0 || len(want.Members) != 2 || len(want.Invitations) != 1 {
		t.Fatalf("the SQLite database is not populated as meant: %d leads, %d found, %d submissions, %d pages, %d links, %d keys used, %d requests, %d members, %d invitations",
			len(want.Leads), len(want.Search), len(want.Submissions.Submissions), len(want.Pages), len(want.Links), len(want.Usage), len(want.Requests), len(want.Members), len(want.Invitations))
	}

	var out bytes.Buffer
	if err := migrate([]string{"--from", path, "--to", addr}, &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	if !strings.Contains(out.String(), "counts equal in every table") {
		t.Errorf("the summary does not report the check:\n%s", out.String())
	}

	// The planner has statistics of what was copied: without them it takes
	// the leads table for empty and plans searches as walks over a team.
	raw, err := store.OpenRaw(addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"page_views", "submissions"} {
		var n int
		if err := raw.QueryRow("SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1", table).Scan(&n); err != nil || n == 0 {
			t.Errorf("statistics of %s after the move: %d columns, %v; want them gathered", table, n, err)
		}
	}
	raw.Close()

	dst, err := store.OpenWith(ctx, addr, store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	got := readAll(t, dst, p, now)
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		if g, w := gv.Field(i).Interface(), wv.Field(i).Interface(); !reflect.DeepEqual(g, w) {
			t.Errorf("%s after the move:\n got %+v\nwant %+v", gv.Type().Field(i).Name, g, w)
		}
	}
	// The keys authenticate as before: the revoked one is known and
	// refused, the others (the rotated-out one in its grace period) work.
	for i, plain := range p.keys {
		k, err := dst.APIKeyByHash(ctx, store.HashKey(plain))
		if i == 2 {
			if !errors.Is(err, store.ErrKeyRevoked) || k.Label != "Old zap" {
				t.Errorf("the revoked key after the move: %+v, %v; want it known and refused", k, err)
			}
			continue
		}
		if err != nil || !dst.KeyActive(k.ID) {
			t.Errorf("key %d (%s) after the move: %v, active %v", i, k.Label, err, dst.KeyActive(k.ID))
		}
	}
	secret, err := dst.Setting(ctx, "session_secret", func() ([]byte, error) { return []byte("a new one"), nil })
	if err != nil || !bytes.Equal(secret, p.secret) {
		t.Errorf("session secret after the move: %q, %v; want the SQLite one (sessions stay valid)", secret, err)
	}
	// New rows are numbered past the copied ones.
	k, _, err := dst.CreateAPIKey(ctx, p.teams[0], p.owner.ID, "After the move", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := dst.IngestLead(ctx, store.LeadInput{TeamID: p.teams[0], KeyID: k.ID, Name: "New After Move", Email: "new@example.com",
		ContentType: "application/json", Raw: []byte(`{}`), At: now})
	if err != nil {
		t.Fatalf("a lead after the move: %v", err)
	}
	if !res.Created || res.LeadID <= want.Leads[0].ID && res.LeadID <= p.tested {
		t.Errorf("a lead after the move: %+v, want a new id past the copied ones", res)
	}
	found, err := dst.Leads(ctx, p.teams[0], "after mov", store.LeadRange{Limit: 10})
	if err != nil || len(found) != 1 || found[0].ID != res.LeadID {
		t.Errorf("search for the new lead: %v, %v", found, err)
	}
}

// TestMigrateRefuses: a target that holds data, a source of another
// schema version, a missing source and text PostgreSQL cannot store are
// refused with a message that says what to do, and the target is left as
// it was (the refused moves before the first one leave it empty).
func TestMigrateRefuses(t *testing.T) {
	storetest.PostgresOnly(t, "closr migrate copies into PostgreSQL")
	addr := storetest.Addr(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	dir := t.TempDir()
	path := filepath.Join(dir, "closr.db")
	fillSQLite(t, path, now)

	// variant is a copy of the database changed by one statement.
	variant := func(name, change string) string {
		t.Helper()
		to := filepath.Join(dir, name)
		if err := store.Backup(ctx, path, to); err != nil {
			t.Fatal(err)
		}
		raw, err := store.OpenRaw(to)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if _, err := raw.Exec(change); err != nil {
			t.Fatal(err)
		}
		return to
	}
	older := variant("older.db", "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)")
	newer := variant("newer.db", "INSERT INTO schema_migrations VALUES ('999_from_the_future', 0)")
	// A NUL in a lead's name: SQLite keeps it, PostgreSQL's text cannot.
	nul := variant("nul.db", "UPDATE leads SET name = 'Nul' || char(0) || 'Byte' WHERE id = 5")

	for _, c := range []struct{ name, from, want string }{
		{"missing source", filepath.Join(dir, "typo.db"), "no SQLite database at"},
		{"older source", older, "start this closr once on it"},
		{"newer source", newer, "written by a newer closr"},
		{"text PostgreSQL cannot hold", nul, "copy leads: row id=5, column name"},
	} {
		err := migrate([]string{"--from", c.from, "--to", addr}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	if err := migrate([]string{"--from", path, "--to", addr}, &bytes.Buffer{}); err != nil {
		t.Fatalf("the first move: %v", err)
	}
	err := migrate([]string{"--from", path, "--to", addr}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "already holds data") {
		t.Fatalf("a second move into the same database: err = %v, want a refusal", err)
	}
	db, err := store.Open(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, _, err := db.CountLeads(ctx, 1, "", store.LeadFilter{}, 1000)
	if err != nil || n != 32 {
		t.Errorf("after the refused second move the first team has %d leads (%v), want the 32 of the first move", n, err)
	}
}

// closr migrate's arguments: both databases named, the target a
// PostgreSQL address, a mistyped source refused without leaving a lock
// file behind, and a source a server is running on refused.
func TestMigrateArgs(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", typo}, "usage: closr migrate --from"},
		{[]string{"--to", "postgres://db.internal/closr"}, "usage: closr migrate --from"},
		{[]string{"--from", typo, "--to", filepath.Join(dir, "other.db")}, "--to is not a PostgreSQL address"},
		{[]string{"--from", typo, "--to", "postgres://db.internal/closr"}, "no SQLite database at " + typo},
	} {
		err := migrate(c.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("migrate %q: err = %v, want %q", c.args, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused moves left %v in the folder", entries)
	}

	// A server still running on the source: leads it takes after the copy
	// began would stay behind.
	path := filepath.Join(dir, "closr.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	unlock, err := lockDatabase(path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	err = migrate([]string{"--from", path, "--to", "postgres://db.internal/closr"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "another closr server is already using") || !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("migrate while a server holds the file: err = %v, want a refusal", err)
	}
}

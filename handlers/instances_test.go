package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/handlers"
	"closr/store"
	"closr/store/storetest"
)

// These tests run two servers, each on its own store, on one PostgreSQL
// schema: two Closr instances behind a load balancer. They need
// CLOSR_TEST_POSTGRES.

// twoInstances starts A and B on one fresh database.
func twoInstances(t *testing.T) (a, b *env) {
	t.Helper()
	addr := pgAddr(t)
	return newEnvWith(t, envOptions{dbPath: addr}), newEnvWith(t, envOptions{dbPath: addr})
}

// on is the same browser (cookies and all) talking to another instance,
// as it does behind a load balancer without sticky sessions.
func (c *client) on(e *env) *client { return &client{e: e, http: c.http, csrf: c.csrf} }

// TestInstancesMemberRemovedLosesAccess: an admin made an agent on A may
// no longer manage keys on B, and a member removed on A, and an owner who
// signed out on A, are signed out on B, each at their next request.
func TestInstancesMemberRemovedLosesAccess(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	owner := a.client()
	owner.signup("Ana Owner", "ana@example.com", "Sunset Realty")
	admin := a.accept(owner.invite("ada@example.com", "admin"), "Ada Admin").on(b)
	admin.get("/settings/integrations")
	admin.generate("Zapier")
	ada := a.agent("ada@example.com")
	owner.get("/settings/team")
	if r := owner.post(fmt.Sprintf("/settings/team/members/%d/role", ada.ID), map[string][]string{"role": {"agent"}}, "HX-Request", "true"); r.StatusCode != http.StatusOK {
		t.Fatalf("make Ada an agent on A: %d\n%s", r.StatusCode, r.body)
	}
	if r := admin.post("/settings/integrations/api-keys", map[string][]string{"label": {"Late"}}, "HX-Request", "true"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("the former admin generates a key on B: %d", r.StatusCode)
	}

	owner.get("/settings/team")
	agent := a.accept(owner.invite("abe@example.com", "agent"), "Abe Agent").on(b)
	if r := agent.get("/settings/team"); r.StatusCode != http.StatusOK {
		t.Fatalf("the agent on B: %d", r.StatusCode)
	}
	abe := a.agent("abe@example.com")
	owner.get("/settings/team")
	if r := owner.send("DELETE", fmt.Sprintf("/settings/team/members/%d", abe.ID), nil, "HX-Request", "true"); r.StatusCode != http.StatusOK {
		t.Fatalf("remove on A: %d\n%s", r.StatusCode, r.body)
	}
	if r := agent.get("/settings/team"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=%2Fsettings%2Fteam" {
		t.Fatalf("the removed agent's next request, on B: %d %s", r.StatusCode, r.Header.Get("Location"))
	}

	onB := owner.on(b)
	if r := onB.get("/settings/integrations"); r.StatusCode != http.StatusOK {
		t.Fatalf("the owner on B: %d", r.StatusCode)
	}
	if r := owner.post("/logout", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out on A: %d", r.StatusCode)
	}
	if r := onB.get("/settings/integrations"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the signed-out owner's next request, on B: %d", r.StatusCode)
	}
}

// TestInstancesTrackedDomainRemoved: B accepts tracker events from a
// listed site, and refuses them once the site is removed on A. B learns
// of the removal from a notification, within milliseconds; the test
// allows seconds and logs how long it took.
func TestInstancesTrackedDomainRemoved(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	owner, team, key := a.team("ana@example.com")
	for _, d := range []string{"sunset.example", "other.example"} {
		if r := owner.post("/settings/integrations/tracked-domains", map[string][]string{"domain": {d}}, "HX-Request", "true"); r.StatusCode != http.StatusOK {
			t.Fatalf("add %s on A: %d", d, r.StatusCode)
		}
	}
	if r := b.track(pageviewBody(key, testVID, "https://sunset.example/"), "Origin", "https://sunset.example"); r.StatusCode != http.StatusAccepted || r.Header.Get("X-Closr-Dropped") != "" {
		t.Fatalf("a listed site on B: %d %q", r.StatusCode, r.Header.Get("X-Closr-Dropped"))
	}
	domains, err := a.db.TrackedDomains(context.Background(), team)
	if err != nil || len(domains) != 2 || domains[1].Domain != "sunset.example" {
		t.Fatalf("domains %+v, %v", domains, err)
	}
	if r := owner.send("DELETE", fmt.Sprintf("/settings/integrations/tracked-domains/%d", domains[1].ID), nil, "HX-Request", "true"); r.StatusCode != http.StatusOK {
		t.Fatalf("remove on A: %d", r.StatusCode)
	}
	removed := time.Now()
	for {
		r := b.track(pageviewBody(key, testVID, "https://sunset.example/"), "Origin", "https://sunset.example")
		if r.Header.Get("X-Closr-Dropped") == "origin" {
			t.Logf("B refused the removed site %v after the removal returned", time.Since(removed))
			return
		}
		if time.Since(removed) > 5*time.Second {
			t.Fatalf("B still accepts the removed site 5 s later: %d %q", r.StatusCode, r.Header.Get("X-Closr-Dropped"))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// mailLog is a Mailer that keeps the subjects it was given.
type mailLog struct {
	mu       sync.Mutex
	subjects []string
}

func (m *mailLog) Send(to []string, subject, body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subjects = append(m.subjects, subject)
}

// TestInstancesExpiryNoticeOnce: instances started together send their
// hourly expiry notices at the same moment; each key's notice goes once.
func TestInstancesExpiryNoticeOnce(t *testing.T) {
	t.Parallel()
	addr := pgAddr(t)
	mail := &mailLog{}
	withMail := func(c *handlers.Config) { c.Mail = mail }
	a, b := newEnvWith(t, envOptions{dbPath: addr, config: withMail}), newEnvWith(t, envOptions{dbPath: addr, config: withMail})
	a.client().signup("Ana Owner", "ana@example.com", "Sunset Realty")
	ana := a.agent("ana@example.com")
	const keys = 5
	for i := range keys {
		if _, _, err := a.db.CreateAPIKey(context.Background(), ana.TeamID, ana.ID, fmt.Sprint("key ", i), store.AccessIntake, 3); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		for _, e := range []*env{a, b} {
			wg.Go(func() {
				if err := e.h.SendExpiryNotices(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	notices := 0
	for _, s := range mail.subjects {
		if strings.Contains(s, "expires on") {
			notices++
		}
	}
	if notices != keys {
		t.Fatalf("%d expiry notices for %d keys:\n%s", notices, keys, strings.Join(mail.subjects, "\n"))
	}
}

// pgAddr is a fresh PostgreSQL schema for a test of several instances,
// which SQLite (one process per file, under a lock) cannot have.
func pgAddr(t *testing.T) string {
	t.Helper()
	storetest.PostgresOnly(t, "several instances share a database on PostgreSQL only")
	return storetest.Addr(t)
}

// TestInstancesMCPReadAfterRevoke: an MCP request on B asks the database,
// not B's memory, whether its key still works. The key is revoked behind
// the stores' backs, so that no notification can reach B: B's memory
// still holds it active, and the tools still give no data.
func TestInstancesMCPReadAfterRevoke(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	owner := a.client()
	owner.signup("Ana", "ana@example.com", "Team")
	secret := owner.generateAccess("Claude", "mcp")
	if r := a.postLead(owner.generate("Website"), `{"email":"lena@example.com"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("post lead: %d %s", r.StatusCode, r.body)
	}
	cs := b.mustConnectMCP(secret)
	callTool[searchResult](t, cs, "search_leads", map[string]any{})
	if _, err := rawDB(t, a).Exec("UPDATE api_keys SET revoked_at = extract(epoch FROM now())::bigint WHERE label = 'Claude'"); err != nil {
		t.Fatal(err)
	}
	k, err := b.db.APIKeyByHash(context.Background(), store.HashKey(secret))
	if err != nil || !b.db.KeyActive(k.ID) {
		t.Fatalf("B's memory should still hold the key active (no notification): %v", err)
	}
	// Each call is refused at the door (401: B asks the database before
	// any MCP request); a revoke that lands while a read tool's query runs
	// is caught by the tool's own second check (TestMCPReadToolRechecksKey).
	for _, tool := range []string{"search_leads", "pipeline_summary", "recent_visitors"} {
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: map[string]any{}})
		if err == nil {
			t.Fatalf("%s on B with a key revoked elsewhere answered: %s", tool, toolText(res))
		}
		if !strings.Contains(err.Error(), "Unauthorized") {
			t.Fatalf("%s on B with a key revoked elsewhere: %v, want Unauthorized", tool, err)
		}
	}
}

// TestInstancesRevokedKeyNoAnswerWithoutAWrite: the answers that store
// nothing (a honeypot's 201, a tracker event dropped for its origin or for
// naming nobody, MCP's initialize) ask the database, not B's memory,
// whether the key still works. The keys are revoked behind the stores'
// backs, so that no notification reaches B: B's memory still holds them
// active, and each request is refused as at the door (401).
func TestInstancesRevokedKeyNoAnswerWithoutAWrite(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	owner, team, key := a.team("ana@example.com")
	secret := owner.generateAccess("Claude", "mcp")
	if r := owner.post("/settings/integrations/tracked-domains", map[string][]string{"domain": {"sunset.example"}}, "HX-Request", "true"); r.StatusCode != http.StatusOK {
		t.Fatalf("add a tracked domain: %d", r.StatusCode)
	}
	// Before the revoke, B answers each as usual.
	if r := b.postLead(key, `{"email":"bot@example.com","_gotcha":"spam"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("honeypot on B: %d %s", r.StatusCode, r.body)
	}
	if r := b.track(pageviewBody(key, testVID, "https://elsewhere.example/"), "Origin", "https://elsewhere.example"); r.StatusCode != http.StatusAccepted || r.Header.Get("X-Closr-Dropped") != "origin" {
		t.Fatalf("another site on B: %d %q", r.StatusCode, r.Header.Get("X-Closr-Dropped"))
	}
	b.mustConnectMCP(secret)

	if _, err := rawDB(t, a).Exec("UPDATE api_keys SET revoked_at = extract(epoch FROM now())::bigint WHERE team_id = $1", team); err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{key, secret} {
		if k, err := b.db.APIKeyByHash(context.Background(), store.HashKey(plain)); err != nil || !b.db.KeyActive(k.ID) {
			t.Fatalf("B's memory should still hold the key active (no notification): %v", err)
		}
	}
	if r := b.postLead(key, `{"email":"bot@example.com","_gotcha":"spam"}`); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("honeypot on B with a revoked key: %d %s", r.StatusCode, r.body)
	}
	if r := b.track(pageviewBody(key, testVID, "https://elsewhere.example/"), "Origin", "https://elsewhere.example"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("another site on B with a revoked key: %d %q", r.StatusCode, r.Header.Get("X-Closr-Dropped"))
	}
	if r := b.track(identifyBody(key, testVID, "", ""), "Origin", "https://sunset.example"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("an identify naming nobody on B with a revoked key: %d %q", r.StatusCode, r.Header.Get("X-Closr-Dropped"))
	}
	if _, err := b.connectMCP("Authorization", "Bearer "+secret); err == nil {
		t.Errorf("MCP initialize on B with a revoked key succeeded")
	}
}

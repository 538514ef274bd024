package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"closr/store"
)

func TestGenerateShowsKeyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	r := c.post("/settings/integrations/api-keys", url.Values{"label": {"Webflow contact form"}}, "HX-Request", "true")
	m := newKeyRE.FindStringSubmatch(r.body)
	if r.StatusCode != 200 || m == nil {
		t.Fatalf("generate: %d\n%s", r.StatusCode, r.body)
	}
	key := m[1]
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("COPY NOW response Cache-Control = %q, want no-store", cc)
	}
	for _, want := range []string{"COPY NOW", "won't see this key again", `data-testid="copy"`, `data-testid="done"`, ">" + key[:12] + "<"} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("COPY NOW response lacks %q", want)
		}
	}
	page := c.get("/settings/integrations")
	if strings.Contains(page.body, key) || strings.Contains(page.body, key[12:]) {
		t.Fatal("the page shows the full key after a reload")
	}
	if !strings.Contains(page.body, key[:12]) || !strings.Contains(page.body, "Never") {
		t.Fatal("the list lacks the preview or the Never last-used")
	}
	if strings.Contains(e.log.String(), key[12:]) {
		t.Fatal("a log line holds the key")
	}
}

func TestGenerateWithoutJavaScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	// Post/Redirect/Get: the post makes the key and redirects; the page it
	// leads to shows the key once, and a reload neither shows it again nor
	// makes a second key.
	r := c.post("/settings/integrations/api-keys", url.Values{"label": {"Plain form"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/integrations" || newKeyRE.MatchString(r.body) {
		t.Fatalf("plain post: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	page := c.follow(r)
	m := newKeyRE.FindStringSubmatch(page.body)
	if page.StatusCode != 200 || m == nil || !strings.Contains(page.body, "<html") {
		t.Fatalf("the page after the redirect: %d, key shown %v", page.StatusCode, m != nil)
	}
	if _, err := e.db.APIKeyByHash(context.Background(), store.HashKey(m[1])); err != nil {
		t.Fatalf("the shown key does not work: %v", err)
	}
	if page.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("the page with the key may be cached")
	}
	reload := c.get("/settings/integrations")
	if strings.Contains(reload.body, m[1][12:]) || strings.Contains(reload.body, "COPY NOW") {
		t.Fatal("a reload shows the key again")
	}
	if n := e.activeKeys(e.agent("ana@example.com").TeamID); n != 1 {
		t.Fatalf("%d keys after a post and two loads, want 1", n)
	}
}

func TestCSRFRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	team := e.agent("ana@example.com").TeamID
	for _, tc := range []struct{ name, token string }{{"missing", ""}, {"forged", "forged-token"}} {
		r := c.post("/settings/integrations/api-keys", url.Values{"label": {"x"}, "_csrf": {tc.token}})
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "Reload the page") {
			t.Fatalf("%s token: %d\n%s", tc.name, r.StatusCode, r.body)
		}
	}
	// The token in the header, as HTMX sends it, is accepted.
	r := c.post("/settings/integrations/api-keys", url.Values{"label": {"ok"}, "_csrf": {""}}, "X-CSRF-Token", c.csrf, "HX-Request", "true")
	if r.StatusCode != 200 {
		t.Fatalf("header token: %d", r.StatusCode)
	}
	if n := e.activeKeys(team); n != 1 {
		t.Fatalf("active keys = %d, want 1 (only the request with a valid token)", n)
	}
	// Revoke and logout need the token too.
	keys, _ := e.db.APIKeys(t.Context(), team)
	if r := c.send("DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", keys[0].ID), url.Values{"_csrf": {"nope"}}, "HX-Request", "true"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("revoke without token: %d", r.StatusCode)
	}
	if r := c.post("/logout", url.Values{"_csrf": {""}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without token: %d", r.StatusCode)
	}
	if n := e.activeKeys(team); n != 1 {
		t.Fatalf("a refused revoke changed the keys: %d active", n)
	}
}

func TestLabelValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	team := e.agent("ana@example.com").TeamID
	tests := []struct {
		name, label string
		status      int
		want        string
	}{
		{"empty", "", 422, "Enter a label"},
		{"spaces only", "   \t ", 422, "Enter a label"},
		{"101 characters", strings.Repeat("é", 101), 422, "100 characters or fewer"},
		{"100 characters", strings.Repeat("é", 100), 200, "COPY NOW"},
		{"trimmed", "  Zapier for FB Lead Ads  ", 200, "<strong>Zapier for FB Lead Ads</strong>"},
		{"escaped", "<script>alert(1)</script>", 200, "&lt;script&gt;alert(1)&lt;/script&gt;"},
	}
	want := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.post("/settings/integrations/api-keys", url.Values{"label": {tt.label}}, "HX-Request", "true")
			if r.StatusCode != tt.status || !strings.Contains(r.body, tt.want) {
				t.Fatalf("%d, want %d with %q\n%s", r.StatusCode, tt.status, tt.want, r.body)
			}
			if strings.Contains(r.body, "<script>alert(1)") {
				t.Fatal("label rendered unescaped")
			}
			if tt.status == 200 {
				want++
			}
			if n := e.activeKeys(team); n != want {
				t.Fatalf("active keys = %d, want %d", n, want)
			}
		})
	}
}

func TestKeyLimitInCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	for i := 0; i < 10; i++ {
		c.generate(fmt.Sprintf("key %d", i))
	}
	r := c.post("/settings/integrations/api-keys", url.Values{"label": {"eleventh"}}, "HX-Request", "true")
	if r.StatusCode != 422 || !strings.Contains(r.body, "10 active keys") || !strings.Contains(r.body, "Revoke a key you no longer use") {
		t.Fatalf("11th key: %d\n%s", r.StatusCode, r.body)
	}
	if n := e.activeKeys(e.agent("ana@example.com").TeamID); n != 10 {
		t.Fatalf("active keys = %d, want 10", n)
	}
	if page := c.get("/settings/integrations"); !strings.Contains(page.body, `data-testid="key-limit-hint"`) {
		t.Fatal("at the limit, the card does not say so before Generate")
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bo := e.client(), e.client()
	ana.signup("Ana", "ana@example.com", "Ana's team")
	bo.signup("Bo", "bo@example.com", "Bo's team")
	ana.generate("Ana's form")
	bo.generate("Bo's form")
	anaTeam, boTeam := e.agent("ana@example.com").TeamID, e.agent("bo@example.com").TeamID
	boKeys, _ := e.db.APIKeys(t.Context(), boTeam)
	anaKeys, _ := e.db.APIKeys(t.Context(), anaTeam)

	// Another team's key id: 404, nothing changes, and Ana's page never shows Bo's key.
	r := ana.send("DELETE", fmt.Sprintf("/settings/integrations/api-keys/%d", boKeys[0].ID), nil, "HX-Request", "true")
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("cross-team revoke: %d", r.StatusCode)
	}
	if e.activeKeys(boTeam) != 1 {
		t.Fatal("cross-team revoke changed Bo's keys")
	}
	if page := ana.get("/settings/integrations"); strings.Contains(page.body, "Bo&#39;s form") || strings.Contains(page.body, boKeys[0].Preview) {
		t.Fatal("Ana's page shows Bo's key")
	}

	// Without JavaScript the first post asks for confirmation and changes nothing.
	path := fmt.Sprintf("/settings/integrations/api-keys/%d", anaKeys[0].ID)
	r = ana.post(path, url.Values{"_method": {"DELETE"}})
	if r.StatusCode != 200 || !strings.Contains(r.body, `data-testid="revoke-confirm"`) || e.activeKeys(anaTeam) != 1 {
		t.Fatalf("no-JS revoke should confirm first: %d\n%s", r.StatusCode, r.body)
	}
	r = ana.post(path, url.Values{"_method": {"DELETE"}, "confirm": {"yes"}})
	if r.StatusCode != http.StatusSeeOther || e.activeKeys(anaTeam) != 0 {
		t.Fatalf("confirmed revoke: %d\n%s", r.StatusCode, r.body)
	}
	// The notice is carried over the redirect, in view (focused) once.
	r = ana.follow(r)
	if !strings.Contains(r.body, "Revoked") || !strings.Contains(r.body, `data-testid="key-notice">`) || !strings.Contains(r.body, "autofocus") {
		t.Fatalf("the page after a confirmed revoke lacks the focused notice:\n%s", r.body)
	}
	if !strings.Contains(r.body, "Ana revoked") {
		t.Fatal("the audit trail does not show the revoke")
	}
	if again := ana.get("/settings/integrations"); strings.Contains(again.body, `data-testid="key-notice"`) {
		t.Fatal("a reload shows the notice again")
	}
}

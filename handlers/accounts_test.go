package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSignupLoginLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	r := c.get("/settings/integrations")
	if r.StatusCode != 200 || !strings.Contains(r.body, "API keys") || !strings.Contains(r.body, "Ana Agent") {
		t.Fatalf("integrations page: %d\n%s", r.StatusCode, r.body)
	}
	if ck := r.Request.Header.Get("Cookie"); !strings.Contains(ck, "closr_session=") {
		t.Fatal("no session cookie sent")
	}

	r = c.post("/logout", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.get("/settings/integrations"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=%2Fsettings%2Fintegrations" {
		t.Fatalf("after logout: %d %s", r.StatusCode, r.Header.Get("Location"))
	}

	c.get("/login")
	wrong := c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"wrong password"}})
	unknown := c.post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password"}})
	for _, r := range []resp{wrong, unknown} {
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "match") {
			t.Fatalf("bad login: %d\n%s", r.StatusCode, r.body)
		}
	}
	msg := func(s string) string { i := strings.Index(s, `data-testid="login-error"`); return s[i : i+120] }
	if msg(wrong.body) != msg(unknown.body) {
		t.Fatalf("wrong password and unknown email answer differently:\n%s\n%s", msg(wrong.body), msg(unknown.body))
	}

	r = c.post("/login", url.Values{"email": {"ANA@example.com"}, "password": {"correct horse battery"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/integrations" {
		t.Fatalf("login: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if r := c.get("/settings/integrations"); r.StatusCode != 200 {
		t.Fatalf("after login: %d", r.StatusCode)
	}
}

func TestLogoutEndsSessionEvenWithOldCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	u, _ := url.Parse(e.srv.URL)
	stolen := c.http.Jar.Cookies(u)
	c.post("/logout", nil)

	thief := e.client()
	thief.http.Jar.SetCookies(u, stolen)
	if r := thief.get("/settings/integrations"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a cookie from before logout still works: %d", r.StatusCode)
	}
}

func TestLoginRotatesSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	c.post("/logout", nil)
	c.get("/login")
	u, _ := url.Parse(e.srv.URL)
	before := c.http.Jar.Cookies(u)[0].Value
	c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}})
	after := c.http.Jar.Cookies(u)[0].Value
	if before == after {
		t.Fatal("login kept the pre-login session cookie")
	}
}

func TestSignupValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	c.post("/logout", nil)
	tests := []struct {
		name, field, value, want string
	}{
		{"missing name", "name", "", "Enter your name"},
		{"bad email", "email", "not-an-email", "like name@example.com"},
		{"short password", "password", "short", "at least 8"},
		{"missing team", "team", "  ", "team or brokerage"},
		{"taken email", "email", "ANA@example.com", "already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.client()
			c.get("/signup")
			form := url.Values{"name": {"Bo"}, "email": {"bo@example.com"}, "password": {"long enough pw"}, "team": {"Bo's"}}
			form.Set(tt.field, tt.value)
			r := c.post("/signup", form)
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, tt.want) {
				t.Fatalf("%d, want 422 with %q\n%s", r.StatusCode, tt.want, r.body)
			}
		})
	}
	if _, err := e.db.AgentByEmail(t.Context(), "bo@example.com"); err == nil {
		t.Fatal("a rejected signup created an agent")
	}
}

func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	c.post("/logout", nil)
	c.get("/login")
	for i := 0; i < 5; i++ {
		if r := c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"guess"}}); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.StatusCode)
		}
	}
	// Even the right password is refused while the account is throttled.
	r := c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}})
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many failed attempts") {
		t.Fatalf("throttled login: %d %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.body)
	}
}

func TestSignedOutRedirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.get("/login")
	if r := c.get("/settings/integrations"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=%2Fsettings%2Fintegrations" {
		t.Fatalf("GET: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	r := c.post("/settings/integrations/api-keys", url.Values{"label": {"x"}}, "HX-Request", "true")
	if r.StatusCode != http.StatusUnauthorized || r.Header.Get("HX-Redirect") != "/login" {
		t.Fatalf("HTMX POST: %d HX-Redirect=%q", r.StatusCode, r.Header.Get("HX-Redirect"))
	}
	if r := c.get("/healthz"); r.StatusCode != 200 {
		t.Fatalf("healthz: %d", r.StatusCode)
	}
}

func TestUnknownPathsAre404(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, m := range []string{"GET", "POST"} {
		r := e.api(m, "/api/no-such-endpoint", "application/json", `{}`)
		if r.StatusCode != 404 || !strings.Contains(r.body, `"not_found"`) {
			t.Fatalf("%s unknown API path: %d %s", m, r.StatusCode, r.body)
		}
	}
	if r := e.client().get("/no-such-page"); r.StatusCode != 404 {
		t.Fatalf("unknown page: %d", r.StatusCode)
	}
}

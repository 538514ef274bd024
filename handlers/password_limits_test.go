package handlers_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"closr/handlers"
)

// TestParallelLoginGuessesAreThrottled: wrong guesses sent all at once,
// beyond the limit, are refused with 429 before any password is checked;
// only the limit's worth are checked.
func TestParallelLoginGuessesAreThrottled(t *testing.T) {
	t.Parallel()
	const limit, sent = 5, 12
	e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { c.LoginLimit = limit }})
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	c.post("/logout", nil)
	c.get("/login")
	before := e.h.PasswordHashes()
	// With every hash slot taken, the checked guesses wait inside the
	// handler, so all of them are in flight together.
	release := e.h.HoldHashSlots(time.Minute)
	statuses := make(chan int, sent)
	form := url.Values{"email": {"ana@example.com"}, "password": {"guess"}, "_csrf": {c.csrf}}.Encode()
	for range sent {
		go func() {
			req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r, err := c.http.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			statuses <- r.StatusCode
		}()
	}
	for i := range sent - limit {
		if s := <-statuses; s != http.StatusTooManyRequests {
			t.Fatalf("response %d while %d guesses wait to be checked: %d, want 429", i+1, limit, s)
		}
	}
	release()
	for i := range limit {
		if s := <-statuses; s != http.StatusUnauthorized {
			t.Fatalf("checked guess %d: %d, want 401", i+1, s)
		}
	}
	if n := e.h.PasswordHashes() - before; n != limit {
		t.Fatalf("%d passwords checked, want %d", n, limit)
	}
}

// TestSignupThrottledPerIP: an address gets SignupLimit sign-ups an hour;
// the next is a 429 page that says how long to wait and creates nothing.
func TestSignupThrottledPerIP(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { c.SignupLimit = 2 }})
	e.client().signup("Ana", "ana@example.com", "Team A")
	e.client().signup("Bo", "bo@example.com", "Team B")
	c := e.client()
	c.get("/signup")
	r := c.post("/signup", url.Values{"name": {"Cy"}, "email": {"cy@example.com"}, "password": {"correct horse battery"}, "team": {"Team C"}})
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many sign-ups from this address") {
		t.Fatalf("third sign-up: %d Retry-After %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.body)
	}
	if _, err := e.db.AgentByEmail(t.Context(), "cy@example.com"); err == nil {
		t.Fatal("a throttled sign-up created an agent")
	}
}

// TestPasswordHashingBusy: with every hash slot taken, login and sign-up
// answer 503 with Retry-After and a message, and the unchecked login does
// not count against the account.
func TestPasswordHashingBusy(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { c.LoginLimit = 1 }})
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	c.post("/logout", nil)
	c.get("/login")
	release := e.h.HoldHashSlots(10 * time.Millisecond)
	login := url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}}
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/login", login},
		{"/signup", url.Values{"name": {"Bo"}, "email": {"bo@example.com"}, "password": {"correct horse battery"}, "team": {"B"}}},
	} {
		r := c.post(tc.path, tc.form)
		if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, "checking many passwords right now") {
			t.Fatalf("%s while hashing is full: %d Retry-After %q\n%s", tc.path, r.StatusCode, r.Header.Get("Retry-After"), r.body)
		}
	}
	if _, err := e.db.AgentByEmail(t.Context(), "bo@example.com"); err == nil {
		t.Fatal("a sign-up that was never hashed created an agent")
	}
	release()
	if r := c.post("/login", login); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after the busy spell (limit 1): %d, want 303", r.StatusCode)
	}
}

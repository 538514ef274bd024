package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestLoginLongEmailsHoldNoMemory: 3,000 login attempts with 60 KB emails
// (each one different) are refused before any throttle remembers them, so
// the server's heap does not grow with them.
func TestLoginLongEmailsHoldNoMemory(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.get("/login")
	pad := strings.Repeat("a", 60_000)
	before := heapInUse()
	statuses := map[int]int{}
	var last resp
	for i := range 3000 {
		email := strconv.Itoa(i) + pad + "@example.com"
		last = c.post("/login", url.Values{"email": {email}, "password": {"guess"}})
		statuses[last.StatusCode]++
	}
	growth := int64(heapInUse()) - int64(before)
	t.Logf("3,000 logins with 60 KB emails: heap grew %.1f MB; statuses %v", float64(growth)/1e6, statuses)
	if statuses[http.StatusUnprocessableEntity] != 3000 || !strings.Contains(last.body, "Enter an email address like name@example.com") {
		t.Fatalf("statuses %v, want 3000 × 422 saying what to fix\n%.300s", statuses, last.body)
	}
	if growth > 8<<20 {
		t.Fatalf("heap grew %d bytes over 3,000 refused logins, want < 8 MiB", growth)
	}
	if e.h.PasswordHashes() != 0 {
		t.Fatal("a password was checked for an email too long to be an account's")
	}
}

// TestLoginSprayDoesNotLockOutAgent: wrong passwords for one account from
// many addresses throttle those addresses, while the agent's right password
// from an address that has not failed (the office, a phone) still signs in.
func TestLoginSprayDoesNotLockOutAgent(t *testing.T) {
	e := proxyEnv(t, "127.0.0.0/8", nil) // LoginLimit 5: 5 failures per account and address
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	c.post("/logout", nil)
	c.get("/login")
	wrong := func() url.Values { return url.Values{"email": {"ana@example.com"}, "password": {"guess"}} }
	right := func() url.Values {
		return url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}}
	}
	// 20 addresses × 5 wrong passwords: 100 failures on the account, its
	// ceiling.
	for a := range 20 {
		for i := range 5 {
			if r := c.post("/login", wrong(), "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", a+1)); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("spray address %d attempt %d: %d, want 401", a+1, i+1, r.StatusCode)
			}
		}
	}
	r := c.post("/login", right(), "X-Forwarded-For", "203.0.113.1")
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a spraying address after its 5 failures: %d, want 429 with Retry-After", r.StatusCode)
	}
	// An address with one failure past the ceiling waits before its next try.
	c.post("/login", wrong(), "X-Forwarded-For", "203.0.113.200")
	r = c.post("/login", wrong(), "X-Forwarded-For", "203.0.113.200")
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a second try right away from an address past the account's ceiling: %d, want 429 with Retry-After", r.StatusCode)
	}
	for _, addr := range []string{"198.51.100.7", "198.51.100.8"} {
		r := c.post("/login", right(), "X-Forwarded-For", addr)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("the right password from %s during the spray: %d, want 303\n%.300s", addr, r.StatusCode, r.body)
		}
		c.post("/logout", nil)
		c.get("/login")
	}
}

// TestSuccessfulLoginsAreCounted: one address cannot sign in over and over
// (each sign-in costs a password hash and a session): past a burst it waits.
func TestSuccessfulLoginsAreCounted(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("Ana", "ana@example.com", "Team")
	ok, refused := 0, 0
	for range 40 {
		r := c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}})
		c.get("/settings/integrations") // the new session's CSRF token
		switch r.StatusCode {
		case http.StatusSeeOther:
			ok++
		case http.StatusTooManyRequests:
			refused++
			if r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many sign-ins from this address") {
				t.Fatalf("refused sign-in: Retry-After %q\n%.300s", r.Header.Get("Retry-After"), r.body)
			}
		default:
			t.Fatalf("login %d: %d %s", ok+refused, r.StatusCode, r.body)
		}
	}
	sessions := rowCounts(t, e)["web_sessions"]
	t.Logf("40 right-password logins from one address: %d signed in, %d refused, %d sessions stored", ok, refused, sessions)
	if ok > 30 || refused == 0 {
		t.Fatalf("%d of 40 sign-ins from one address let through, want at most 30", ok)
	}
}

// TestSignOutEverywhere: the button in the top bar ends the agent's sessions
// in every browser, and no other agent's.
func TestSignOutEverywhere(t *testing.T) {
	e := newEnv(t)
	office, phone, other := e.client(), e.client(), e.client()
	office.signup("Ana", "ana@example.com", "Team")
	other.signup("Bo", "bo@example.com", "Other team")
	phone.get("/login")
	if r := phone.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login from the phone: %d", r.StatusCode)
	}
	page := office.get("/leads")
	if !regexp.MustCompile(`<form method="post" action="/logout/everywhere"><input type="hidden" name="_csrf" value="[^"]+">\s*<button[^>]*data-testid="log-out-everywhere"[^>]*>Sign out everywhere</button>`).MatchString(page.body) {
		t.Fatalf("no Sign out everywhere button in the top bar:\n%.2000s", page.body)
	}
	if r := office.post("/logout/everywhere", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("sign out everywhere: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	for name, c := range map[string]*client{"office": office, "phone": phone} {
		if r := c.get("/settings/integrations"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login?") {
			t.Fatalf("the %s browser after signing out everywhere: %d, want 303 to /login", name, r.StatusCode)
		}
	}
	if r := other.get("/settings/integrations"); r.StatusCode != http.StatusOK {
		t.Fatalf("another agent was signed out: %d", r.StatusCode)
	}
}

// TestSessionsBoundedPerAgent: signing in again and again keeps only the
// agent's ten newest sessions; the oldest browser is signed out.
func TestSessionsBoundedPerAgent(t *testing.T) {
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	first := e.client()
	first.signup("Ana", "ana@example.com", "Team")
	for range 12 {
		// A second apart: sessions made in the same second may be kept in
		// any order, except that the newest always stays.
		clock.Advance(time.Second)
		c := e.client()
		c.get("/login")
		if r := c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", r.StatusCode)
		}
	}
	if n := rowCounts(t, e)["web_sessions"]; n != 10 {
		t.Fatalf("%d sessions stored after 13 sign-ins, want the newest 10", n)
	}
	if r := first.get("/settings/integrations"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the oldest session still works: %d", r.StatusCode)
	}
}

// TestSessionIdleTimeout: a browser left signed in for more than a week
// without a request is signed out; one in use stays in.
func TestSessionIdleTimeout(t *testing.T) {
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	busy, idle := e.client(), e.client()
	busy.signup("Ana", "ana@example.com", "Team")
	idle.signup("Bo", "bo@example.com", "Other")
	for _, days := range []int{6, 12} {
		clock.Advance(6 * 24 * time.Hour)
		if r := busy.get("/settings/integrations"); r.StatusCode != http.StatusOK {
			t.Fatalf("a session used every 6 days, on day %d: %d", days, r.StatusCode)
		}
	}
	if r := idle.get("/settings/integrations"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login?") {
		t.Fatalf("a session unused for 12 days: %d, want 303 to /login", r.StatusCode)
	}
}

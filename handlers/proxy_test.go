package handlers_test

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"closr/handlers"
)

// proxyEnv is a server that trusts the given ranges as reverse proxies (the
// test client connects from 127.0.0.1).
func proxyEnv(t *testing.T, proxies string, cfg func(*handlers.Config)) *env {
	t.Helper()
	nets, err := handlers.ParseTrustedProxies(proxies)
	if err != nil {
		t.Fatal(err)
	}
	return newEnvWith(t, envOptions{config: func(c *handlers.Config) {
		c.TrustedProxies = nets
		if cfg != nil {
			cfg(c)
		}
	}})
}

// TestClientIPBehindTrustedProxy: through a trusted proxy, the API's IP
// limit and the login throttle count the address in X-Forwarded-For; from
// an untrusted peer (and with no proxies set, loopback included) the header
// is ignored and every request counts against the peer.
func TestClientIPBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, proxies string
		perClient     bool // whether different forwarded addresses get their own limits
	}{
		{"trusted proxy", "127.0.0.0/8", true},
		{"untrusted peer", "10.0.0.0/8", false},
		{"no proxies", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := proxyEnv(t, tc.proxies, func(c *handlers.Config) { c.LimitIP, c.LoginLimit = 0.5, 1 }) // API burst 2; 4 logins per IP
			c := e.client()
			c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
			key := c.generate("Website")
			for i := range 2 {
				if r := c.e.postLead(key, `{"email":"a`+strconv.Itoa(i)+`@example.com"}`, "X-Forwarded-For", "203.0.113.1"); r.StatusCode != http.StatusCreated {
					t.Fatalf("request %d from 203.0.113.1: %d %s", i+1, r.StatusCode, r.body)
				}
			}
			r := c.e.postLead(key, `{"email":"b@example.com"}`, "X-Forwarded-For", "203.0.113.2")
			if got := r.StatusCode != http.StatusTooManyRequests; got != tc.perClient {
				t.Fatalf("API request forwarded for another address: %d (limited per forwarded client: %v)", r.StatusCode, tc.perClient)
			}

			// Four wrong logins (on four accounts) use up 203.0.113.1's login attempts.
			c.post("/logout", nil)
			c.get("/login")
			for _, who := range []string{"a", "b", "c", "d"} {
				c.post("/login", url.Values{"email": {who + "@example.com"}, "password": {"guess"}}, "X-Forwarded-For", "203.0.113.1")
			}
			r = c.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery"}}, "X-Forwarded-For", "203.0.113.2")
			if got := r.StatusCode == http.StatusSeeOther; got != tc.perClient {
				t.Fatalf("login forwarded for another address: %d (throttled per forwarded client: %v)", r.StatusCode, tc.perClient)
			}
		})
	}
}

// TestServedOverTLS: HSTS and the Secure cookie follow one rule: direct TLS,
// or X-Forwarded-Proto: https from a trusted proxy only.
func TestServedOverTLS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, proxies string
		tls           bool
	}{
		{"trusted proxy says https", "127.0.0.1/32", true},
		{"untrusted peer says https", "10.0.0.0/8", false},
		{"no proxies, header says https", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := proxyEnv(t, tc.proxies, nil)
			r := e.client().get("/login", "X-Forwarded-Proto", "https")
			checkTLSSigns(t, r.Response, tc.tls)
		})
	}
	t.Run("direct TLS", func(t *testing.T) {
		e := newEnv(t)
		r := getOverTLS(t, e, "/login")
		checkTLSSigns(t, r, true)
	})
}

// checkTLSSigns checks HSTS and the session cookie's Secure flag together.
func checkTLSSigns(t *testing.T, r *http.Response, tls bool) {
	t.Helper()
	hsts := strings.Contains(r.Header.Get("Strict-Transport-Security"), "max-age=")
	var secure, found bool
	for _, ck := range r.Cookies() {
		if ck.Name == "closr_session" {
			found, secure = true, ck.Secure
		}
	}
	if !found {
		t.Fatal("no session cookie set")
	}
	if hsts != tls || secure != tls {
		t.Fatalf("HSTS %v, Secure cookie %v; want both %v", hsts, secure, tls)
	}
}

// TestParseTrustedProxies: CIDRs are read; anything else is an error that
// shows the expected form.
func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	nets, err := handlers.ParseTrustedProxies(" 10.0.0.0/8, 2001:db8::/32 ,")
	if err != nil || len(nets) != 2 || !nets[0].Contains(net.ParseIP("10.1.2.3")) || !nets[1].Contains(net.ParseIP("2001:db8::1")) {
		t.Fatalf("%v %v", nets, err)
	}
	if _, err := handlers.ParseTrustedProxies("10.0.0.1"); err == nil || !strings.Contains(err.Error(), "want a CIDR range") {
		t.Fatalf("bare address: %v", err)
	}
}

// TestSignedInResponsesAreNotCached: every response behind sign-in carries
// Cache-Control: no-store, so Back cannot bring back a new key or a lead.
func TestSignedInResponsesAreNotCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
	key := c.generate("Website")
	c.e.postLead(key, `{"name":"Lena","email":"lena@example.com"}`)
	for _, p := range []string{"/settings/integrations", "/leads", "/leads/1"} {
		if r := c.get(p); r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d Cache-Control %q", p, r.StatusCode, r.Header.Get("Cache-Control"))
		}
	}
	r := c.post("/settings/integrations/api-keys", url.Values{"label": {"Zapier"}}, "HX-Request", "true")
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("HTMX Generate: %d Cache-Control %q", r.StatusCode, r.Header.Get("Cache-Control"))
	}
}

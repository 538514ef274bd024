package handlers

// Every API request made with a known key is counted against it, revoked
// and expired keys included: what it came to, from where and when. The
// store adds it up in memory and writes it about once a second, so a
// request pays a map update. authenticate notes the key, the handler says
// what the request did, and countUse records it once the answer is known.

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"closr/handlers/intake"
	"closr/store"
)

const ctxUse = "closr.use"

// useNote is what one API request did with its key.
type useNote struct {
	team, key int64
	kind      store.UseKind
	endpoint  string // an MCP tool names itself; "" is the request's path
	failed    bool   // kind was set from a refusal
}

// noteKey remembers the key a request carries, found in the index.
func noteKey(c echo.Context, k store.APIKey) {
	c.Set(ctxUse, &useNote{team: k.TeamID, key: k.ID})
}

func useOf(c echo.Context) *useNote {
	u, _ := c.Get(ctxUse).(*useNote)
	return u
}

// used says what the request did with its key.
func used(c echo.Context, kind store.UseKind) {
	if u := useOf(c); u != nil {
		u.kind = kind
	}
}

// refusedUse says why a request made with a key was refused, in the terms
// the key's usage counts.
func refusedUse(c echo.Context, err error) {
	u := useOf(c)
	if u == nil || u.failed {
		return
	}
	u.failed = true
	switch p := toProblem(err); {
	case p.Status == http.StatusUnauthorized: // a known key is refused only once revoked or expired
		u.kind = store.UseRefusedRevoked
	case p.Code == "origin_not_allowed":
		u.kind = store.UseRefusedOrigin
	case p.Code == "rate_limited":
		u.kind = store.UseRefusedRate
	default:
		u.kind = store.UseOther
	}
}

// countUse records each API request made with a known key.
func (s *Server) countUse(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		u := useOf(c)
		if u == nil {
			return err
		}
		status := c.Response().Status
		if err != nil {
			refusedUse(c, err)
			status = toProblem(err).Status
		}
		r := c.Request()
		endpoint := u.endpoint
		if endpoint == "" {
			endpoint = r.URL.Path
		}
		use := store.Use{TeamID: u.team, KeyID: u.key, At: s.now(), Endpoint: endpoint, Kind: u.kind, Status: status}
		if use.Test = fromClosr(r); use.Test {
			use.From = "Closr"
		} else {
			use.From = requestFrom(r)
		}
		s.store.RecordUse(use)
		return err
	}
}

// maxFrom bounds where-from as a key's usage keeps it.
const maxFrom = 120

// requestFrom is where a request came from, as a key's usage shows it: the
// site's host, with the page when the browser named one on that host, or
// "" for a server (no browser said where).
func requestFrom(r *http.Request) string {
	origin := requestOrigin(r)
	if origin == "" {
		return ""
	}
	host := originHost(origin)
	if host == "" {
		return "a hidden site" // an opaque origin: a sandboxed frame, a file
	}
	ref, err := url.Parse(r.Referer())
	if err != nil || !strings.EqualFold(ref.Hostname(), host) || ref.Path == "" || ref.Path == "/" {
		return host
	}
	from := host + intake.Redact(ref.Path)
	if len(from) > maxFrom {
		from = strings.ToValidUTF8(from[:maxFrom], "") + "…"
	}
	return from
}

// fromClosr reports whether a browser sent the request from one of
// Closr's own pages: Test this key and Send test lead.
func fromClosr(r *http.Request) bool {
	origin := requestOrigin(r)
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

package handlers

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// ParseTrustedProxies reads a comma-separated list of CIDRs (the
// --trusted-proxies flag); "" is none.
func ParseTrustedProxies(list string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want a CIDR range such as 10.0.0.0/8 or 203.0.113.7/32: %w", part, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// clientIPExtractor finds a request's client address. With no trusted
// proxies it is the connection's peer: headers a client sends are not
// believed. With some, X-Forwarded-For is read back to the first address
// that is not one of them; loopback and private ranges are trusted only
// when listed, since anyone on them could otherwise forge an address.
func clientIPExtractor(proxies []*net.IPNet) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		opts = append(opts, echo.TrustIPRange(p))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// fromTrustedProxy reports whether the request's peer is a trusted proxy,
// whose forwarding headers may be believed.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	for _, p := range s.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// servedOverTLS reports whether the client reached us over HTTPS: directly,
// or through a trusted proxy that says so in X-Forwarded-Proto. HSTS and
// the Secure cookie both follow it.
func (s *Server) servedOverTLS(c echo.Context) bool {
	return c.IsTLS() || (c.Request().Header.Get("X-Forwarded-Proto") == "https" && s.fromTrustedProxy(c.Request()))
}

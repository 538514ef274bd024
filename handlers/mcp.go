package handlers

// The MCP server at /mcp: Streamable HTTP from the official SDK, behind our
// own key check so that it answers exactly like the rest of the API (the
// same 401 body, x-api-key as well as Bearer, revocation on the next request).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/store"
)

// MCPStore is what the MCP tools read beyond the pipeline pages.
type MCPStore interface {
	RecentVisitors(ctx context.Context, teamID int64, since time.Time, limit int) ([]store.VisitorActivity, int, error)
	LeadCounts(ctx context.Context, teamID int64, from, to time.Time, maxSources int) (bySource, byDay []store.Count, err error)
}

// maxMCPBody caps one JSON-RPC message; tool arguments are small.
const maxMCPBody = 1 << 20

// maxMCPAnswer caps one answer. The tools' own limits keep answers under
// it (get_lead at its largest, 20 submissions of 64 KiB, 200 page views of
// 5 KB and 64 KiB of custom fields, sent as structured content and again
// as text, is about 5 MB); the cap holds whatever the stored data.
const maxMCPAnswer = 8 << 20

// capAnswers refuses an answer larger than the cap: a tool call gets a tool
// error saying how to ask for less, any other method a JSON-RPC error.
func (s *Server) capAnswers(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if err != nil || res == nil {
			return res, err
		}
		b, err := json.Marshal(res)
		if err != nil {
			return nil, fmt.Errorf("encode the answer to %s: %w", method, err)
		}
		if len(b) <= s.mcpAnswerCap {
			return res, nil
		}
		msg := fmt.Sprintf("the answer would be %d bytes, over the limit of %d: ask for less (a smaller limit, a shorter period, or the next page)", len(b), s.mcpAnswerCap)
		if method == "tools/call" {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}, nil
		}
		return nil, errors.New(msg)
	}
}

// mcpCaller is who is calling a tool: the MCP key, the request's logger,
// the HTTP request's context, which ends when its client goes away, and
// its use of the key.
type mcpCaller struct {
	key     store.APIKey
	log     *slog.Logger
	request context.Context
	use     *useNote
}

type mcpCallerKey struct{}

// callerOf returns the authenticated caller. The handler is stateless, so
// each tool call runs in the context of the HTTP request that carried it.
func callerOf(ctx context.Context) (mcpCaller, bool) {
	c, ok := ctx.Value(mcpCallerKey{}).(mcpCaller)
	return c, ok
}

// caller is the caller of the named tool; the request counts as a call of
// it. serveMCP asked the database about the key just before (confirmKey);
// a revoke since is seen by a write tool's transaction (keyStillActive)
// and by a read tool's second look once its query has run (stillActive).
func (s *Server) caller(ctx context.Context, tool string) (mcpCaller, error) {
	c, ok := callerOf(ctx)
	if !ok {
		return mcpCaller{}, errNoCaller
	}
	c.use.endpoint = "/mcp " + tool
	c.use.kind = store.UseMCPCall
	return c, nil
}

// stillActive refuses a read tool's answer when the key was revoked while
// its query ran: a revoked key gets no data, however late the revoke, and
// on whichever instance (see store.KeyActiveNow).
func (s *Server) stillActive(ctx context.Context, c mcpCaller) error {
	ok, err := s.store.KeyActiveNow(ctx, c.key.ID)
	if err != nil {
		return toolFailed(ctx, strings.TrimPrefix(c.use.endpoint, "/mcp "), err)
	}
	if !ok {
		c.use.kind = store.UseRefusedRevoked
		return errRevokedMidCall
	}
	return nil
}

// errRevokedMidCall answers a tool call whose key was revoked meanwhile.
var errRevokedMidCall = errors.New("this MCP key has been revoked; generate a new one in Settings → Integrations")

// newMCPHandler builds the MCP server and its Streamable HTTP handler.
func (s *Server) newMCPHandler() http.Handler {
	// The SDK logs without the request's context, so its lines cannot carry
	// a request id; they are marked as the SDK's, and its per-request
	// session chatter (Info) is left out. Our own MCP log lines (tool
	// failures) go through logOf and carry the request id.
	sdkLog := slog.New(warnAndAbove{s.log.Handler()}).With("component", "mcp-sdk")
	srv := mcp.NewServer(&mcp.Implementation{Name: "closr", Title: "Closr CRM", Version: "1.0.0"},
		&mcp.ServerOptions{Logger: sdkLog, Instructions: "Tools to read and add leads in the Closr CRM of the team that owns the API key: search and read leads, add a lead, see who is on the team's website, and summarize the pipeline."})
	srv.AddReceivingMiddleware(endWithRequest)
	s.addMCPTools(srv)
	srv.AddReceivingMiddleware(s.capAnswers)
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		// Stateless: no sessions kept in memory, and each tool call sees
		// the key of the request that carried it.
		Stateless:    true,
		JSONResponse: true,
		// serveMCP checks the Host itself (see hostAllowed): the SDK's
		// check would refuse every request from a reverse proxy on this
		// machine.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        maxMCPBody,
		Logger:                     sdkLog,
	})
}

// endWithRequest ends a call's context when the HTTP request that carried
// it ends. The SDK does not (before protocol 2026-07-28): a tool's read
// would run on after its client hung up, for no one, holding a reader
// connection and a core.
func endWithRequest(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		c, ok := callerOf(ctx)
		if !ok {
			return next(ctx, method, req)
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		defer context.AfterFunc(c.request, func() { cancel(context.Cause(c.request)) })()
		return next(ctx, method, req)
	}
}

// warnAndAbove passes on only warnings and errors.
type warnAndAbove struct{ slog.Handler }

func (h warnAndAbove) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnAndAbove) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnAndAbove{h.Handler.WithAttrs(attrs)}
}

func (h warnAndAbove) WithGroup(name string) slog.Handler {
	return warnAndAbove{h.Handler.WithGroup(name)}
}

// serveMCP is /mcp: it checks the Host, the key and the body's shape on
// every request, then hands over to the SDK.
func (s *Server) serveMCP(c echo.Context) error {
	r := c.Request()
	if !s.hostAllowed(r) {
		return errHostNotAllowed
	}
	key, err := s.authenticate(c, presentedKey(r, ""))
	if err == nil && key.Access == store.AccessMCP {
		// initialize, tools/list and the like store nothing; tools check
		// again (caller, stillActive, keyStillActive).
		err = s.confirmKey(c, key)
	}
	if errors.Is(err, errBadKey) {
		c.Response().Header().Set("WWW-Authenticate", mcpChallenge)
	}
	if err != nil {
		return err
	}
	if key.Access != store.AccessMCP {
		return errIntakeKeyAtMCP
	}
	if r.Method == http.MethodPost {
		body, batch := peekBatch(r.Body)
		if batch {
			return errBatch
		}
		r.Body = body
	}
	ctx := context.WithValue(r.Context(), mcpCallerKey{}, mcpCaller{key: key, log: s.logOf(c).With("team", key.TeamID, "key_id", key.ID),
		request: r.Context(), use: useOf(c)})
	s.mcp.ServeHTTP(c.Response(), r.WithContext(ctx))
	return nil
}

// mcpChallenge is the Bearer challenge of a 401 from /mcp (RFC 6750 §3;
// printable ASCII without quotes or backslashes). It names no
// resource_metadata: Closr takes API keys, not OAuth tokens, and a client
// pointed at OAuth metadata would start a sign-in that cannot succeed
// instead of showing what to do.
const mcpChallenge = `Bearer realm="Closr", error="invalid_token", error_description="Send a valid Closr MCP key as Authorization: Bearer KEY or in x-api-key. Generate one with MCP access in Settings > Integrations."`

// errBatch refuses a JSON-RPC batch: the rate limits count requests, so a
// batch would run any number of calls for the price of one. MCP has had no
// batches since its 2025-06-18 version.
var errBatch = &problem{Status: http.StatusBadRequest, Code: "batch_not_supported",
	Message: "Send one JSON-RPC message per request: batches (JSON arrays) are not supported."}

// peekBatch reports whether a request body holds a JSON array, reading
// only up to its first significant byte; body gives the whole body back.
func peekBatch(rc io.ReadCloser) (body io.ReadCloser, batch bool) {
	br := bufio.NewReader(rc)
	for {
		b, err := br.ReadByte()
		if err != nil {
			break
		}
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			br.UnreadByte()
			batch = b == '['
			break
		}
	}
	return struct {
		io.Reader
		io.Closer
	}{br, rc}, batch
}

var errHostNotAllowed = &problem{Status: http.StatusForbidden, Code: "host_not_allowed",
	Message: "This request reached Closr on a loopback address under another host name, as a DNS-rebinding page would. Use localhost, or, behind a reverse proxy on this machine, list the proxy in --trusted-proxies."}

// hostAllowed guards against DNS rebinding, as the SDK's own check would,
// but lets a trusted reverse proxy on the same machine through: a request
// that reached a loopback address must name a loopback host, unless a
// trusted proxy forwarded it.
func (s *Server) hostAllowed(r *http.Request) bool {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if local == nil || !isLoopback(local.String()) || s.fromTrustedProxy(r) {
		return true
	}
	return isLoopback(r.Host)
}

// isLoopback reports whether a host or host:port is localhost or a
// loopback address.
func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

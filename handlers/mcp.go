package handlers

// The MCP server at /mcp: Streamable HTTP from the official SDK, behind our
// own key check so that it answers exactly like the rest of the API (the
// same 401 body, x-api-key as well as Bearer, revocation on the next request).

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/store"
)

// MCPStore is what the MCP tools read beyond the pipeline pages.
type MCPStore interface {
	RecentVisitors(ctx context.Context, teamID int64, since time.Time, limit int) ([]store.VisitorActivity, int, error)
	LeadCounts(ctx context.Context, teamID int64, from, to time.Time) (bySource, byDay []store.Count, err error)
}

// maxMCPBody caps one JSON-RPC message; tool arguments are small.
const maxMCPBody = 1 << 20

// mcpCaller is who is calling a tool: the MCP key, the request's logger,
// and the HTTP request's context, which ends when its client goes away.
type mcpCaller struct {
	key     store.APIKey
	log     *slog.Logger
	request context.Context
}

type mcpCallerKey struct{}

// callerOf returns the authenticated caller. The handler is stateless, so
// each tool call runs in the context of the HTTP request that carried it.
func callerOf(ctx context.Context) (mcpCaller, bool) {
	c, ok := ctx.Value(mcpCallerKey{}).(mcpCaller)
	return c, ok
}

// caller is the tool call's caller, refused when its key was revoked while
// the request was being read.
func (s *Server) caller(ctx context.Context) (mcpCaller, error) {
	c, ok := callerOf(ctx)
	if !ok {
		return mcpCaller{}, errNoCaller
	}
	if !s.store.KeyActive(c.key.ID) {
		return mcpCaller{}, errRevokedMidCall
	}
	return c, nil
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
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		// Stateless: no sessions kept in memory, and each tool call sees
		// the key of the request that carried it.
		Stateless:    true,
		JSONResponse: true,
		// DNS-rebinding protection guards servers without authentication;
		// every request here needs a key, and behind a reverse proxy on the
		// same host the protection would refuse every request.
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

// serveMCP is /mcp: it checks the key on every request, then hands over to
// the SDK.
func (s *Server) serveMCP(c echo.Context) error {
	r := c.Request()
	key, err := s.authenticate(r.Context(), presentedKey(r, ""))
	if err != nil {
		return err
	}
	if key.Access != store.AccessMCP {
		return errIntakeKeyAtMCP
	}
	if now := s.now(); s.touches.due(key.ID, now) {
		if err := s.store.TouchAPIKey(r.Context(), key.TeamID, key.ID, now); err != nil {
			// Last-used is a convenience; the call itself can still work.
			s.logOf(c).Warn("touch mcp key", "key_id", key.ID, "err", err)
		}
	}
	ctx := context.WithValue(r.Context(), mcpCallerKey{}, mcpCaller{key: key, log: s.logOf(c).With("team", key.TeamID, "key_id", key.ID), request: r.Context()})
	s.mcp.ServeHTTP(c.Response(), r.WithContext(ctx))
	return nil
}

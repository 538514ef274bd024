package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"closr/handlers"
	"closr/store"
)

// hangingReads is a store whose recent-visitors and lead-list reads run
// until their context ends, as a query on a huge database would, and say
// how they ended.
type hangingReads struct {
	handlers.Store
	entered chan struct{}
	once    sync.Once
	ended   chan error
}

func newHangingReads() *hangingReads {
	return &hangingReads{entered: make(chan struct{}), ended: make(chan error, 1)}
}

func (h *hangingReads) hang(ctx context.Context) error {
	h.once.Do(func() { close(h.entered) })
	<-ctx.Done()
	h.ended <- ctx.Err()
	return ctx.Err()
}

func (h *hangingReads) RecentVisitors(ctx context.Context, _ int64, _ time.Time, _ int) ([]store.VisitorActivity, int, error) {
	return nil, 0, h.hang(ctx)
}

func (h *hangingReads) CountLeads(ctx context.Context, _ int64, _ string, _ store.LeadFilter, _ int) (int, bool, error) {
	return 0, false, h.hang(ctx)
}

// stopped waits for the hanging read to end and checks that it ended
// because the client went away.
func (h *hangingReads) stopped(t *testing.T) {
	t.Helper()
	select {
	case err := <-h.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the read ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read kept running after the client hung up")
	}
}

// TestReadsStopWhenClientHangsUp: a client that hangs up during MCP's
// recent_visitors (the call that once kept a core busy until shutdown on a
// million leads) or during a page ends the read's context, which stops the
// SQLite statement (TestReadStopsWhenContextEnds in store).
func TestReadsStopWhenClientHangsUp(t *testing.T) {
	t.Parallel()
	t.Run("recent_visitors", func(t *testing.T) {
		t.Parallel()
		h := newHangingReads()
		e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { h.Store, c.Store = c.Store, h }})
		c := e.client()
		c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
		cs := e.mustConnectMCP(c.generateAccess("Claude", "mcp"))
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-h.entered; cancel() }()
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "recent_visitors", Arguments: map[string]any{"hours": 720}}); err == nil {
			t.Fatal("the call succeeded after its client hung up")
		}
		h.stopped(t)
	})
	t.Run("GET /leads", func(t *testing.T) {
		t.Parallel()
		h := newHangingReads()
		e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { h.Store, c.Store = c.Store, h }})
		c := e.client()
		c.signup("Ana Agent", "ana@example.com", "Sunset Realty")
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-h.entered; cancel() }()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/leads", nil)
		if resp, err := c.http.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("the page was answered after its client hung up")
		}
		h.stopped(t)
	})
}

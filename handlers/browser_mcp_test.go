package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserGenerateMCPKey chooses MCP access by its label, as a person
// would, and sees the secret-key warning and the badge in the list.
func TestBrowserGenerateMCPKey(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	var intakeChecked, mcpChecked bool
	var warning, badge, config string
	err := chromedp.Run(ctx,
		chromedp.Evaluate(`document.querySelector('#access-intake').checked`, &intakeChecked),
		chromedp.SendKeys("#key-label", "Claude desktop", chromedp.ByQuery),
		chromedp.Click(`label[for="access-mcp"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#access-mcp').checked`, &mcpChecked),
		chromedp.Click(`form.generate button`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="copy-now"]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid="secret-warning"]`, &warning, chromedp.ByQuery),
		chromedp.Text(`[data-testid="key-row"] [data-testid="key-access"]`, &badge, chromedp.ByQuery),
		openSetup("mcp"),
		chromedp.Text(`[data-testid="mcp-config"]`, &config, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !intakeChecked || !mcpChecked {
		t.Fatalf("intake checked by default = %v; MCP checked after clicking its label = %v", intakeChecked, mcpChecked)
	}
	if !strings.Contains(warning, "never put it in a web page") {
		t.Fatalf("COPY NOW warning = %q", warning)
	}
	if strings.TrimSpace(badge) != "MCP · secret" {
		t.Fatalf("access badge = %q", badge)
	}
	if !strings.Contains(config, `"url": "`+e.srv.URL+`/mcp"`) {
		t.Fatalf("MCP card configuration = %q", config)
	}
	screenshot(t, ctx, "mcp-key")
	keys, _ := e.db.APIKeys(t.Context(), e.agent("ana@example.com").TeamID)
	if len(keys) != 1 || keys[0].Access != "mcp" {
		t.Fatalf("stored keys = %+v, want one MCP key", keys)
	}
}

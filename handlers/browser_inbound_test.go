package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"closr/store"
)

// agentSite serves an agent's website page with a plain contact form that
// posts to Closr, from another origin than Closr's.
func agentSite(t *testing.T, closrURL, key string) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/contact", func(w http.ResponseWriter, r *http.Request) {
		redirect := ""
		if r.URL.Query().Get("redirect") != "" {
			redirect = `<input type="hidden" name="_redirect" value="http://` + r.Host + `/thank-you">`
		}
		fmt.Fprintf(w, `<!doctype html><title>Sunset Realty: contact</title>
<form method="post" action="%s/api/leads/inbound">
  <input type="hidden" name="api_key" value="%s">%s
  <input name="First Name" id="first"><input name="Last Name" id="last">
  <input name="Email" id="email" type="email"><textarea name="Message" id="msg"></textarea>
  <input name="_gotcha" style="display:none" tabindex="-1">
  <button type="submit" id="send">Send</button>
</form>`, closrURL, key, redirect)
	})
	mux.HandleFunc("/thank-you", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Thanks</title><h1 id="site-thanks">Thanks from Sunset Realty</h1>`)
	})
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	return site
}

func TestBrowserPlainFormFromAnotherSite(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	a := e.agent("ana@example.com")
	_, key, err := e.db.CreateAPIKey(context.Background(), a.TeamID, a.ID, "Webflow contact form", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	site := agentSite(t, e.srv.URL, key)
	if site.URL == e.srv.URL {
		t.Fatal("the site must be another origin")
	}

	send := func(path, first, email string) string {
		var loc string
		err := chromedp.Run(ctx,
			chromedp.Navigate(site.URL+path),
			chromedp.SendKeys("#first", first, chromedp.ByQuery),
			chromedp.SendKeys("#last", "Buyer", chromedp.ByQuery),
			chromedp.SendKeys("#email", email, chromedp.ByQuery),
			chromedp.SendKeys("#msg", "Is 12 Oak St still available?", chromedp.ByQuery),
			chromedp.Click("#send", chromedp.ByQuery),
			chromedp.WaitReady(`h1`, chromedp.ByQuery),
			chromedp.Location(&loc),
		)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	if loc := send("/contact", "Jamie", "jamie@example.com"); loc != e.srv.URL+"/thanks" {
		t.Fatalf("without _redirect landed on %s", loc)
	}
	var thanks string
	chromedp.Run(ctx, chromedp.Text(`[data-testid="thanks"] h1`, &thanks, chromedp.ByQuery))
	if thanks != "Thank you!" {
		t.Fatalf("thank-you page heading %q", thanks)
	}
	if loc := send("/contact?redirect=1", "Robin", "robin@example.com"); loc != site.URL+"/thank-you" {
		t.Fatalf("with _redirect landed on %s", loc)
	}

	var list, summary string
	err = chromedp.Run(ctx,
		chromedp.Navigate(e.srv.URL+"/leads"),
		chromedp.Text(`[data-testid="lead-list"]`, &list, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Jamie Buyer", "jamie@example.com", "Robin Buyer", "Website form", "Is 12 Oak St still available?"} {
		if !strings.Contains(list, want) {
			t.Fatalf("/leads lacks %q:\n%s", want, list)
		}
	}
	screenshot(t, ctx, "leads")
	// The key is plumbing: the lead's page names it, the list does not.
	if err := follow(ctx, `[data-testid="lead-link"]`); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Text(`[data-testid="lead-summary"]`, &summary, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(list, "Webflow contact form") || !strings.Contains(summary, "Webflow contact form") {
		t.Fatalf("the key's label belongs on the lead page only:\nlist %s\nlead page %s", list, summary)
	}
}

func TestBrowserSendTestLead(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	signupInBrowser(t, ctx, e.srv.URL, "ana@example.com")
	a := e.agent("ana@example.com")
	_, key, _ := e.db.CreateAPIKey(context.Background(), a.TeamID, a.ID, "Website", store.AccessIntake, 0)

	var result, curl string
	err := chromedp.Run(ctx,
		chromedp.Navigate(e.srv.URL+"/settings/integrations"),
		openSetup("send-leads"),
		chromedp.Text(`[data-testid="curl-example"]`, &curl, chromedp.ByQuery),
		chromedp.SendKeys("#test-key", "closr_wrong", chromedp.ByQuery),
		chromedp.Click(`[data-testid="test-lead-form"] button`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('[data-testid="test-result"]').textContent.startsWith("✗")`, nil),
		chromedp.Text(`[data-testid="test-result"]`, &result, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(curl, e.srv.URL+"/api/leads/inbound") {
		t.Fatalf("curl example does not use this server's URL:\n%s", curl)
	}
	if !strings.Contains(result, "valid Closr API key") {
		t.Fatalf("a wrong key says %q", result)
	}
	err = chromedp.Run(ctx,
		chromedp.SetValue("#test-key", key, chromedp.ByQuery),
		chromedp.Click(`[data-testid="test-lead-form"] button`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('[data-testid="test-result"]').textContent.startsWith("✓")`, nil),
		chromedp.Text(`[data-testid="test-result"]`, &result, chromedp.ByQuery),
		chromedp.Click(`[data-testid="test-result"] a`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="lead-row"] [data-testid="test-badge"]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(result, "test lead received") {
		t.Fatalf("result %q", result)
	}
	leads := e.leadsOf(a.TeamID)
	// Sent from Closr's own page: a test lead, with its badge in the list.
	if n := len(leads); n != 1 || leads[0].Source != "Closr test" || leads[0].KeyLabel != "Website" || !leads[0].Test {
		t.Fatalf("stored %d leads: %+v", len(leads), leads)
	}
}

// TestBrowserFormWithAttachment: a visitor's form with a multi-megabyte
// PDF attached delivers its lead; the file is left out with a note. The
// same site posting JSON with fetch() is a website form too.
func TestBrowserFormWithAttachment(t *testing.T) {
	e := newEnv(t)
	c, team, key := e.team("ana@example.com")
	mux := http.NewServeMux()
	mux.HandleFunc("/apply", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Get pre-approved</title>
<form method="post" action="%s/api/leads/inbound" enctype="multipart/form-data">
  <input type="hidden" name="api_key" value="%s">
  <input name="Full Name" id="name"><input name="Email" id="email" type="email">
  <input type="file" name="Pre-approval letter" id="letter">
  <button type="submit" id="send">Send</button>
</form>`, e.srv.URL, key)
	})
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	pdf := filepath.Join(t.TempDir(), "pre-approval.pdf")
	if err := os.WriteFile(pdf, append([]byte("%PDF-1.7\n"), make([]byte, 3<<20)...), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	var heading string
	err := chromedp.Run(ctx,
		chromedp.Navigate(site.URL+"/apply"),
		chromedp.SendKeys("#name", "Jordan Lee", chromedp.ByQuery),
		chromedp.SendKeys("#email", "jordan.lee@example.com", chromedp.ByQuery),
		chromedp.SetUploadFiles("#letter", []string{pdf}, chromedp.ByQuery),
	)
	if err == nil {
		err = follow(ctx, "#send")
	}
	if err == nil {
		err = chromedp.Run(ctx,
			chromedp.WaitVisible(`[data-testid="thanks"]`, chromedp.ByQuery),
			chromedp.Text(`[data-testid="thanks"] h1`, &heading, chromedp.ByQuery))
	}
	if err != nil {
		t.Fatal(err)
	}
	leads := e.leadsOf(team)
	if len(leads) != 1 || leads[0].Name != "Jordan Lee" || leads[0].Source != "Website form" {
		t.Fatalf("leads %+v", leads)
	}
	page := c.get(fmt.Sprintf("/leads/%d", leads[0].ID)).body
	if !strings.Contains(page, `File &#34;pre-approval.pdf&#34; of 3145737 bytes was left out`) {
		t.Fatalf("the lead's page has no note of the file left out:\n%s", page)
	}

	// The page's own script posting JSON.
	var status float64
	err = chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(`fetch(%q, {method: "POST", headers: {"Content-Type": "application/json", "x-api-key": %q},
		body: JSON.stringify({name: "Sky Fetch", email: "sky@example.com"})}).then(r => r.status)`, e.srv.URL+"/api/leads/inbound", key), &status,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if err != nil || status != 201 {
		t.Fatalf("fetch: %v %v", status, err)
	}
	leads = e.leadsOf(team)
	if leads[0].Email != "sky@example.com" || leads[0].Source != "Website form" {
		t.Fatalf("the fetch() lead: %+v", leads[0])
	}
}

package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pageview is a tracker page view with its title, referrer and address.
func pageview(key, vid, page, title, referrer string) string {
	b, _ := json.Marshal(map[string]any{"api_key": key, "type": "pageview", "visitor_id": vid, "url": page,
		"title": title, "referrer": referrer, "screen_width": 390})
	return string(b)
}

var leadOrderRE = regexp.MustCompile(`data-testid="lead-row" data-lead-id="(\d+)"`)

// leadOrder is the lead ids of a /leads page, top first.
func leadOrder(body string) []string {
	var ids []string
	for _, m := range leadOrderRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestLeadsByLatestActivity: the list answers "who do I call first?". A
// repeat enquiry moves its lead to the top with its new message as the
// preview; so does a linked visitor coming back to the site, while
// anonymous traffic and another team's activity move nothing.
func TestLeadsByLatestActivity(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	ana, _, key := e.team("ana@example.com")
	_, _, boKey := e.team("bo@example.com")
	vid := "sam00000000000000000000000000000"

	lead := func(body string) string {
		clock.Advance(time.Minute)
		return fmt.Sprint(e.mustPostLead(key, body))
	}
	sam := lead(`{"name": "Sam", "email": "sam@example.com", "message": "Looking in Oak Park", "closr_visitor_id": "` + vid + `"}`)
	kim := lead(`{"name": "Kim", "email": "kim@example.com", "message": "Selling a condo"}`)
	lee := lead(`{"name": "Lee", "email": "lee@example.com"}`)
	order := func() []string { return leadOrder(ana.get("/leads").body) }
	if got := strings.Join(order(), ","); got != lee+","+kim+","+sam {
		t.Fatalf("order %s, want newest first: %s,%s,%s", got, lee, kim, sam)
	}

	// A repeat enquiry from Kim: to the top, her latest message previewed.
	clock.Advance(time.Hour)
	lead(`{"email": "KIM@example.com", "message": "Can we meet\n  on Saturday?"}`)
	list := ana.get("/leads").body
	if got := strings.Join(leadOrder(list), ","); got != kim+","+lee+","+sam {
		t.Fatalf("after Kim's repeat enquiry: %s, want %s first", got, kim)
	}
	if row := leadRowHTML(t, list, mustInt(kim)); !strings.Contains(row, `<span class="one-line">Can we meet on Saturday?</span>`) {
		t.Fatalf("Kim's row does not preview her latest message on one line:\n%s", row)
	}
	if row := leadRowHTML(t, list, mustInt(lee)); !strings.Contains(row, "No message") {
		t.Fatalf("Lee's row:\n%s", row)
	}

	// Anonymous traffic and another team's leads move nothing.
	clock.Advance(time.Hour)
	e.track(pageview(key, "anon0000000000000000000000000000", "https://ana.example/", "Home", ""))
	e.mustPostLead(boKey, `{"name": "Bo's lead", "email": "sam@example.com"}`)
	if got := strings.Join(order(), ","); got != kim+","+lee+","+sam {
		t.Fatalf("anonymous or foreign activity moved a lead: %s", got)
	}

	// Sam comes back to the site: a return visit moves him up.
	clock.Advance(time.Hour)
	if r := e.track(pageview(key, vid, "https://ana.example/homes/7-harbor-ln", "7 Harbor Ln | Ana Homes", "")); r.StatusCode != http.StatusAccepted {
		t.Fatalf("page view: %d", r.StatusCode)
	}
	list = ana.get("/leads").body
	if got := strings.Join(leadOrder(list), ","); got != sam+","+kim+","+lee {
		t.Fatalf("after Sam's return visit: %s, want %s first", got, sam)
	}
	if row := leadRowHTML(t, list, mustInt(sam)); !strings.Contains(row, ">just now</time>") || !strings.Contains(row, "Looking in Oak Park") {
		t.Fatalf("Sam's row after his visit:\n%s", row)
	}
}

func mustInt(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

// TestLeadListShowsWhoToCall: each row has what an agent acts on: a
// tappable phone number written as the agent's country writes it, a
// mailto link, the source, when (in the agent's time zone, relative within
// a day, the exact time in a <time> element), and no Key column (the key
// is on the lead's page).
func TestLeadListShowsWhoToCall(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	ana, team, key := e.team("ana@example.com")
	us := e.mustPostLead(key, `{"name": "Jamie", "email": "jamie@example.com", "phone": "+1 415 555 2671", "source": "Zillow"}`)
	clock.Advance(12 * time.Minute)
	uk := e.mustPostLead(key, `{"name": "Alex", "phone": "+44 20 7946 0958", "source": "Website"}`)
	clock.Advance(3 * 24 * time.Hour)

	list := ana.get("/leads").body
	usRow, ukRow := leadRowHTML(t, list, us), leadRowHTML(t, list, uk)
	for _, want := range []string{
		`href="tel:+14155552671"`, `>(415) 555-2671</a>`, `href="mailto:jamie@example.com"`, `data-testid="source">Zillow`,
		// More than a day ago: the date in the agent's zone (UTC until it
		// has one) and locale, the exact time on hover.
		`<time datetime="2026-11-28T14:00:00Z" title="Saturday, November 28, 2026 at 2:00:00 PM UTC">Nov 28, 2:00 PM</time>`,
	} {
		if !strings.Contains(usRow, want) {
			t.Errorf("the US lead's row lacks %s:\n%s", want, usRow)
		}
	}
	if !strings.Contains(ukRow, `href="tel:+442079460958"`) || !strings.Contains(ukRow, `>+44 20 7946 0958</a>`) {
		t.Errorf("a foreign number is not in international form:\n%s", ukRow)
	}
	if strings.Contains(list, "Zapier for FB Lead Ads") || strings.Contains(list, ">Key<") {
		t.Error("the list still shows the key")
	}

	// A British agent's browser: dates day first, 24-hour clock, and
	// British numbers in national form.
	gb := ana.get("/leads", "Accept-Language", "en-GB,en;q=0.8").body
	if row := leadRowHTML(t, gb, uk); !strings.Contains(row, `>020 7946 0958</a>`) || !strings.Contains(row, `>28 Nov, 14:12</time>`) {
		t.Errorf("en-GB row:\n%s", row)
	}
	if row := leadRowHTML(t, gb, us); !strings.Contains(row, `>+1 415-555-2671</a>`) {
		t.Errorf("en-GB: the US number is not international:\n%s", row)
	}

	// An agent in Los Angeles (their profile's zone): 14:00 UTC is 6 AM there.
	a := e.agent("ana@example.com")
	if err := e.db.UpdateProfile(t.Context(), a.ID, a.Name, a.Email, "America/Los_Angeles"); err != nil {
		t.Fatal(err)
	}
	if row := leadRowHTML(t, ana.get("/leads").body, us); !strings.Contains(row,
		`<time datetime="2026-11-28T06:00:00-08:00" title="Saturday, November 28, 2026 at 6:00:00 AM PST">Nov 28, 6:00 AM</time>`) {
		t.Errorf("in Los Angeles:\n%s", row)
	}

	// Within the last day: relative, with the date kept for the page's
	// script once it is a day old.
	clock.Advance(-3*24*time.Hour + 10*time.Minute)
	if row := leadRowHTML(t, ana.get("/leads").body, us); !strings.Contains(row, `data-date="Nov 28, 6:00 AM">22 min ago</time>`) {
		t.Errorf("a lead from 22 minutes ago:\n%s", row)
	}
	if n := len(leadOrder(list)); n != 2 || team == 0 {
		t.Fatalf("%d rows", n)
	}
}

// TestLeadsPastTheEnd: a page number past the last page says so and
// links back, rather than claiming there are no leads.
func TestLeadsPastTheEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, _, key := e.team("ana@example.com")
	e.mustPostLead(key, `{"email": "one@example.com"}`)
	r := ana.get("/leads?page=99")
	if r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "There is no page 99: the list ends at page 1.") ||
		strings.Contains(r.body, "No leads yet") || !strings.Contains(r.body, `href="/leads" data-testid="first"`) {
		t.Fatalf("page 99: %d\n%s", r.StatusCode, r.body)
	}
	if r := ana.get("/leads?page=1"); r.StatusCode != 200 || len(leadOrder(r.body)) != 1 {
		t.Fatalf("page 1: %d", r.StatusCode)
	}
	empty, _, _ := e.team("bo@example.com")
	for _, p := range []string{"3", "99"} {
		if r := empty.get("/leads?page=" + p); r.StatusCode != 200 || !strings.Contains(r.body, "No leads yet") {
			t.Fatalf("page %s of a team without leads: %d", p, r.StatusCode)
		}
	}
}

// TestLeadPageTellsTheStory: the summary has the first enquiry and the
// latest, the history every submission's message and source in order;
// page views are grouped into visits with the site and campaign that
// brought them; the pages viewed most are at the top; custom field names
// read as words; a lead without a name is titled by its email or phone.
func TestLeadPageTellsTheStory(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnvWith(t, envOptions{clock: clock})
	ana, _, key := e.team("ana@example.com")
	vid := "jamie000000000000000000000000000"
	view := func(after time.Duration, path, title, ref string) {
		clock.Advance(after)
		if r := e.track(pageview(key, vid, "https://ana.example"+path, title, ref)); r.StatusCode != http.StatusAccepted {
			t.Fatalf("page view: %d", r.StatusCode)
		}
	}
	// Visit 1: from a Facebook ad, before getting in touch.
	view(0, "/homes/7-harbor-ln?utm_source=facebook&utm_medium=cpc&utm_campaign=spring-open-house", "7 Harbor Ln | Ana Homes", "https://m.facebook.com/")
	view(2*time.Minute, "/homes/7-harbor-ln#photos", "7 Harbor Ln | Ana Homes", "https://ana.example/homes/7-harbor-ln")
	view(2*time.Minute, "/contact", "Contact | Ana Homes", "https://ana.example/homes/7-harbor-ln")
	clock.Advance(time.Minute)
	lead := e.mustPostLead(key, `{"email": "jamie@example.com", "message": "Is 7 Harbor Ln still available?", "source": "Website",
		"pre_approved": "yes", "preferredContactTime": "evenings", "closr_visitor_id": "`+vid+`"}`)
	// Visit 2, a day later, from Google.
	view(24*time.Hour, "/homes/7-harbor-ln", "7 Harbor Ln | Ana Homes", "https://www.google.com/")
	view(time.Minute, "/homes/12-oak-st", "12 Oak St | Ana Homes", "https://ana.example/homes/7-harbor-ln")
	clock.Advance(time.Hour)
	if r := e.postLead(key, `{"email": "jamie@example.com", "message": "Can I see it Saturday?", "source": "Zillow"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("repeat enquiry: %d", r.StatusCode)
	}

	page := ana.get(fmt.Sprintf("/leads/%d", lead)).body
	text := visibleText(page)
	for _, want := range []string{
		"<title>jamie@example.com · Closr</title>",
		`data-testid="first-enquiry"><time`, "Is 7 Harbor Ln still available?",
		`data-testid="latest-enquiry"><time`, "Can I see it Saturday?",
		">Pre approved</dt>", ">Preferred contact time</dt>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the lead page lacks %s", want)
		}
	}
	for _, want := range []string{
		"Visit 2, 1 hour ago, 2 pages, 1 min 7 Harbor Ln, 12 Oak St From google.com",
		"Visit 1, Nov 28, 2:00 PM, 3 pages, 4 min 7 Harbor Ln ×2, Contact From m.facebook.com · Campaign spring-open-house (facebook / cpc)",
		"Most viewed 7 Harbor Ln 3 views in 2 visits",
		"History", "Website Is 7 Harbor Ln still available?", "Zillow Can I see it Saturday?",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the lead page does not say %q:\n%s", want, text)
		}
	}
	if strings.Index(page, "Is 7 Harbor Ln still available?</p>") > strings.Index(page, "Can I see it Saturday?</p>") {
		t.Error("the history is not in order")
	}
	if !strings.Contains(text, "Pages in order got in touch on this visit Nov 28, 2:00 PM · 7 Harbor Ln") || strings.Count(page, "after they got in touch") != 1 {
		t.Error("the visits do not say when the person got in touch")
	}

	// Nameless leads: titled by email, else phone, else number.
	byPhone := e.mustPostLead(key, `{"phone": "+1 415 555 0199"}`)
	if r := ana.get(fmt.Sprintf("/leads/%d", byPhone)); !strings.Contains(r.body, "<title>(415) 555-0199 · Closr</title>") {
		t.Errorf("a lead with only a phone is titled %q", regexp.MustCompile(`<title>[^<]*`).FindString(r.body))
	}
}

var (
	blockRE = regexp.MustCompile(`(?s)<title>.*?</title>|</?(p|li|dt|dd|h[1-6]|div|td|th|tr|summary|section|article|details|nav|header|main|ol|ul|dl|pre|form)\b[^>]*>`)
	tagRE   = regexp.MustCompile(`<[^>]+>`)
)

// visibleText is a page's text as a person reads it: blocks apart, inline
// tags gone, spaces folded.
func visibleText(page string) string {
	return strings.Join(strings.Fields(tagRE.ReplaceAllString(blockRE.ReplaceAllString(page, " "), "")), " ")
}

package views

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Integrations is everything the Settings → Integrations page shows.
type Integrations struct {
	Keys     KeysCard
	Tracker  TrackerCard
	BaseURL  string     // this server's own URL, e.g. https://closr.example.com
	Rotation []Departed // keys of people who left, for owners and admins
}

// KeysCard is the API keys card: the list, the generate form and, right after
// a generate or a rotate, the one-time COPY NOW panel.
type KeysCard struct {
	Lists KeyLists
	// Expiring are the keys that stop working within a week, for owners
	// and admins to rotate in time.
	Expiring []KeyRow
	Events   []ActivityRow // the team's latest activity
	Max      int
	New      *NewKey // the COPY NOW panel, set only in the answer to Generate or Rotate
	Label    string  // the label to put back in the input after an error
	Error    string  // what to fix, shown under the input
	// Access is the access kind to keep chosen after an error ("" = intake).
	Access string
	// AccessError is what to fix about the access choice.
	AccessError string
	// Lifetime is the expiry choice to keep after an error (days, 0 = never).
	Lifetime      int
	LifetimeError string
	Notice        string // what just happened, e.g. "Revoked …"
	Limited       bool   // the team is at the active-key limit
	BaseURL       string // for the snippets in the COPY NOW panel
}

// KeyLists is the part of the card that refreshes itself: the active keys
// (last use, usage, rotation) and the keys revoked or expired lately.
type KeyLists struct {
	Keys   []KeyRow
	Ended  []EndedKeyRow
	Manage bool   // the signed-in agent may rotate, revoke and set expiry
	CSRF   string // for the row actions
}

// KeyRow is one key in the list or on its own page.
type KeyRow struct {
	ID        int64
	Label     string
	Preview   string
	Access    string
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	LastUsed  time.Time
	LastFrom  string // the site it came from; "" for a server
	Usage     Usage  // the last 30 days
	// ReplacedBy is the key replacing this one, when being rotated;
	// ReplacementUsed says the replacement has been used (not by a test).
	ReplacedBy      *KeyRef
	ReplacementUsed bool
	Ended           time.Time // when revoked or expired; zero while active
	Revoked         bool      // ended by a revoke, not an expiry
	RevokedBy       string
	First           FirstUse
}

// KeyRef names another key.
type KeyRef struct {
	ID    int64
	Label string
}

// FirstUse is what a key's first request (Closr's tests aside) was, and
// the latest test.
type FirstUse struct {
	At       time.Time // zero until then
	What     string    // "lead", "page view", "MCP call", "request"
	From     string
	TestedAt time.Time
}

// Usage is what a key did over the last 30 days, in the agent's words.
type Usage struct {
	LeadsCreated, LeadsUpdated, PageViews, MCPCalls int
	RefusedOrigin, RefusedRate, RefusedRevoked      int
	Days                                            []DayUsage // every day, oldest first
}

// DayUsage is one day of a key's use.
type DayUsage struct {
	Day                                             time.Time
	LeadsCreated, LeadsUpdated, PageViews, MCPCalls int
	RefusedOrigin, RefusedRate, RefusedRevoked      int
}

// Total is the day's requests.
func (d DayUsage) Total() int {
	return d.LeadsCreated + d.LeadsUpdated + d.PageViews + d.MCPCalls + d.RefusedOrigin + d.RefusedRate + d.RefusedRevoked
}

// EndedKeyRow is a key revoked or expired in the last 30 days, with the
// requests still made with it.
type EndedKeyRow struct {
	Key     KeyRow
	Refused int // refused requests since it ended
}

// NewKey is a key just made, shown once in the COPY NOW panel.
type NewKey struct {
	Label    string
	Key      string
	Access   string
	Replaces *KeyRef // the key it replaces, after a Rotate
	// Uses are the snippets to show open, what the key it replaces was
	// used for: "tracker", "form", "curl", "mcp".
	Uses   []string
	Status KeyStatus
}

// KeyStatus is the live line under the COPY NOW panel.
type KeyStatus struct {
	KeyID int64
	First FirstUse
}

// Lifetimes are the expiry choices offered when generating a key, in days
// (0 = never).
var Lifetimes = []int{0, 30, 90, 365}

// Grace periods for a key being replaced, as the expiry form sends them.
var Graces = []struct{ Value, Name string }{{"1h", "1 hour"}, {"24h", "24 hours"}, {"7d", "7 days"}}

// Access kinds as the form sends them; they match store.AccessIntake and
// store.AccessMCP (views do not import the store).
const (
	accessIntake = "intake"
	accessMCP    = "mcp"
)

// accessName is how the list names a key's access.
func accessName(access string) string {
	if access == accessMCP {
		return "MCP · secret"
	}
	return "Intake & tracker"
}

// KeyURL is a key's own page.
func KeyURL(id int64) string { return fmt.Sprintf("/settings/integrations/api-keys/%d", id) }

func keyActionURL(id int64, action string) string { return KeyURL(id) + "/" + action }

// fromText names where a request came from.
func fromText(from string) string {
	if from == "" {
		return "a server"
	}
	return from
}

// timeOfDay is t's time in the agent's zone, to the minute or the second.
func (c Clock) timeOfDay(t time.Time, seconds bool) string {
	layout := "15:04"
	if c.Locale.style == styleUS {
		layout = "3:04 PM"
	}
	if seconds {
		layout = strings.Replace(layout, "04", "04:05", 1)
	}
	return t.In(c.Zone).Format(layout)
}

// dayText is t's date in the agent's zone and locale, without the year:
// the date part of their short layout ("Jan 2", "2 Jan", "02.01.").
func (c Clock) dayText(t time.Time) string {
	layout := c.Locale.style.short
	if i := strings.Index(layout, ", "); i >= 0 {
		layout = layout[:i]
	} else if i := strings.LastIndex(layout, " "); i >= 0 {
		layout = layout[:i]
	}
	return t.In(c.Zone).Format(layout)
}

// secondsText is t to the second: the time of day within the last day,
// else with its date.
func (c Clock) secondsText(t time.Time) string {
	if c.isRecent(t) {
		return c.timeOfDay(t, true)
	}
	return c.dayText(t) + ", " + c.timeOfDay(t, true)
}

// lastUsedText is a key's last use: when, to the second, and from where.
func lastUsedText(k KeyRow, c Clock) string {
	if k.LastUsed.IsZero() {
		return "Never"
	}
	text := c.secondsText(k.LastUsed)
	if c.isRecent(k.LastUsed) {
		text += " (" + relative(c.Now.Sub(k.LastUsed)) + ")"
	}
	return text + " from " + fromText(k.LastFrom)
}

// revokeQuestion asks before revoking, naming the key's last use: a key
// used lately is still in some integration that revoking will break.
func revokeQuestion(k KeyRow, c Clock) string {
	q := fmt.Sprintf("Revoke the key “%s”? ", k.Label)
	switch {
	case k.LastUsed.IsZero():
		q += "It has never been used."
	case c.isRecent(k.LastUsed):
		q += fmt.Sprintf("It was used %s from %s: revoking now will break that integration.", relative(c.Now.Sub(k.LastUsed)), fromText(k.LastFrom))
	default:
		q += fmt.Sprintf("It was last used %s from %s.", c.dateText(k.LastUsed), fromText(k.LastFrom))
	}
	return q + " Any tool still using it gets an error on its next request. This can't be undone."
}

// usageWords is a key's 30 days in the agent's words.
func usageWords(u Usage) string {
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, strconv.Itoa(n)+" "+many)
		}
	}
	add(u.LeadsCreated, "new lead", "new leads")
	add(u.LeadsUpdated, "lead updated", "leads updated")
	add(u.PageViews, "page view", "page views")
	add(u.MCPCalls, "MCP call", "MCP calls")
	add(u.RefusedOrigin, "refused: site not in tracked domains", "refused: site not in tracked domains")
	add(u.RefusedRate, "refused: rate limit", "refused: rate limit")
	add(u.RefusedRevoked, "refused: key revoked or expired", "refused: key revoked or expired")
	if len(parts) == 0 {
		return "No requests in the last 30 days"
	}
	return strings.Join(parts, " · ")
}

// sparkBar is one day's bar in a sparkline.
type sparkBar struct {
	X, Y, H int
	Title   string
}

// Sparkline geometry: one 4-unit bar a day on a 5-unit pitch.
const (
	sparkW, sparkH = 150, 24
	sparkPitch     = 5
)

// utcDay is a usage day, which is a UTC day.
func utcDay(t time.Time) string { return t.UTC().Format("Jan 2") }

// sparkBars draws the days as bars scaled to the busiest day. A day with
// any use gets at least one unit, so a single request still shows.
func sparkBars(days []DayUsage) []sparkBar {
	most := 0
	for _, d := range days {
		most = max(most, d.Total())
	}
	bars := make([]sparkBar, 0, len(days))
	for i, d := range days {
		h := 0
		if n := d.Total(); n > 0 {
			h = max(1, n*sparkH/most)
		}
		bars = append(bars, sparkBar{X: i * sparkPitch, Y: sparkH - h, H: h,
			Title: fmt.Sprintf("%s: %d request(s)", utcDay(d.Day), d.Total())})
	}
	return bars
}

func sparkLabel(u Usage) string {
	total := 0
	for _, d := range u.Days {
		total += d.Total()
	}
	return fmt.Sprintf("Requests per day over the last 30 days: %d in all", total)
}

// lifetimeName names an expiry choice.
func lifetimeName(days int) string {
	if days == 0 {
		return "Never"
	}
	return fmt.Sprintf("In %d days", days)
}

// statusText is the live line under the COPY NOW panel.
func statusText(s KeyStatus, c Clock) string {
	if !s.First.At.IsZero() {
		return fmt.Sprintf("First %s from %s at %s.", s.First.What, fromText(s.First.From), c.timeOfDay(s.First.At, false))
	}
	if !s.First.TestedAt.IsZero() {
		return fmt.Sprintf("Test received at %s. Waiting for the first request from your integration with the new key…", c.timeOfDay(s.First.TestedAt, false))
	}
	return "Waiting for the first request with the new key…"
}

// endedText is a line of the Revoked keys list after the key's label.
func endedText(e EndedKeyRow, c Clock) string {
	var b strings.Builder
	if e.Key.Revoked {
		fmt.Fprintf(&b, "revoked %s by %s", c.dayText(e.Key.Ended), e.Key.RevokedBy)
	} else {
		fmt.Fprintf(&b, "expired %s", c.dayText(e.Key.Ended))
	}
	switch {
	case e.Refused == 0:
		b.WriteString(": no requests since")
	case e.Refused == 1:
		b.WriteString(": 1 refused request since")
	default:
		fmt.Fprintf(&b, ": %d refused requests since", e.Refused)
	}
	if e.Refused > 0 && !e.Key.LastUsed.Before(e.Key.Ended) {
		fmt.Fprintf(&b, ", last %s", c.timeOfDay(e.Key.LastUsed, false))
		if c.isRecent(e.Key.LastUsed) {
			fmt.Fprintf(&b, " (%s)", relative(c.Now.Sub(e.Key.LastUsed)))
		}
		fmt.Fprintf(&b, " from %s", fromText(e.Key.LastFrom))
	}
	return b.String()
}

// expiringText warns that a key stops working soon.
func expiringText(k KeyRow, c Clock) string {
	in := k.ExpiresAt.Sub(c.Now)
	when := "in less than a day"
	if d := int(in / (24 * time.Hour)); d == 1 {
		when = "tomorrow"
	} else if d > 1 {
		when = fmt.Sprintf("in %d days", d)
	}
	return fmt.Sprintf("“%s” expires %s (%s). Rotate it now and put the new key in its integration, or that integration stops working.", k.Label, when, c.dayText(k.ExpiresAt))
}

func inboundURL(base string) string { return base + "/api/leads/inbound" }

// The snippets take the key to fill in; the cards show placeholders.
const (
	placeholderKey    = "YOUR_API_KEY"
	placeholderMCPKey = "YOUR_MCP_KEY"
)

func curlExample(base, key string) string {
	return `curl -X POST ` + inboundURL(base) + ` \
  -H "x-api-key: ` + key + `" \
  -H "Content-Type: application/json" \
  -d '{"name": "Jamie Buyer", "email": "jamie@example.com", "phone": "+1 555 123 4567",
       "message": "Interested in 12 Oak St", "source": "Website"}'`
}

func formExample(base, key string) string {
	return `<form method="post" action="` + inboundURL(base) + `">
  <input type="hidden" name="api_key" value="` + key + `">
  <input type="hidden" name="_redirect" value="https://your-site.com/thank-you">
  <input name="name" placeholder="Your name">
  <input name="email" type="email" placeholder="Email">
  <input name="phone" type="tel" placeholder="Phone">
  <textarea name="message" placeholder="How can I help?"></textarea>
  <!-- Spam trap: people never see or fill this field. -->
  <input name="_gotcha" tabindex="-1" autocomplete="off" style="display:none">
  <button type="submit">Send</button>
</form>`
}

// snippet is one way to use a new key, filled with it.
type newSnippet struct {
	Use, Title, What, Text string
	Open                   bool
}

// snippetsFor are the snippets for the new key's access, the ones for its
// uses open.
func snippetsFor(base string, n NewKey) []newSnippet {
	var all []newSnippet
	if n.Access == accessMCP {
		all = []newSnippet{{Use: "mcp", Title: "MCP client configuration", What: "MCP client configuration with the new key", Text: mcpClientConfig(base, n.Key)},
			{Use: "curl", Title: "Send a lead from a server (curl)", What: "curl example with the new key", Text: curlExample(base, n.Key)}}
	} else {
		all = []newSnippet{{Use: "tracker", Title: "Web tracker tag", What: "tracker tag with the new key", Text: trackerSnippet(base, n.Key)},
			{Use: "form", Title: "Form on your website", What: "form HTML with the new key", Text: formExample(base, n.Key)},
			{Use: "curl", Title: "Zapier, Make or a script (curl)", What: "curl example with the new key", Text: curlExample(base, n.Key)}}
	}
	for i := range all {
		all[i].Open = slices.Contains(n.Uses, all[i].Use)
	}
	return all
}

// RevokeKeyRemoval is the no-JS confirmation of revoking key k, read with
// the page's clock c.
func RevokeKeyRemoval(k KeyRow, c Clock) Removal {
	return Removal{Title: "Revoke “" + k.Label + "”?", Question: revokeQuestion(k, c), Action: KeyURL(k.ID),
		Button: "Revoke key", Back: "/settings/integrations", TestID: "revoke-confirm"}
}

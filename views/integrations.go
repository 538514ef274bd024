package views

import (
	"fmt"
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
// a generate, the one-time COPY NOW panel.
type KeysCard struct {
	// CanManage: the agent may generate and revoke (an owner or admin);
	// others see the list without the controls.
	CanManage bool
	Keys      []KeyRow
	Events    []ActivityRow // the team's latest activity
	Max       int
	NewKey    string // the full key, set only in the response to Generate
	NewFor    string // label of the new key
	Label     string // the label to put back in the input after an error
	Error     string // what to fix, shown under the input
	// Access is the access kind to keep chosen after an error ("" = intake).
	Access string
	// AccessError is what to fix about the access choice.
	AccessError string
	// NewAccess is the new key's access kind, set with NewKey.
	NewAccess string
	Notice    string // what just happened, e.g. "Revoked …"
	Limited   bool   // the team is at the active-key limit
}

// KeyRow is one active key in the list.
type KeyRow struct {
	ID        int64
	Label     string
	Preview   string
	Access    string
	CreatedBy string
	CreatedAt time.Time
	LastUsed  time.Time
}

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

func keyURL(id int64) string { return fmt.Sprintf("/settings/integrations/api-keys/%d", id) }

func revokeQuestion(label string) string {
	return fmt.Sprintf("Revoke the key “%s”? Any tool still using it will stop working on its next request. This can't be undone.", label)
}

func inboundURL(base string) string { return base + "/api/leads/inbound" }

func curlExample(base string) string {
	return `curl -X POST ` + inboundURL(base) + ` \
  -H "x-api-key: YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{"name": "Jamie Buyer", "email": "jamie@example.com", "phone": "+1 555 123 4567",
       "message": "Interested in 12 Oak St", "source": "Website"}'`
}

func formExample(base string) string {
	return `<form method="post" action="` + inboundURL(base) + `">
  <input type="hidden" name="api_key" value="YOUR_API_KEY">
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

// RevokeKeyRemoval is the no-JS confirmation of revoking key k.
func RevokeKeyRemoval(k KeyRow) Removal {
	return Removal{Title: "Revoke “" + k.Label + "”?", Question: revokeQuestion(k.Label), Action: keyURL(k.ID),
		Button: "Revoke key", Back: "/settings/integrations", TestID: "revoke-confirm"}
}

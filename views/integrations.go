package views

import (
	"fmt"
	"time"
)

// Integrations is everything the Settings → Integrations page shows.
type Integrations struct {
	Keys KeysCard
}

// KeysCard is the API keys card: the list, the generate form and, right after
// a generate, the one-time COPY NOW panel.
type KeysCard struct {
	Keys    []KeyRow
	Events  []KeyEvent
	Max     int
	NewKey  string // the full key, set only in the response to Generate
	NewFor  string // label of the new key
	Label   string // the label to put back in the input after an error
	Error   string // what to fix, shown under the input
	Notice  string // what just happened, e.g. "Revoked …"
	Limited bool   // the team is at the active-key limit
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

// KeyEvent is one line of the audit trail under the card.
type KeyEvent struct {
	At      time.Time
	Action  string
	Agent   string
	Label   string
	Preview string
}

func keyURL(id int64) string { return fmt.Sprintf("/settings/integrations/api-keys/%d", id) }

func revokeQuestion(label string) string {
	return fmt.Sprintf("Revoke the key “%s”? Any tool still using it will stop working on its next request. This can't be undone.", label)
}

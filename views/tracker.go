package views

import (
	"fmt"
	"time"
)

// TrackerCard is the Web tracker card: install snippet, tracked domains,
// whether events arrive, and recent anonymous visitors.
type TrackerCard struct {
	CanManage bool   // the agent may add and remove domains
	BaseURL   string // this server's URL, for the snippet
	Domains   []DomainRow
	Domain    string // the input to put back after an error
	Error     string // what to fix, shown under the input
	Notice    string // what just happened
	LastEvent time.Time
	Last24h   int
	Visitors  []VisitorRow
}

// DomainRow is one tracked domain.
type DomainRow struct {
	ID     int64
	Domain string
	Added  time.Time
}

// VisitorRow is a recent visitor that is not a lead yet.
type VisitorRow struct {
	FirstSeen time.Time
	LastSeen  time.Time
	PageViews int
	LastURL   string
}

func domainURL(id int64) string { return fmt.Sprintf("/settings/integrations/tracked-domains/%d", id) }

func removeDomainQuestion(domain string) string {
	return fmt.Sprintf("Remove “%s” from tracked domains? Tracker events and website forms from it will be refused while other domains are listed.", domain)
}

// cspEntries are what a site's own Content-Security-Policy needs for the
// tracker to load and send, and for its forms to post here.
func cspEntries(base string) string {
	return "script-src " + base + "\nconnect-src " + base + "\nform-action " + base
}

func trackerSnippet(base string) string {
	return `<script async src="` + base + `/t.js" data-key="YOUR_API_KEY"></script>`
}

// RemoveDomainRemoval is the no-JS confirmation of removing domain d.
func RemoveDomainRemoval(d DomainRow) Removal {
	return Removal{Title: "Remove “" + d.Domain + "”?", Question: removeDomainQuestion(d.Domain), Action: domainURL(d.ID),
		Button: "Remove domain", Back: "/settings/integrations", TestID: "remove-domain-confirm"}
}

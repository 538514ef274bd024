package views

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// LeadList is one page of the pipeline, latest activity first, or of a
// search in it, newest first.
type LeadList struct {
	Leads []LeadRow
	Query string // the search; "" lists every lead
	// The filters: a source ("" for any), the leads without email or
	// phone, the hot ones, the test ones.
	Source       string
	NeedsContact bool
	Hot          bool
	OnlyTests    bool
	Total        int  // the team's leads, or the leads the search finds
	TotalCapped  bool // the search finds Total or more
	Page         int  // 1-based; 0 when not known
	Pages        int  // 0 when not known
	// Links to other pages; "" when there is none.
	Newer, Older, First, Last string
	// Notice says why the page shows no leads (past the end, a search too
	// short).
	Notice string
	Tests  int // test leads among Total, when listing every lead (they are in the list, marked Test)
	CSRF   string
}

// LeadRow is a lead in the pipeline list: what an agent needs to decide
// whom to call first.
type LeadRow struct {
	ID           int64
	Name         string
	Email        string
	Phone        string // E.164
	Source       string
	Preview      string    // the latest message
	LastActivity time.Time // the latest submission or return to the site
	Visits       int       // tracker visits
	Hot          bool      // three or more visits in the last 7 days
	// NeedsContact: the lead came with neither email nor phone.
	NeedsContact bool
	Test         bool // sent by Closr's test buttons; removable
}

// LeadDetail is one lead and its story: how they got in touch, what they
// wrote each time and what they looked at.
type LeadDetail struct {
	Lead                 LeadRow
	KeyLabel, KeyPreview string // the key of the first submission
	First                Enquiry
	Latest               *Enquiry // the newest submission, when it is not the first
	Custom               []Pair
	Submissions          []SubmissionView // a page of them, newest first
	SubmissionsTotal     int
	Paged                bool    // this page is not the newest
	Older                int64   // the cursor of the next, older page; 0 on the last
	RawFolded            int     // submissions whose raw body was folded
	KeptRaw              int     // how many of the newest submissions keep their raw body
	Visits               []Visit // newest first
	MostViewed           []PageCount
	// PageViews is how many page views the visits hold; PageViewsTotal how
	// many the lead's visitors made in all.
	PageViews, PageViewsTotal int
	Links                     TrackedLinks
}

// Enquiry is one time the person got in touch.
type Enquiry struct {
	At      time.Time
	Source  string
	Message string
}

// Pair is a named value.
type Pair struct{ Name, Value string }

// SubmissionView is one post that created or updated the lead.
type SubmissionView struct {
	ID          int64
	At          time.Time
	Source      string
	Message     string
	KeyLabel    string
	KeyPreview  string
	ContentType string
	Fields      []Pair
	Notes       []string // what the submission left out or lacked
	RawSize     int      // 0 once folded
}

// Visit is a run of the lead's page views less than 30 minutes apart.
type Visit struct {
	N          int // 1 for the person's first visit
	Start, End time.Time
	Views      int
	Pages      []PageCount // in the order first viewed
	Referrer   string      // the site that sent them, "" when none or their own
	Campaign   string      // the UTM campaign (with source and medium) of the link that brought them
	Moment     Moment      // before, during or after the person got in touch
	Opened     []PageView  // every view, in order
}

// Moment is when a visit was, next to the person's first enquiry.
type Moment int

const (
	BeforeContact Moment = iota // every page was viewed before the first enquiry
	AtContact                   // they got in touch during the visit
	AfterContact
)

func (m Moment) String() string {
	switch m {
	case BeforeContact:
		return "before they got in touch"
	case AtContact:
		return "got in touch on this visit"
	}
	return "after they got in touch"
}

// PageCount is a page and how often it was viewed.
type PageCount struct {
	Name   string // its title, without the site's name, else its path
	URL    string
	Views  int
	Visits int
}

// PageView is one page the lead's visitor looked at.
type PageView struct {
	At   time.Time
	Name string
	URL  string
}

func leadURL(id int64) string { return fmt.Sprintf("/leads/%d", id) }

func (l LeadList) filtered() bool { return l.Source != "" || l.NeedsContact || l.Hot || l.OnlyTests }

// leadsSummary is the line above the list.
func leadsSummary(l LeadList) string {
	switch {
	case l.Query == "" && l.filtered() && l.TotalCapped:
		return fmt.Sprintf("%d or more leads match these filters, latest activity first.", l.Total)
	case l.Query == "" && l.filtered():
		return plural(l.Total, "lead matches", "leads match") + " these filters, latest activity first."
	case l.Query == "":
		s := fmt.Sprintf("%d leads from your website, Zapier, Make and other integrations, latest activity first: a new enquiry or a return to your site moves a lead to the top.", l.Total-l.Tests)
		switch l.Tests {
		case 0:
		case 1:
			s += " Plus 1 test lead, marked Test and not counted."
		default:
			s += fmt.Sprintf(" Plus %d test leads, marked Test and not counted.", l.Tests)
		}
		return s
	case l.TotalCapped:
		return fmt.Sprintf("%d or more leads match “%s”.", l.Total, l.Query)
	case l.Total == 1:
		return fmt.Sprintf("1 lead matches “%s”.", l.Query)
	}
	return fmt.Sprintf("%d leads match “%s”.", l.Total, l.Query)
}

// pageLabel is the pager's middle: "Page 2 of 9", "Page 2" or "".
func pageLabel(l LeadList) string {
	switch {
	case l.Page > 0 && l.Pages > 0:
		return fmt.Sprintf("Page %d of %d", l.Page, l.Pages)
	case l.Page > 0:
		return fmt.Sprintf("Page %d", l.Page)
	}
	return ""
}
func olderSubmissionsURL(lead, before int64) string {
	return fmt.Sprintf("/leads/%d?before=%d", lead, before)
}

func rawURL(lead, sub int64) string { return fmt.Sprintf("/leads/%d/submissions/%d/raw", lead, sub) }

// submissionsSummary says which submissions the page shows.
func submissionsSummary(d LeadDetail) string {
	if d.Paged {
		return fmt.Sprintf("%d older submissions of %d", len(d.Submissions), d.SubmissionsTotal)
	}
	if len(d.Submissions) == d.SubmissionsTotal {
		return plural(d.SubmissionsTotal, "submission", "submissions")
	}
	return fmt.Sprintf("Latest %d of %d submissions", len(d.Submissions), d.SubmissionsTotal)
}

// foldedNote says how many raw bodies were folded.
func foldedNote(d LeadDetail) string {
	return fmt.Sprintf("Raw bodies are kept for the newest %d submissions; %d older ones were folded. Their fields are kept.", d.KeptRaw, d.RawFolded)
}

// byteSize is a size for people: bytes, KB or MB.
func byteSize(n int) string {
	switch {
	case n < 1000:
		return plural(n, "byte", "bytes")
	case n < 1_000_000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// LeadTitle names a lead: their name, else their email, else their phone
// as the agent's country writes it (c), else its number.
func LeadTitle(l LeadRow, c Clock) string {
	switch {
	case l.Name != "":
		return l.Name
	case l.Email != "":
		return l.Email
	case l.Phone != "":
		return c.phoneText(l.Phone)
	}
	return fmt.Sprintf("Lead #%d", l.ID)
}

// HumanName is a field name as people read it: "pre_approved" and
// "preApproved" are "Pre approved"; acronyms ("ZIP") stay as they are.
func HumanName(name string) string {
	var b strings.Builder
	prev := ' '
	for _, r := range strings.TrimSpace(name) {
		switch {
		case r == '_' || r == '-' || unicode.IsSpace(r):
			r = ' '
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			b.WriteByte(' ')
		}
		if r == ' ' && prev == ' ' {
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	words := strings.Fields(b.String())
	for i, w := range words {
		if i > 0 && !isAcronym(w) {
			words[i] = strings.ToLower(w)
		}
	}
	out := strings.Join(words, " ")
	if out == "" {
		return ""
	}
	first, size := utf8.DecodeRuneInString(out)
	return string(unicode.ToUpper(first)) + out[size:]
}

// isAcronym reports whether w is all capitals (and at least two letters).
func isAcronym(w string) bool {
	letters := 0
	for _, r := range w {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsLetter(r) {
			letters++
		}
	}
	return letters > 1
}

// visitTitle is "Visit 3".
func visitTitle(v Visit) string { return fmt.Sprintf("Visit %d", v.N) }

// visitFacts is "6 pages, 4 min".
func visitFacts(v Visit) string {
	pages := "1 page"
	if v.Views != 1 {
		pages = fmt.Sprintf("%d pages", v.Views)
	}
	return pages + ", " + durationText(v.End.Sub(v.Start))
}

// pagesText is "7 Harbor Ln ×3, Contact".
func pagesText(ps []PageCount) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Name
		if p.Views > 1 {
			parts[i] += fmt.Sprintf(" ×%d", p.Views)
		}
	}
	return strings.Join(parts, ", ")
}

// viewsText is "5 views in 3 visits".
func viewsText(p PageCount) string {
	views := plural(p.Views, "view", "views")
	if p.Visits > 1 {
		return views + " in " + plural(p.Visits, "visit", "visits")
	}
	return views
}

func trackedLinksURL(leadID int64) string { return fmt.Sprintf("/leads/%d/tracked-links", leadID) }

func opensText(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// linkName names a tracked link's page: its title, else its address.
func linkName(l TrackedLink) string {
	if l.Title != "" {
		return l.Title
	}
	return l.URL
}

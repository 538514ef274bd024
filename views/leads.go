package views

import (
	"fmt"
	"time"
)

// LeadList is one page of the pipeline, or of a search in it.
type LeadList struct {
	Leads       []LeadRow
	Query       string // the search; "" lists every lead
	Total       int    // the team's leads, or the leads the search finds
	TotalCapped bool   // the search finds Total or more
	Page        int    // 1-based; 0 when not known
	Pages       int    // 0 when not known
	// Links to other pages; "" when there is none.
	Newer, Older, First, Last string
	// Notice says why the page shows no leads (past the end, a search too
	// short).
	Notice string
	Tests  int // test leads among Total, when listing every lead
	CSRF   string
}

// LeadRow is a lead in the pipeline list.
type LeadRow struct {
	ID       int64
	Name     string
	Email    string
	Phone    string
	Source   string
	KeyLabel string
	At       time.Time
	Visits   int  // tracker page views
	Hot      bool // three or more visits in the last 7 days
	// NeedsContact: the lead came with neither email nor phone.
	NeedsContact bool
	Test         bool // sent by Closr's test buttons; removable
}

// LeadDetail is one lead with its history.
type LeadDetail struct {
	Lead             LeadRow
	Message          string
	Custom           []Pair
	Updated          time.Time
	Submissions      []SubmissionView // a page of them, newest first
	SubmissionsTotal int
	Paged            bool  // this page is not the newest
	Older            int64 // the cursor of the next, older page; 0 on the last
	RawFolded        int   // submissions whose raw body was folded
	KeptRaw          int   // how many of the newest submissions keep their raw body
	PageViews        []PageView
	PageViewsTotal   int
	Links            TrackedLinks
}

// Pair is a named value.
type Pair struct{ Name, Value string }

// SubmissionView is one post that created or updated the lead.
type SubmissionView struct {
	ID          int64
	At          time.Time
	Source      string
	KeyLabel    string
	KeyPreview  string
	ContentType string
	Fields      []Pair
	Notes       []string // what the submission left out or lacked
	RawSize     int      // 0 once folded
}

// PageView is one page the lead's visitor looked at.
type PageView struct {
	At     time.Time
	Title  string
	URL    string
	Before bool // viewed before the person became a lead
}

func leadURL(id int64) string { return fmt.Sprintf("/leads/%d", id) }

// leadsSummary is the line above the list.
func leadsSummary(l LeadList) string {
	switch {
	case l.Query == "":
		s := fmt.Sprintf("%d leads from your website, Zapier, Make and other integrations.", l.Total-l.Tests)
		switch l.Tests {
		case 0:
		case 1:
			s += " Plus 1 test lead, not counted."
		default:
			s += fmt.Sprintf(" Plus %d test leads, not counted.", l.Tests)
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

// pageViewsNote says how many of the page views are listed.
func pageViewsNote(d LeadDetail) string {
	return fmt.Sprintf("The latest %d of %d page views.", len(d.PageViews), d.PageViewsTotal)
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
func displayName(l LeadRow) string {
	if l.Name != "" {
		return l.Name
	}
	return "(no name)"
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

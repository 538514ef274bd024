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
}

// LeadDetail is one lead with its history.
type LeadDetail struct {
	Lead        LeadRow
	Message     string
	Custom      []Pair
	Updated     time.Time
	Submissions []SubmissionView
	PageViews   []PageView
}

// Pair is a named value.
type Pair struct{ Name, Value string }

// SubmissionView is one post that created or updated the lead.
type SubmissionView struct {
	At          time.Time
	Source      string
	KeyLabel    string
	KeyPreview  string
	ContentType string
	Fields      []Pair
	Raw         string
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
		return fmt.Sprintf("%d leads from your website, Zapier, Make and other integrations.", l.Total)
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
func displayName(l LeadRow) string {
	if l.Name != "" {
		return l.Name
	}
	return "(no name)"
}

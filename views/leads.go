package views

import (
	"fmt"
	"time"
)

// LeadList is one page of the pipeline.
type LeadList struct {
	Leads []LeadRow
	Page  int // 1-based
	Pages int
	Total int
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
}

// LeadDetail is one lead with its history.
type LeadDetail struct {
	Lead        LeadRow
	Message     string
	Custom      []Pair
	Updated     time.Time
	Submissions []SubmissionView
	PageViews   []PageView
	Links       TrackedLinks
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
	Notes       []string // what the submission left out or lacked
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
func pageURL(page int) string { return fmt.Sprintf("/leads?page=%d", page) }
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

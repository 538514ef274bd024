package store

// Reading leads: one lead, and pages of a team's leads, all of them (by
// latest activity) or those a search finds (by lead id). Pages are keyed by
// a lead's place in that order, so the thousandth page costs what the
// first does.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Lead is one person in a team's pipeline. A lead with neither email nor
// phone needs contact details: it came with content but no way to reach
// the person, and it never merges with another (see NeedsContact).
type Lead struct {
	ID         int64
	TeamID     int64
	Name       string
	Email      string
	Phone      string
	Message    string
	Source     string
	Custom     []Field
	KeyLabel   string // the key of the first submission
	KeyPreview string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// LastActivity is the latest submission, or the latest return of one
	// of the lead's visitors to the site; the pipeline is in this order.
	LastActivity time.Time
	LastMessage  string // the latest submission's message ("" when none had one)
	// Test: every submission came from Closr's own test buttons (Test this
	// key, Send test lead). Left out of counts, Hot and the pipeline
	// summary, and removable.
	Test bool
}

const leadColumns = `l.id, l.team_id, l.name, l.email, l.phone, l.message, l.source, l.custom,
	coalesce(k.label, ''), coalesce(k.preview, ''), l.created_at, l.updated_at, l.last_activity_at, l.last_message, l.is_test
	FROM leads l LEFT JOIN api_keys k ON k.id = l.key_id`

// NeedsContact reports whether the lead has no email and no phone. Leads
// are matched by email or phone only, so such a lead never gains either
// from a later submission: the state is the columns themselves, not a flag
// that could disagree with them.
func (l Lead) NeedsContact() bool { return l.Email == "" && l.Phone == "" }

func scanLead(sc scanner) (Lead, error) {
	var l Lead
	var custom string
	var created, updated, active int64
	err := sc.Scan(&l.ID, &l.TeamID, &l.Name, &l.Email, &l.Phone, &l.Message, &l.Source, &custom,
		&l.KeyLabel, &l.KeyPreview, &created, &updated, &active, &l.LastMessage, &l.Test)
	l.Custom = parseFields(custom)
	l.CreatedAt, l.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	l.LastActivity = time.Unix(active, 0).UTC()
	return l, err
}

// Lead returns one of the team's leads; another team's is ErrNotFound. Its
// submissions are read a page at a time with LeadSubmissions.
func (db *DB) Lead(ctx context.Context, teamID, id int64) (Lead, error) {
	l, err := queryOne(ctx, db, scanLead, leadSQL, id, teamID)
	if errors.Is(err, sql.ErrNoRows) {
		return Lead{}, fmt.Errorf("lead %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Lead{}, fmt.Errorf("lead %d: %w", id, err)
	}
	return l, nil
}

const leadSQL = "SELECT " + leadColumns + " WHERE l.id = ? AND l.team_id = ?"

// MaxSkip is the most leads a page may skip from either end of a list:
// skipping walks an index, so it is kept short. Further pages are reached
// from a lead's place in the list (LeadRange.Before and After).
const MaxSkip = 1000

// MinSearchLen is the shortest search text: the index holds every three
// characters of a lead's name, email, phone and source.
const MinSearchLen = 3

// ErrSearchTooShort is search text of one or two characters.
var ErrSearchTooShort = fmt.Errorf("search text needs at least %d characters", MinSearchLen)

// ErrSkipTooFar is a Skip beyond MaxSkip.
var ErrSkipTooFar = fmt.Errorf("a page can skip at most %d leads", MaxSkip)

// LeadCursor is a lead's place in a list: its latest activity (Unix
// seconds) and id. The whole list is in that order; a search's matches are
// in id order, and read only the ID.
type LeadCursor struct {
	At, ID int64
}

// CursorOf is l's place in a list.
func CursorOf(l Lead) LeadCursor { return LeadCursor{l.LastActivity.Unix(), l.ID} }

// String is the cursor as links and MCP carry it: "at.id".
func (c LeadCursor) String() string { return fmt.Sprintf("%d.%d", c.At, c.ID) }

// ParseLeadCursor reads a LeadCursor.String.
func ParseLeadCursor(s string) (LeadCursor, error) {
	var c LeadCursor
	at, id, ok := strings.Cut(s, ".")
	var err1, err2 error
	c.At, err1 = strconv.ParseInt(at, 10, 64)
	c.ID, err2 = strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || c.At < 0 || c.ID < 1 || c.ID > maxLeadID {
		return LeadCursor{}, fmt.Errorf("not a place in the list: %q", s)
	}
	return c, nil
}

// LeadFilter narrows a list to some of the team's leads. The zero value
// keeps every lead.
type LeadFilter struct {
	Source       string // only leads from this source (exact)
	NeedsContact bool   // only leads with neither email nor phone
}

// LeadRange picks a page of a team's leads (or of the leads a search
// finds), perhaps filtered. Pages come latest activity first (a search's
// newest first).
type LeadRange struct {
	LeadFilter

	Before LeadCursor // only leads below this one (zero: no bound)
	After  LeadCursor // only leads above this one; the page is the one just above it
	Oldest bool       // the page at the bottom end (with Skip, counted from there)
	Skip   int        // leads to pass over first, at most MaxSkip
	Limit  int
}

// Leads returns a page of the team's leads: every lead, latest activity
// first, when text is empty, else those whose name, email, phone or source
// contains text (case and accents ignored; digits in text also find the
// phone however it was punctuated), newest first. Text needs MinSearchLen
// characters.
func (db *DB) Leads(ctx context.Context, teamID int64, text string, r LeadRange) ([]Lead, error) {
	text, err := searchText(text)
	if err != nil {
		return nil, err
	}
	if r.Skip < 0 || r.Skip > MaxSkip {
		return nil, ErrSkipTooFar
	}
	before, after := r.Before, r.After
	if before.ID <= 0 {
		before = LeadCursor{math.MaxInt64, maxLeadID + 1}
	}
	// The page is read upwards from After or from the bottom end.
	up := after.ID > 0 || r.Oldest
	var leads []Lead
	if text == "" {
		leads, err = queryAll(ctx, db, scanLead, leadsByActivitySQL(up, r.LeadFilter),
			append([]any{teamID, before.At, before.ID, after.At, after.ID, r.Limit, r.Skip}, filterArgs(r.LeadFilter)...)...)
	} else {
		q, args := db.eng.search(teamID, text, up, r.LeadFilter, before, after, r.Limit, r.Skip)
		leads, err = queryAll(ctx, db, scanLead, q, args...)
	}
	if err != nil {
		return nil, fmt.Errorf("list leads: %w", err)
	}
	return leads, nil
}

// The search index's rowid is the team id shifted left by teamShift, with
// the lead id in the bits below (see migration 012): a team's matches are
// one range of rowids, and lead ids stay below maxLeadID.
const (
	teamShift = 40
	maxLeadID = 1<<teamShift - 1
)

// leadsByActivitySQL reads a page of the team's leads by latest activity:
// their ids from an index in that order (the team's leads, those of one
// source, or those needing contact details), skipping and stopping there,
// then the rows of those ids alone. Arguments: team, before (at, id),
// after (at, id), limit, skip, then filterArgs.
func leadsByActivitySQL(up bool, f LeadFilter) string {
	order := "DESC"
	if up {
		order = "ASC"
	}
	// Named: with the values bound, the planner may walk the team's leads
	// by id and sort them all.
	index := "leads_team_activity"
	switch {
	case f.Source != "":
		index = "leads_team_source_activity"
	case f.NeedsContact:
		index = "leads_team_needs_contact"
	}
	return "SELECT " + leadColumns + ` WHERE l.id IN (SELECT id FROM leads INDEXED BY ` + index + `
		WHERE team_id = ?1` + filterSQL(f, 8) + ` AND (last_activity_at, id) < (?2, ?3) AND (last_activity_at, id) > (?4, ?5)
		ORDER BY last_activity_at ` + order + `, id ` + order + ` LIMIT ?6 OFFSET ?7)
		AND l.team_id = ?1 ORDER BY l.last_activity_at DESC, l.id DESC`
}

// filterSQL is f's conditions on leads, the source bound to ?n.
func filterSQL(f LeadFilter, n int) string {
	var sql string
	if f.Source != "" {
		sql += fmt.Sprintf(" AND source = ?%d", n)
	}
	if f.NeedsContact {
		sql += " AND email = '' AND phone = ''"
	}
	return sql
}

// filterArgs are the values filterSQL binds.
func filterArgs(f LeadFilter) []any {
	if f.Source != "" {
		return []any{f.Source}
	}
	return nil
}

// searchSQL reads a page of the leads a search finds: their ids from the
// search index in rowid order, skipping and stopping there, then the rows
// of those ids alone. Arguments: team, before and after (search-index
// rowids), limit, skip, the FTS5 query, then filterArgs. A filter is
// checked on each match's row as the index yields it: a common term with a
// rare filter reads many rows.
func searchSQL(up bool, f LeadFilter) string {
	order := "DESC"
	if up {
		order = "ASC"
	}
	// The IN (SELECT rowid … MATCH) form: the index yields the team's
	// matches in order and stops at the limit. As a join, the planner
	// may instead run the search once per lead of the team.
	filter := ""
	if f != (LeadFilter{}) {
		filter = ` AND EXISTS (SELECT 1 FROM leads WHERE id = f.rowid & ` + fmt.Sprint(maxLeadID) + filterSQL(f, 7) + `)`
	}
	return "SELECT " + leadColumns + ` WHERE l.id IN (SELECT rowid & ` + fmt.Sprint(maxLeadID) + ` FROM leads_fts f
		WHERE leads_fts MATCH ?6 AND rowid < ?2 AND rowid > ?3` + filter + ` ORDER BY rowid ` + order + ` LIMIT ?4 OFFSET ?5)
		AND l.team_id = ?1 ORDER BY l.id DESC`
}

// CountLeads counts the team's leads: all of them (kept by a trigger, so
// exact and free), or those text or f finds, counted up to upTo: counting
// every match of a common word would read a large part of the index.
func (db *DB) CountLeads(ctx context.Context, teamID int64, text string, f LeadFilter, upTo int) (int, error) {
	text, err := searchText(text)
	if err != nil {
		return 0, err
	}
	var n int
	switch {
	case text != "":
		q, args := db.eng.countMatches(teamID, text, f, upTo)
		n, err = queryOne(ctx, db, scanInt, q, args...)
	case f != LeadFilter{}:
		n, err = queryOne(ctx, db, scanInt, filterCountSQL(f), append([]any{teamID, upTo}, filterArgs(f)...)...)
	default:
		n, err = queryOne(ctx, db, scanInt, leadCountSQL, teamID)
	}
	if err != nil {
		return 0, fmt.Errorf("count leads: %w", err)
	}
	return n, nil
}

const leadCountSQL = `SELECT lead_count FROM teams WHERE id = ?`

// matchCountSQL counts a search's matches, with f checked as searchSQL
// does. Arguments: the FTS5 query, the team's rowid range, the cap, then
// filterArgs.
func matchCountSQL(f LeadFilter) string {
	filter := ""
	if f != (LeadFilter{}) {
		filter = ` AND EXISTS (SELECT 1 FROM leads WHERE id = f.rowid & ` + fmt.Sprint(maxLeadID) + filterSQL(f, 5) + `)`
	}
	return `SELECT count(*) FROM (SELECT 1 FROM leads_fts f WHERE leads_fts MATCH ?1 AND rowid >= ?2 AND rowid < ?3` + filter + ` LIMIT ?4) AS matches`
}

// filterCountSQL counts a filter's leads on its index. Arguments: team,
// the cap, then filterArgs.
func filterCountSQL(f LeadFilter) string {
	return `SELECT count(*) FROM (SELECT 1 FROM leads WHERE team_id = ?1` + filterSQL(f, 3) + ` LIMIT ?2) AS matches`
}

// searchText is the text to search for, trimmed; "" is no search.
func searchText(text string) (string, error) {
	text = strings.TrimSpace(text)
	if text != "" && utf8.RuneCountInString(text) < MinSearchLen {
		return "", ErrSearchTooShort
	}
	return text, nil
}

// matchQuery turns search text into an FTS5 query: the text as one phrase
// in any column, or its digits in the phone.
func matchQuery(text string) string {
	q := phrase(text)
	if d := digitsOf(text); len(d) >= MinSearchLen && d != text {
		q += " OR phone : " + phrase(d)
	}
	return q
}

// phrase quotes s as an FTS5 string, in which nothing is an operator.
func phrase(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// digitsOf keeps only the digits of s, so "(555) 123" finds +1555123….
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

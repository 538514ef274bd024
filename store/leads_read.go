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
	// HotUntil is when the lead stops being Hot unless the person comes
	// back (zero: not hot). See Hot.
	HotUntil time.Time
}

// A lead is Hot while its visitors have made HotVisits visits (see
// VisitGap) in the last HotWindow. Migration 019's triggers keep
// leads.hot_until with these numbers written out.
const (
	HotVisits = 3
	HotWindow = 7 * 24 * time.Hour
)

// Hot reports whether the lead is hot at now: HotVisits visits within the
// HotWindow before now. A test lead never is.
func (l Lead) Hot(now time.Time) bool { return now.Before(l.HotUntil) }

const leadColumns = `l.id, l.team_id, l.name, l.email, l.phone, l.message, l.source, l.custom,
	coalesce(k.label, ''), coalesce(k.preview, ''), l.created_at, l.updated_at, l.last_activity_at, l.last_message, l.is_test, l.hot_until
	FROM leads l LEFT JOIN api_keys k ON k.id = l.key_id`

// NeedsContact reports whether the lead has no email and no phone. Leads
// are matched by email or phone only, so such a lead never gains either
// from a later submission: the state is the columns themselves, not a flag
// that could disagree with them.
func (l Lead) NeedsContact() bool { return l.Email == "" && l.Phone == "" }

func scanLead(sc scanner) (Lead, error) {
	var l Lead
	var custom string
	var created, updated, active, hot int64
	err := sc.Scan(&l.ID, &l.TeamID, &l.Name, &l.Email, &l.Phone, &l.Message, &l.Source, &custom,
		&l.KeyLabel, &l.KeyPreview, &created, &updated, &active, &l.LastMessage, &l.Test, &hot)
	if hot > 0 {
		l.HotUntil = time.Unix(hot, 0).UTC()
	}
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
// characters of what searchColumns makes of a lead.
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
	Hot          bool   // only the leads hot now (see Lead.Hot)
	Tests        bool   // only test leads (see Lead.Test)
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
// first, when text is empty, else those whose search document (name,
// email, phone, source, messages, custom values: searchColumns) contains
// text (case and accents ignored; digits in text also find the phone
// however it was punctuated), newest first. Text needs MinSearchLen
// characters.
func (db *DB) Leads(ctx context.Context, teamID int64, text string, r LeadRange) ([]Lead, error) {
	match, err := matchQuery(text)
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
	filter := filterArgs(r.LeadFilter, db.now())
	var leads []Lead
	if match == "" {
		leads, err = queryAll(ctx, db, scanLead, leadsByActivitySQL(up, r.LeadFilter),
			append([]any{teamID, before.At, before.ID, after.At, after.ID, r.Limit, r.Skip}, filter...)...)
	} else {
		q, args := db.eng.search(teamID, text, up, r.LeadFilter, before, after, r.Limit, r.Skip, filter)
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
// source, those needing contact details, the test leads), skipping and
// stopping there, then the rows of those ids alone. The hot leads' index is
// in hot_until order: the team's hot leads are read from it and sorted,
// and they are few (each had three visits this week). Arguments: team,
// before (at, id), after (at, id), limit, skip, then filterArgs.
func leadsByActivitySQL(up bool, f LeadFilter) string {
	order := "DESC"
	if up {
		order = "ASC"
	}
	// Named: with the values bound, the planner may walk the team's leads
	// by id and sort them all.
	return "SELECT " + leadColumns + ` WHERE l.id IN (SELECT id FROM leads INDEXED BY ` + filterIndex(f) + `
		WHERE team_id = ?1` + filterSQL(f, 8) + ` AND (last_activity_at, id) < (?2, ?3) AND (last_activity_at, id) > (?4, ?5)
		ORDER BY last_activity_at ` + order + `, id ` + order + ` LIMIT ?6 OFFSET ?7)
		AND l.team_id = ?1 ORDER BY l.last_activity_at DESC, l.id DESC`
}

// filterIndex is the index whose range holds f's leads: the smallest set
// first.
func filterIndex(f LeadFilter) string {
	switch {
	case f.Hot:
		return "leads_team_hot"
	case f.Tests:
		return "leads_team_test_activity"
	case f.NeedsContact:
		return "leads_team_needs_contact"
	case f.Source != "":
		return "leads_team_source_activity"
	}
	return "leads_team_activity"
}

// A search with a filter reads the search's matches and the filter's
// leads together in one of three ways, by what the filter keeps:
//   - test leads (sent by hand, a handful): each is looked up in the
//     search index by rowid. A lookup costs about a millisecond for a
//     common word, too much for thousands.
//   - hot leads, or leads needing contact details (a few thousand at
//     most in a million): their rowids are gathered from the filter's
//     index into a set first, and the search's matches are checked
//     against it as the search index yields them. A common word with
//     few of them matching reads every match once, but no row.
//   - a source (a large share of the team): each match's row is checked
//     as the search index yields it; matches pass often.
func (f LeadFilter) lookupEach() bool { return f.Tests }

func (f LeadFilter) asSet() bool { return !f.Tests && (f.Hot || f.NeedsContact) }

// filterSetSQL is the search-index rowids of f's leads, the team bound to
// team (an SQL expression), f's values from ?n on. The unary plus keeps
// FTS5 from taking the set for rowid lookups (see lookupEach).
func filterSetSQL(f LeadFilter, team string, n int) string {
	return ` AND +rowid IN (SELECT team_id << ` + fmt.Sprint(teamShift) + ` | id FROM leads INDEXED BY ` + filterIndex(f) + `
		WHERE team_id = ` + team + filterSQL(f, n) + `)`
}

// rowCheckSQL checks f on the row of the match f.rowid, f's values from
// ?n on. NOT INDEXED: the row by its id; given a small partial index, the
// planner would scan it once per match.
func rowCheckSQL(f LeadFilter, n int) string {
	return ` AND EXISTS (SELECT 1 FROM leads NOT INDEXED WHERE id = f.rowid & ` + fmt.Sprint(maxLeadID) + filterSQL(f, n) + `)`
}

// filterSQL is f's conditions on leads, its values (filterArgs) bound from
// ?n on. The literal terms are those of the partial indexes.
func filterSQL(f LeadFilter, n int) string {
	var sql string
	if f.Source != "" {
		sql += fmt.Sprintf(" AND source = ?%d", n)
		n++
	}
	if f.NeedsContact {
		sql += " AND email = '' AND phone = ''"
	}
	if f.Hot {
		sql += fmt.Sprintf(" AND hot_until > 0 AND hot_until > ?%d", n)
	}
	if f.Tests {
		sql += " AND is_test = 1"
	}
	return sql
}

// filterArgs are the values filterSQL binds: the source, and now (Unix
// seconds) for Hot.
func filterArgs(f LeadFilter, now time.Time) []any {
	var args []any
	if f.Source != "" {
		args = append(args, f.Source)
	}
	if f.Hot {
		args = append(args, now.Unix())
	}
	return args
}

// searchSQL reads a page of the leads a search finds: their ids from the
// search index in rowid order, skipping and stopping there, then the rows
// of those ids alone. Arguments: team, before and after (search-index
// rowids), limit, skip, the FTS5 query, then filterArgs. A filter is read
// as lookupEach says.
func searchSQL(up bool, f LeadFilter) string {
	order := "DESC"
	if up {
		order = "ASC"
	}
	if f.lookupEach() {
		return "SELECT " + leadColumns + ` WHERE l.id IN (SELECT c.id FROM leads c INDEXED BY ` + filterIndex(f) + `
			WHERE c.team_id = ?1` + filterSQL(f, 7) + ` AND (c.team_id << ` + fmt.Sprint(teamShift) + ` | c.id) < ?2
			AND (c.team_id << ` + fmt.Sprint(teamShift) + ` | c.id) > ?3 AND ` + matchesSQL("?6") + `
			ORDER BY c.id ` + order + ` LIMIT ?4 OFFSET ?5)
			AND l.team_id = ?1 ORDER BY l.id DESC`
	}
	// The IN (SELECT rowid … MATCH) form: the index yields the team's
	// matches in order and stops at the limit. As a join, the planner
	// may instead run the search once per lead of the team.
	return "SELECT " + leadColumns + ` WHERE l.id IN (SELECT rowid & ` + fmt.Sprint(maxLeadID) + ` FROM leads_fts f
		WHERE leads_fts MATCH ?6 AND rowid < ?2 AND rowid > ?3` + matchFilterSQL(f, "?1", 7) + ` ORDER BY rowid ` + order + ` LIMIT ?4 OFFSET ?5)
		AND l.team_id = ?1 ORDER BY l.id DESC`
}

// matchFilterSQL is f's condition on a match f of the search index, when
// the index is read first: as a set or on each match's row.
func matchFilterSQL(f LeadFilter, team string, n int) string {
	switch {
	case f == LeadFilter{}:
		return ""
	case f.asSet():
		return filterSetSQL(f, team, n)
	}
	return rowCheckSQL(f, n)
}

// matchesSQL is true when the lead c matches the FTS5 query bound to
// param: a lookup of its rowid in the search index.
func matchesSQL(param string) string {
	return `EXISTS (SELECT 1 FROM leads_fts WHERE leads_fts MATCH ` + param + ` AND rowid = (c.team_id << ` + fmt.Sprint(teamShift) + ` | c.id))`
}

// CountLeads counts the team's leads: all of them (kept by a trigger, so
// exact and free), or those text or f finds, counted up to upTo: counting
// every match of a common word would read a large part of the index.
// atLeast says the count stopped early, at upTo or, for a search with a
// filter, once it had looked at the first SearchCountWork matches of the
// text (or, on SQLite, the filter's first FilterLookups test leads, looked
// up one by one): at least n leads match.
func (db *DB) CountLeads(ctx context.Context, teamID int64, text string, f LeadFilter, upTo int) (n int, atLeast bool, err error) {
	match, err := matchQuery(text)
	if err != nil {
		return 0, false, err
	}
	switch {
	case match != "" && f != LeadFilter{}:
		// Few of a common word's matches may pass the filter: counting
		// them all read every match (half a second at a million leads).
		var looked int
		q, args, work := db.eng.countFilteredMatches(teamID, text, f, filterArgs(f, db.now()))
		looked, n, err = queryPair(ctx, db, q, args...)
		atLeast = looked >= work || n >= upTo
		n = min(n, upTo)
	case match != "":
		q, args := db.eng.countMatches(teamID, text, upTo)
		n, err = queryOne(ctx, db, scanInt, q, args...)
		atLeast = upTo > 0 && n >= upTo
	case f != LeadFilter{}:
		n, err = queryOne(ctx, db, scanInt, filterCountSQL(f), append([]any{teamID, upTo}, filterArgs(f, db.now())...)...)
		atLeast = upTo > 0 && n >= upTo
	default:
		n, err = queryOne(ctx, db, scanInt, leadCountSQL, teamID)
	}
	if err != nil {
		return 0, false, fmt.Errorf("count leads: %w", err)
	}
	return n, atLeast, nil
}

// SearchCountWork is how many of a text's matches a search with a filter
// counts among at most; FilterLookups how many of a small filter's leads
// (Tests, on SQLite) it looks up in the search index, each a lookup of
// its own.
// Variables so that tests can count past them with few leads.
var (
	SearchCountWork = 10000
	FilterLookups   = 20
)

// queryPair reads a row of two integers.
func queryPair(ctx context.Context, db *DB, q string, args ...any) (a, b int, err error) {
	type pair struct{ a, b int }
	p, err := queryOne(ctx, db, func(sc scanner) (pair, error) {
		var p pair
		err := sc.Scan(&p.a, &p.b)
		return p, err
	}, q, args...)
	return p.a, p.b, err
}

const leadCountSQL = `SELECT lead_count FROM teams WHERE id = ?`

// matchCountSQL counts a search's matches (a search with a filter:
// filteredMatchCountSQL). Arguments: the FTS5 query, the team's rowid
// range, the cap.
const matchCountSQL = `SELECT count(*) FROM (SELECT 1 FROM leads_fts f WHERE leads_fts MATCH ?1 AND rowid >= ?2 AND rowid < ?3 LIMIT ?4) AS matches`

// filteredMatchCountSQL reads how many matches of the FTS5 query ?1 in the
// team's rowids [?2, ?3) it looked at, at most ?4, and how many of them f
// keeps (f's values from ?5): the first ?4 of f's leads looked up one by
// one when f keeps few (lookupEach), else the first ?4 matches checked
// against f's set or on their rows (matchFilterSQL).
func filteredMatchCountSQL(f LeadFilter) string {
	if f.lookupEach() {
		return `SELECT count(*), coalesce(sum(hit), 0) FROM (SELECT ` + matchesSQL("?1") + ` AS hit FROM leads c INDEXED BY ` + filterIndex(f) + `
			WHERE c.team_id = ?2 >> ` + fmt.Sprint(teamShift) + filterSQL(f, 5) + ` AND ?3 > 0 LIMIT ?4) AS looked`
	}
	return `SELECT count(*), coalesce(sum(hit), 0) FROM (SELECT ` + strings.TrimPrefix(matchFilterSQL(f, "?2 >> "+fmt.Sprint(teamShift), 5), " AND ") + ` AS hit
		FROM leads_fts f WHERE leads_fts MATCH ?1 AND rowid >= ?2 AND rowid < ?3 LIMIT ?4) AS looked`
}

// filterCountSQL counts a filter's leads on its index. Arguments: team,
// the cap, then filterArgs.
func filterCountSQL(f LeadFilter) string {
	// Named, as for the list: a source with another filter would else
	// walk the source's leads.
	return `SELECT count(*) FROM (SELECT 1 FROM leads INDEXED BY ` + filterIndex(f) + ` WHERE team_id = ?1` + filterSQL(f, 3) + ` LIMIT ?2) AS matches`
}

// matchQuery turns search text into an FTS5 query: the text as one phrase
// in any column, or its digits in the phone. Empty text is "" (no search).
func matchQuery(text string) (string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", nil
	}
	if utf8.RuneCountInString(text) < MinSearchLen {
		return "", ErrSearchTooShort
	}
	q := phrase(text)
	if d := digitsOf(text); len(d) >= MinSearchLen && d != text {
		q += " OR phone : " + phrase(d)
	}
	return q, nil
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

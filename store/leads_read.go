package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
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
}

const leadColumns = `l.id, l.team_id, l.name, l.email, l.phone, l.message, l.source, l.custom,
	coalesce(k.label, ''), coalesce(k.preview, ''), l.created_at, l.updated_at, l.last_activity_at, l.last_message
	FROM leads l LEFT JOIN api_keys k ON k.id = l.key_id`

// NeedsContact reports whether the lead has no email and no phone. Leads
// are matched by email or phone only, so such a lead never gains either
// from a later submission: the state is the columns themselves, not a flag
// that could disagree with them.
func (l Lead) NeedsContact() bool { return l.Email == "" && l.Phone == "" }

func scanLead(sc interface{ Scan(...any) error }) (Lead, error) {
	var l Lead
	var custom string
	var created, updated, active int64
	err := sc.Scan(&l.ID, &l.TeamID, &l.Name, &l.Email, &l.Phone, &l.Message, &l.Source, &custom,
		&l.KeyLabel, &l.KeyPreview, &created, &updated, &active, &l.LastMessage)
	l.Custom = parseFields(custom)
	l.CreatedAt, l.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	l.LastActivity = time.Unix(active, 0).UTC()
	return l, err
}

// Leads returns a page of the team's leads, latest activity first, and how
// many the team has in all.
func (db *DB) Leads(ctx context.Context, teamID int64, limit, offset int) ([]Lead, int, error) {
	var total int
	if err := db.r.QueryRowContext(ctx, "SELECT count(*) FROM leads WHERE team_id = ?", teamID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count leads: %w", wrapUnavailable(err))
	}
	leads, err := db.queryLeads(ctx, leadsByActivitySQL, teamID, limit, offset)
	return leads, total, err
}

// leadsByActivitySQL reads a page of a team's leads down the
// leads_team_activity index, latest activity first.
const leadsByActivitySQL = "SELECT " + leadColumns + " WHERE l.team_id = ? ORDER BY l.last_activity_at DESC, l.id DESC LIMIT ? OFFSET ?"

func (db *DB) queryLeads(ctx context.Context, query string, args ...any) ([]Lead, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list leads: %w", wrapUnavailable(err))
	}
	defer rows.Close()
	var leads []Lead
	for rows.Next() {
		l, err := scanLead(rows)
		if err != nil {
			return nil, fmt.Errorf("list leads: %w", err)
		}
		leads = append(leads, l)
	}
	return leads, wrapUnavailable(rows.Err())
}

// Lead returns one of the team's leads; another team's is ErrNotFound. Its
// submissions are read a page at a time with LeadSubmissions.
func (db *DB) Lead(ctx context.Context, teamID, id int64) (Lead, error) {
	l, err := scanLead(db.r.QueryRowContext(ctx, "SELECT "+leadColumns+" WHERE l.id = ? AND l.team_id = ?", id, teamID))
	if errors.Is(err, sql.ErrNoRows) {
		return Lead{}, fmt.Errorf("lead %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Lead{}, fmt.Errorf("lead %d: %w", id, wrapUnavailable(err))
	}
	return l, nil
}

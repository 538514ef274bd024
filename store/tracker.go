package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PageViewInput is one validated page view from the tracker.
type PageViewInput struct {
	TeamID      int64
	KeyID       int64
	VisitorID   string // the tracker's random id
	URL         string
	Title       string
	Referrer    string
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	UTMTerm     string
	UTMContent  string
	Clsr        string // the tracked link's token, when the URL carried one; never stored
	ScreenWidth int
	At          time.Time
}

// IdentifyInput ties a tracker visitor to a person by email or phone.
type IdentifyInput struct {
	TeamID    int64
	KeyID     int64
	VisitorID string
	Email     string // lower-cased, or ""
	Phone     string // E.164, or ""
	Name      string // the person's name: fills the lead's when it has none
	At        time.Time
}

// RecordPageView stores a page view and its visitor in one transaction; when
// it returns without error the view is committed.
func (db *DB) RecordPageView(ctx context.Context, in PageViewInput) error {
	at := in.At.Unix()
	visitor, fresh := db.visitors.get(in.TeamID, in.VisitorID, at)
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if err := db.keyStillActive(ctx, tx, in.TeamID, in.KeyID); err != nil {
			return err
		}
		if !fresh {
			// At most once a minute per visitor (see visitorCache): a
			// lead's visitor back on the site moves the lead up the
			// pipeline.
			lead, err := upsertVisitor(ctx, tx, in.TeamID, in.VisitorID, at, &visitor)
			if err != nil {
				return err
			}
			if err := touchLead(ctx, tx, in.TeamID, lead, at); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO page_views (team_id, visitor_id, key_id, url, title, referrer,
			utm_source, utm_medium, utm_campaign, utm_term, utm_content, clsr, screen_width, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.TeamID, visitor, nullID(in.KeyID), in.URL, in.Title, in.Referrer, in.UTMSource, in.UTMMedium,
			in.UTMCampaign, in.UTMTerm, in.UTMContent, "", in.ScreenWidth, in.At.Unix()); err != nil {
			return err
		}
		if in.Clsr != "" {
			if err := openTrackedLink(ctx, tx, in.TeamID, visitor, in.Clsr, in.Title, at); err != nil {
				return err
			}
		}
		if !fresh {
			tx.afterCommit(func() { db.visitors.put(in.TeamID, in.VisitorID, visitor, at) })
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record page view: %w", err)
	}
	return nil
}

// Identify ties the visitor to the team's lead with that email (first) or
// phone. When there is no such lead yet, the email and phone stay on the
// visitor, and IngestLead links the visitor when that lead arrives. It
// returns the lead the visitor now belongs to, or 0.
func (db *DB) Identify(ctx context.Context, in IdentifyInput) (int64, error) {
	var leadID int64
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if err := db.keyStillActive(ctx, tx, in.TeamID, in.KeyID); err != nil {
			return err
		}
		// The lead may be arriving on another instance: one of the two
		// must see the other, or the visitor waits for a lead that came.
		if err := tx.lockTeam(ctx, in.TeamID); err != nil {
			return err
		}
		var visitor int64
		if _, err := upsertVisitor(ctx, tx, in.TeamID, in.VisitorID, in.At.Unix(), &visitor); err != nil {
			return err
		}
		err := findLead(ctx, tx, in.TeamID, in.Email, in.Phone, &leadID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			tx.note(batchNote{kind: noteTeamPending, id: in.TeamID})
			tx.afterCommit(func() { db.pending.add(in.TeamID) })
			_, err = tx.ExecContext(ctx, `UPDATE visitors SET email = ?, phone = ? WHERE id = ? AND team_id = ?`,
				in.Email, in.Phone, visitor, in.TeamID)
		case err == nil:
			_, err = tx.ExecContext(ctx, `UPDATE visitors SET lead_id = ?, email = ?, phone = ? WHERE id = ? AND team_id = ?`,
				leadID, in.Email, in.Phone, visitor, in.TeamID)
			if err == nil && in.Name != "" {
				_, err = tx.ExecContext(ctx, `UPDATE leads SET name = ? WHERE id = ? AND team_id = ? AND name = ''`, in.Name, leadID, in.TeamID)
			}
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("identify visitor: %w", err)
	}
	return leadID, nil
}

// upsertVisitor sets id to the row id of the team's visitor vid, creating
// it, and returns the lead the visitor belongs to (0 for none).
func upsertVisitor(ctx context.Context, tx writeTx, teamID int64, vid string, at int64, id *int64) (int64, error) {
	var lead sql.NullInt64
	err := tx.QueryRowContext(ctx, `INSERT INTO visitors (team_id, vid, first_seen, last_seen) VALUES (?, ?, ?, ?)
		ON CONFLICT (team_id, vid) DO UPDATE SET last_seen = CASE WHEN visitors.last_seen > excluded.last_seen THEN visitors.last_seen ELSE excluded.last_seen END
		RETURNING id, lead_id`, teamID, vid, at, at).Scan(id, &lead)
	return lead.Int64, err
}

// touchLead makes at the team's lead's latest activity, unless it has a
// later one; lead 0 is none.
func touchLead(ctx context.Context, tx writeTx, teamID, lead, at int64) error {
	if lead == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE leads SET last_activity_at = ?3 WHERE id = ?1 AND team_id = ?2 AND last_activity_at < ?3`, lead, teamID, at)
	return err
}

// pendingVisitorsSQL finds the team's visitors who identified with this email
// or phone before there was a lead to tie them to.
const pendingVisitorsSQL = `SELECT id FROM visitors WHERE team_id = ?1 AND email = ?2 AND lead_id IS NULL AND email <> ''
	UNION ALL
	SELECT id FROM visitors WHERE team_id = ?1 AND phone = ?3 AND lead_id IS NULL AND phone <> ''`

// linkIdentifiedVisitors ties the visitors that identified themselves with
// this email or phone before the lead existed to the lead.
func linkIdentifiedVisitors(ctx context.Context, tx writeTx, teamID, leadID int64, email, phone string) error {
	// One statement on the ingest path; each branch of the UNION carries the
	// literal terms of its partial index, so both are index lookups.
	_, err := tx.ExecContext(ctx, "UPDATE visitors SET lead_id = ?4 WHERE id IN ("+pendingVisitorsSQL+")", teamID, email, phone, leadID)
	return err
}

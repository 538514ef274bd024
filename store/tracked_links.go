package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// LinkTokenLen is the length of a tracked link's clsr token: 16 random
// bytes (128 bits), base64url without padding.
const LinkTokenLen = 22

// Tracked links opened by more than linkVisitorsMax different visitors
// within linkVisitorWindow are flagged: a phone and a laptop are one
// person; more is a forwarded link, and strangers must not join the lead.
const (
	linkVisitorsMax   = 2
	linkVisitorWindow = 24 * time.Hour
)

// TrackedLink is a link to a page of the agent's site that identifies the
// lead it was made for when opened.
type TrackedLink struct {
	ID           int64
	LeadID       int64
	URL          string // the page, without its token
	Title        string // the page's title when first opened
	CreatedAt    time.Time
	Opens        int
	LastOpenedAt time.Time // zero when never opened
	Visitors     int       // different visitors who opened it
	Flagged      bool      // opened by too many visitors to be one person
}

// NewTrackedLink makes a tracked link to url for the team's lead: by an
// agent on the lead's page (agentID) or through MCP (keyID). It returns
// the link and its token, which is never stored and cannot be shown again.
// A lead of another team is ErrNotFound.
func (db *DB) NewTrackedLink(ctx context.Context, teamID, leadID, agentID, keyID int64, url string) (TrackedLink, string, error) {
	var b [16]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	token := base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(token))
	l := TrackedLink{LeadID: leadID, URL: url, CreatedAt: db.now().UTC().Truncate(time.Second)}
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if err := db.keyStillActive(ctx, tx, teamID, keyID); err != nil {
			return err
		}
		// Made by an agent (no key): against a test lead's removal on
		// another instance between the read below and the insert.
		if err := tx.lockTeam(ctx, teamID); err != nil {
			return err
		}
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM leads WHERE id = ? AND team_id = ?", leadID, teamID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ErrNotFound)
		}
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO tracked_links (team_id, lead_id, token_hash, url, created_by, key_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, teamID, leadID, h[:], url, nullID(agentID), nullID(keyID), l.CreatedAt.Unix()).Scan(&l.ID)
	})
	if err != nil {
		return TrackedLink{}, "", fmt.Errorf("new tracked link for lead %d: %w", leadID, err)
	}
	return l, token, nil
}

// TrackedLinks lists the latest tracked links made for the team's lead,
// newest first.
func (db *DB) TrackedLinks(ctx context.Context, teamID, leadID int64, limit int) ([]TrackedLink, error) {
	out, err := queryAll(ctx, db, func(sc scanner) (TrackedLink, error) {
		var l TrackedLink
		var created, opened int64
		err := sc.Scan(&l.ID, &l.LeadID, &l.URL, &l.Title, &created, &l.Opens, &opened, &l.Visitors, &l.Flagged)
		l.CreatedAt = time.Unix(created, 0).UTC()
		if opened > 0 {
			l.LastOpenedAt = time.Unix(opened, 0).UTC()
		}
		return l, err
	}, trackedLinksSQL, leadID, teamID, limit)
	if err != nil {
		return nil, fmt.Errorf("tracked links of lead %d: %w", leadID, err)
	}
	return out, nil
}

const trackedLinksSQL = `SELECT l.id, l.lead_id, l.url, l.title, l.created_at, l.opens, coalesce(l.last_opened_at, 0),
	(SELECT count(*) FROM tracked_link_opens o WHERE o.link_id = l.id), l.flagged_at IS NOT NULL
	FROM tracked_links l WHERE l.lead_id = ? AND l.team_id = ? ORDER BY l.id DESC LIMIT ?`

// wellFormedLinkToken reports whether s could be a token NewTrackedLink made.
func wellFormedLinkToken(s string) bool {
	if len(s) != LinkTokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// openTrackedLink records that the team's visitor opened the tracked link
// with this token, and ties the visitor (if anonymous) to the link's lead
// unless the link has been opened by too many different visitors. An
// unknown, foreign or malformed token changes nothing: the page view is
// kept anonymously.
func openTrackedLink(ctx context.Context, tx writeTx, teamID, visitorID int64, token, title string, at int64) error {
	if !wellFormedLinkToken(token) {
		return nil
	}
	h := sha256.Sum256([]byte(token))
	var linkID, leadID int64
	var flagged bool
	err := tx.QueryRowContext(ctx, `UPDATE tracked_links SET opens = opens + 1, last_opened_at = ?,
		title = CASE WHEN title = '' THEN ? ELSE title END
		WHERE token_hash = ? AND team_id = ? RETURNING id, lead_id, flagged_at IS NOT NULL`, at, title, h[:], teamID).Scan(&linkID, &leadID, &flagged)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tracked_link_opens (link_id, visitor_id, first_at) VALUES (?, ?, ?)
		ON CONFLICT (link_id, visitor_id) DO NOTHING`, linkID, visitorID, at); err != nil {
		return err
	}
	if flagged {
		return nil
	}
	var recent int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tracked_link_opens WHERE link_id = ? AND first_at > ?`,
		linkID, at-int64(linkVisitorWindow/time.Second)).Scan(&recent); err != nil {
		return err
	}
	if recent > linkVisitorsMax {
		_, err := tx.ExecContext(ctx, "UPDATE tracked_links SET flagged_at = ? WHERE id = ?", at, linkID)
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE visitors SET lead_id = ? WHERE id = ? AND team_id = ? AND lead_id IS NULL", leadID, visitorID, teamID); err != nil {
		return err
	}
	return touchLead(ctx, tx, teamID, leadID, at) // the person came back through the link
}

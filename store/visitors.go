package store

import (
	"context"
)

// linkVisitor ties the tracker's visitor to a lead, creating the visitor row
// when the form arrived before any page view did.
func linkVisitor(ctx context.Context, tx writeTx, teamID int64, vid string, leadID, at int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO visitors (team_id, vid, lead_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (team_id, vid) DO UPDATE SET lead_id = excluded.lead_id, last_seen = CASE WHEN visitors.last_seen > excluded.last_seen THEN visitors.last_seen ELSE excluded.last_seen END`,
		teamID, vid, leadID, at, at)
	return err
}

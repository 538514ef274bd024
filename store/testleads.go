package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// testLeadsSQL counts a team's test leads; the literal is_test term is
// the leads_team_test index's.
const testLeadsSQL = "SELECT count(*) FROM leads WHERE team_id = ? AND is_test = 1"

// TestLeads counts the team's test leads (see Lead.Test).
func (db *DB) TestLeads(ctx context.Context, teamID int64) (int, error) {
	n, err := queryOne(ctx, db, scanInt, testLeadsSQL, teamID)
	if err != nil {
		return 0, fmt.Errorf("count test leads: %w", err)
	}
	return n, nil
}

// DeleteTestLead removes one of the team's test leads with its
// submissions and tracked links; its visitors stay, anonymous. A lead of
// another team, or one that is not a test, is ErrNotFound and nothing
// changes.
func (db *DB) DeleteTestLead(ctx context.Context, teamID, leadID int64) (Lead, error) {
	var l Lead
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		// A real submission for the person, or a tracked link to the lead,
		// on another instance either committed before the read below (the
		// lead is no longer a test, or its link goes with it) or waits.
		if err := tx.lockTeam(ctx, teamID); err != nil {
			return err
		}
		var err error
		l, err = scanLead(tx.QueryRowContext(ctx, "SELECT "+leadColumns+" WHERE l.id = ? AND l.team_id = ? AND l.is_test <> 0", leadID, teamID))
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ErrNotFound)
		}
		if err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM tracked_link_opens WHERE link_id IN (SELECT id FROM tracked_links WHERE lead_id = ?1 AND team_id = ?2)",
			"DELETE FROM tracked_links WHERE lead_id = ?1 AND team_id = ?2",
			"UPDATE visitors SET lead_id = NULL WHERE lead_id = ?1 AND team_id = ?2",
			"DELETE FROM idempotency_keys WHERE lead_id = ?1 AND team_id = ?2",
			"DELETE FROM submissions WHERE lead_id = ?1 AND team_id = ?2",
			"DELETE FROM leads WHERE id = ?1 AND team_id = ?2",
		} {
			if _, err := tx.ExecContext(ctx, q, leadID, teamID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Lead{}, fmt.Errorf("delete test lead %d: %w", leadID, err)
	}
	return l, nil
}

package store

import (
	"context"
	"crypto/sha256"
	"fmt"
)

// UpdateProfile sets the agent's name, email and time zone. An email
// another agent signs in with is ErrEmailTaken.
func (db *DB) UpdateProfile(ctx context.Context, agentID int64, name, email, timeZone string) error {
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM agents WHERE email = ? AND id <> ?", email, agentID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return refuse(ErrEmailTaken)
		}
		_, err := tx.ExecContext(ctx, "UPDATE agents SET name = ?, email = ?, time_zone = ? WHERE id = ? AND removed_at IS NULL",
			name, email, timeZone, agentID)
		return err
	})
	if err != nil {
		return fmt.Errorf("update profile of agent %d: %w", agentID, err)
	}
	return nil
}

// SetPassword changes the agent's password and ends every session of theirs
// but the one with token keep: whoever knew the old password is signed out
// everywhere else.
func (db *DB) SetPassword(ctx context.Context, agentID int64, passwordHash []byte, keep string) error {
	h := sha256.Sum256([]byte(keep))
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE agents SET password_hash = ? WHERE id = ? AND removed_at IS NULL", passwordHash, agentID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM web_sessions WHERE agent_id = ? AND hash <> ?", agentID, h[:])
		return err
	})
	if err != nil {
		return fmt.Errorf("set password of agent %d: %w", agentID, err)
	}
	return nil
}

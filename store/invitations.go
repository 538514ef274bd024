package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// InviteTTL is how long an invitation link works.
const InviteTTL = 7 * 24 * time.Hour

// MaxOpenInvites is how many unexpired, unused invitations a team may
// have waiting.
const MaxOpenInvites = 50

// Invitation is an invitation to join a team. Its link's token is never
// stored, only its hash.
type Invitation struct {
	ID          int64
	TeamID      int64
	TeamName    string
	Email       string
	Role        string // RoleAdmin or RoleAgent
	InvitedBy   int64
	InviterName string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time // zero until accepted
	CancelledAt time.Time // zero unless cancelled
}

// Usable says whether the invitation can still be accepted at now:
// nil, ErrInviteUsed, ErrInviteGone (cancelled) or ErrInviteExpired.
func (inv Invitation) Usable(now time.Time) error {
	switch {
	case !inv.UsedAt.IsZero():
		return ErrInviteUsed
	case !inv.CancelledAt.IsZero():
		return ErrInviteGone
	case !now.Before(inv.ExpiresAt):
		return ErrInviteExpired
	}
	return nil
}

const inviteColumns = `i.id, i.team_id, t.name, i.email, i.role, i.invited_by, a.name, i.created_at, i.expires_at, i.used_at, i.cancelled_at
	FROM invitations i JOIN teams t ON t.id = i.team_id JOIN agents a ON a.id = i.invited_by`

func scanInvitation(sc scanner) (Invitation, error) {
	var inv Invitation
	var created, expires int64
	var used, cancelled sql.NullInt64
	err := sc.Scan(&inv.ID, &inv.TeamID, &inv.TeamName, &inv.Email, &inv.Role, &inv.InvitedBy, &inv.InviterName,
		&created, &expires, &used, &cancelled)
	if errors.Is(err, sql.ErrNoRows) {
		return Invitation{}, ErrNotFound
	}
	inv.CreatedAt, inv.ExpiresAt = time.Unix(created, 0).UTC(), time.Unix(expires, 0).UTC()
	inv.UsedAt, inv.CancelledAt = unixOrZero(used), unixOrZero(cancelled)
	return inv, err
}

// CreateInvitation invites email to the team as role (admin or agent), on
// behalf of an owner or admin (by), and returns the invitation with the
// token for its link, which only this call ever sees. An email that already
// has an account is ErrEmailTaken; one already invited to the team and not
// expired is ErrInvited.
func (db *DB) CreateInvitation(ctx context.Context, teamID, by int64, email, role string) (Invitation, string, error) {
	if role != RoleAdmin && role != RoleAgent {
		return Invitation{}, "", fmt.Errorf("invite as %q: not a role one can be invited as", role)
	}
	token := randomToken()
	h := sha256.Sum256([]byte(token))
	now := db.now().UTC().Truncate(time.Second)
	inv := Invitation{TeamID: teamID, Email: email, Role: role, InvitedBy: by, CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if err := tx.lockTeam(ctx, teamID); err != nil { // one open invitation per email, the limit, across instances
			return err
		}
		inviter, err := manager(ctx, tx, teamID, by)
		if err != nil {
			return err
		}
		inv.InviterName = inviter.Name
		if err := emailFree(ctx, tx, email); err != nil {
			return err
		}
		var open, same int
		if err := tx.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE email = ?) FROM invitations
			WHERE team_id = ? AND used_at IS NULL AND cancelled_at IS NULL AND expires_at > ?`, email, teamID, now.Unix()).Scan(&open, &same); err != nil {
			return err
		}
		switch {
		case same > 0:
			return refuse(ErrInvited)
		case open >= MaxOpenInvites:
			return refuse(ErrInviteLimit)
		}
		if err := tx.QueryRowContext(ctx, "SELECT name FROM teams WHERE id = ?", teamID).Scan(&inv.TeamName); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO invitations (team_id, hash, email, role, invited_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, teamID, h[:], email, role, by, now.Unix(), inv.ExpiresAt.Unix()).Scan(&inv.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, event{team: teamID, at: now.Unix(), actor: by, action: "invited", email: email, role: role})
	})
	if err != nil {
		return Invitation{}, "", fmt.Errorf("invite %s: %w", email, err)
	}
	return inv, token, nil
}

const openInvitationsSQL = "SELECT " + inviteColumns +
	" WHERE i.team_id = ? AND i.used_at IS NULL AND i.cancelled_at IS NULL AND i.expires_at > ? ORDER BY i.id DESC"

// OpenInvitations lists the team's invitations that can still be accepted,
// newest first.
func (db *DB) OpenInvitations(ctx context.Context, teamID int64) ([]Invitation, error) {
	out, err := queryAll(ctx, db, scanInvitation, openInvitationsSQL, teamID, db.now().Unix())
	if err != nil {
		return nil, fmt.Errorf("open invitations: %w", err)
	}
	return out, nil
}

// Invitation finds the invitation whose link carries token, whatever its
// state (see Usable); an unknown token is ErrNotFound.
func (db *DB) Invitation(ctx context.Context, token string) (Invitation, error) {
	h := sha256.Sum256([]byte(token))
	inv, err := queryOne(ctx, db, scanInvitation, "SELECT "+inviteColumns+" WHERE i.hash = ?", h[:])
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation: %w", err)
	}
	return inv, nil
}

// CancelInvitation cancels one of the team's open invitations on behalf of
// an owner or admin (by); its link stops working at once.
func (db *DB) CancelInvitation(ctx context.Context, teamID, id, by int64) (Invitation, error) {
	var inv Invitation
	now := db.now().Unix()
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		// An accept on another instance either committed before the read
		// below (the invitation is used: ErrNotFound) or waits for this.
		if err := tx.lockTeam(ctx, teamID); err != nil {
			return err
		}
		if _, err := manager(ctx, tx, teamID, by); err != nil {
			return err
		}
		var err error
		inv, err = scanInvitation(tx.QueryRowContext(ctx, "SELECT "+inviteColumns+
			" WHERE i.id = ? AND i.team_id = ? AND i.used_at IS NULL AND i.cancelled_at IS NULL", id, teamID))
		if errors.Is(err, ErrNotFound) {
			return refuse(err)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE invitations SET cancelled_at = ?, cancelled_by = ? WHERE id = ? AND team_id = ?",
			now, by, id, teamID); err != nil {
			return err
		}
		return addEvent(ctx, tx, event{team: teamID, at: now, actor: by, action: "invitation_cancelled", subject: inv.InvitedBy, email: inv.Email, role: inv.Role})
	})
	if err != nil {
		return Invitation{}, fmt.Errorf("cancel invitation %d: %w", id, err)
	}
	return inv, nil
}

// AcceptInvitation creates the invited agent's account, with the invited
// email and role, and uses the invitation up, in one transaction: of any
// number of concurrent accepts of one link exactly one succeeds, and the
// others get ErrInviteUsed. A link that cannot be used gets the reason
// (see Usable); ErrEmailTaken when the email got an account meanwhile.
func (db *DB) AcceptInvitation(ctx context.Context, token string, n NewAgent) (Agent, error) {
	h := sha256.Sum256([]byte(token))
	var a Agent
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		inv, err := scanInvitation(tx.QueryRowContext(ctx, "SELECT "+inviteColumns+" WHERE i.hash = ?", h[:]))
		if errors.Is(err, ErrNotFound) {
			return refuse(err)
		}
		if err != nil {
			return err
		}
		// Single use across instances: read again once no other
		// transaction of the team can be accepting it.
		if err := tx.lockTeam(ctx, inv.TeamID); err != nil {
			return err
		}
		if inv, err = scanInvitation(tx.QueryRowContext(ctx, "SELECT "+inviteColumns+" WHERE i.hash = ?", h[:])); err != nil {
			return err
		}
		if err := inv.Usable(db.now()); err != nil {
			return refuse(err)
		}
		if err := emailFree(ctx, tx, inv.Email); err != nil {
			return err
		}
		n.Email = inv.Email
		if a, err = db.insertAgent(ctx, tx, inv.TeamID, inv.TeamName, inv.Role, n); err != nil {
			return err
		}
		now := db.now().Unix()
		if _, err := tx.ExecContext(ctx, "UPDATE invitations SET used_at = ?, used_by = ? WHERE id = ?", now, a.ID, inv.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, event{team: inv.TeamID, at: now, actor: a.ID, action: "joined", subject: inv.InvitedBy, role: inv.Role})
	})
	if err != nil {
		return Agent{}, fmt.Errorf("accept invitation: %w", err)
	}
	return a, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Roles on a team. The owner (exactly one) and admins manage keys, domains
// and members; agents work the leads and see the team's keys without
// managing them.
const (
	RoleOwner = "owner"
	RoleAdmin = "admin"
	RoleAgent = "agent"
)

// CanManage reports whether an agent with role may manage keys, tracked
// domains and members.
func CanManage(role string) bool { return role == RoleOwner || role == RoleAdmin }

// Member is an active agent of a team.
type Member struct {
	ID       int64
	Name     string
	Email    string
	Role     string
	JoinedAt time.Time
}

const membersSQL = `SELECT id, name, email, role, created_at FROM agents
	WHERE team_id = ? AND removed_at IS NULL
	ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, name COLLATE NOCASE, id`

// Members lists the team's active agents: the owner, then admins, then
// agents, by name.
func (db *DB) Members(ctx context.Context, teamID int64) ([]Member, error) {
	out, err := queryAll(ctx, db, func(sc scanner) (Member, error) {
		var m Member
		var joined int64
		err := sc.Scan(&m.ID, &m.Name, &m.Email, &m.Role, &joined)
		m.JoinedAt = time.Unix(joined, 0).UTC()
		return m, err
	}, membersSQL, teamID)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return out, nil
}

// member reads an active member of the team inside a write; one that is not
// (another team's, removed, unknown) is refused as ErrNotFound.
func member(ctx context.Context, tx writeTx, teamID, id int64) (Member, error) {
	var m Member
	var joined int64
	err := tx.QueryRowContext(ctx, "SELECT id, name, email, role, created_at FROM agents WHERE id = ? AND team_id = ? AND removed_at IS NULL",
		id, teamID).Scan(&m.ID, &m.Name, &m.Email, &m.Role, &joined)
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, refuse(ErrNotFound)
	}
	m.JoinedAt = time.Unix(joined, 0).UTC()
	return m, err
}

// manager reads the acting agent inside a write and refuses with
// ErrForbidden unless they are still an active owner or admin of the team:
// a request that was under way when its agent was removed or demoted
// changes nothing.
func manager(ctx context.Context, tx writeTx, teamID, actorID int64) (Member, error) {
	m, err := member(ctx, tx, teamID, actorID)
	if errors.Is(err, ErrNotFound) || err == nil && !CanManage(m.Role) {
		return Member{}, refuse(ErrForbidden)
	}
	return m, err
}

// RemoveAgent removes member id from the team on behalf of an owner or
// admin (by): their sessions end in the same transaction, so their next
// request is signed out, and the invitations they sent are cancelled. The
// owner cannot be removed (ErrOwner); an agent leaves with LeaveTeam.
func (db *DB) RemoveAgent(ctx context.Context, teamID, id, by int64) (Member, error) {
	var m Member
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		// Against a transfer of ownership to id, and an invitation id
		// sends, on another instance: see depart.
		if err := tx.lockTeam(ctx, teamID); err != nil {
			return err
		}
		if _, err := manager(ctx, tx, teamID, by); err != nil {
			return err
		}
		if id == by {
			return refuse(ErrForbidden)
		}
		var err error
		m, err = db.depart(ctx, tx, teamID, id, by, "removed")
		return err
	})
	if err != nil {
		return Member{}, fmt.Errorf("remove agent %d: %w", id, err)
	}
	return m, nil
}

// LeaveTeam takes agent id off their team, as RemoveAgent does. The owner
// cannot leave (ErrOwner) before transferring ownership.
func (db *DB) LeaveTeam(ctx context.Context, teamID, id int64) (Member, error) {
	var m Member
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if err := tx.lockTeam(ctx, teamID); err != nil { // see depart
			return err
		}
		var err error
		m, err = db.depart(ctx, tx, teamID, id, id, "left")
		return err
	})
	if err != nil {
		return Member{}, fmt.Errorf("leave team: %w", err)
	}
	return m, nil
}

// cancelOnDepartureSQL logs the cancelling of a departing member's open
// invitations.
const cancelOnDepartureSQL = `INSERT INTO team_events (team_id, at, actor_id, action, subject_id, email, role)
	SELECT team_id, CAST(? AS BIGINT), CAST(? AS BIGINT), 'invitation_cancelled', invited_by, email, role FROM invitations
	WHERE team_id = ? AND invited_by = ? AND used_at IS NULL AND cancelled_at IS NULL ORDER BY id`

// depart takes member id off the team. The row stays, so their name stays
// on the keys they made and on the audit trail, but their email is set
// aside (with a suffix no address can have), so that the person can be
// invited again or sign up anew. The caller holds the team's lock: on
// another instance, ownership could pass to id after the role was read
// here, or id's new invitation commit after theirs were cancelled.
func (db *DB) depart(ctx context.Context, tx writeTx, teamID, id, by int64, action string) (Member, error) {
	m, err := member(ctx, tx, teamID, id)
	if err != nil {
		return Member{}, err
	}
	if m.Role == RoleOwner {
		return Member{}, refuse(ErrOwner)
	}
	now := db.now().Unix()
	if _, err := tx.ExecContext(ctx, `UPDATE agents SET removed_at = ?, removed_by = ?, email = email || ' #removed-' || id
		WHERE id = ? AND team_id = ?`, now, by, id, teamID); err != nil {
		return Member{}, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM web_sessions WHERE agent_id = ?", id); err != nil {
		return Member{}, err
	}
	if _, err := tx.ExecContext(ctx, cancelOnDepartureSQL, now, by, teamID, id); err != nil {
		return Member{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invitations SET cancelled_at = ?, cancelled_by = ?
		WHERE team_id = ? AND invited_by = ? AND used_at IS NULL AND cancelled_at IS NULL`, now, by, teamID, id); err != nil {
		return Member{}, err
	}
	return m, addEvent(ctx, tx, event{team: teamID, at: now, actor: by, action: action, subject: id, email: m.Email, role: m.Role})
}

// ChangeRole makes member id an admin or an agent, on behalf of an owner or
// admin (by). With RoleOwner it transfers ownership, which only the owner
// may do: the owner becomes an admin in the same transaction, so the team
// never has two owners or none. The owner's own role changes only that way
// (ErrOwner).
func (db *DB) ChangeRole(ctx context.Context, teamID, id, by int64, role string) (Member, error) {
	var m Member
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if err := tx.lockTeam(ctx, teamID); err != nil { // one owner, across instances
			return err
		}
		actor, err := manager(ctx, tx, teamID, by)
		if err != nil {
			return err
		}
		if m, err = member(ctx, tx, teamID, id); err != nil {
			return err
		}
		switch {
		case role == RoleOwner && actor.Role != RoleOwner:
			return refuse(ErrForbidden)
		case role != RoleOwner && m.Role == RoleOwner:
			return refuse(ErrOwner)
		case role != RoleOwner && role != RoleAdmin && role != RoleAgent:
			return fmt.Errorf("unknown role %q", role)
		case m.Role == role:
			return nil
		}
		now := db.now().Unix()
		action := "role_changed"
		if role == RoleOwner {
			action = "ownership_transferred"
			// The old owner steps down first: agents_one_owner allows one.
			if _, err := tx.ExecContext(ctx, "UPDATE agents SET role = 'admin' WHERE id = ? AND team_id = ?", by, teamID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE agents SET role = ? WHERE id = ? AND team_id = ?", role, id, teamID); err != nil {
			return err
		}
		m.Role = role
		return addEvent(ctx, tx, event{team: teamID, at: now, actor: by, action: action, subject: id, role: role})
	})
	if err != nil {
		return Member{}, fmt.Errorf("change role of agent %d: %w", id, err)
	}
	return m, nil
}

// DepartedKey is an active key made by someone who has left the team or
// was removed: they saw it in full, so it should be rotated.
type DepartedKey struct {
	APIKey
	DepartedAt time.Time
	Left       bool // they left; otherwise they were removed
}

const departedKeysSQL = "SELECT a.removed_by = a.id, a.removed_at, " + keyColumns +
	" WHERE k.team_id = ? AND " + activeKey + " AND a.removed_at IS NOT NULL ORDER BY a.removed_at DESC, a.id, k.id DESC"

// DepartedKeys lists the team's active keys whose creators are no longer
// members, the latest departures first.
func (db *DB) DepartedKeys(ctx context.Context, teamID int64) ([]DepartedKey, error) {
	out, err := queryAll(ctx, db, func(sc scanner) (DepartedKey, error) {
		var d DepartedKey
		var at int64
		var err error
		d.APIKey, err = scanKey(prefixScanner{prefixScanner{sc, &d.Left}, &at})
		d.DepartedAt = time.Unix(at, 0).UTC()
		return d, err
	}, departedKeysSQL, teamID, db.now().Unix())
	if err != nil {
		return nil, fmt.Errorf("keys of departed agents: %w", err)
	}
	return out, nil
}

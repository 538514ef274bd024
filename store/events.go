package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// TeamEvent is one line of a team's audit trail: who did what, when, and
// to whom or which key.
type TeamEvent struct {
	ID      int64
	At      time.Time
	Action  string // invited, invitation_cancelled, joined, role_changed, ownership_transferred, removed, left, key_generated, key_revoked
	Actor   string // who did it
	Subject string // the member it was done to; for an invitation, who sent it
	Email   string // the invited or removed member's email
	Role    string // the role invited as, joined as or changed to
	// The key, for key events.
	KeyLabel   string
	KeyPreview string
}

// Event kinds, for filtering the trail.
const (
	EventsMembers     = "members"
	EventsInvitations = "invitations"
	EventsKeys        = "keys"
)

// eventKinds are the actions of each kind.
var eventKinds = map[string][]string{
	EventsMembers:     {"joined", "role_changed", "ownership_transferred", "removed", "left"},
	EventsInvitations: {"invited", "invitation_cancelled"},
	EventsKeys:        {"key_generated", "key_revoked"},
}

// EventFilter narrows a team's audit trail.
type EventFilter struct {
	Kind   string // "" for all, or EventsMembers, EventsInvitations, EventsKeys
	Agent  int64  // only what this agent did or had done to them; 0 for everyone
	Before int64  // only events older than this id (the next page); 0 for the newest
	Limit  int
}

// TeamEvents returns the team's audit trail, newest first.
func (db *DB) TeamEvents(ctx context.Context, teamID int64, f EventFilter) ([]TeamEvent, error) {
	q, args := teamEventsQuery(teamID, f)
	out, err := queryAll(ctx, db, func(sc scanner) (TeamEvent, error) {
		var e TeamEvent
		var at int64
		err := sc.Scan(&e.ID, &at, &e.Action, &e.Actor, &e.Subject, &e.Email, &e.Role, &e.KeyLabel, &e.KeyPreview)
		e.At = time.Unix(at, 0).UTC()
		return e, err
	}, q, args...)
	if err != nil {
		return nil, fmt.Errorf("team events: %w", err)
	}
	return out, nil
}

func teamEventsQuery(teamID int64, f EventFilter) (string, []any) {
	var q strings.Builder
	q.WriteString(`SELECT e.id, e.at, e.action, a.name, coalesce(s.name, ''), e.email, e.role, coalesce(k.label, ''), coalesce(k.preview, '')
		FROM team_events e JOIN agents a ON a.id = e.actor_id
		LEFT JOIN agents s ON s.id = e.subject_id LEFT JOIN api_keys k ON k.id = e.key_id
		WHERE e.team_id = ?`)
	args := []any{teamID}
	if actions := eventKinds[f.Kind]; actions != nil {
		q.WriteString(" AND e.action IN (?" + strings.Repeat(", ?", len(actions)-1) + ")")
		for _, a := range actions {
			args = append(args, a)
		}
	}
	if f.Agent != 0 {
		q.WriteString(" AND (e.actor_id = ? OR e.subject_id = ?)")
		args = append(args, f.Agent, f.Agent)
	}
	if f.Before != 0 {
		q.WriteString(" AND e.id < ?")
		args = append(args, f.Before)
	}
	q.WriteString(" ORDER BY e.id DESC LIMIT ?")
	return q.String(), append(args, f.Limit)
}

// event is a line to add to the audit trail; zero fields are left empty.
type event struct {
	team, actor  int64
	at           int64 // Unix seconds
	action       string
	subject, key int64
	email, role  string
}

func addEvent(ctx context.Context, tx writeTx, e event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO team_events (team_id, at, actor_id, action, subject_id, key_id, email, role)
		VALUES (?, ?, ?, ?, nullif(?, 0), nullif(?, 0), ?, ?)`, e.team, e.at, e.actor, e.action, e.subject, e.key, e.email, e.role)
	return err
}

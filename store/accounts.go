package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Agent is a person who signs in to Closr; every agent belongs to one team.
type Agent struct {
	ID           int64
	TeamID       int64
	TeamName     string
	Name         string
	Email        string
	Role         string // RoleOwner, RoleAdmin or RoleAgent
	TimeZone     string // an IANA name, e.g. America/Chicago
	PasswordHash []byte
}

// NewAgent is what a person gives to get an account: at sign-up, or when
// accepting an invitation (whose email is the invited one).
type NewAgent struct {
	Name         string
	Email        string
	PasswordHash []byte
	TimeZone     string // "" is UTC
}

// CreateTeamWithOwner creates a team and its owner in one transaction.
// The email is compared without regard to case; a taken one is ErrEmailTaken.
func (db *DB) CreateTeamWithOwner(ctx context.Context, team string, owner NewAgent) (Agent, error) {
	var a Agent
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if err := emailFree(ctx, tx, owner.Email); err != nil {
			return err
		}
		var teamID int64
		if err := tx.QueryRowContext(ctx, "INSERT INTO teams (name, created_at) VALUES (?, ?) RETURNING id", team, db.now().Unix()).Scan(&teamID); err != nil {
			return err
		}
		var err error
		a, err = db.insertAgent(ctx, tx, teamID, team, RoleOwner, owner)
		return err
	})
	if err != nil {
		return Agent{}, fmt.Errorf("create team %q: %w", team, err)
	}
	return a, nil
}

// emailFree refuses an email that an agent already signs in with.
func emailFree(ctx context.Context, tx writeTx, email string) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM agents WHERE email = ?", email).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return refuse(ErrEmailTaken)
	}
	return nil
}

func (db *DB) insertAgent(ctx context.Context, tx writeTx, teamID int64, teamName, role string, n NewAgent) (Agent, error) {
	a := Agent{TeamID: teamID, TeamName: teamName, Name: n.Name, Email: n.Email, Role: role, TimeZone: n.TimeZone, PasswordHash: n.PasswordHash}
	if a.TimeZone == "" {
		a.TimeZone = "UTC"
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO agents (team_id, name, email, password_hash, created_at, role, time_zone)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, teamID, a.Name, a.Email, a.PasswordHash, db.now().Unix(), role, a.TimeZone).Scan(&a.ID)
	return a, err
}

const agentColumns = `a.id, a.team_id, t.name, a.name, a.email, a.role, a.time_zone, a.password_hash`

// activeAgents selects agents who may sign in: not removed.
const activeAgents = agentColumns + ` FROM agents a JOIN teams t ON t.id = a.team_id WHERE a.removed_at IS NULL`

func scanAgent(sc scanner, extra ...any) (Agent, error) {
	var a Agent
	err := sc.Scan(append([]any{&a.ID, &a.TeamID, &a.TeamName, &a.Name, &a.Email, &a.Role, &a.TimeZone, &a.PasswordHash}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, ErrNotFound
	}
	return a, wrapUnavailable(err)
}

// AgentByEmail finds an active agent by email, without regard to case.
func (db *DB) AgentByEmail(ctx context.Context, email string) (Agent, error) {
	a, err := queryOne(ctx, db, func(sc scanner) (Agent, error) { return scanAgent(sc) }, agentByEmailSQL, strings.TrimSpace(email))
	if err != nil {
		return Agent{}, fmt.Errorf("agent by email: %w", err)
	}
	return a, nil
}

const agentByEmailSQL = "SELECT " + activeAgents + " AND a.email = ?"

// SessionRules say how long a session lasts and how many an agent keeps.
type SessionRules struct {
	Lifetime time.Duration // from sign-in, however active
	Idle     time.Duration // without a request
	PerAgent int           // sessions an agent keeps: the newest
}

// sessionRefresh is how far a session's idle deadline must move before it
// is written again, so that a busy agent costs one write an hour, not one
// per request.
const sessionRefresh = time.Hour

// CreateSession starts a signed-in session for the agent and returns the
// token for the cookie. Only the token's hash is stored. The agent's oldest
// sessions beyond rules.PerAgent end.
func (db *DB) CreateSession(ctx context.Context, agentID int64, rules SessionRules) (string, error) {
	token := randomToken()
	h := sha256.Sum256([]byte(token))
	now := db.now()
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		// Expired sessions are swept here, where a write happens anyway.
		if _, err := tx.ExecContext(ctx, "DELETE FROM web_sessions WHERE expires_at < ?", now.Unix()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO web_sessions (hash, agent_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
			h[:], agentID, now.Unix(), sessionDeadline(now, now, rules).Unix()); err != nil {
			return err
		}
		// The new session is kept first: others may share its second.
		_, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE agent_id = ?1 AND hash NOT IN
			(SELECT hash FROM web_sessions WHERE agent_id = ?1 ORDER BY hash = ?2 DESC, created_at DESC LIMIT ?3)`,
			agentID, h[:], rules.PerAgent)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// sessionDeadline is when a session started at created and last used at
// now ends: after its idle time, or at the end of its lifetime if sooner.
func sessionDeadline(created, now time.Time, rules SessionRules) time.Time {
	if end := created.Add(rules.Lifetime); end.Before(now.Add(rules.Idle)) {
		return end
	}
	return now.Add(rules.Idle)
}

// SessionAgent returns the agent signed in with token, or ErrNotFound when
// the session is unknown, ended or expired, and moves the session's idle
// deadline on.
func (db *DB) SessionAgent(ctx context.Context, token string, rules SessionRules) (Agent, error) {
	h := sha256.Sum256([]byte(token))
	now := db.now()
	var created, expires int64
	a, err := queryOne(ctx, db, func(sc scanner) (Agent, error) { return scanAgent(sc, &created, &expires) }, sessionAgentSQL, h[:], now.Unix())
	if err != nil {
		return Agent{}, fmt.Errorf("session: %w", err)
	}
	if next := sessionDeadline(time.Unix(created, 0), now, rules).Unix(); next-expires >= int64(sessionRefresh/time.Second) {
		// A failed refresh (a full disk) leaves the session its current
		// deadline; the next request tries again. Reads must keep working.
		db.write(ctx, func(ctx context.Context, tx writeTx) error {
			_, err := tx.ExecContext(ctx, "UPDATE web_sessions SET expires_at = ? WHERE hash = ?", next, h[:])
			return err
		})
	}
	return a, nil
}

const sessionAgentSQL = `SELECT ` + agentColumns + `, s.created_at, s.expires_at
	FROM web_sessions s JOIN agents a ON a.id = s.agent_id JOIN teams t ON t.id = a.team_id
	WHERE s.hash = ? AND s.expires_at >= ? AND a.removed_at IS NULL`

// DeleteSession ends the session with token.
func (db *DB) DeleteSession(ctx context.Context, token string) error {
	h := sha256.Sum256([]byte(token))
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM web_sessions WHERE hash = ?", h[:])
		return err
	})
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// DeleteAgentSessions ends every session of the agent, on every device.
func (db *DB) DeleteAgentSessions(ctx context.Context, agentID int64) error {
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM web_sessions WHERE agent_id = ?", agentID)
		return err
	})
	if err != nil {
		return fmt.Errorf("end sessions of agent %d: %w", agentID, err)
	}
	return nil
}

// randomToken returns 32 bytes from crypto/rand, base64url without padding.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

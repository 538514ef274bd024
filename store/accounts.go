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
	PasswordHash []byte
}

// CreateTeamWithOwner creates a team and its first agent in one transaction.
// The email is compared without regard to case; a taken one is ErrEmailTaken.
func (db *DB) CreateTeamWithOwner(ctx context.Context, team, name, email string, passwordHash []byte) (Agent, error) {
	a := Agent{TeamName: team, Name: name, Email: email, PasswordHash: passwordHash}
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM agents WHERE email = ?", email).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrEmailTaken
		}
		now := db.now().Unix()
		res, err := tx.ExecContext(ctx, "INSERT INTO teams (name, created_at) VALUES (?, ?)", team, now)
		if err != nil {
			return err
		}
		if a.TeamID, err = res.LastInsertId(); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `INSERT INTO agents (team_id, name, email, password_hash, created_at)
			VALUES (?, ?, ?, ?, ?)`, a.TeamID, name, email, passwordHash, now)
		if err != nil {
			return err
		}
		a.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return Agent{}, fmt.Errorf("create team %q: %w", team, err)
	}
	return a, nil
}

const agentColumns = `a.id, a.team_id, t.name, a.name, a.email, a.password_hash FROM agents a JOIN teams t ON t.id = a.team_id`

func scanAgent(sc scanner) (Agent, error) {
	var a Agent
	err := sc.Scan(&a.ID, &a.TeamID, &a.TeamName, &a.Name, &a.Email, &a.PasswordHash)
	return a, err
}

// queryAgent reads one agent; none is ErrNotFound.
func (db *DB) queryAgent(ctx context.Context, query string, args ...any) (Agent, error) {
	a, err := queryOne(ctx, db, scanAgent, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, ErrNotFound
	}
	return a, err
}

// AgentByEmail finds an agent by email, without regard to case.
func (db *DB) AgentByEmail(ctx context.Context, email string) (Agent, error) {
	a, err := db.queryAgent(ctx, agentByEmailSQL, strings.TrimSpace(email))
	if err != nil {
		return Agent{}, fmt.Errorf("agent by email: %w", err)
	}
	return a, nil
}

const agentByEmailSQL = "SELECT " + agentColumns + " WHERE a.email = ?"

// CreateSession starts a signed-in session for the agent and returns the
// token for the cookie. Only the token's hash is stored.
func (db *DB) CreateSession(ctx context.Context, agentID int64, ttl time.Duration) (string, error) {
	token := randomToken()
	h := sha256.Sum256([]byte(token))
	now := db.now()
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		// Expired sessions are swept here, where a write happens anyway.
		if _, err := tx.ExecContext(ctx, "DELETE FROM web_sessions WHERE expires_at < ?", now.Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO web_sessions (hash, agent_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
			h[:], agentID, now.Unix(), now.Add(ttl).Unix())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// SessionAgent returns the agent signed in with token, or ErrNotFound when
// the session is unknown, ended or expired.
func (db *DB) SessionAgent(ctx context.Context, token string) (Agent, error) {
	h := sha256.Sum256([]byte(token))
	a, err := db.queryAgent(ctx, sessionAgentSQL, h[:], db.now().Unix())
	if err != nil {
		return Agent{}, fmt.Errorf("session: %w", err)
	}
	return a, nil
}

const sessionAgentSQL = "SELECT " + agentColumns + " JOIN web_sessions s ON s.agent_id = a.id WHERE s.hash = ? AND s.expires_at >= ?"

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

// randomToken returns 32 bytes from crypto/rand, base64url without padding.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

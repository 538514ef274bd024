package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// KeyPrefix starts every Closr API key.
const KeyPrefix = "closr_"

// KeyLen is the length of a key: the prefix and 43 base64url characters.
const KeyLen = len(KeyPrefix) + 43

// PreviewLen is how much of a key stays visible in the list.
const PreviewLen = 12

// Key access kinds. An intake key may be put in a web page; an MCP key reads
// the CRM and must stay secret.
const (
	AccessIntake = "intake"
	AccessMCP    = "mcp"
)

// APIKey is a stored key: never the key itself, only what identifies it.
type APIKey struct {
	ID            int64
	TeamID        int64
	Preview       string
	Label         string
	Access        string
	CreatedBy     int64
	CreatedByName string
	CreatedAt     time.Time
	LastUsedAt    time.Time // zero until first use
}

// HashKey is how keys are stored and looked up: SHA-256 of the whole key.
func HashKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// WellFormedKey reports whether s has the shape of a Closr key; anything else
// can be refused without touching the database.
func WellFormedKey(s string) bool {
	if len(s) != KeyLen || s[:len(KeyPrefix)] != KeyPrefix {
		return false
	}
	for i := len(KeyPrefix); i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CreateAPIKey mints a key for the team and returns it with its record. The
// full key is returned only here. The active-key limit is checked inside the
// same write transaction, so concurrent calls can never pass it; so is the
// creator's role (an owner or admin still on the team, ErrForbidden if not).
func (db *DB) CreateAPIKey(ctx context.Context, teamID, agentID int64, label, access string) (APIKey, string, error) {
	key := KeyPrefix + randomToken()
	h := HashKey(key)
	k := APIKey{TeamID: teamID, Preview: key[:PreviewLen], Label: label, Access: access, CreatedBy: agentID, CreatedAt: db.now().UTC().Truncate(time.Second)}
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		// The creator's name, read here so nothing can fail after the key
		// is committed and before it is shown.
		creator, err := manager(ctx, tx, teamID, agentID)
		if err != nil {
			return err
		}
		k.CreatedByName = creator.Name
		var active int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM api_keys WHERE team_id = ? AND revoked_at IS NULL", teamID).Scan(&active); err != nil {
			return err
		}
		if active >= MaxActiveKeys {
			return refuse(ErrKeyLimit)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO api_keys (team_id, hash, preview, label, access, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, teamID, h[:], k.Preview, label, access, agentID, k.CreatedAt.Unix())
		if err != nil {
			return err
		}
		if k.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, event{team: teamID, at: k.CreatedAt.Unix(), actor: agentID, action: "key_generated", key: k.ID}); err != nil {
			return err
		}
		tx.afterCommit(func() { db.keys.put(h, k) })
		return nil
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("create key %q: %w", label, err)
	}
	return k, key, nil
}

const keyColumns = `k.id, k.team_id, k.preview, k.label, k.access, k.created_by, a.name, k.created_at, k.last_used_at
	FROM api_keys k JOIN agents a ON a.id = k.created_by`

func scanKey(sc scanner) (APIKey, error) {
	var k APIKey
	var created int64
	var used sql.NullInt64
	err := sc.Scan(&k.ID, &k.TeamID, &k.Preview, &k.Label, &k.Access, &k.CreatedBy, &k.CreatedByName, &created, &used)
	k.CreatedAt, k.LastUsedAt = time.Unix(created, 0).UTC(), unixOrZero(used)
	return k, err
}

// APIKeys lists the team's active keys, newest first.
func (db *DB) APIKeys(ctx context.Context, teamID int64) ([]APIKey, error) {
	keys, err := queryAll(ctx, db, scanKey, apiKeysSQL, teamID)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

const apiKeysSQL = "SELECT " + keyColumns + " WHERE k.team_id = ? AND k.revoked_at IS NULL ORDER BY k.id DESC"

// APIKeyByHash finds the active key with this hash, from memory. A revoked
// or unknown key is ErrNotFound. LastUsedAt is not kept current here.
func (db *DB) APIKeyByHash(ctx context.Context, hash [32]byte) (APIKey, error) {
	if k, ok := db.keys.get(hash); ok {
		return k, nil
	}
	return APIKey{}, ErrNotFound
}

// RevokeAPIKey revokes the team's key id at once and for good, on behalf of
// an owner or admin (ErrForbidden otherwise). A key of another team, or one
// already revoked, is ErrNotFound and nothing changes.
func (db *DB) RevokeAPIKey(ctx context.Context, teamID, keyID, agentID int64) (APIKey, error) {
	var k APIKey
	var hash []byte
	now := db.now().UTC()
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if _, err := manager(ctx, tx, teamID, agentID); err != nil {
			return err
		}
		var err error
		k, err = scanKey(prefixScanner{tx.QueryRowContext(ctx, "SELECT k.hash, "+keyColumns+" WHERE k.id = ? AND k.team_id = ? AND k.revoked_at IS NULL", keyID, teamID), &hash})
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE id = ? AND team_id = ?",
			now.Unix(), agentID, keyID, teamID); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, event{team: teamID, at: now.Unix(), actor: agentID, action: "key_revoked", key: keyID}); err != nil {
			return err
		}
		tx.note(batchNote{noteKeyRevoked, keyID})
		tx.afterCommit(func() { db.keys.remove([32]byte(hash)) })
		return nil
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("revoke key %d: %w", keyID, err)
	}
	return k, nil
}

// TouchAPIKey records that the key was used at t. Writes are coalesced: the
// stored time moves only when it is a minute or more behind.
func (db *DB) TouchAPIKey(ctx context.Context, teamID, keyID int64, t time.Time) error {
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		return touchKey(ctx, tx, teamID, keyID, t)
	})
	if err != nil {
		return fmt.Errorf("touch key %d: %w", keyID, err)
	}
	return nil
}

func touchKey(ctx context.Context, tx writeTx, teamID, keyID int64, t time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ?1
		WHERE id = ?2 AND team_id = ?3 AND (last_used_at IS NULL OR last_used_at <= ?1 - 60)`, t.Unix(), keyID, teamID)
	return err
}

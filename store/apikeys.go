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

// EndedKeyWindow is how long a revoked or expired key is remembered: its
// refused requests are counted and it stays in the Revoked keys list.
const EndedKeyWindow = 30 * 24 * time.Hour

// MaxEndedKeys bounds how many ended keys a team has remembered (the
// latest ended first), so that revoking key after key cannot grow memory.
const MaxEndedKeys = 50

// ErrRotating: the key already has an active replacement.
var ErrRotating = errors.New("key is already being replaced")

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
	ExpiresAt     time.Time // zero: never
	LifetimeDays  int       // chosen at generation; 0 for none
	RevokedAt     time.Time // zero while not revoked
	RevokedByName string
	ReplacedBy    int64 // the key replacing this one; 0 for none
	// The latest request made with the key, whatever its outcome, and
	// where it came from (a site's host and page, or "" for a server).
	LastUsedAt   time.Time // zero until first use
	LastUsedFrom string
	// The first request that was not a Closr test.
	FirstUsedAt   time.Time
	FirstUsedKind UseKind
	FirstUsedFrom string
	TestedAt      time.Time // the latest Closr test with the key
}

// EndedAt is when the key stopped working (revoked, or expired by now),
// or zero while it works.
func (k APIKey) EndedAt(now time.Time) time.Time {
	switch {
	case !k.RevokedAt.IsZero():
		return k.RevokedAt
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return k.ExpiresAt
	}
	return time.Time{}
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
// full key is returned only here. lifetimeDays > 0 makes it expire that
// many days from now. The active-key limit is checked inside the same write
// transaction, so concurrent calls can never pass it; so is the creator's
// role (an owner or admin still on the team, ErrForbidden if not).
func (db *DB) CreateAPIKey(ctx context.Context, teamID, agentID int64, label, access string, lifetimeDays int) (APIKey, string, error) {
	k, key := db.newKey(teamID, agentID, label, access, lifetimeDays)
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if _, err := manager(ctx, tx, teamID, agentID); err != nil {
			return err
		}
		return db.insertKey(ctx, tx, &k, key)
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("create key %q: %w", label, err)
	}
	return k, key, nil
}

// newKey makes a key and its record, not stored yet.
func (db *DB) newKey(teamID, agentID int64, label, access string, lifetimeDays int) (APIKey, string) {
	key := KeyPrefix + randomToken()
	now := db.now().UTC().Truncate(time.Second)
	k := APIKey{TeamID: teamID, Preview: key[:PreviewLen], Label: label, Access: access, CreatedBy: agentID, CreatedAt: now, LifetimeDays: lifetimeDays}
	if lifetimeDays > 0 {
		k.ExpiresAt = now.AddDate(0, 0, lifetimeDays)
	}
	return k, key
}

// insertKey stores a new key within the active-key limit, records its
// generation and puts it in the index once committed.
func (db *DB) insertKey(ctx context.Context, tx writeTx, k *APIKey, key string) error {
	if err := tx.lockTeam(ctx, k.TeamID); err != nil { // the key limit, across instances
		return err
	}
	var active int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM api_keys k WHERE k.team_id = ? AND "+activeKey,
		k.TeamID, k.CreatedAt.Unix()).Scan(&active); err != nil {
		return err
	}
	if active >= MaxActiveKeys {
		return refuse(ErrKeyLimit)
	}
	// The creator's name, read here so nothing can fail after the key
	// is committed and before it is shown.
	if err := tx.QueryRowContext(ctx, "SELECT name FROM agents WHERE id = ? AND team_id = ?", k.CreatedBy, k.TeamID).Scan(&k.CreatedByName); err != nil {
		return err
	}
	h := HashKey(key)
	if err := tx.QueryRowContext(ctx, `INSERT INTO api_keys (team_id, hash, preview, label, access, created_by, created_at, expires_at, lifetime_days)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, k.TeamID, h[:], k.Preview, k.Label, k.Access, k.CreatedBy, k.CreatedAt.Unix(),
		unixOrNull(k.ExpiresAt), k.LifetimeDays).Scan(&k.ID); err != nil {
		return err
	}
	if err := addEvent(ctx, tx, event{team: k.TeamID, at: k.CreatedAt.Unix(), actor: k.CreatedBy, action: "key_generated", key: k.ID}); err != nil {
		return err
	}
	stored := *k
	tx.afterCommit(func() { db.keys.put(h, stored) })
	return tx.notify(ctx, change{changeKey, k.ID})
}

// activeKey is the condition on api_keys k of a key that works at the
// Unix time given as the next argument.
const activeKey = "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)"

const keyColumns = `k.id, k.team_id, k.preview, k.label, k.access, k.created_by, a.name, k.created_at, k.expires_at, k.lifetime_days,
	k.revoked_at, coalesce(r.name, ''), coalesce(k.replaced_by, 0), k.last_used_at, k.last_used_from,
	k.first_used_at, k.first_used_kind, k.first_used_from, k.tested_at
	FROM api_keys k JOIN agents a ON a.id = k.created_by LEFT JOIN agents r ON r.id = k.revoked_by`

func scanKey(sc scanner) (APIKey, error) {
	var k APIKey
	var created int64
	var expires, revoked, used, firstUsed, tested sql.NullInt64
	err := sc.Scan(&k.ID, &k.TeamID, &k.Preview, &k.Label, &k.Access, &k.CreatedBy, &k.CreatedByName, &created, &expires, &k.LifetimeDays,
		&revoked, &k.RevokedByName, &k.ReplacedBy, &used, &k.LastUsedFrom, &firstUsed, &k.FirstUsedKind, &k.FirstUsedFrom, &tested)
	k.CreatedAt, k.ExpiresAt, k.RevokedAt = time.Unix(created, 0).UTC(), unixOrZero(expires), unixOrZero(revoked)
	k.LastUsedAt, k.FirstUsedAt, k.TestedAt = unixOrZero(used), unixOrZero(firstUsed), unixOrZero(tested)
	return k, err
}

// APIKeys lists the team's active keys (neither revoked nor expired),
// newest first.
func (db *DB) APIKeys(ctx context.Context, teamID int64) ([]APIKey, error) {
	keys, err := queryAll(ctx, db, scanKey, apiKeysSQL, teamID, db.now().Unix())
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

const apiKeysSQL = "SELECT " + keyColumns + " WHERE k.team_id = ? AND " + activeKey + " ORDER BY k.id DESC"

// APIKey returns one of the team's keys, active or not; another team's key
// is ErrNotFound.
func (db *DB) APIKey(ctx context.Context, teamID, id int64) (APIKey, error) {
	k, err := queryOne(ctx, db, scanKey, "SELECT "+keyColumns+" WHERE k.id = ? AND k.team_id = ?", id, teamID)
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, fmt.Errorf("key %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("key %d: %w", id, err)
	}
	return k, nil
}

// EndedKey is a key revoked or expired in the last EndedKeyWindow, with
// the requests still made with it since.
type EndedKey struct {
	APIKey
	EndedAt time.Time
	Refused int // requests refused since it ended
}

// endedKeysSQL lists a team's keys that ended in a period, with the
// requests refused since. coalesce(revoked_at, expires_at) and the literal
// IS NOT NULL terms are those of the api_keys_team_ended index.
const endedKeysSQL = `SELECT coalesce(k.revoked_at, k.expires_at),
	(SELECT coalesce(sum(u.refused_revoked), 0) FROM key_usage u WHERE u.key_id = k.id AND u.day >= ?3), ` + keyColumns + `
	WHERE k.team_id = ?1 AND (k.revoked_at IS NOT NULL OR k.expires_at IS NOT NULL)
	AND coalesce(k.revoked_at, k.expires_at) > ?2 AND coalesce(k.revoked_at, k.expires_at) <= ?4
	ORDER BY coalesce(k.revoked_at, k.expires_at) DESC LIMIT ?5`

// EndedKeys lists the team's keys that were revoked or expired within
// EndedKeyWindow (at most MaxEndedKeys, the latest first).
func (db *DB) EndedKeys(ctx context.Context, teamID int64) ([]EndedKey, error) {
	now := db.now()
	out, err := queryAll(ctx, db, func(sc scanner) (EndedKey, error) {
		var e EndedKey
		var ended int64
		var err error
		e.APIKey, err = scanKey(prefixScanner{prefixScanner{sc, &ended}, &e.Refused})
		e.EndedAt = time.Unix(ended, 0).UTC()
		return e, err
	}, endedKeysSQL, teamID, now.Add(-EndedKeyWindow).Unix(), dayOf(now.Add(-EndedKeyWindow)), now.Unix(), MaxEndedKeys)
	if err != nil {
		return nil, fmt.Errorf("ended keys: %w", err)
	}
	return out, nil
}

// APIKeyByHash finds the key with this hash, from memory. An unknown key
// is ErrNotFound; a key revoked or expired within EndedKeyWindow comes
// back with ErrKeyRevoked, so that its requests can be counted against it.
// The usage fields (last used and so on) are not kept current here. On
// PostgreSQL a key missing from memory is looked up in the database (it
// may have been made on another instance a moment ago), and so is every
// key while the caches may be stale (see peers).
func (db *DB) APIKeyByHash(ctx context.Context, hash [32]byte) (APIKey, error) {
	k, ok := db.keys.get(hash)
	if !ok && db.peers.shared() || db.peers.stale() {
		var err error
		if k, err = db.lookupKey(ctx, hash, ok); err != nil {
			return APIKey{}, err
		}
	} else if !ok {
		return APIKey{}, ErrNotFound
	}
	if !k.RevokedAt.IsZero() || (!k.ExpiresAt.IsZero() && !db.now().Before(k.ExpiresAt)) {
		return k, ErrKeyRevoked
	}
	return k, nil
}

// activeKeyForUpdate reads the team's active key id in a write, with its
// hash, for an owner or admin of the team (actorID) to change: another
// agent is refused with ErrForbidden, and a key of another team, revoked
// or expired, with ErrNotFound.
func (db *DB) activeKeyForUpdate(ctx context.Context, tx writeTx, teamID, keyID, actorID int64, now time.Time) (APIKey, []byte, error) {
	// A write made with the key holds this lock while it checks the key
	// (keyStillActive): a revoke waits for it, or it sees the revoke.
	if err := tx.lockTeam(ctx, teamID); err != nil {
		return APIKey{}, nil, err
	}
	if _, err := manager(ctx, tx, teamID, actorID); err != nil {
		return APIKey{}, nil, err
	}
	var hash []byte
	k, err := scanKey(prefixScanner{tx.QueryRowContext(ctx, "SELECT k.hash, "+keyColumns+" WHERE k.id = ? AND k.team_id = ? AND "+activeKey,
		keyID, teamID, now.Unix()), &hash})
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, nil, refuse(ErrNotFound)
	}
	return k, hash, err
}

// RevokeAPIKey revokes the team's key id at once and for good, on behalf of
// an owner or admin (ErrForbidden otherwise). A key of another team, or one
// already revoked or expired, is ErrNotFound and nothing changes.
func (db *DB) RevokeAPIKey(ctx context.Context, teamID, keyID, agentID int64) (APIKey, error) {
	var k APIKey
	now := db.now().UTC().Truncate(time.Second)
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		var hash []byte
		var err error
		if k, hash, err = db.activeKeyForUpdate(ctx, tx, teamID, keyID, agentID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE id = ? AND team_id = ?",
			now.Unix(), agentID, keyID, teamID); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, event{team: teamID, at: now.Unix(), actor: agentID, action: "key_revoked", key: keyID}); err != nil {
			return err
		}
		tx.note(batchNote{kind: noteKeyRevoked, id: keyID})
		tx.afterCommit(func() { db.keys.revoke([32]byte(hash), now) })
		return tx.notify(ctx, change{changeKey, keyID})
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("revoke key %d: %w", keyID, err)
	}
	k.RevokedAt = now
	return k, nil
}

// RotateAPIKey makes the replacement of the team's active key id: a new
// key with the same access and lifetime, under label. The old key keeps
// working (until revoked or given an expiry) and names its replacement. A
// key whose replacement is still active is ErrRotating; the active-key
// limit holds as for CreateAPIKey.
func (db *DB) RotateAPIKey(ctx context.Context, teamID, keyID, agentID int64, label string) (old, repl APIKey, key string, err error) {
	err = db.write(ctx, func(ctx context.Context, tx writeTx) error {
		var err error
		if old, _, err = db.activeKeyForUpdate(ctx, tx, teamID, keyID, agentID, db.now()); err != nil {
			return err
		}
		if old.ReplacedBy != 0 {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM api_keys k WHERE k.id = ? AND "+activeKey, old.ReplacedBy, db.now().Unix()).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return refuse(ErrRotating)
			}
		}
		// Made afresh on every run of the body: a rerun must not store
		// a key it already handed to afterCommit.
		repl, key = db.newKey(teamID, agentID, label, old.Access, old.LifetimeDays)
		if err := db.insertKey(ctx, tx, &repl, key); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE api_keys SET replaced_by = ? WHERE id = ? AND team_id = ?", repl.ID, keyID, teamID); err != nil {
			return err
		}
		return addEvent(ctx, tx, event{team: teamID, at: repl.CreatedAt.Unix(), actor: agentID, action: "key_rotated", key: keyID, detail: label})
	})
	if err != nil {
		return APIKey{}, APIKey{}, "", fmt.Errorf("rotate key %d: %w", keyID, err)
	}
	old.ReplacedBy = repl.ID
	return old, repl, key, nil
}

// ExpireAPIKey makes the team's active key id stop working at the given
// time (a grace period for a key being replaced). It is ErrNotFound for a
// key of another team, revoked or expired.
func (db *DB) ExpireAPIKey(ctx context.Context, teamID, keyID, agentID int64, at time.Time) (APIKey, error) {
	var k APIKey
	at = at.UTC().Truncate(time.Second)
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		now := db.now()
		var hash []byte
		var err error
		if k, hash, err = db.activeKeyForUpdate(ctx, tx, teamID, keyID, agentID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE api_keys SET expires_at = ? WHERE id = ? AND team_id = ?", at.Unix(), keyID, teamID); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, event{team: teamID, at: now.Unix(), actor: agentID, action: "key_expiry_set", key: keyID, until: at.Unix()}); err != nil {
			return err
		}
		tx.afterCommit(func() { db.keys.expire([32]byte(hash), at) })
		return tx.notify(ctx, change{changeKey, keyID})
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("set expiry of key %d: %w", keyID, err)
	}
	k.ExpiresAt = at
	return k, nil
}

// RenameAPIKey gives one of the team's keys (active or not) a new label, on
// behalf of an owner or admin (ErrForbidden otherwise); the audit trail
// keeps the old one.
func (db *DB) RenameAPIKey(ctx context.Context, teamID, keyID, agentID int64, label string) (APIKey, error) {
	var k APIKey
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		if _, err := manager(ctx, tx, teamID, agentID); err != nil {
			return err
		}
		var old string
		err := tx.QueryRowContext(ctx, "SELECT label FROM api_keys WHERE id = ? AND team_id = ?", keyID, teamID).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE api_keys SET label = ? WHERE id = ? AND team_id = ?", label, keyID, teamID); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, event{team: teamID, at: db.now().Unix(), actor: agentID, action: "key_renamed", key: keyID, detail: old}); err != nil {
			return err
		}
		k, err = scanKey(tx.QueryRowContext(ctx, "SELECT "+keyColumns+" WHERE k.id = ? AND k.team_id = ?", keyID, teamID))
		return err
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("rename key %d: %w", keyID, err)
	}
	return k, nil
}

// expiringKeysSQL finds the keys of every team that expire within a period
// and whose owners have not been told yet; a key whose replacement works
// needs no warning. The literal terms are the api_keys_expiring index's.
const expiringKeysSQL = "SELECT " + keyColumns + `
	WHERE k.revoked_at IS NULL AND k.expiry_notice_at IS NULL AND k.expires_at IS NOT NULL
	AND k.expires_at > ?1 AND k.expires_at <= ?2
	AND NOT EXISTS (SELECT 1 FROM api_keys n WHERE n.id = k.replaced_by AND n.revoked_at IS NULL AND (n.expires_at IS NULL OR n.expires_at > ?1))
	ORDER BY k.team_id, k.expires_at`

// ExpiringKeys lists the keys, of every team, that expire within the given
// time and whose owners have not been told (ClaimExpiryNotices).
func (db *DB) ExpiringKeys(ctx context.Context, within time.Duration) ([]APIKey, error) {
	now := db.now()
	keys, err := queryAll(ctx, db, scanKey, expiringKeysSQL, now.Unix(), now.Add(within).Unix())
	if err != nil {
		return nil, fmt.Errorf("expiring keys: %w", err)
	}
	return keys, nil
}

// ClaimExpiryNotices records that the owners of these keys are being told
// they expire soon and returns the keys it recorded: those no one had
// claimed yet. Several instances sending notices at the same hour tell
// each owner once.
func (db *DB) ClaimExpiryNotices(ctx context.Context, keyIDs []int64) ([]int64, error) {
	at := db.now().Unix()
	var claimed []int64
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		claimed = claimed[:0]
		for _, id := range keyIDs {
			var got int64
			err := tx.QueryRowContext(ctx, "UPDATE api_keys SET expiry_notice_at = ? WHERE id = ? AND expiry_notice_at IS NULL RETURNING id", at, id).Scan(&got)
			switch {
			case err == nil:
				claimed = append(claimed, got)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim expiry notices: %w", err)
	}
	return claimed, nil
}

func unixOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Several instances may share one PostgreSQL database. Each keeps this
// package's caches (the key index, the tracked domains) as a lone instance
// does, and learns what the others changed through LISTEN/NOTIFY: a write
// that changes something cached sends a notification inside its
// transaction (writeTx.notify), which PostgreSQL delivers to every listener
// when, and only if, the transaction commits; every instance listens on a
// connection of its own and reloads what changed.
//
// A notification arrives a moment after the commit. Writes made with a
// key do not depend on it: they check the key's row in their transaction;
// nor do MCP tools, which ask the database (KeyActiveNow). A tracker event
// or form post from a site just removed on another instance may still be
// accepted in that moment. While the listening connection is down,
// notifications may be lost: the instance then reads keys and domains
// from the database on every request, and reloads both caches once it
// listens again.

// change is what a notification says: which cached thing changed.
type change struct {
	kind changeKind
	id   int64
}

type changeKind byte

const (
	changeKey     changeKind = 'k' // id is a key whose row changed
	changeDomains changeKind = 'd' // id is a team whose tracked domains changed
)

func (c change) payload() string { return string(rune(c.kind)) + strconv.FormatInt(c.id, 10) }

func parseChange(p string) (change, error) {
	if len(p) < 2 {
		return change{}, fmt.Errorf("notification %q: too short", p)
	}
	c := change{kind: changeKind(p[0])}
	var err error
	if c.id, err = strconv.ParseInt(p[1:], 10, 64); err != nil {
		return change{}, fmt.Errorf("notification %q: %w", p, err)
	}
	switch c.kind {
	case changeKey, changeDomains:
		return c, nil
	}
	return change{}, fmt.Errorf("notification %q: unknown kind", p)
}

// peers is this instance's link to the others sharing its database.
type peers struct {
	// channel is the notification channel: one per schema, so that
	// databases sharing a cluster (or tests sharing a database) do not
	// hear each other. "" on SQLite, where there are no other instances.
	channel string
	addr    string
	log     *slog.Logger
	// live says the listener is connected and the caches are current.
	live atomic.Bool
	stop context.CancelFunc
	done chan struct{}
}

// stale reports whether the caches may have missed another instance's
// change: on PostgreSQL while the listener is not connected.
func (p *peers) stale() bool { return p.channel != "" && !p.live.Load() }

// shared reports whether other instances may change the database.
func (p *peers) shared() bool { return p.channel != "" }

// Reconnection waits minBackoff after the first failure, doubling up to
// maxBackoff; connecting and listening get connectTimeout. A
// listener that has heard nothing for listenIdle pings the server: a
// connection cut without a word (a dead peer, a dropped NAT entry) would
// otherwise leave the caches stale, unnoticed, for hours.
const (
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 10 * time.Second
	connectTimeout = 10 * time.Second
	listenIdle     = 30 * time.Second
)

// channelFor names the notification channel of a schema. A channel name
// is an identifier of at most 63 bytes; a long schema name is hashed.
func channelFor(schema string) string {
	ch := "closr_" + schema
	if len(ch) > 63 {
		sum := sha256.Sum256([]byte(schema))
		ch = "closr_" + hex.EncodeToString(sum[:16])
	}
	return ch
}

// startPeers connects the listener, loads the caches and keeps them
// current until Close. A first connection that fails fails Open.
func (db *DB) startPeers(ctx context.Context, addr string, log *slog.Logger) error {
	var schema string
	if err := db.r.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("listen for other instances' changes: %w", err)
	}
	p := &db.peers
	p.addr, p.channel, p.log, p.done = addr, channelFor(schema), log, make(chan struct{})
	conn, err := db.listenAndLoad(ctx)
	if err != nil {
		close(p.done)
		return err
	}
	lctx, stop := context.WithCancel(context.Background())
	p.stop = stop
	go db.listen(lctx, conn)
	return nil
}

// stopPeers ends the listener (Close calls it).
func (db *DB) stopPeers() {
	if db.peers.stop != nil {
		db.peers.stop()
		<-db.peers.done
	}
}

// listenAndLoad opens the listening connection, then reloads the caches:
// in that order, a change committed meanwhile is read or notified, never
// missed.
func (db *DB) listenAndLoad(ctx context.Context) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	cfg, err := pgx.ParseConfig(db.peers.addr)
	if err != nil {
		// pgx's message quotes the address, password and all.
		return nil, errors.New("listen for other instances' changes: the address is not a valid postgres:// URL")
	}
	cfg.RuntimeParams["application_name"] = "closr listener"
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("listen for other instances' changes: %w", err)
	}
	if _, err := conn.Exec(cctx, "LISTEN "+pgx.Identifier{db.peers.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("listen for other instances' changes: %w", err)
	}
	db.domains.reset()
	if err := db.loadKeys(ctx); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	db.peers.live.Store(true)
	return conn, nil
}

// listen applies the changes notified on conn; when the connection fails,
// it reconnects, waiting longer after each failure, and reloads.
func (db *DB) listen(ctx context.Context, conn *pgx.Conn) {
	defer close(db.peers.done)
	p := &db.peers
	for {
		err := db.follow(ctx, conn)
		p.live.Store(false)
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("lost the connection that hears other instances' changes; reading keys and domains from the database until it is back", "err", err)
		for wait := minBackoff; ; wait = min(2*wait, maxBackoff) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			if conn, err = db.listenAndLoad(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("reconnecting to hear other instances' changes", "err", err, "next_try_in", min(2*wait, maxBackoff))
		}
		p.log.Info("hearing other instances' changes again; caches reloaded")
	}
}

// follow applies notifications until the connection fails. A change that
// cannot be applied ends it too: reconnecting reloads everything.
func (db *DB) follow(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			pctx, cancel := context.WithTimeout(ctx, connectTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		c, err := parseChange(n.Payload)
		if err != nil {
			db.peers.log.Warn("ignored a notification", "err", err)
			continue
		}
		if err := db.apply(ctx, c); err != nil {
			return err
		}
	}
}

// apply brings one change into the caches.
func (db *DB) apply(ctx context.Context, c change) error {
	switch c.kind {
	case changeDomains:
		db.domains.invalidate(c.id)
	case changeKey:
		h, err := queryOne(ctx, db, scanHashedKey, "SELECT k.hash, "+keyColumns+" WHERE k.id = ?", c.id)
		if err != nil {
			return fmt.Errorf("reload key %d: %w", c.id, err)
		}
		db.keys.set(h.hash, h.key)
	}
	return nil
}

// lookupKey reads a key in the database: one missing from the index
// (another instance may have made it a moment ago), or any while the
// index may be stale (known says the index holds it). An unknown key is
// ErrNotFound, and so is an ended key the index does not hold: it forgot
// it (past MaxEndedKeys) or never needed it, as on SQLite.
func (db *DB) lookupKey(ctx context.Context, hash [32]byte, known bool) (APIKey, error) {
	gen := db.keys.generation()
	h, err := queryOne(ctx, db, scanHashedKey, "SELECT k.hash, "+keyColumns+" WHERE k.hash = ? AND (k.revoked_at IS NULL OR k.revoked_at > ?)",
		hash[:], db.now().Add(-EndedKeyWindow).Unix())
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("look up key: %w", err)
	}
	if !known && !h.key.EndedAt(db.now()).IsZero() {
		return APIKey{}, ErrNotFound
	}
	db.keys.fill(hash, h.key, gen)
	return h.key, nil
}

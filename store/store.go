// Package store owns Closr's database, a SQLite file or PostgreSQL (see
// engine.go): opening it, applying the embedded migrations, and every
// query. Each method that writes runs in one transaction on the single
// writer connection; reads use a pool.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Sentinel errors; handlers map them to HTTP statuses in one place.
var (
	ErrNotFound    = errors.New("not found")
	ErrKeyLimit    = errors.New("active key limit reached")
	ErrEmailTaken  = errors.New("email already registered")
	ErrUnavailable = errors.New("storage unavailable")
	// ErrKeyRevoked: the key a write was made with was revoked meanwhile.
	ErrKeyRevoked = errors.New("key revoked")
	// ErrForbidden: the agent's role does not allow it, or the agent is no
	// longer an active member of the team.
	ErrForbidden = errors.New("not allowed for this role")
	// ErrOwner: the owner cannot be removed, leave or be given another
	// role; ownership is transferred instead.
	ErrOwner = errors.New("the team's owner must transfer ownership first")
	// ErrInvited: the email already has an open invitation to the team.
	ErrInvited       = errors.New("already invited")
	ErrInviteLimit   = errors.New("open invitation limit reached")
	ErrInviteUsed    = errors.New("invitation already used")
	ErrInviteGone    = errors.New("invitation cancelled")
	ErrInviteExpired = errors.New("invitation expired")
)

// MaxActiveKeys is how many unrevoked API keys a team may hold.
const MaxActiveKeys = 10

// DB is the Closr database: one writer connection and a pool of readers.
type DB struct {
	w    *sql.DB
	r    *sql.DB
	eng  engine
	path string
	// readTimeout bounds every read (see readCtx).
	readTimeout time.Duration
	now         func() time.Time
	writes      chan *writeReq
	quit        chan struct{}
	stopped     chan struct{}
	reruns      atomic.Int64 // batches run a second time, with savepoints (tests read it)
	raced       atomic.Int64 // bodies run again because another instance's transaction got in the way (a deadlock, a row committed meanwhile)
	stmts       *stmtCache   // used only by the writer goroutine
	keys        keyIndex
	// visitors and pending speed up the tracker and ingest paths. Writes
	// change them only after their commit (writeTx.afterCommit); a body
	// that marks a team pending also notes it for the rest of its batch.
	visitors visitorCache
	domains  domainCache
	pending  teamSet
	// peers keeps the caches in step with other instances (PostgreSQL).
	peers peers
	// usage is the key use counted since its last flush (see RecordUse).
	usage     usage
	usageQuit chan struct{}
	usageDone chan struct{}

	closeOnce sync.Once
}

// DefaultBusyTimeout is how long a write waits for a lock held by another
// process before giving up with ErrUnavailable. Five seconds rides out a
// backup or a long read; a client then gets 503 and retries.
const DefaultBusyTimeout = 5 * time.Second

// Options tune Open; the zero value is the production setting.
type Options struct {
	// BusyTimeout replaces DefaultBusyTimeout (tests use a short one).
	BusyTimeout time.Duration
	// Now is the clock, the same one the handlers are given; nil means
	// time.Now.
	Now func() time.Time
	// ReadTimeout replaces DefaultReadTimeout.
	ReadTimeout time.Duration
	// Logger gets what the store does on its own, such as losing and
	// regaining its link to other instances; nil is slog.Default().
	Logger *slog.Logger
}

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opt Options) (*DB, error) {
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = DefaultBusyTimeout
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ReadTimeout <= 0 {
		opt.ReadTimeout = DefaultReadTimeout
	}
	eng := engineFor(path)
	w, r, err := eng.open(ctx, path, opt)
	if err != nil {
		return nil, err
	}
	db := &DB{w: w, r: r, eng: eng, path: path, now: opt.Now, readTimeout: opt.ReadTimeout,
		writes: make(chan *writeReq, maxBatch), quit: make(chan struct{}), stopped: make(chan struct{}),
		usageQuit: make(chan struct{}), usageDone: make(chan struct{}), stmts: newStmtCache()}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	// Statistics before the first read: without them the planner guesses,
	// and on a large team some guesses read millions of rows.
	if _, err := w.ExecContext(ctx, eng.optimizeSQL()); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("optimize %s: %w", Redacted(path), err)
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	loadKeys := db.loadKeys
	if IsPostgres(path) {
		loadKeys = func(ctx context.Context) error { return db.startPeers(ctx, path, opt.Logger) }
	}
	if err := errors.Join(loadKeys(ctx), db.loadPendingIdentities(ctx)); err != nil {
		db.stopPeers()
		w.Close()
		r.Close()
		return nil, err
	}
	go db.writer()
	go db.flushUsageLoop()
	// Leads stored by another program (a bulk load) join the search index.
	if err := db.write(ctx, eng.finishTx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// analysisLimit bounds the rows ANALYZE reads per index, so refreshing the
// statistics of a large database takes milliseconds (SQLite advises 100 to
// 1000 for PRAGMA optimize).
const analysisLimit = 400

// journalSizeLimit is the size the WAL file is cut back to (64 MiB).
const journalSizeLimit = 64 << 20

// statsRefresh is how long a reader connection lives: about as often as
// cmd/closr calls Optimize (hourly).
const statsRefresh = time.Hour

// Optimize refreshes the planner's statistics of tables that were never
// analyzed or changed much in size since (SQLite's advice for long-lived
// connections: every few hours).
func (db *DB) Optimize(ctx context.Context) error {
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		_, err := tx.ExecContext(ctx, db.eng.optimizeSQL())
		return err
	})
	if err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	return nil
}

// Close writes the key use counted so far, stops the writer and closes
// both connection pools. Writes must have returned before Close is called;
// later ones fail with ErrUnavailable.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.stopPeers()
		close(db.usageQuit)
		<-db.usageDone
		close(db.quit)
	})
	<-db.stopped
	return errors.Join(db.r.Close(), db.w.Close())
}

// Path is the database file or address as given to Open (an address may
// hold a password: log Redacted(Path())).
func (db *DB) Path() string { return db.path }

// Ping checks that the database answers a read.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return wrapUnavailable(fmt.Errorf("ping: %w", err))
	}
	return nil
}

func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	unlock, err := db.eng.lockMigrations(ctx, conn)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	fsys, dir := db.eng.migrations()
	names, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, dir+"/"), ".sql")
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if err := db.applyMigration(ctx, conn, version, string(body)); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, conn *sql.Conn, version, body string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", version, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
		return fmt.Errorf("migration %s: %w", version, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return fmt.Errorf("migration %s: %w", version, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, db.now().Unix()); err != nil {
		return fmt.Errorf("migration %s: %w", version, err)
	}
	return tx.Commit()
}

// Backup writes a consistent copy of the database file at path to dst with
// VACUUM INTO, while a server may be writing to it. It opens the file on a
// connection of its own and neither migrates it nor starts a writer: a
// newer binary must not change the schema under an older running server.
func Backup(ctx context.Context, path, dst string) error {
	// busy_timeout first, as in OpenWith. Not query_only: SQLite counts
	// writing the new file as a write.
	c, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+
		fmt.Sprintf("?_pragma=busy_timeout(%d)", DefaultBusyTimeout.Milliseconds()))
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	return nil
}

// Setting returns the named setting, creating it with gen() the first time.
// Instances starting together on one PostgreSQL database all get the value
// the first of them stored.
func (db *DB) Setting(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		const get = "SELECT value FROM settings WHERE name = ?"
		err := tx.QueryRowContext(ctx, get, name).Scan(&v)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if v, err = gen(); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", name, v); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, get, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", name, err)
	}
	return v, nil
}

// wrapUnavailable marks errors that mean the database cannot be used right
// now (locked, busy, disk full, I/O trouble, read-only) so handlers answer
// 503 and the client retries. The SQLite result code decides; constraint
// violations and the like stay as they are.
func wrapUnavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) { // a read that ran out of time
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for _, classify := range []func(error) (bool, bool){sqliteUnavailable, pgUnavailable} {
		if unavailable, known := classify(err); known {
			if unavailable {
				return fmt.Errorf("%w: %w", ErrUnavailable, err)
			}
			return err
		}
	}
	// database/sql's own error for a closed pool has no exported value.
	if strings.Contains(err.Error(), "sql: database is closed") || errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func unixOrZero(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(v.Int64, 0).UTC()
}

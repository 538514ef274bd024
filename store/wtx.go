package store

import (
	"context"
	"database/sql"
	"slices"
)

// maxStmts bounds the writer's prepared-statement cache.
const maxStmts = 256

// writeTx is all that a write body may use: statements, memory updates to
// make once the batch has committed, and notes that later bodies of the
// same batch must see before then. It has no Commit or Rollback: the
// writer owns the transaction. See DB.write for the whole contract.
type writeTx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	// afterCommit runs fn on the writer goroutine once the transaction has
	// committed, only if the body that asked succeeded, before any later
	// transaction starts. Every change to shared memory goes through it.
	afterCommit(fn func())
	// note records what this body did for the later bodies of the batch,
	// which cannot see it in memory until the commit; noted asks.
	note(n batchNote)
	noted(n batchNote) bool
	// lockTeam holds the team until the transaction ends, so that a body
	// that checks and then writes (one lead per person, the key limit, one
	// owner, single-use invitations) is atomic across instances sharing
	// PostgreSQL. SQLite's single writer needs nothing. A body calls it
	// before it writes: it may refuse (errNextTransaction).
	lockTeam(ctx context.Context, teamID int64) error
	// notify tells the other instances sharing the database of a change
	// to something they cache, when the transaction commits (see peers).
	// It does nothing on SQLite.
	notify(ctx context.Context, c change) error
}

// batchNote is something a body did that later bodies of its batch must
// take into account before afterCommit has published it.
type batchNote struct {
	kind noteKind
	id   int64
	at   int64 // Unix seconds, for notes that hold only at that time
}

type noteKind uint8

const (
	noteKeyRevoked  noteKind = iota + 1 // id is a key revoked in this batch
	noteTeamPending                     // id is a team with a visitor waiting for its lead
	noteKeyActive                       // id is a key this transaction found active at at, under its team's lock
)

// wtx is the writer's transaction. It reuses prepared statements: parsing
// SQL was a third of the ingest path's CPU time in the profile. A
// statement cannot be prepared on the writer's only connection while a
// transaction holds it, so a query's first use runs unprepared and is
// noted; the writer prepares noted queries between transactions. Only the
// writer goroutine uses it, so the cache needs no lock.
type wtx struct {
	tx    *sql.Tx
	eng   engine
	cache *stmtCache
	bound map[string]*sql.Stmt // cached statements bound to this transaction

	channel string // where notify sends; "" on SQLite

	// locked is the team (or usageFlushLock) whose lock the transaction
	// holds, 0 for none. See lockTeam.
	locked int64

	caller int         // the batch position of the body now running
	hooks  []afterHook // run in order once the transaction commits
	notes  []batchNote
}

// lockTeam takes the team's lock, or refuses with errNextTransaction when
// the transaction already holds another's: the writer runs the body again
// in a later transaction. Holding one lock at a time, two instances'
// transactions can never wait for each other's in a cycle (a deadlock
// costs PostgreSQL's deadlock_timeout, a second, and a rerun). SQLite
// holds no locks and batches any teams together.
func (tx *wtx) lockTeam(ctx context.Context, teamID int64) error {
	switch tx.locked {
	case teamID:
		return nil
	case 0:
	default:
		return refuse(errNextTransaction)
	}
	held, err := tx.eng.lockTeam(ctx, tx, teamID)
	if held {
		tx.locked = teamID
	}
	return err
}

func (tx *wtx) note(n batchNote) { tx.notes = append(tx.notes, n) }

func (tx *wtx) noted(n batchNote) bool { return slices.Contains(tx.notes, n) }

func (tx *wtx) notify(ctx context.Context, c change) error {
	if c.kind == changeKey {
		// A key that changed (revoked, given an expiry) is checked again
		// by the batch's later bodies.
		tx.notes = slices.DeleteFunc(tx.notes, func(n batchNote) bool { return n.kind == noteKeyActive && n.id == c.id })
	}
	if tx.channel == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", tx.channel, c.payload())
	return err
}

type afterHook struct {
	caller int
	fn     func()
}

func (tx *wtx) afterCommit(fn func()) {
	tx.hooks = append(tx.hooks, afterHook{tx.caller, fn})
}

// stmtCache holds the writer's prepared statements.
type stmtCache struct {
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

func newStmtCache() *stmtCache {
	return &stmtCache{stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// prepare prepares the noted queries; the writer calls it with no
// transaction open.
func (c *stmtCache) prepare(ctx context.Context, w *sql.DB) {
	for q := range c.pending {
		if len(c.stmts) < maxStmts {
			if s, err := w.PrepareContext(ctx, q); err == nil {
				c.stmts[q] = s
			}
		}
		delete(c.pending, q)
	}
}

func (c *stmtCache) close() {
	for _, s := range c.stmts {
		s.Close()
	}
}

func (tx *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if s, ok := tx.bound[query]; ok {
		return s
	}
	if s, ok := tx.cache.stmts[query]; ok {
		// Prepared on the writer's only connection: the transaction reuses
		// it rather than preparing it again, and every caller in the batch
		// reuses the one binding.
		s = tx.tx.StmtContext(ctx, s)
		tx.bound[query] = s
		return s
	}
	tx.cache.pending[query] = true
	return nil
}

// ExecContext runs a statement in the transaction, prepared when it can be.
func (tx *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := tx.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, query, args...)
}

// QueryRowContext runs a query for one row, prepared when it can be.
func (tx *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := tx.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, query, args...)
}

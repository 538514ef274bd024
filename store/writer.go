package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 512

// errClosed is returned for writes after Close.
var errClosed = fmt.Errorf("%w: database is closed", ErrUnavailable)

// writeReq is one caller's transaction body waiting for the writer.
type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx writeTx) error
	done chan error
	// raced counts the runs that failed only because of another
	// instance's transaction (engine.runs).
	raced int
}

// errNextTransaction: the body needs a team lock while its transaction
// holds another's (wtx.lockTeam); it runs in the next one.
var errNextTransaction = errors.New("another team's lock is held")

// write runs fn inside a transaction on the single writer connection and
// returns once that transaction is committed (or fn's changes are rolled
// back). Concurrent writes are committed together (group commit): one
// fsync covers the whole batch. Storage trouble comes back wrapped in
// ErrUnavailable. A caller whose context ends before its turn is skipped
// and gets the context's error.
//
// The contract for fn, which the writer relies on:
//
//   - It may run twice. When a body of the batch fails, the batch is rolled
//     back and run again with a savepoint around each body, so that only the
//     failing body's changes are undone. So fn sets its results afresh on
//     every run and does nothing it could not do twice.
//   - It returns every database error it meets, unchanged or wrapped. SQLite
//     may roll the whole transaction back on a full disk, an I/O error or
//     out of memory; a body that carried on would write outside the
//     transaction, piecemeal, while its callers are told nothing was saved.
//   - It refuses before it writes: an error that turns the request down
//     (a revoked key, a limit, a reused idempotency key) is returned through
//     refuse, and only before fn has written anything, so that the writer
//     can skip fn without undoing it or running the batch again.
//   - It touches shared memory only through tx.afterCommit, which runs once
//     the batch is committed and only when fn succeeded (or idempotently,
//     when a stale change is harmless). What later bodies of the same batch
//     must know before then, it records with tx.note.
//   - It never commits or rolls back: writeTx has no way to, and it must
//     not run BEGIN, COMMIT, ROLLBACK, SAVEPOINT or RELEASE itself.
//   - It gets a context that is never cancelled: interrupting SQLite in the
//     middle of a shared transaction would roll back the others' work.
func (db *DB) write(ctx context.Context, fn func(ctx context.Context, tx writeTx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.writes <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.quit:
		return errClosed
	}
	select {
	case err := <-req.done:
		return err
	case <-db.stopped:
		// The writer has finished everything it took: an answer may still
		// have come in; otherwise the request was queued as it closed.
		select {
		case err := <-req.done:
			return err
		default:
			return errClosed
		}
	}
}

// refusal is a body's refusal made before it wrote anything.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

// refuse marks err as a refusal made before the body wrote anything: the
// writer skips the body without rolling back the batch.
func refuse(err error) error { return refusal{err} }

// writer is the goroutine that owns the writer connection.
func (db *DB) writer() {
	defer close(db.stopped)
	defer db.stmts.close()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case <-db.quit:
			return
		case req := <-db.writes:
			batch = append(batch[:0], req)
		}
		// Take what is queued, let the goroutines that are about to queue
		// run, and take again: waiting requests join this commit instead of
		// paying for their own.
		batch = drain(db.writes, batch)
		runtime.Gosched()
		batch = drain(db.writes, batch)
		db.commit(batch)
		db.stmts.prepare(context.Background(), db.w)
	}
}

func drain(ch chan *writeReq, batch []*writeReq) []*writeReq {
	for len(batch) < maxBatch {
		select {
		case req := <-ch:
			batch = append(batch, req)
		default:
			return batch
		}
	}
	return batch
}

// commit runs a batch in one transaction and tells each caller its outcome.
// It first runs the callers' bodies one after the other with nothing in
// between; if one fails (rare: requests are validated before they queue,
// and refusals made before writing do not count), it rolls back and runs
// the batch again with a savepoint around each body, so that only the
// failing caller's changes are undone.
//
// On PostgreSQL a transaction holds one team's lock at most: a body of
// another team runs in the next transaction. A body may still fail
// because of another instance's transaction: a deadlock (two updates of
// the same rows in another order), or a unique index refusing a row the
// other committed after this body checked for it. Such bodies (and only
// they, the others having committed or failed for good) run again in a new
// transaction, up to engine.runs times.
func (db *DB) commit(batch []*writeReq) {
	for len(batch) > 0 {
		results, retry := db.runBatch(batch, false)
		if retry {
			db.reruns.Add(1)
			results, _ = db.runBatch(batch, true)
		}
		var again []*writeReq
		for i, req := range batch {
			if errors.Is(results[i], errNextTransaction) {
				again = append(again, req)
				continue
			}
			if req.raced+1 < db.eng.runs(results[i]) {
				req.raced++
				db.raced.Add(1)
				again = append(again, req)
				continue
			}
			req.done <- wrapUnavailable(results[i])
		}
		batch = again
	}
}

// maxRuns bounds how often a body is run when another instance's
// transaction got in its way.
const maxRuns = 5

// runBatch runs the batch in one transaction. Without isolate, the first
// failing body makes it roll back and ask for a retry.
func (db *DB) runBatch(batch []*writeReq, isolate bool) (results []error, retry bool) {
	results = make([]error, len(batch))
	ctx := context.Background()
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		for i := range results {
			results[i] = err
		}
		return results, false
	}
	tx := &wtx{tx: sqlTx, eng: db.eng, cache: db.stmts, bound: map[string]*sql.Stmt{}, channel: db.peers.channel}
	// abandon ends the transaction after a failure. When SQLite has already
	// rolled it back itself, ROLLBACK fails with nothing to undo; any other
	// failure is kept for the callers, who are told nothing was saved.
	abandon := func(cause error) error {
		if rerr := sqlTx.Rollback(); rerr != nil && !noTransaction(rerr) {
			return errors.Join(cause, fmt.Errorf("roll back: %w", rerr))
		}
		return cause
	}
	ran := false
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			results[i] = err // its turn came after its caller gave up
			continue
		}
		tx.caller = i
		if isolate && len(batch) > 1 {
			var broken bool
			if results[i], broken = runSavepoint(ctx, tx, req.fn); broken {
				// SQLite rolled the whole transaction back (a full disk, an
				// I/O error): nothing more may run in it, or each later
				// savepoint would commit on its own.
				results[i] = abandon(results[i])
				for j := range results {
					if j > i || results[j] == nil {
						results[j] = results[i]
					}
				}
				return results, false
			}
		} else if err := runGuarded(ctx, tx, req.fn); err != nil {
			var r refusal
			if errors.As(err, &r) {
				results[i] = r.err // it wrote nothing: nothing to undo
				continue
			}
			results[i] = abandon(err)
			if len(batch) == 1 {
				return results, false
			}
			return results, true
		}
		ran = ran || results[i] == nil
	}
	if ran {
		if err = db.eng.finishTx(ctx, tx); err == nil {
			err = sqlTx.Commit()
		} else {
			err = abandon(err)
		}
	} else {
		err = sqlTx.Rollback()
	}
	for i := range results {
		if results[i] == nil && err != nil {
			results[i] = err
		}
	}
	if err == nil {
		// In commit order, on the writer goroutine, before any later batch
		// runs: what the committed callers asked to happen afterwards.
		for _, h := range tx.hooks {
			if results[h.caller] == nil {
				h.fn()
			}
		}
	}
	return results, false
}

// noTransaction reports whether err is SQLite saying there is no
// transaction to end: it rolled the transaction back itself.
func noTransaction(err error) bool {
	return strings.Contains(err.Error(), "no transaction is active")
}

// runGuarded runs fn, turning a panic into an error.
func runGuarded(ctx context.Context, tx writeTx, fn func(context.Context, writeTx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
	}()
	return fn(ctx, tx)
}

// runSavepoint runs fn so that a failure (or panic) undoes only its changes.
// broken says the savepoint itself could not be rolled back or released:
// the transaction is gone.
func runSavepoint(ctx context.Context, tx *wtx, fn func(context.Context, writeTx) error) (err error, broken bool) {
	locked, notes := tx.locked, len(tx.notes)
	if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return err, true
	}
	if err = runGuarded(ctx, tx, fn); err != nil {
		var r refusal
		if errors.As(err, &r) {
			err = r.err
		}
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
			return errors.Join(err, rerr), true
		}
		// PostgreSQL releases a team's lock taken inside the savepoint
		// with it: the next body must take it again. What the body noted
		// for later bodies did not happen either.
		tx.locked, tx.notes = locked, tx.notes[:notes]
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE w"); rerr != nil {
		return errors.Join(err, rerr), true
	}
	return err, false
}

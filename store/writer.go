package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 512

// errClosed is returned for writes after Close.
var errClosed = fmt.Errorf("%w: database is closed", ErrUnavailable)

// writeReq is one caller's transaction body waiting for the writer.
type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *wtx) error
	done chan error
}

// write runs fn inside a transaction on the single writer connection and
// returns once that transaction is committed (or fn's changes are rolled
// back). Concurrent writes are committed together (group commit): each runs
// under its own savepoint, so one caller's failure undoes only its own
// changes, and one fsync covers the whole batch. Storage trouble comes back
// wrapped in ErrUnavailable.
//
// fn gets a context that is not cancelled: interrupting SQLite in the middle
// of a shared transaction would roll back the other callers' work too. A
// caller whose context ends before its turn is skipped.
func (db *DB) write(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
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
// between; if one fails (rare: requests are validated before they queue),
// it rolls back and runs the batch again with a savepoint around each body,
// so that only the failing caller's changes are undone.
func (db *DB) commit(batch []*writeReq) {
	results, retry := db.runBatch(batch, false)
	if retry {
		results, _ = db.runBatch(batch, true)
	}
	for i, req := range batch {
		req.done <- wrapUnavailable(results[i])
	}
}

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
	tx := &wtx{Tx: sqlTx, cache: db.stmts, bound: map[string]*sql.Stmt{}}
	ran := false
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			results[i] = err // its turn came after its caller gave up
			continue
		}
		tx.caller = i
		switch {
		case len(batch) == 1: // a failure rolls back the whole transaction
			results[i] = runGuarded(ctx, tx, req.fn)
		case isolate:
			var broken bool
			if results[i], broken = runSavepoint(ctx, tx, req.fn); broken {
				// SQLite rolled the whole transaction back (a full disk, an
				// I/O error): nothing more may run in it, or each later
				// savepoint would commit on its own.
				for j := i + 1; j < len(batch); j++ {
					results[j] = results[i]
				}
				for j := 0; j < i; j++ {
					if results[j] == nil {
						results[j] = results[i]
					}
				}
				tx.Rollback()
				return results, false
			}
		default:
			if results[i] = runGuarded(ctx, tx, req.fn); results[i] != nil {
				tx.Rollback()
				return results, true
			}
		}
		ran = ran || results[i] == nil
	}
	if ran {
		err = tx.Commit()
	} else {
		err = tx.Rollback()
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

// runGuarded runs fn, turning a panic into an error.
func runGuarded(ctx context.Context, tx *wtx, fn func(context.Context, *wtx) error) (err error) {
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
func runSavepoint(ctx context.Context, tx *wtx, fn func(context.Context, *wtx) error) (err error, broken bool) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return err, true
	}
	if err = runGuarded(ctx, tx, fn); err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
			return errors.Join(err, rerr), true
		}
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE w"); rerr != nil {
		return errors.Join(err, rerr), true
	}
	return err, false
}

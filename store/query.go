package store

import (
	"context"
	"database/sql"
	"time"
)

// DefaultReadTimeout bounds every read. The slowest page's reads take
// milliseconds on a million leads; one that runs for seconds has gone wrong
// (or the disk has), and holding a reader connection and a core for it
// would slow every other request.
const DefaultReadTimeout = 5 * time.Second

// readCtx gives a read its deadline; the caller's own deadline, or its
// cancellation when the client goes away, ends it sooner. SQLite stops a
// statement that is running when its context ends.
func (db *DB) readCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.readTimeout)
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanAll scans every row of rows with scan and closes them. When the
// query's context ends between rows, the rows stop and its error is
// returned.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, wrapUnavailable(rows.Err())
}

// queryAll runs a read on the reader pool, within the read deadline, and
// scans every row.
func queryAll[T any](ctx context.Context, db *DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	ctx, cancel := db.readCtx(ctx)
	defer cancel()
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapUnavailable(err)
	}
	return scanAll(rows, scan)
}

// queryOne runs a read for one row on the reader pool, within the read
// deadline; no row is sql.ErrNoRows.
func queryOne[T any](ctx context.Context, db *DB, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	ctx, cancel := db.readCtx(ctx)
	defer cancel()
	v, err := scan(db.r.QueryRowContext(ctx, query, args...))
	return v, wrapUnavailable(err)
}

// scanInt scans a row of one integer.
func scanInt(sc scanner) (int, error) {
	var n int
	err := sc.Scan(&n)
	return n, err
}

// scanInt64 scans a row of one 64-bit integer.
func scanInt64(sc scanner) (int64, error) {
	var n int64
	err := sc.Scan(&n)
	return n, err
}

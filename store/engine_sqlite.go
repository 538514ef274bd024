package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"

	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteEngine is the embedded store: one file, one process (cmd/closr
// holds a lock file), made atomic by the single writer connection.
type sqliteEngine struct{}

func (sqliteEngine) open(ctx context.Context, path string, opt Options) (w, r *sql.DB, err error) {
	// busy_timeout comes first so that the journal_mode change, which needs a
	// lock, waits for another process instead of failing at once.
	pragmas := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)", opt.BusyTimeout.Milliseconds())
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	// The WAL is cut back to journalSizeLimit after a checkpoint: a read
	// that held it open while writes went on leaves it large otherwise.
	w, err = sql.Open("sqlite", base+fmt.Sprintf("&_txlock=immediate&_pragma=analysis_limit(%d)&_pragma=journal_size_limit(%d)", analysisLimit, journalSizeLimit))
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err = sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8) // the default (2) would reopen connections under load
	// A connection loads the planner's statistics when it opens; ANALYZE
	// on the writer does not reach the open ones. Reopened within the hour,
	// readers plan with what Optimize last gathered.
	r.SetConnMaxLifetime(statsRefresh)
	return w, r, nil
}

func (sqliteEngine) migrations() (fs.FS, string) { return migrations, "migrations" }

// lockMigrations needs no lock: the writer connection opens its
// transactions with BEGIN IMMEDIATE, and one process owns the file.
func (sqliteEngine) lockMigrations(context.Context, *sql.Conn) (func(), error) { return func() {}, nil }

// optimizeSQL analyzes the tables that need it (0x02), looking at every
// table (0x10000), not only those this connection has queried.
func (sqliteEngine) optimizeSQL() string { return "PRAGMA optimize = 0x10002" }

func (sqliteEngine) finishTx(ctx context.Context, tx writeTx) error { return indexQueuedLeads(ctx, tx) }

// lockTeam: the single writer already runs one body at a time.
func (sqliteEngine) lockTeam(context.Context, writeTx, int64) (bool, error) { return false, nil }

// keyRowActive: the key index in memory is the truth, since this process
// makes every revoke, after its commit and before the next transaction.
func (sqliteEngine) keyRowActive(context.Context, writeTx, int64, int64) (bool, error) {
	return true, nil
}

func (sqliteEngine) runs(error) int { return 1 }

// search and countMatches take text that DB.Leads and DB.CountLeads
// have checked with matchQuery.
func (sqliteEngine) search(teamID int64, text string, up bool, f LeadFilter, before, after LeadCursor, limit, skip int, filter []any) (string, []any) {
	match, _ := matchQuery(text)
	lo, hi := teamID<<teamShift|after.ID, teamID<<teamShift|min(before.ID, maxLeadID)
	return searchSQL(up, f), append([]any{teamID, hi, lo, limit, skip, match}, filter...)
}

func (sqliteEngine) countMatches(teamID int64, text string, upTo int) (string, []any) {
	match, _ := matchQuery(text)
	return matchCountSQL, []any{match, teamID << teamShift, (teamID + 1) << teamShift, upTo}
}

func (sqliteEngine) countFilteredMatches(teamID int64, text string, f LeadFilter, filter []any) (string, []any, int) {
	match, _ := matchQuery(text)
	work := SearchCountWork
	if f.lookupEach() {
		work = FilterLookups
	}
	return filteredMatchCountSQL(f), append([]any{match, teamID << teamShift, (teamID + 1) << teamShift, work}, filter...), work
}

// sqliteUnavailable reports whether err is SQLite saying the database
// cannot be used right now (locked, busy, disk full, I/O trouble, read
// only); known says err came from SQLite.
func sqliteUnavailable(err error) (unavailable, known bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false, false
	}
	switch se.Code() & 0xff { // the primary code; extended codes add bits above
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM:
		return true, true
	}
	return false, true
}

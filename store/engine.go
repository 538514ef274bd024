package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// engine is everything that differs between the two stores, SQLite (a
// file path, the default) and PostgreSQL (a postgres:// address): opening
// the pools, migrations, statistics, search, error codes and what keeps a
// write atomic across instances. Queries, the writer and scans are shared;
// PostgreSQL's pools rebind SQLite's placeholders (engine_postgres.go).
type engine interface {
	// open returns the writer's pool (one connection) and the readers'.
	open(ctx context.Context, addr string, opt Options) (w, r *sql.DB, err error)
	// migrations are the engine's embedded migrations, in name order.
	migrations() (fsys fs.FS, dir string)
	// lockMigrations holds conn's lock on the schema until unlock, so that
	// instances starting together apply each migration once.
	lockMigrations(ctx context.Context, conn *sql.Conn) (unlock func(), err error)
	// optimizeSQL refreshes the planner's statistics.
	optimizeSQL() string
	// finishTx runs last in every write transaction that wrote.
	finishTx(ctx context.Context, tx writeTx) error
	// lockTeam serializes, across instances, the bodies of one team that
	// check and then write (dedupe, key limit, owner, invitations); held
	// says it took a lock that lasts until the transaction ends.
	lockTeam(ctx context.Context, tx writeTx, teamID int64) (held bool, err error)
	// keyRowActive checks in the transaction, which holds the key's team
	// lock, that the key is still active.
	keyRowActive(ctx context.Context, tx writeTx, keyID, now int64) (bool, error)
	// runs says how many times in all a body that failed with err may run,
	// each in a new transaction: more than once when the failure came only
	// from another instance's transaction (a deadlock, a row it committed
	// meanwhile).
	runs(err error) int
	// search is a page of the leads text finds (see DB.Leads), f's
	// values being filter (filterArgs); countMatches counts those of an
	// unfiltered search up to upTo.
	search(teamID int64, text string, up bool, f LeadFilter, before, after LeadCursor, limit, skip int, filter []any) (string, []any)
	countMatches(teamID int64, text string, upTo int) (string, []any)
	// countFilteredMatches reads two counts: of what it looked at (at most
	// work: matches of the text, or leads of f), and of those that match
	// both the text and f.
	countFilteredMatches(teamID int64, text string, f LeadFilter, filter []any) (q string, args []any, work int)
}

// engineFor picks the engine by the database address.
func engineFor(addr string) engine {
	if IsPostgres(addr) {
		return postgres{}
	}
	return sqliteEngine{}
}

// IsPostgres reports whether addr selects PostgreSQL (a postgres:// or
// postgresql:// address); anything else is a SQLite file path.
func IsPostgres(addr string) bool {
	return strings.HasPrefix(addr, "postgres://") || strings.HasPrefix(addr, "postgresql://")
}

// Redacted is addr fit for a log line or an error: a PostgreSQL address
// without its password; a file path as it is.
func Redacted(addr string) string {
	if !IsPostgres(addr) {
		return addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return "postgres://(an address that does not parse)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// OpenRaw opens the database at addr as a plain pool, with no migration,
// writer or caches: for tools and tests that read or change the database
// directly. Its SQL is written as for SQLite (placeholders ? and ?N); on
// PostgreSQL it is rewritten as the store's own is.
func OpenRaw(addr string) (*sql.DB, error) {
	if !IsPostgres(addr) {
		return sql.Open("sqlite", "file:"+(&url.URL{Path: addr}).EscapedPath()+
			fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", DefaultBusyTimeout.Milliseconds()))
	}
	cfg, err := pgx.ParseConfig(addr)
	if err != nil {
		return nil, errors.New("open postgres: the address is not a valid postgres:// URL")
	}
	return sql.OpenDB(rebinder{stdlib.GetConnector(*cfg)}), nil
}

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed migrations_pg/*.sql
var migrationsPG embed.FS

// postgres is the shared store: any number of instances on one database.
// What the single writer made atomic on SQLite is made so here by a
// per-team advisory lock, held by a transaction for one team only (see
// wtx.lockTeam and keyRowActive).
type postgres struct{}

func (postgres) open(ctx context.Context, addr string, opt Options) (w, r *sql.DB, err error) {
	cfg, err := pgx.ParseConfig(addr)
	if err != nil {
		// pgx's message quotes the address, password and all.
		return nil, nil, errors.New("open postgres: the address is not a valid postgres:// URL")
	}
	wcfg, rcfg := cfg.Copy(), cfg.Copy()
	// Nothing is acknowledged before it is durable, whatever the server's
	// default; a write that waits longer than the busy timeout for a lock
	// gives up with ErrUnavailable, as on SQLite.
	wcfg.RuntimeParams["synchronous_commit"] = "on"
	wcfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(opt.BusyTimeout.Milliseconds(), 10)
	rcfg.RuntimeParams["default_transaction_read_only"] = "on"
	// A plan for the values and the tables at hand, every time. pgx
	// prepares each query once per connection, and after five runs
	// PostgreSQL may keep one generic plan for any values until the next
	// ANALYZE. For a search it cannot know how common the text is: the
	// kept plan walked a million leads for "Zapier" (0.9 s instead of 4.5
	// ms). On the writer, a plan made while a table was empty stayed in use
	// as it grew: linking a lead's waiting visitors (linkIdentifiedVisitors) became
	// a nested loop over 20,000 visitors, 4 s a lead under its team's lock.
	// Planning each time costs a lead 3 to 7% (BenchmarkIngestLead).
	for _, c := range []*pgx.ConnConfig{wcfg, rcfg} {
		c.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	w = sql.OpenDB(rebinder{stdlib.GetConnector(*wcfg)})
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r = sql.OpenDB(rebinder{stdlib.GetConnector(*rcfg)})
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, nil, fmt.Errorf("open %s: %w", Redacted(addr), err)
	}
	return w, r, nil
}

func (postgres) migrations() (fs.FS, string) { return migrationsPG, "migrations_pg" }

// migrationLock is the first of the two keys of the advisory lock held
// while migrating; the second is the schema's, so that deployments (or
// tests) in other schemas of the database migrate without waiting on
// each other. A team's lock (lockTeam) has one key, not two.
const migrationLock = 0x436c6f73

const migrationKeys = "?, hashtext(current_schema())"

// lockMigrations waits as long as another instance migrates, not the
// writer's lock_timeout: a long migration must not stop the others from
// starting.
func (postgres) lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	if _, err := conn.ExecContext(ctx, "SET lock_timeout = 0"); err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+migrationKeys+")", int32(migrationLock)); err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	return func() {
		conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock("+migrationKeys+")", int32(migrationLock))
		conn.ExecContext(context.Background(), "RESET lock_timeout")
	}, nil
}

// optimizeSQL names Closr's tables: a bare ANALYZE would read every table
// of the database, other schemas' too.
func (postgres) optimizeSQL() string {
	return `ANALYZE teams, agents, web_sessions, api_keys, leads, submissions, idempotency_keys, visitors, page_views,
		tracked_domains, invitations, team_events, tracked_links, tracked_link_opens, lead_days, visit_starts, key_usage, key_requests`
}

func (postgres) finishTx(context.Context, writeTx) error { return nil }

// teamLockKey is a team's advisory lock key: its id in its schema's part
// of the key space, so that the teams of other schemas sharing the
// database (other deployments, tests running in parallel), whose ids are
// the same small numbers, do not wait on each other.
const teamLockKey = "(hashtext(current_schema())::bigint << 32) # ?"

func (postgres) lockTeam(ctx context.Context, tx writeTx, teamID int64) (bool, error) {
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+teamLockKey+")", teamID)
	return err == nil, err
}

// keyRowActive reads the key's row once the team's lock is held
// (keyStillActive takes it first). Everything that ends a key takes that
// lock too (activeKeyForUpdate), so a revoke on another instance either
// committed before this read, which sees it, or waits for this
// transaction to commit. A row lock (FOR SHARE) would do the same but
// deadlock with the usage flush's updates of the key row.
func (postgres) keyRowActive(ctx context.Context, tx writeTx, keyID, now int64) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, keyActiveRowSQL, keyID, now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// runs: a deadlock (two instances' batches locking teams in another
// order) or a serialization failure, up to maxRuns; a unique violation,
// twice. A body checks before it writes (is this email free?); when
// another instance commits the same row between its check and its insert,
// the unique index refuses the insert, and run again, the body's check
// sees the row and refuses plainly (ErrEmailTaken). A violation that is a
// bug (a sequence behind its table's ids) fails the second run too, and
// is not hidden by the sequence moving on with each run.
func (postgres) runs(err error) int {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return 1
	}
	switch pe.Code {
	case "40P01", "40001":
		return maxRuns
	case "23505":
		return 2
	}
	return 1
}

// pgSearchText is what a search looks in (the fields of searchColumns), as
// the index leads_search holds it (migrations_pg/001): the same
// expression, or the index is not used.
const pgSearchText = `closr_search_text(name, email, phone, source, message, last_message, custom)`

// search reads a page of the leads text finds, by id as on SQLite; a
// trigram index on pgSearchText finds them. Arguments: team, before, after
// (lead ids), limit, skip, the pattern, the digits' pattern if any, then
// filterArgs.
func (postgres) search(teamID int64, text string, up bool, f LeadFilter, before, after LeadCursor, limit, skip int, filter []any) (string, []any) {
	order := "DESC"
	if up {
		order = "ASC"
	}
	cond, args := pgMatch(text, 6)
	return "SELECT " + leadColumns + ` WHERE l.id IN (SELECT id FROM leads
		WHERE team_id = ?1 AND id < ?2 AND id > ?3 AND ` + cond + filterSQL(f, 6+len(args)) + ` ORDER BY id ` + order + ` LIMIT ?4 OFFSET ?5)
		AND l.team_id = ?1 ORDER BY l.id DESC`,
		append(append([]any{teamID, before.ID, after.ID, limit, skip}, args...), filter...)
}

func (postgres) countMatches(teamID int64, text string, upTo int) (string, []any) {
	cond, args := pgMatch(text, 3)
	return `SELECT count(*) FROM (SELECT 1 FROM leads WHERE team_id = ?1 AND (` + cond + `) LIMIT ?2) AS matches`,
		append([]any{teamID, upTo}, args...)
}

// countFilteredMatches looks at the text's first matches (by the trigram
// index) and counts those f keeps. Arguments: team, the most to look at,
// the patterns, then filterArgs.
func (postgres) countFilteredMatches(teamID int64, text string, f LeadFilter, filter []any) (string, []any, int) {
	cond, args := pgMatch(text, 3)
	return `SELECT count(*), count(*) FILTER (WHERE hit) FROM (SELECT (true` + filterSQL(f, 3+len(args)) + `) AS hit
		FROM leads WHERE team_id = ?1 AND (` + cond + `) LIMIT ?2) AS looked`,
		append(append([]any{teamID, SearchCountWork}, args...), filter...), SearchCountWork
}

// pgMatch is the search condition, its patterns bound from ?n: the text
// anywhere (case ignored), or its digits in the phone, as matchQuery asks
// of SQLite. Both are ranges of the trigram index.
func pgMatch(text string, n int) (string, []any) {
	text = strings.TrimSpace(text)
	cond := fmt.Sprintf("%s ILIKE closr_unaccent(?%d)", pgSearchText, n)
	args := []any{"%" + escapeLike(text) + "%"}
	if d := digitsOf(text); len(d) >= MinSearchLen && d != text {
		cond += fmt.Sprintf(" OR %s LIKE ?%d AND phone LIKE ?%[2]d", pgSearchText, n+1)
		args = append(args, "%"+d+"%")
	}
	return "(" + cond + ")", args
}

// escapeLike makes s match itself in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// pgUnavailable reports whether err says PostgreSQL cannot be used right
// now: the connection (class 08), resources (53), the server shutting
// down (57P), a statement cancelled (57014), system errors (58), a lock
// not had within lock_timeout (55P03), a read-only server (25006), a
// deadlock or serialization failure still there after the writer's runs
// (40P01, 40001), or no connection at all: refused, timed out, or closed under
// the statement (a server restart, a failover, a proxy). A lead source
// told 503 sends again; told 500, some give up. known says err came from
// PostgreSQL or the network.
func pgUnavailable(err error) (unavailable, known bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		c := pe.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") || strings.HasPrefix(c, "57") ||
			strings.HasPrefix(c, "58") || c == "40001" || c == "40P01" || c == "55P03" || c == "25006", true
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		strings.Contains(err.Error(), "conn closed") {
		return true, true
	}
	return false, false
}

// rebinder is pgx's database/sql connector with the one change every
// query needs: SQLite's SQL dialect rewritten for PostgreSQL (see
// pgQuery), and Go bools passed as the integers the schema keeps.
type rebinder struct{ driver.Connector }

func (c rebinder) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return rebindConn{conn.(pgConn)}, nil
}

// pgConn is what pgx's stdlib connection implements and rebindConn passes on.
type pgConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.NamedValueChecker
}

type rebindConn struct{ pgConn }

func (c rebindConn) Prepare(query string) (driver.Stmt, error) {
	return c.pgConn.Prepare(pgQuery(query))
}

func (c rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.pgConn.PrepareContext(ctx, pgQuery(query))
}

func (c rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.pgConn.ExecContext(ctx, pgQuery(query), args)
}

func (c rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.pgConn.QueryContext(ctx, pgQuery(query), args)
}

func (c rebindConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
		return nil
	}
	return c.pgConn.CheckNamedValue(nv)
}

// pgQueries caches pgQuery's rewrites: the queries are a fixed set.
var pgQueries sync.Map

// pgPlanned replaces the few queries whose SQLite form PostgreSQL's
// planner runs badly, each checked with EXPLAIN on a million leads.
var pgPlanned = map[string]string{
	// The IN (… LIMIT) form, planned as a join, walked the team's five
	// million page views; LATERAL reads the visitor's latest ones.
	leadViewsSQL: `SELECT p.visitor_id, p.url, p.title, p.referrer, p.utm_source, p.utm_medium, p.utm_campaign,
	p.created_at, p.created_at <= l.created_at
	FROM visitors v
	JOIN leads l ON l.id = v.lead_id AND l.team_id = v.team_id
	JOIN LATERAL (SELECT * FROM page_views WHERE visitor_id = v.id AND team_id = v.team_id
		ORDER BY created_at DESC, id DESC LIMIT ?3) p ON true
	WHERE v.team_id = ?1 AND v.lead_id = ?2
	ORDER BY p.created_at DESC, p.id DESC LIMIT ?3`,
}

var (
	indexedBy = regexp.MustCompile(`\s+INDEXED BY \w+`)
	crossJoin = regexp.MustCompile(`\bCROSS JOIN\b`)
)

// pgQuery rewrites a query written for SQLite for PostgreSQL (or takes
// its pgPlanned replacement): ?N and ? become $N (a bare ? is one more than the highest number before it, as
// in SQLite), INDEXED BY (SQLite's index choice) goes, and CROSS JOIN
// (SQLite's join order) becomes JOIN, which takes an ON clause.
func pgQuery(q string) string {
	if v, ok := pgQueries.Load(q); ok {
		return v.(string)
	}
	out, ok := pgPlanned[q]
	if !ok {
		out = crossJoin.ReplaceAllString(indexedBy.ReplaceAllString(q, ""), "JOIN")
	}
	out = rebind(out)
	pgQueries.Store(q, out)
	return out
}

// rebind turns ? and ?N placeholders outside quotes into $N.
func rebind(q string) string {
	var b strings.Builder
	highest := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := highest + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			highest = max(highest, n)
			b.WriteString("$" + strconv.Itoa(n))
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

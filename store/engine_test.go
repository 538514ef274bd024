package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"closr/store/storetest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The SQL is written once, for SQLite; PostgreSQL's pools rewrite it.
func TestPgQueryRewritesSQLiteSQL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1 FROM t WHERE a = ? AND b = ?", "SELECT 1 FROM t WHERE a = $1 AND b = $2"},
		{"UPDATE t SET a = ?3 WHERE id = ?1 AND b < ?3", "UPDATE t SET a = $3 WHERE id = $1 AND b < $3"},
		// A bare ? after ?N is one more than the highest so far, as in SQLite.
		{"WHERE s >= ?1 AND team = ?2 AND id IN (?, ?)", "WHERE s >= $1 AND team = $2 AND id IN ($3, $4)"},
		{"WHERE a = '?' AND b = \"?x\" AND c = ?", "WHERE a = '?' AND b = \"?x\" AND c = $1"},
		{"WHERE a = 'it''s ?' AND c = ?", "WHERE a = 'it''s ?' AND c = $1"},
		{"SELECT count(*) FROM page_views INDEXED BY page_views_team_recent WHERE team_id = ?1",
			"SELECT count(*) FROM page_views WHERE team_id = $1"},
		{"FROM visitors v INDEXED BY visitors_lead CROSS JOIN leads l ON l.id = v.lead_id",
			"FROM visitors v JOIN leads l ON l.id = v.lead_id"},
	} {
		if got := pgQuery(tc.in); got != tc.want {
			t.Errorf("pgQuery(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// Trouble with the server is ErrUnavailable (a 503 the client retries);
// a constraint or a syntax error is not.
func TestPostgresErrorsThatMeanUnavailable(t *testing.T) {
	for code, want := range map[string]bool{
		"08006": true,  // connection failure
		"53300": true,  // too many connections
		"57P01": true,  // admin shutdown
		"58030": true,  // I/O error
		"55P03": true,  // lock_timeout
		"25006": true,  // read-only (a standby)
		"23505": false, // unique violation
		"42601": false, // syntax error
		"40P01": true,  // deadlock, still there after the writer's runs
		"40001": true,  // serialization failure, likewise
		"40002": false, // a deferred constraint refused at commit
		"57014": true,  // a statement cancelled (statement_timeout, pg_cancel_backend)
	} {
		err := wrapUnavailable(fmt.Errorf("ingest: %w", &pgconn.PgError{Code: code}))
		if got := errors.Is(err, ErrUnavailable); got != want {
			t.Errorf("SQLSTATE %s: unavailable = %v, want %v", code, got, want)
		}
	}
	for code, want := range map[string]int{
		"40P01": maxRuns, // deadlock
		"23505": 2,       // unique violation: another instance committed the row after the body checked
		"23503": 1,       // foreign key violation
		"42601": 1,       // syntax error
	} {
		if got := (postgres{}).runs(&pgconn.PgError{Code: code}); got != want {
			t.Errorf("SQLSTATE %s: runs = %d, want %d", code, got, want)
		}
	}
}

func TestRedactedHidesThePassword(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://closr:s3cret@db:5432/closr":        "postgres://closr:xxxxx@db:5432/closr",
		"postgresql://db/closr?user=u&password=s3cret": "postgresql://db/closr?password=xxxxx&user=u",
		"/var/lib/closr/closr.db":                      "/var/lib/closr/closr.db",
	} {
		if got := Redacted(in); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
}

// Nothing is acknowledged before it is durable: the writer's connection
// asks for it explicitly on either engine, whatever the server's default
// or the address say.
func TestWriterWaitsForDurableCommits(t *testing.T) {
	addr := storetest.Addr(t)
	if IsPostgres(addr) {
		addr += "&synchronous_commit=off" // as a server's default might be
	}
	db, err := Open(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	query, want := "PRAGMA synchronous", "2" // FULL
	if IsPostgres(addr) {
		query, want = "SHOW synchronous_commit", "on"
	}
	var got string
	if err := db.w.QueryRow(query).Scan(&got); err != nil || got != want {
		t.Fatalf("%s = %q, %v; want %q", query, got, err, want)
	}
}

// Both pools plan each query for its values: with PostgreSQL's generic
// plans (its choice after a prepared query's fifth run) a search for a
// common word walked a million leads (BenchmarkSearchLargeTeam: 0.7–1.1 s
// instead of 5 ms), and the writer kept plans made for empty tables.
func TestPostgresPlansForTheValues(t *testing.T) {
	storetest.PostgresOnly(t, "PostgreSQL's plan cache")
	db := openTestDB(t)
	ctx := context.Background()
	for name, pool := range map[string]*sql.DB{"readers": db.r, "writer": db.w} {
		for i := range 8 { // past the fifth run, on every connection asked
			var mode string
			if err := pool.QueryRowContext(ctx, "SELECT current_setting('plan_cache_mode') WHERE ? > 0", i+1).Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if mode != "force_custom_plan" {
				t.Fatalf("%s' plan_cache_mode = %q, want force_custom_plan", name, mode)
			}
		}
	}
}

// PostgreSQL 17 runs ANALYZE, REINDEX and autovacuum with search_path set
// to pg_catalog alone: the search index's expression must find what it
// calls there (it names its schema), or they fail on the leads table.
func TestPostgresSearchIndexNeedsNoSearchPath(t *testing.T) {
	storetest.PostgresOnly(t, "PostgreSQL's maintenance search_path")
	ctx := context.Background()
	addr := storetest.Addr(t)
	db, err := Open(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := addTeam(t, db, "a@example.com")
	if _, err := db.IngestLead(ctx, LeadInput{TeamID: a.TeamID, Name: "Zoë", Email: "z@example.com", Custom: []Field{{"Lender", "Crédit"}},
		Raw: []byte("{}"), At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var schema string
	if err := conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "RESET search_path")
	leads := pgx.Identifier{schema, "leads"}.Sanitize()
	for _, q := range []string{
		"SET search_path = pg_catalog, pg_temp",
		"ANALYZE " + leads,
		"REINDEX INDEX " + pgx.Identifier{schema, "leads_search"}.Sanitize(),
		"SELECT count(*) FROM " + leads + " WHERE " + pgx.Identifier{schema}.Sanitize() + "." + pgSearchText + " ILIKE '%credit%'",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// The connection cut under a write (a server restart, a failover, a proxy
// between) is ErrUnavailable, a 503 the lead source retries, not a 500;
// the next write gets a new connection.
func TestPostgresConnectionCutIsUnavailable(t *testing.T) {
	storetest.PostgresOnly(t, "a TCP connection to PostgreSQL cut")
	addr := storetest.Addr(t)
	u, err := url.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	target := u.Host
	go func() { // a proxy whose connections the test cuts
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	cut := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
		conns = nil
	}
	u.Host = ln.Addr().String()
	db, err := Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.write(context.Background(), func(ctx context.Context, tx writeTx) error {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return err
		}
		cut()
		return tx.QueryRowContext(ctx, "SELECT 2").Scan(&one)
	})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a write whose connection was cut: %v, want ErrUnavailable", err)
	}
	if err := db.write(context.Background(), func(ctx context.Context, tx writeTx) error {
		var one int
		return tx.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	}); err != nil {
		t.Fatalf("the next write: %v", err)
	}
}

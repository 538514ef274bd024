// Package storetest gives tests a fresh database: a SQLite file, or, when
// CLOSR_TEST_POSTGRES holds a postgres:// address, a schema of its own on
// that server, so that one test suite runs on both stores.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Env is the variable that selects PostgreSQL for the tests.
const Env = "CLOSR_TEST_POSTGRES"

// Postgres reports whether the tests run on PostgreSQL.
func Postgres() bool { return os.Getenv(Env) != "" }

// Addr is the address of a fresh, empty database for t: a file in
// t.TempDir(), or a new schema on the CLOSR_TEST_POSTGRES server (first on
// the address's search_path), dropped when t ends.
func Addr(t testing.TB) string {
	t.Helper()
	server := os.Getenv(Env)
	if server == "" {
		return filepath.Join(t.TempDir(), "closr.db")
	}
	schema := "closrtest_" + strings.ToLower(rand.Text()[:16])
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("%s is not a URL", Env)
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema on %s: %v", Env, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLiteOnly skips a test of SQLite itself (its query plans, files, locks
// or internals) when the tests run on PostgreSQL; it runs in the SQLite
// pass.
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if Postgres() {
		t.Skip("SQLite only: " + why)
	}
}

// PostgresOnly skips a test of what only PostgreSQL has (several instances
// on one database, its locks, closr migrate's target) when Env is unset;
// it runs in the PostgreSQL pass.
func PostgresOnly(t testing.TB, why string) {
	t.Helper()
	if !Postgres() {
		t.Skip("PostgreSQL only: " + why + "; set " + Env + " to a postgres:// address to run it")
	}
}

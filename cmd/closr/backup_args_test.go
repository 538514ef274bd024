package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"closr/store"
	"closr/store/storetest"
)

// A mistyped --db must not create an empty database and "back it up".
func TestBackupRefusesMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo.db")
	err := backup([]string{"--db", missing, filepath.Join(dir, "copy.db")})
	if err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Fatalf("err = %v, want a missing-database error", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("backup created the mistyped database file")
	}
}

// closr backup copies the database without migrating it: a newer binary's
// backup must not change the schema under an older server still running.
func TestBackupDoesNotMigrate(t *testing.T) {
	storetest.SQLiteOnly(t, "closr backup copies SQLite files")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "closr.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The database as an older binary left it: its last migration not applied.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var last string
	if err := raw.QueryRow("SELECT max(version) FROM schema_migrations").Scan(&last); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("DELETE FROM schema_migrations WHERE version = ?", last); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := backup([]string{"--db", path, dst}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := raw.QueryRow("SELECT count(*) FROM schema_migrations WHERE version = ?", last).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the backup migrated the live database (version %s recorded %d times, err %v)", last, n, err)
	}
	if _, err := os.Stat(dst); err != nil {
		t.Fatalf("no copy written: %v", err)
	}
}

// closr backup copies SQLite files only: on a PostgreSQL address it says
// what to use instead, writes nothing and repeats no password.
func TestBackupRefusesPostgres(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "copy.db")
	err := backup([]string{"--db", "postgres://closr:s3cret@db.example:5432/closr", dst})
	if err == nil || !strings.Contains(err.Error(), "pg_dump") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v, want a pointer to pg_dump without the password", err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Fatal("backup wrote a file for a PostgreSQL address")
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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

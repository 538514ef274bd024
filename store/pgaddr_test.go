package store_test

import (
	"testing"

	"closr/store/storetest"
)

// pgAddr is a fresh PostgreSQL schema for a test of several instances,
// which SQLite (one process per file) has no use for.
func pgAddr(t *testing.T) string {
	t.Helper()
	storetest.PostgresOnly(t, "several instances share a database on PostgreSQL only")
	return storetest.Addr(t)
}

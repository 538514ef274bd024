package main

import (
	"testing"

	"closr/store/storetest"
)

// postgresTarget is a fresh PostgreSQL schema for a test of what only
// PostgreSQL has (closr migrate's target, the crash test's second run); it
// skips on the SQLite-only pass, when CLOSR_TEST_POSTGRES is unset.
func postgresTarget(t *testing.T) string {
	t.Helper()
	if !storetest.Postgres() {
		t.Skip("needs PostgreSQL: set " + storetest.Env + " to a postgres:// address")
	}
	return storetest.Addr(t)
}

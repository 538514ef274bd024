package store

import (
	"closr/store/storetest"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// The team's pages read members, invitations, keys of departed agents and
// the audit trail: on a database of many teams, each query must search its
// team's rows through an index, never scan a table, and the trail's pages
// must come out of an index in order rather than a sort of the team's
// whole history.
func TestTeamQueriesUseIndexes(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite query plans")
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "closr.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// 200 teams of 25 agents, each with keys, invitations and 250 events:
	// 50,000 events in all.
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
			INSERT INTO teams (id, name, created_at) SELECT i, 'Team ' || i, 0 FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 4999)
			INSERT INTO agents (id, team_id, name, email, password_hash, created_at, role, removed_at)
			SELECT i + 1, i / 25 + 1, 'Agent ' || i, 'a' || i || '@example.com', x'00', 0,
				CASE WHEN i % 25 = 0 THEN 'owner' WHEN i % 5 = 0 THEN 'admin' ELSE 'agent' END,
				CASE WHEN i % 25 = 24 THEN 1 END FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999)
			INSERT INTO api_keys (team_id, hash, preview, label, created_by, created_at)
			SELECT i / 10 + 1, randomblob(32), 'closr_abcdef', 'Key ' || i, (i / 10) * 25 + 1 + i % 25, 0 FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
			INSERT INTO invitations (team_id, hash, email, role, invited_by, created_at, expires_at)
			SELECT i / 50 + 1, randomblob(32), 'i' || i || '@example.com', 'agent', (i / 50) * 25 + 1, 0, 1e10 FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49999)
			INSERT INTO team_events (team_id, at, actor_id, action, subject_id)
			SELECT i / 250 + 1, i, (i / 250) * 25 + 1 + i % 25,
				CASE i % 3 WHEN 0 THEN 'key_generated' WHEN 1 THEN 'joined' ELSE 'invited' END,
				CASE WHEN i % 3 = 1 THEN (i / 250) * 25 + 1 END FROM n`,
	} {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(query string, args ...any) string {
		t.Helper()
		return explain(t, db.r, query, args...)
	}
	check := func(name, p string, sorted bool) {
		t.Helper()
		for _, line := range strings.Split(strings.TrimSpace(p), "\n") {
			if strings.HasPrefix(line, "SCAN ") {
				t.Errorf("%s scans a table:\n%s", name, p)
			}
			if sorted && strings.Contains(line, "TEMP B-TREE") {
				t.Errorf("%s sorts the team's history:\n%s", name, p)
			}
		}
	}
	for name, f := range map[string]EventFilter{
		"the trail":                {Limit: 50},
		"the trail, next page":     {Before: 30000, Limit: 50},
		"the trail of keys":        {Kind: EventsKeys, Limit: 50},
		"the trail of one member":  {Agent: 26, Limit: 50},
		"one member's invitations": {Kind: EventsInvitations, Agent: 26, Before: 30000, Limit: 50},
	} {
		q, args := teamEventsQuery(2, f)
		check(name, plan(q, args...), true)
	}
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"members":                {membersSQL, []any{2}},
		"open invitations":       {openInvitationsSQL, []any{2, 0}},
		"keys of departed":       {departedKeysSQL, []any{2, 0}},
		"invitations on leaving": {cancelOnDepartureSQL, []any{0, 0, 2, 26}},
		"key list":               {"SELECT " + keyColumns + " WHERE k.team_id = ? AND " + activeKey + " ORDER BY k.id DESC", []any{2, 0}},
		"invitation by its link": {"SELECT " + inviteColumns + " WHERE i.hash = ?", []any{[]byte("x")}},
	} {
		check(name, plan(q.sql, q.args...), false)
	}
}

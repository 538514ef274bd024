package store

import (
	"closr/store/storetest"
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestTeamsMigrationKeepsData: a database made before teams (migrations
// up to 004, as a running server has it) migrates with every agent the
// owner of their team and the key audit trail carried into the team's.
func TestTeamsMigrationKeepsData(t *testing.T) {
	storetest.SQLiteOnly(t, "migrates an old SQLite file")
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "closr.db")
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"001_accounts_keys", "002_leads", "003_tracker", "004_tracker_more"} {
		body, err := migrations.ReadFile("migrations/" + v + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		old.Exec("INSERT INTO schema_migrations VALUES (?, 0)", v)
	}
	for _, q := range []string{
		"INSERT INTO teams VALUES (1, 'Sunset Realty', 0), (2, 'Rival Homes', 0)",
		"INSERT INTO agents VALUES (1, 1, 'Ana', 'ana@example.com', x'00', 0), (2, 2, 'Oz', 'oz@example.com', x'00', 0)",
		"INSERT INTO api_keys (id, team_id, hash, preview, label, created_by, created_at, revoked_at, revoked_by) VALUES (7, 1, x'01', 'closr_abcdef', 'Zapier', 1, 10, 20, 1)",
		"INSERT INTO key_events (team_id, key_id, agent_id, action, at) VALUES (1, 7, 1, 'generated', 10), (1, 7, 1, 'revoked', 20)",
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, team := range []int64{1, 2} {
		ms, err := db.Members(ctx, team)
		if err != nil || len(ms) != 1 || ms[0].Role != RoleOwner {
			t.Fatalf("team %d after the migration: %+v, %v; want its one agent as owner", team, ms, err)
		}
	}
	events, err := db.TeamEvents(ctx, 1, EventFilter{Limit: 10})
	if err != nil || len(events) != 2 || events[0].Action != "key_revoked" || events[1].Action != "key_generated" ||
		events[0].Actor != "Ana" || events[0].KeyLabel != "Zapier" || events[0].At.Unix() != 20 {
		t.Fatalf("team events after the migration: %+v, %v", events, err)
	}
}

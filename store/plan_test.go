package store

import (
	"closr/store/storetest"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// The ingest path's lookups must use indexes, or every post would scan the
// team's whole pipeline.
func TestIngestLookupsUseIndexes(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite query plans")
	t.Parallel()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "closr.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct{ query, index string }{
		{findLeadSQL, "leads_team_email"}, {findLeadSQL, "leads_team_phone"},
		{pendingVisitorsSQL, "visitors_pending_email"}, {pendingVisitorsSQL, "visitors_pending_phone"},
	} {
		query, index := tc.query, tc.index
		rows, err := db.r.Query("EXPLAIN QUERY PLAN "+query, 1, "x", "y")
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan.WriteString(detail + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), index) {
			t.Errorf("%s\nplan: %s, want index %s", query, plan.String(), index)
		}
	}
}

// The key pages' reads and the usage flush's prune must use their indexes:
// a team's keys, use and requests, never the whole tables.
func TestKeyUsageQueriesUseIndexes(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite query plans")
	t.Parallel()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "closr.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		query string
		args  []any
		want  []string
	}{
		{endedKeysSQL, []any{1, 0, 0, 1, 50}, []string{"USING INDEX api_keys_team_ended", "USING PRIMARY KEY (key_id=? AND day>?)"}},
		{keyUsageSQL, []any{1, 0, 0}, []string{"USING INDEX key_usage_team (team_id=? AND day>?)"}},
		{keyRequestsSQL, []any{1, 1, 50}, []string{"USING INDEX key_requests_key (key_id=?)"}},
		{pruneRequestsSQL, []any{1, 50}, []string{"INDEX key_requests_key (key_id=? AND id<?)", "INDEX key_requests_key (key_id=?)"}},
		{expiringKeysSQL, []any{0, 1}, []string{"USING INDEX api_keys_expiring (expires_at>? AND expires_at<?)"}},
		{testLeadsSQL, []any{1}, []string{"INDEX leads_team_test (team_id=?)"}},
	} {
		rows, err := db.r.Query("EXPLAIN QUERY PLAN "+tc.query, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan.WriteString(detail + "\n")
		}
		rows.Close()
		for _, w := range tc.want {
			if !strings.Contains(plan.String(), w) {
				t.Errorf("%s\nplan:\n%swant %q", tc.query, plan.String(), w)
			}
		}
		if strings.Contains(plan.String(), "SCAN ") && !strings.Contains(plan.String(), "SCAN k USING") {
			t.Errorf("%s\nscans a table:\n%s", tc.query, plan.String())
		}
	}
}

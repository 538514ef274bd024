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
		if plan := explain(t, db.r, tc.query, 1, "x", "y"); !strings.Contains(plan, tc.index) {
			t.Errorf("%s\nplan: %s, want index %s", tc.query, plan, tc.index)
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
		plan := explain(t, db.r, tc.query, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s\nplan:\n%s\nwant %q", tc.query, plan, w)
			}
		}
		if strings.Contains(plan, "SCAN ") && !strings.Contains(plan, "SCAN k USING") {
			t.Errorf("%s\nscans a table:\n%s", tc.query, plan)
		}
	}
}

package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// The ingest path's lookups must use indexes, or every post would scan the
// team's whole pipeline.
func TestIngestLookupsUseIndexes(t *testing.T) {
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

package store

import (
	"closr/store/storetest"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSubmissionQueriesUseIndexes: on a database with 100,000 submissions,
// 10,000 of them on one lead, folding a raw body and reading a page of
// submissions or one raw body walk the submissions_lead index or the
// primary key, never the table.
func TestSubmissionQueriesUseIndexes(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite query plans")
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "closr.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"INSERT INTO teams (name, created_at) VALUES ('T', 0)",
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
			INSERT INTO leads (team_id, email, created_at, updated_at) SELECT 1, 'l' || i || '@example.com', 0, 0 FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
			INSERT INTO submissions (team_id, lead_id, raw, created_at) SELECT 1, CASE WHEN i % 10 = 0 THEN 1 ELSE 1 + i % 9999 END, x'7b7d', 0 FROM n`,
	} {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, query string
		args        []any
		want        []string
	}{
		{"fold", foldRawSQL, []any{1, KeptRawBodies},
			[]string{"SEARCH submissions USING INTEGER PRIMARY KEY", "SEARCH submissions USING COVERING INDEX submissions_lead (lead_id=?)"}},
		{"count", countSubmissionsSQL, []any{1, 1}, []string{"SEARCH submissions USING INDEX submissions_lead (lead_id=?)"}},
		{"page", submissionsPageSQL, []any{1, 1, 1 << 62, 21},
			[]string{"SEARCH s USING INDEX submissions_lead (lead_id=? AND id<?)", "SEARCH k USING INTEGER PRIMARY KEY"}},
		{"raw", submissionRawSQL, []any{10, 1, 1, 1}, []string{"SEARCH submissions USING INTEGER PRIMARY KEY"}},
	} {
		plan := explain(t, db.r, tc.query, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: plan\n%s, want %q", tc.name, plan, w)
			}
		}
		if strings.Contains(plan, "SCAN") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: plan\n%s scans or sorts", tc.name, plan)
		}
	}
}

package store

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"closr/store/storetest"
)

// TestCopyVerifyFindsDifferences: the check before commit reads rows back
// from both databases, so a value changed or a row lost on the way fails
// the move, and nothing is committed.
func TestCopyVerifyFindsDifferences(t *testing.T) {
	storetest.PostgresOnly(t, "closr migrate copies into PostgreSQL")
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "closr.db")
	db, err := Open(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateTeamWithOwner(ctx, "Sunset Realty", NewAgent{Name: "Ana", Email: "ana@example.com", PasswordHash: []byte("h")})
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if _, err := db.IngestLead(ctx, LeadInput{TeamID: a.TeamID, Name: "Lead " + email, Email: email, Source: "Website",
			ContentType: "application/json", Raw: []byte(`{}`), At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	dst := storetest.Addr(t)

	for _, c := range []struct {
		name, tamper, table, want string
	}{
		{"a value changed", "UPDATE leads SET name = 'Someone Else' WHERE id = (SELECT max(id) FROM leads)", "leads", "column name"},
		{"a row lost", "DELETE FROM submissions WHERE id = (SELECT min(id) FROM submissions)", "submissions", "3 rows in SQLite, 3 copied, 2 in PostgreSQL"},
		{"a count drifted", "UPDATE teams SET lead_count = lead_count + 1", "teams", "column lead_count"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := startMove(ctx, src, dst)
			if err != nil {
				t.Fatal(err)
			}
			defer m.close()
			rep, err := m.copy(ctx, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.verify(ctx, &rep); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			if _, err := m.tx.Exec(ctx, c.tamper); err != nil {
				t.Fatal(err)
			}
			err = m.verify(ctx, &rep)
			if err == nil || !strings.Contains(err.Error(), "verify "+c.table) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("verify after %s: %v, want an error on %s saying %q", c.name, err, c.table, c.want)
			}
		})
	}
}

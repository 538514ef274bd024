package store

import (
	"context"
	"strings"
)

// searchColumns is the search document of a lead: everything /leads?q=
// and MCP's search_leads look in, one column of the search index each
// (migration 019's leads_fts has these names in this order;
// TestSearchColumnsAreTheIndexColumns holds them together). SQL reads the
// column from a leads row l, in SQLite; the PostgreSQL port searches the
// same fields with pg_trgm. To search one more field, add it here, to the
// index's columns and to the leads_search_change trigger's.
var searchColumns = []struct{ Name, SQL string }{
	{"name", "l.name"},
	{"email", "l.email"},
	{"phone", "l.phone"}, // E.164; matchQuery also looks for a text's digits here
	{"source", "l.source"},
	// The first enquiry and the latest, as the lead's summary shows them: an
	// agent remembers what the person asked when they got in touch or last
	// wrote. Messages in between are on the lead's page only: indexing every
	// submission's message would rewrite a longer document at each new one.
	{"message", "CASE WHEN l.last_message = l.message THEN l.message ELSE l.message || char(10) || l.last_message END"},
	// The custom fields' values ("Wells Fargo", "$650k"), not their names.
	{"custom", "(SELECT group_concat(f.value ->> 1, char(10)) FROM json_each(l.custom) f)"},
}

// indexQueuedLeads brings the search index up to date with the leads
// written in the transaction (queued by triggers, see migrations 012 and
// 019): their old words out, their current ones in, in one statement each.
// The writer runs it last in every transaction, so that FTS5 writes one
// segment per transaction rather than one per lead.
func indexQueuedLeads(ctx context.Context, tx writeTx) error {
	for _, q := range indexQueueSQL {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

var indexQueueSQL = func() []string {
	names, values := make([]string, len(searchColumns)), make([]string, len(searchColumns))
	for i, c := range searchColumns {
		names[i], values[i] = c.Name, c.SQL
	}
	return []string{
		`DELETE FROM leads_fts WHERE rowid IN (SELECT team_id << 40 | lead_id FROM leads_fts_queue WHERE indexed)`,
		`INSERT INTO leads_fts (rowid, ` + strings.Join(names, ", ") + `)
			SELECT l.team_id << 40 | l.id, ` + strings.Join(values, ", ") + `
			FROM leads_fts_queue q JOIN leads l ON l.id = q.lead_id ORDER BY q.lead_id`,
		`DELETE FROM leads_fts_queue`,
	}
}()

package store

import "context"

// indexQueuedLeads brings the search index up to date with the leads
// written in the transaction (queued by triggers, see migration 012):
// their old words out, their current ones in, in one statement each. The
// writer runs it last in every transaction, so that FTS5 writes one
// segment per transaction rather than one per lead.
func indexQueuedLeads(ctx context.Context, tx writeTx) error {
	for _, q := range indexQueueSQL {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

var indexQueueSQL = []string{
	`INSERT INTO leads_fts (leads_fts, rowid, name, email, phone, source)
		SELECT 'delete', team_id << 40 | lead_id, name, email, phone, source FROM leads_fts_queue WHERE indexed`,
	`INSERT INTO leads_fts (rowid, name, email, phone, source)
		SELECT l.team_id << 40 | l.id, l.name, l.email, l.phone, l.source
		FROM leads_fts_queue q JOIN leads l ON l.id = q.lead_id ORDER BY q.lead_id`,
	`DELETE FROM leads_fts_queue`,
}

-- The lead list's Hot and Tests filters, and search over messages and
-- custom fields.

-- Hot: three or more visits in the last 7 days. hot_until is when that
-- stops being true unless the person comes back: the start of the lead's
-- third latest visit plus 7 days (0 when it has fewer than three, or is a
-- test lead, which is never hot). A lead is hot while now < hot_until, so
-- the hot leads are one range of leads_team_hot from now up, whatever the
-- time. The triggers below recompute it whenever its inputs change: a visit
-- starts, a visitor is tied to a lead or untied, a test lead becomes real.
-- The same expression is written four times below (a trigger cannot call
-- a function); store.HotVisits and store.HotWindow say 3 and 604800 s.
ALTER TABLE leads ADD COLUMN hot_until INTEGER NOT NULL DEFAULT 0;
UPDATE leads SET hot_until = coalesce((SELECT s.at + 604800
        FROM visitors v INDEXED BY visitors_lead CROSS JOIN visit_starts s ON s.visitor_id = v.id AND s.team_id = v.team_id
        WHERE v.lead_id = leads.id AND v.team_id = leads.team_id ORDER BY s.at DESC LIMIT 1 OFFSET 2), 0)
    WHERE NOT is_test AND id IN (SELECT lead_id FROM visitors WHERE lead_id IS NOT NULL);
-- Ordered by hot_until first: the hot leads are sorted by latest activity
-- when read, and they are few (each has had three visits this week). The
-- leads that were never hot are left out.
CREATE INDEX leads_team_hot ON leads(team_id, hot_until, last_activity_at, id) WHERE hot_until > 0;

CREATE TRIGGER visit_starts_hot AFTER INSERT ON visit_starts BEGIN
    UPDATE leads SET hot_until = CASE WHEN is_test THEN 0 ELSE coalesce((SELECT s.at + 604800
            FROM visitors v INDEXED BY visitors_lead CROSS JOIN visit_starts s ON s.visitor_id = v.id AND s.team_id = v.team_id
            WHERE v.lead_id = leads.id AND v.team_id = leads.team_id ORDER BY s.at DESC LIMIT 1 OFFSET 2), 0) END
        WHERE id = (SELECT lead_id FROM visitors WHERE id = new.visitor_id) AND team_id = new.team_id;
END;

-- An upsert's DO UPDATE fires this too.
CREATE TRIGGER visitors_lead_hot AFTER UPDATE OF lead_id ON visitors WHEN old.lead_id IS NOT new.lead_id BEGIN
    UPDATE leads SET hot_until = CASE WHEN is_test THEN 0 ELSE coalesce((SELECT s.at + 604800
            FROM visitors v INDEXED BY visitors_lead CROSS JOIN visit_starts s ON s.visitor_id = v.id AND s.team_id = v.team_id
            WHERE v.lead_id = leads.id AND v.team_id = leads.team_id ORDER BY s.at DESC LIMIT 1 OFFSET 2), 0) END
        WHERE id IN (old.lead_id, new.lead_id) AND team_id = new.team_id;
END;

CREATE TRIGGER leads_made_real_hot AFTER UPDATE OF is_test ON leads WHEN old.is_test AND NOT new.is_test BEGIN
    UPDATE leads SET hot_until = coalesce((SELECT s.at + 604800
            FROM visitors v INDEXED BY visitors_lead CROSS JOIN visit_starts s ON s.visitor_id = v.id AND s.team_id = v.team_id
            WHERE v.lead_id = leads.id AND v.team_id = leads.team_id ORDER BY s.at DESC LIMIT 1 OFFSET 2), 0)
        WHERE id = new.id;
END;

-- Tests: the team's test leads in the list's order (the count of them
-- reads this index too). "is_test = 1", not "is_test": an equality in the
-- index's condition tells SQLite the column's value, so the index covers.
DROP INDEX leads_team_test;
CREATE INDEX leads_team_test_activity ON leads(team_id, last_activity_at DESC, id DESC) WHERE is_test = 1;

-- Search: the index of migration 012 gains the lead's messages and its
-- custom fields' values. Which fields, and how each is read from a lead,
-- is store.searchColumns: the columns here are its names, in its order.
-- contentless_delete: a lead's words leave the index by its rowid, so the
-- queue need not keep the words the index holds (it costs a row of column
-- sizes per lead, which FTS5 then requires).
DROP TABLE leads_fts;
CREATE VIRTUAL TABLE leads_fts USING fts5(name, email, phone, source, message, custom,
    content = '', contentless_delete = 1, tokenize = 'trigram remove_diacritics 1');

DROP TRIGGER leads_search_change;
DROP TRIGGER leads_delete;
DROP TABLE leads_fts_queue;
-- indexed = 1: the index holds words for the lead, to be deleted first.
CREATE TABLE leads_fts_queue (
    lead_id INTEGER PRIMARY KEY,
    team_id INTEGER NOT NULL,
    indexed INTEGER NOT NULL
);

CREATE TRIGGER leads_search_change AFTER UPDATE OF name, email, phone, source, message, last_message, custom ON leads
    WHEN old.name IS NOT new.name OR old.email IS NOT new.email OR old.phone IS NOT new.phone OR old.source IS NOT new.source
        OR old.message IS NOT new.message OR old.last_message IS NOT new.last_message OR old.custom IS NOT new.custom BEGIN
    INSERT OR IGNORE INTO leads_fts_queue (lead_id, team_id, indexed) VALUES (old.id, old.team_id, 1);
END;

CREATE TRIGGER leads_delete AFTER DELETE ON leads BEGIN
    UPDATE teams SET lead_count = lead_count - 1 WHERE id = old.team_id;
    UPDATE lead_days SET leads = leads - 1
        WHERE team_id = old.team_id AND day = old.created_at / 86400 AND source = old.source AND NOT old.is_test;
    INSERT OR IGNORE INTO leads_fts_queue (lead_id, team_id, indexed) VALUES (old.id, old.team_id, 1);
END;

-- Every lead joins the new index when the store opens the database
-- (store.OpenWith drains the queue), with the words store.searchColumns
-- makes of it.
INSERT INTO leads_fts_queue (lead_id, team_id, indexed) SELECT id, team_id, 0 FROM leads;

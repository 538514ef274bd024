-- Reads that stay fast at a million leads: what a page or tool would
-- otherwise count or search across a whole team is kept up to date by
-- triggers, so every path that writes a lead keeps it without knowing.

-- A visitor's page views in time order: the latest views, the views of a
-- period and the last one are ranges of this index (rowid breaks ties
-- within a second), whatever the planner knows about the tables.
DROP INDEX page_views_visitor;
CREATE INDEX page_views_visitor_time ON page_views(visitor_id, created_at);

-- How many leads each team has, for the pipeline's page count.
ALTER TABLE teams ADD COLUMN lead_count INTEGER NOT NULL DEFAULT 0;
UPDATE teams SET lead_count = (SELECT count(*) FROM leads WHERE leads.team_id = teams.id);

-- New leads per team, UTC day (days since 1970-01-01) and source, for
-- pipeline_summary. A lead counts under its current source.
CREATE TABLE lead_days (
    team_id INTEGER NOT NULL REFERENCES teams(id),
    day     INTEGER NOT NULL,
    source  TEXT    NOT NULL,
    leads   INTEGER NOT NULL,
    PRIMARY KEY (team_id, day, source)
) WITHOUT ROWID;
INSERT INTO lead_days (team_id, day, source, leads)
    SELECT team_id, created_at / 86400, source, count(*) FROM leads GROUP BY 1, 2, 3;

-- Search: trigrams of name, email, phone and source, so any part of three
-- characters or more is an index lookup (case and accents ignored). The
-- rowid is the team in the high bits and the lead id in the low 40, so a
-- team's matches are one rowid range, newest first, and a search in a small
-- team never walks a big team's matches. Contentless: the words are in
-- leads already; a change deletes with the old values.
CREATE VIRTUAL TABLE leads_fts USING fts5(name, email, phone, source,
    content = '', columnsize = 0, tokenize = 'trigram remove_diacritics 1');
INSERT INTO leads_fts (rowid, name, email, phone, source)
    SELECT (team_id << 40) | id, name, email, phone, source FROM leads;

-- Leads written in a transaction wait here, and join the search index in
-- one statement at its end (store.indexQueuedLeads). FTS5 writes what it
-- holds in memory to disk whenever a statement opens a savepoint, which
-- nearly every later statement of the transaction does: written lead by
-- lead, the index grew by a segment per lead and ingest slowed eightfold.
-- indexed = 1: the index holds the words in the row for the lead.
CREATE TABLE leads_fts_queue (
    lead_id INTEGER PRIMARY KEY,
    team_id INTEGER NOT NULL,
    indexed INTEGER NOT NULL,
    name    TEXT,
    email   TEXT,
    phone   TEXT,
    source  TEXT
);

CREATE TRIGGER leads_insert AFTER INSERT ON leads BEGIN
    UPDATE teams SET lead_count = lead_count + 1 WHERE id = new.team_id;
    INSERT INTO lead_days (team_id, day, source, leads) VALUES (new.team_id, new.created_at / 86400, new.source, 1)
        ON CONFLICT DO UPDATE SET leads = leads + 1;
    INSERT OR IGNORE INTO leads_fts_queue (lead_id, team_id, indexed) VALUES (new.id, new.team_id, 0);
END;

CREATE TRIGGER leads_source_change AFTER UPDATE OF source ON leads WHEN old.source IS NOT new.source BEGIN
    UPDATE lead_days SET leads = leads - 1 WHERE team_id = old.team_id AND day = old.created_at / 86400 AND source = old.source;
    INSERT INTO lead_days (team_id, day, source, leads) VALUES (new.team_id, new.created_at / 86400, new.source, 1)
        ON CONFLICT DO UPDATE SET leads = leads + 1;
END;

-- The first change in a transaction keeps the words the index holds.
CREATE TRIGGER leads_search_change AFTER UPDATE OF name, email, phone, source ON leads
    WHEN old.name IS NOT new.name OR old.email IS NOT new.email OR old.phone IS NOT new.phone OR old.source IS NOT new.source BEGIN
    INSERT OR IGNORE INTO leads_fts_queue (lead_id, team_id, indexed, name, email, phone, source)
        VALUES (old.id, old.team_id, 1, old.name, old.email, old.phone, old.source);
END;

CREATE TRIGGER leads_delete AFTER DELETE ON leads BEGIN
    UPDATE teams SET lead_count = lead_count - 1 WHERE id = old.team_id;
    UPDATE lead_days SET leads = leads - 1 WHERE team_id = old.team_id AND day = old.created_at / 86400 AND source = old.source;
    INSERT OR IGNORE INTO leads_fts_queue (lead_id, team_id, indexed, name, email, phone, source)
        VALUES (old.id, old.team_id, 1, old.name, old.email, old.phone, old.source);
END;

-- Visits: a page view starts one when its visitor viewed nothing in the 30
-- minutes before it (store.VisitGap). The starts are recorded as views
-- arrive, so a lead's visits are counted without reading its page views.
-- A view that arrives later than views made after it (clocks do not go
-- back often) counts as it would have when it arrived.
CREATE TABLE visit_starts (
    visitor_id INTEGER NOT NULL REFERENCES visitors(id),
    at         INTEGER NOT NULL,
    team_id    INTEGER NOT NULL REFERENCES teams(id),
    PRIMARY KEY (visitor_id, at)
) WITHOUT ROWID;
INSERT INTO visit_starts (visitor_id, at, team_id)
    SELECT visitor_id, created_at, team_id FROM (SELECT visitor_id, created_at, team_id,
        coalesce(created_at - lag(created_at) OVER (PARTITION BY visitor_id ORDER BY created_at, id) >= 1800, 1) AS starts
        FROM page_views)
    WHERE starts;

CREATE TRIGGER page_views_insert AFTER INSERT ON page_views
    WHEN NOT EXISTS (SELECT 1 FROM page_views INDEXED BY page_views_visitor_time
        WHERE visitor_id = new.visitor_id AND created_at > new.created_at - 1800 AND created_at <= new.created_at AND id <> new.id) BEGIN
    INSERT OR IGNORE INTO visit_starts (visitor_id, at, team_id) VALUES (new.visitor_id, new.created_at, new.team_id);
END;

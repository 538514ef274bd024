-- Key rotation, expiry, usage and test leads. Times are Unix seconds (UTC).

-- A key may expire: a date chosen when it is generated, or a grace period
-- given to a key being replaced. An expired key is refused like a revoked one.
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
-- The lifetime chosen at generation (30, 90 or 365 days; 0 for none): a
-- rotation gives the replacement the same.
ALTER TABLE api_keys ADD COLUMN lifetime_days INTEGER NOT NULL DEFAULT 0;
-- Rotation: the old key names the key that replaces it.
ALTER TABLE api_keys ADD COLUMN replaced_by INTEGER REFERENCES api_keys(id);
-- Where the last request with the key came from: the site's host (and
-- page, when the browser said), or '' for a server.
ALTER TABLE api_keys ADD COLUMN last_used_from TEXT NOT NULL DEFAULT '';
-- The first request that was not a Closr test (what it did, from where),
-- and the latest test.
ALTER TABLE api_keys ADD COLUMN first_used_at INTEGER;
ALTER TABLE api_keys ADD COLUMN first_used_kind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN first_used_from TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN tested_at INTEGER;
-- When the owner and admins were emailed that the key expires within a week.
ALTER TABLE api_keys ADD COLUMN expiry_notice_at INTEGER;
CREATE INDEX api_keys_expiring ON api_keys(expires_at)
    WHERE revoked_at IS NULL AND expiry_notice_at IS NULL AND expires_at IS NOT NULL;
-- The Revoked keys list: a team's keys that ended (revoked or expired).
CREATE INDEX api_keys_team_ended ON api_keys(team_id, coalesce(revoked_at, expires_at))
    WHERE revoked_at IS NOT NULL OR expires_at IS NOT NULL;

-- The team's audit trail learns rotation, renaming and expiry: detail holds
-- the old label (renamed) or the replacement's (rotated), until when a key
-- was set to expire. A CHECK cannot be altered: the table is rebuilt.
CREATE TABLE team_events_new (
    id         INTEGER PRIMARY KEY,
    team_id    INTEGER NOT NULL REFERENCES teams(id),
    at         INTEGER NOT NULL,
    actor_id   INTEGER NOT NULL REFERENCES agents(id),
    action     TEXT    NOT NULL CHECK (action IN ('invited', 'invitation_cancelled', 'joined', 'role_changed',
                   'ownership_transferred', 'removed', 'left', 'key_generated', 'key_revoked',
                   'key_rotated', 'key_renamed', 'key_expiry_set')),
    subject_id INTEGER REFERENCES agents(id),
    key_id     INTEGER REFERENCES api_keys(id),
    email      TEXT    NOT NULL DEFAULT '',
    role       TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    until      INTEGER
);
INSERT INTO team_events_new (id, team_id, at, actor_id, action, subject_id, key_id, email, role)
    SELECT id, team_id, at, actor_id, action, subject_id, key_id, email, role FROM team_events;
DROP TABLE team_events;
ALTER TABLE team_events_new RENAME TO team_events;
CREATE INDEX team_events_team ON team_events(team_id, id);

-- What each key did, per UTC day (days since 1970-01-01), kept 31 days.
-- Counted in memory and written about once a second, never per request.
CREATE TABLE key_usage (
    key_id          INTEGER NOT NULL REFERENCES api_keys(id),
    day             INTEGER NOT NULL,
    team_id         INTEGER NOT NULL REFERENCES teams(id),
    leads_created   INTEGER NOT NULL DEFAULT 0,
    leads_updated   INTEGER NOT NULL DEFAULT 0,
    page_views      INTEGER NOT NULL DEFAULT 0,
    mcp_calls       INTEGER NOT NULL DEFAULT 0,
    refused_origin  INTEGER NOT NULL DEFAULT 0,
    refused_rate    INTEGER NOT NULL DEFAULT 0,
    refused_revoked INTEGER NOT NULL DEFAULT 0, -- made with the key after it was revoked or expired
    PRIMARY KEY (key_id, day)
) WITHOUT ROWID;
CREATE INDEX key_usage_team ON key_usage(team_id, day);

-- Each key's latest requests (at most 50 a key, pruned as they are added):
-- no body, no visitor's address.
CREATE TABLE key_requests (
    id       INTEGER PRIMARY KEY,
    key_id   INTEGER NOT NULL REFERENCES api_keys(id),
    team_id  INTEGER NOT NULL REFERENCES teams(id),
    at       INTEGER NOT NULL,
    endpoint TEXT    NOT NULL,
    kind     INTEGER NOT NULL, -- store.UseKind
    status   INTEGER NOT NULL,
    origin   TEXT    NOT NULL DEFAULT '', -- '' for a server
    test     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX key_requests_key ON key_requests(key_id, id);

-- Leads sent by Closr's own test buttons: shown with a Test badge, left out
-- of counts, Hot and the pipeline summary, and removable. A real submission
-- for the same person makes the lead a real one.
ALTER TABLE leads ADD COLUMN is_test INTEGER NOT NULL DEFAULT 0;
CREATE INDEX leads_team_test ON leads(team_id) WHERE is_test;

-- Test leads stay out of the pipeline summary: the per-day counts of
-- migration 012 skip them, and take a lead in once a real submission makes
-- it real (under its source then). The lead count keeps every lead, so the
-- pipeline's pages still add up; the page says how many are tests.
DROP TRIGGER leads_insert;
CREATE TRIGGER leads_insert AFTER INSERT ON leads BEGIN
    UPDATE teams SET lead_count = lead_count + 1 WHERE id = new.team_id;
    INSERT INTO lead_days (team_id, day, source, leads) SELECT new.team_id, new.created_at / 86400, new.source, 1 WHERE NOT new.is_test
        ON CONFLICT DO UPDATE SET leads = leads + 1;
    INSERT OR IGNORE INTO leads_fts_queue (lead_id, team_id, indexed) VALUES (new.id, new.team_id, 0);
END;

DROP TRIGGER leads_source_change;
CREATE TRIGGER leads_source_change AFTER UPDATE OF source ON leads
    WHEN old.source IS NOT new.source AND NOT old.is_test AND NOT new.is_test BEGIN
    UPDATE lead_days SET leads = leads - 1 WHERE team_id = old.team_id AND day = old.created_at / 86400 AND source = old.source;
    INSERT INTO lead_days (team_id, day, source, leads) VALUES (new.team_id, new.created_at / 86400, new.source, 1)
        ON CONFLICT DO UPDATE SET leads = leads + 1;
END;

CREATE TRIGGER leads_made_real AFTER UPDATE OF is_test ON leads WHEN old.is_test AND NOT new.is_test BEGIN
    INSERT INTO lead_days (team_id, day, source, leads) VALUES (new.team_id, new.created_at / 86400, new.source, 1)
        ON CONFLICT DO UPDATE SET leads = leads + 1;
END;

DROP TRIGGER leads_delete;
CREATE TRIGGER leads_delete AFTER DELETE ON leads BEGIN
    UPDATE teams SET lead_count = lead_count - 1 WHERE id = old.team_id;
    UPDATE lead_days SET leads = leads - 1
        WHERE team_id = old.team_id AND day = old.created_at / 86400 AND source = old.source AND NOT old.is_test;
    INSERT OR IGNORE INTO leads_fts_queue (lead_id, team_id, indexed, name, email, phone, source)
        VALUES (old.id, old.team_id, 1, old.name, old.email, old.phone, old.source);
END;

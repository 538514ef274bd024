-- Leads and every submission that created or updated one. A lead is one
-- person per team: email (lower-cased) and E.164 phone are unique per team.
CREATE TABLE leads (
    id         INTEGER PRIMARY KEY,
    team_id    INTEGER NOT NULL REFERENCES teams(id),
    name       TEXT    NOT NULL DEFAULT '',
    email      TEXT    NOT NULL DEFAULT '',
    phone      TEXT    NOT NULL DEFAULT '',
    message    TEXT    NOT NULL DEFAULT '',
    source     TEXT    NOT NULL DEFAULT '',
    custom     TEXT    NOT NULL DEFAULT '[]', -- JSON [[name, value], ...], latest value wins
    key_id     INTEGER REFERENCES api_keys(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX leads_team_email ON leads(team_id, email) WHERE email <> '';
CREATE UNIQUE INDEX leads_team_phone ON leads(team_id, phone) WHERE phone <> '';
CREATE INDEX leads_team_recent ON leads(team_id, id DESC);

CREATE TABLE submissions (
    id           INTEGER PRIMARY KEY,
    team_id      INTEGER NOT NULL REFERENCES teams(id),
    lead_id      INTEGER NOT NULL REFERENCES leads(id),
    key_id       INTEGER REFERENCES api_keys(id),
    source       TEXT    NOT NULL DEFAULT '',
    content_type TEXT    NOT NULL DEFAULT '',
    raw          BLOB    NOT NULL,
    fields       TEXT    NOT NULL DEFAULT '[]', -- JSON [[name, value], ...] as parsed
    created_at   INTEGER NOT NULL
);
CREATE INDEX submissions_lead ON submissions(lead_id, id);

-- Idempotency-Key records, kept 24 hours (Stripe's semantics).
CREATE TABLE idempotency_keys (
    team_id    INTEGER NOT NULL REFERENCES teams(id),
    key        TEXT    NOT NULL,
    body_hash  BLOB    NOT NULL,
    lead_id    INTEGER NOT NULL REFERENCES leads(id),
    created    INTEGER NOT NULL, -- 1 when the first answer was "created"
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_age ON idempotency_keys(created_at);

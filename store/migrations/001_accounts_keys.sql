-- Accounts, sessions and API keys. Times are Unix seconds (UTC).
CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    team_id       INTEGER NOT NULL REFERENCES teams(id),
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash BLOB    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX agents_team ON agents(team_id);

-- The cookie carries the session token; only its SHA-256 is kept here.
CREATE TABLE web_sessions (
    hash       BLOB    PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_agent ON web_sessions(agent_id);

-- Secrets generated on first start and kept with the data (session keys).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    team_id      INTEGER NOT NULL REFERENCES teams(id),
    hash         BLOB    NOT NULL UNIQUE,
    preview      TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    access       TEXT    NOT NULL DEFAULT 'intake' CHECK (access IN ('intake', 'mcp')),
    created_by   INTEGER NOT NULL REFERENCES agents(id),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    revoked_by   INTEGER REFERENCES agents(id)
);
CREATE INDEX api_keys_team_active ON api_keys(team_id) WHERE revoked_at IS NULL;

-- The audit trail of who generated and who revoked which key.
CREATE TABLE key_events (
    id       INTEGER PRIMARY KEY,
    team_id  INTEGER NOT NULL REFERENCES teams(id),
    key_id   INTEGER NOT NULL REFERENCES api_keys(id),
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    action   TEXT    NOT NULL CHECK (action IN ('generated', 'revoked')),
    at       INTEGER NOT NULL
);
CREATE INDEX key_events_team ON key_events(team_id, id DESC);

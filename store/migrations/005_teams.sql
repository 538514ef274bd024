-- Teams: roles, time zones, removed agents, invitations, and the team's
-- audit trail, which takes over the key audit trail. Times are Unix seconds.

-- Until now every agent made their own team, so every agent is its owner.
ALTER TABLE agents ADD COLUMN role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('owner', 'admin', 'agent'));
UPDATE agents SET role = 'owner';
-- An IANA name, taken from the browser at sign-up.
ALTER TABLE agents ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
-- A removed agent (or one who left) keeps the row, so their name stays on
-- what they created and on the audit trail; removed_by = id means they left.
ALTER TABLE agents ADD COLUMN removed_at INTEGER;
ALTER TABLE agents ADD COLUMN removed_by INTEGER REFERENCES agents(id);
-- At most one owner per team; a transfer swaps the two roles in one
-- transaction, so there is always exactly one.
CREATE UNIQUE INDEX agents_one_owner ON agents(team_id) WHERE role = 'owner';

-- The link's token is shown once; only its SHA-256 is kept.
CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY,
    team_id      INTEGER NOT NULL REFERENCES teams(id),
    hash         BLOB    NOT NULL UNIQUE,
    email        TEXT    NOT NULL COLLATE NOCASE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'agent')),
    invited_by   INTEGER NOT NULL REFERENCES agents(id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    used_by      INTEGER REFERENCES agents(id),
    cancelled_at INTEGER,
    cancelled_by INTEGER REFERENCES agents(id)
);
CREATE INDEX invitations_team_open ON invitations(team_id, email) WHERE used_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX invitations_inviter_open ON invitations(invited_by) WHERE used_at IS NULL AND cancelled_at IS NULL;

-- Who did what on the team, and to whom or which key.
CREATE TABLE team_events (
    id         INTEGER PRIMARY KEY,
    team_id    INTEGER NOT NULL REFERENCES teams(id),
    at         INTEGER NOT NULL,
    actor_id   INTEGER NOT NULL REFERENCES agents(id),
    action     TEXT    NOT NULL CHECK (action IN ('invited', 'invitation_cancelled', 'joined', 'role_changed',
                   'ownership_transferred', 'removed', 'left', 'key_generated', 'key_revoked')),
    subject_id INTEGER REFERENCES agents(id),
    key_id     INTEGER REFERENCES api_keys(id),
    email      TEXT    NOT NULL DEFAULT '', -- the invited or removed member's email
    role       TEXT    NOT NULL DEFAULT ''  -- the role invited as, joined as or changed to
);
-- Pages of the trail, filtered or not, walk this index newest first.
CREATE INDEX team_events_team ON team_events(team_id, id);

INSERT INTO team_events (team_id, at, actor_id, action, key_id)
    SELECT team_id, at, agent_id, 'key_' || action, key_id FROM key_events ORDER BY id;
DROP TABLE key_events;

-- The web tracker: visitors (one per browser id per team), their page views,
-- and the domains a team allows events from.
CREATE TABLE visitors (
    id         INTEGER PRIMARY KEY,
    team_id    INTEGER NOT NULL REFERENCES teams(id),
    vid        TEXT    NOT NULL, -- the random id t.js keeps in a cookie
    lead_id    INTEGER REFERENCES leads(id),
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    UNIQUE (team_id, vid)
);
CREATE INDEX visitors_lead ON visitors(lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX visitors_team_recent ON visitors(team_id, last_seen DESC);

CREATE TABLE page_views (
    id           INTEGER PRIMARY KEY,
    team_id      INTEGER NOT NULL REFERENCES teams(id),
    visitor_id   INTEGER NOT NULL REFERENCES visitors(id),
    key_id       INTEGER REFERENCES api_keys(id),
    url          TEXT    NOT NULL,
    title        TEXT    NOT NULL DEFAULT '',
    referrer     TEXT    NOT NULL DEFAULT '',
    utm_source   TEXT    NOT NULL DEFAULT '',
    utm_medium   TEXT    NOT NULL DEFAULT '',
    utm_campaign TEXT    NOT NULL DEFAULT '',
    utm_term     TEXT    NOT NULL DEFAULT '',
    utm_content  TEXT    NOT NULL DEFAULT '',
    clsr         TEXT    NOT NULL DEFAULT '',
    screen_width INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);
CREATE INDEX page_views_visitor ON page_views(visitor_id, id);
CREATE INDEX page_views_team_recent ON page_views(team_id, created_at);

CREATE TABLE tracked_domains (
    id         INTEGER PRIMARY KEY,
    team_id    INTEGER NOT NULL REFERENCES teams(id),
    domain     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (team_id, domain)
);

-- Tracked links: a page of the agent's site with a clsr token for one
-- lead. Only the token's SHA-256 is kept. Opening the link (a page view
-- whose URL carries the token) ties the visitor to the lead, unless the
-- link was opened by too many different visitors (forwarded): then it is
-- flagged and strangers are not merged into the lead.
CREATE TABLE tracked_links (
    id             INTEGER PRIMARY KEY,
    team_id        INTEGER NOT NULL REFERENCES teams(id),
    lead_id        INTEGER NOT NULL REFERENCES leads(id),
    token_hash     BLOB    NOT NULL UNIQUE,
    url            TEXT    NOT NULL, -- the page, without the token
    created_by     INTEGER REFERENCES agents(id),   -- made on the lead page
    key_id         INTEGER REFERENCES api_keys(id), -- or through MCP
    created_at     INTEGER NOT NULL,
    opens          INTEGER NOT NULL DEFAULT 0,
    last_opened_at INTEGER,
    title          TEXT    NOT NULL DEFAULT '', -- the page's title when first opened
    flagged_at     INTEGER -- opened by too many visitors: not linking any more
);
CREATE INDEX tracked_links_lead ON tracked_links(lead_id, id DESC);

-- Which visitors opened which link, and when first.
CREATE TABLE tracked_link_opens (
    link_id    INTEGER NOT NULL REFERENCES tracked_links(id),
    visitor_id INTEGER NOT NULL REFERENCES visitors(id),
    first_at   INTEGER NOT NULL,
    PRIMARY KEY (link_id, visitor_id)
) WITHOUT ROWID;

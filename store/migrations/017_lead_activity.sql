-- The agent's day: the pipeline is read by latest activity. A lead's
-- last_activity_at moves on every submission and when one of its visitors
-- comes back to the site; last_message is its latest submission's message
-- (message stays the first one, since a merge only fills blanks), and each
-- submission keeps the message intake read from it, for the lead's history.
ALTER TABLE leads ADD COLUMN last_activity_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN last_message TEXT NOT NULL DEFAULT '';
ALTER TABLE submissions ADD COLUMN message TEXT NOT NULL DEFAULT '';

-- Existing leads: their latest submission or page view. The message of
-- older submissions was not kept apart from their fields: a lead with one
-- submission has its message; a lead with several shows its first message
-- as the latest until the next one comes.
UPDATE leads SET last_message = message, last_activity_at = max(updated_at, coalesce(
    (SELECT max(p.created_at) FROM visitors v JOIN page_views p ON p.visitor_id = v.id AND p.team_id = v.team_id
     WHERE v.lead_id = leads.id AND v.team_id = leads.team_id), 0));
UPDATE submissions SET message = (SELECT l.message FROM leads l WHERE l.id = submissions.lead_id)
    WHERE lead_id IN (SELECT lead_id FROM submissions GROUP BY lead_id HAVING count(*) = 1);

-- Pages of the pipeline walk this index, latest activity first.
CREATE INDEX leads_team_activity ON leads(team_id, last_activity_at DESC, id DESC);

-- The pipeline's filters, each a range of an index in the list's order
-- (latest activity first), so a filtered page costs what an unfiltered
-- one does. Leads that need contact details are few: the index holds only
-- them.
CREATE INDEX leads_team_source_activity ON leads(team_id, source, last_activity_at DESC, id DESC);
CREATE INDEX leads_team_needs_contact ON leads(team_id, last_activity_at DESC, id DESC) WHERE email = '' AND phone = '';

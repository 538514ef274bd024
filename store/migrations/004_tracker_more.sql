-- The tracker, continued: an identify call for a person who is not a lead
-- yet leaves their email or phone on the visitor, so the lead that arrives
-- later with that email or phone picks the visitor up.
ALTER TABLE visitors ADD COLUMN email TEXT NOT NULL DEFAULT ''; -- lower-cased
ALTER TABLE visitors ADD COLUMN phone TEXT NOT NULL DEFAULT ''; -- E.164
CREATE INDEX visitors_pending_email ON visitors(team_id, email) WHERE lead_id IS NULL AND email <> '';
CREATE INDEX visitors_pending_phone ON visitors(team_id, phone) WHERE lead_id IS NULL AND phone <> '';
CREATE INDEX visitors_team_anonymous ON visitors(team_id, last_seen DESC) WHERE lead_id IS NULL;

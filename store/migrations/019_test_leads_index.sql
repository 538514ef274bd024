-- The test leads' index in a form PostgreSQL shares (its integers are not
-- truth values): the query names this very term.
DROP INDEX leads_team_test;
CREATE INDEX leads_team_test ON leads(team_id) WHERE is_test <> 0;

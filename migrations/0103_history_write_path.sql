-- The write path of a scan's results (issue 7: persist 50,000 results in under 1 s).
--
-- finding_changes_by_scan was read by no query (results are found by finding and result sequence),
-- yet every change row paid for it.
DROP INDEX finding_changes_by_scan;

-- The foreign key finding_changes → findings checked every change row with a lookup of its own,
-- although the only writer inserts a finding and its first change in one transaction. The
-- cascade it gave (delete a finding, its changes go) is kept by one statement-level trigger that
-- deletes the changes of all findings a statement removed at once (a purged cluster included).
ALTER TABLE finding_changes DROP CONSTRAINT finding_changes_finding_id_fkey;

CREATE FUNCTION palisade_findings_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM finding_changes ch USING gone WHERE ch.finding_id = gone.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER findings_deleted_cascade
    AFTER DELETE ON findings REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_findings_deleted();

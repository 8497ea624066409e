"""Migration 2 of the server's schema: limits on what a reader's role can make the server keep
or tell.

- **Conflicts, one row per local row, and a cap per reader.** A reader's role could make the
  server store a conflict row for every differing resend, without end. From version 2,
  ``knee.conflicts`` holds at most one row per (study, reader, local id): a later differing
  resend of that row adds one to its ``repeats`` (and sets ``last_detected_at``), nothing else
  is stored. A reader with ``knee.limits.conflicts_per_reader`` (1000 by default; the
  administrator may change it) conflict rows gets no more: the insert is refused with
  ``program_limit_exceeded`` (SQLSTATE 54000) and a sentence naming the reader. Rows kept by
  version 1 are folded into one per key (their number in ``repeats``).
- **``knee.may_write`` answers only about the caller.** Row-level security policies run with
  the querying role's rights, so a reader's role must be able to execute it; in version 1 it
  could also ask about any role and so learn which role is registered for which reader. From
  version 2 it is false unless ``who`` is the session's own login role.
- Functions the schema's owner creates later are not executable by PUBLIC unless granted.
"""

from __future__ import annotations

#: The most conflict rows the server keeps per reader of a study (``knee.limits``).
CONFLICTS_PER_READER = 1000

V2 = rf"""
ALTER DEFAULT PRIVILEGES IN SCHEMA knee REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

CREATE TABLE knee.limits (
    name text PRIMARY KEY, value integer NOT NULL CHECK (value >= 0), note text NOT NULL);
INSERT INTO knee.limits VALUES ('conflicts_per_reader', {CONFLICTS_PER_READER},
    'conflict rows kept per reader of a study; further differing rows are refused');
GRANT SELECT ON knee.limits TO knee_coordinator;

ALTER TABLE knee.conflicts
    ADD COLUMN repeats integer NOT NULL DEFAULT 0 CHECK (repeats >= 0),
    ADD COLUMN last_detected_at timestamptz;
UPDATE knee.conflicts c SET repeats = d.n - 1, last_detected_at = d.last
    FROM (SELECT min(id) AS id, count(*) AS n, max(detected_at) AS last FROM knee.conflicts
          GROUP BY study_id, reader_id, local_id HAVING count(*) > 1) d
    WHERE c.id = d.id;
DELETE FROM knee.conflicts c USING knee.conflicts k
    WHERE c.study_id = k.study_id AND c.reader_id = k.reader_id AND c.local_id = k.local_id AND c.id > k.id;
ALTER TABLE knee.conflicts ADD CONSTRAINT conflicts_one_per_row UNIQUE (study_id, reader_id, local_id);

-- every conflict row is written by the audit/headers triggers (as the owner); this one keeps
-- one row per key and refuses more than the reader's cap
CREATE FUNCTION knee.conflicts_before_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kept bigint; cap integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('knee-conflicts'), hashtext(NEW.study_id || '/' || NEW.reader_id));
    UPDATE knee.conflicts SET repeats = repeats + 1, last_detected_at = now()
        WHERE study_id = NEW.study_id AND reader_id = NEW.reader_id AND local_id = NEW.local_id;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    SELECT count(*) INTO kept FROM knee.conflicts WHERE study_id = NEW.study_id AND reader_id = NEW.reader_id;
    SELECT l.value INTO cap FROM knee.limits l WHERE l.name = 'conflicts_per_reader';
    IF kept >= coalesce(cap, {CONFLICTS_PER_READER}) THEN
        RAISE EXCEPTION 'reader % of study % already has % conflicting rows on the server (the limit); '
            'local row % was refused and not recorded', NEW.reader_id, NEW.study_id, kept, NEW.local_id
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'the coordinator should find out which copy of this reader''s file is sending them';
    END IF;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION knee.conflicts_before_insert() FROM PUBLIC;
CREATE TRIGGER conflicts_before_insert BEFORE INSERT ON knee.conflicts
    FOR EACH ROW EXECUTE FUNCTION knee.conflicts_before_insert();

CREATE OR REPLACE FUNCTION knee.may_write(study text, reader text, who name) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT who = session_user AND (
        EXISTS (SELECT 1 FROM knee.readers r WHERE r.study_id = study AND r.reader_id = reader
                AND r.role_name = who)
        OR EXISTS (SELECT 1 FROM pg_roles WHERE rolname = who AND rolsuper)) $$;
"""

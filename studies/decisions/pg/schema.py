"""The server's schema, versioned: roles, tables, row-level security and the chain trigger.

``knee-study server init`` applies every migration not yet recorded in
``knee.schema_migrations``, in one transaction under an advisory lock, so running it again
(or twice at once) changes nothing. Roles (cluster-wide, NOLOGIN):

- ``knee_owner`` owns the schema, its tables and functions; nobody logs in as it;
- ``knee_reader``: each reader's LOGIN role is a member; it may INSERT rows of its own reader
  id into its own studies and SELECT those rows back (row-level security), on ``audit`` and
  ``headers`` only; no UPDATE, DELETE, TRUNCATE, no DDL, no other table;
- ``knee_coordinator``: SELECT on everything.

Tables: ``studies`` (id, key hash, pair counts), ``readers`` (which login role writes which
reader id), ``headers`` (each reader file's header and reading order, exactly the genesis
input of its local chain), ``audit`` (each reader's local rows, as written locally, plus the
server's own ``seq``, ``server_ts``, ``prev_hash`` and ``hash``), ``chain_heads`` (each
study's last server row), ``conflicts`` (rows refused because the server already held a
different one under that key; from version 2 one row per key and a cap per reader, see
:mod:`studies.decisions.pg.schema_v2`), ``limits`` (version 2: that cap).

The BEFORE INSERT trigger on ``audit`` (SECURITY DEFINER, run as the owner) locks the study's
chain head, so concurrent inserts serialise; it refuses a row the caller may not write, a row
whose local hash does not match its content, or one that does not continue the reader's
local chain; it turns a resend of a stored row into a no-op and records a different row under
a stored key as a conflict (never overwriting); otherwise it numbers the row, stamps it with
``now()`` and extends the study's server chain::

    hash = sha256_hex(prev_hash \\n study_id \\n seq \\n server_ts \\n reader_id \\n local_id \\n local_hash)

starting from ``sha256_hex("knee-decisions-server" \\n study_id \\n key_sha256)``.
"""

from __future__ import annotations

from studies.decisions.pg.schema_v2 import V2

SCHEMA = "knee"
OWNER, READER_GROUP, COORDINATOR_GROUP = "knee_owner", "knee_reader", "knee_coordinator"
SERVER_GENESIS_TAG = "knee-decisions-server"

#: Cluster-wide roles, created when missing. Two databases of one cluster may run ``server init``
#: at the same moment (the advisory lock is per database): a role the other one has just
#: created is then taken as it is.
ROLES_SQL = """
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['knee_owner', 'knee_reader', 'knee_coordinator'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- created meanwhile by a server init on another database of this cluster
      END;
    END IF;
  END LOOP;
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT pg_has_role(current_user, 'knee_owner', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT knee_owner TO %I', current_user);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END $$;
"""

_V1 = r"""
CREATE TABLE knee.studies (
    study_id text PRIMARY KEY CHECK (study_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    key_sha256 text NOT NULL CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
    n_pairs integer NOT NULL CHECK (n_pairs >= 0),
    n_scored integer NOT NULL CHECK (n_scored >= 0),
    registered_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE knee.readers (
    study_id text NOT NULL REFERENCES knee.studies,
    reader_id text NOT NULL CHECK (reader_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    role_name name NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study_id, reader_id), UNIQUE (study_id, role_name));
CREATE TABLE knee.chain_heads (
    study_id text PRIMARY KEY REFERENCES knee.studies, seq bigint NOT NULL, head text NOT NULL);
CREATE TABLE knee.headers (
    study_id text NOT NULL, reader_id text NOT NULL,
    header_json text NOT NULL, genesis text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study_id, reader_id), FOREIGN KEY (study_id, reader_id) REFERENCES knee.readers);
CREATE TABLE knee.audit (
    study_id text NOT NULL, seq bigint NOT NULL, server_ts text NOT NULL,
    reader_id text NOT NULL, local_id integer NOT NULL CHECK (local_id >= 1),
    local_ts text NOT NULL CHECK (local_ts ~ '^[0-9T:.+-]{19,40}$'),
    kind text NOT NULL CHECK (kind IN ('session_start','session_stop','decision','answer_change','flag')),
    payload_json text NOT NULL CHECK (length(payload_json) <= 200000),
    local_prev_hash text NOT NULL, local_hash text NOT NULL,
    prev_hash text NOT NULL, hash text NOT NULL UNIQUE,
    PRIMARY KEY (study_id, seq), UNIQUE (study_id, reader_id, local_id),
    FOREIGN KEY (study_id, reader_id) REFERENCES knee.headers);
CREATE TABLE knee.conflicts (
    id bigserial PRIMARY KEY, study_id text NOT NULL, reader_id text NOT NULL,
    local_id integer NOT NULL, stored_hash text NOT NULL, incoming_hash text NOT NULL,
    incoming_json text NOT NULL, by_role name NOT NULL DEFAULT session_user,
    detected_at timestamptz NOT NULL DEFAULT now());

CREATE FUNCTION knee.sha256_hex(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp AS $$ SELECT encode(sha256(convert_to(t, 'UTF8')), 'hex') $$;

-- may `who` write (and read) rows of `reader` in `study`? Definer rights: readers cannot read the table.
CREATE FUNCTION knee.may_write(study text, reader text, who name) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM knee.readers r WHERE r.study_id = study AND r.reader_id = reader
                   AND r.role_name = who)
        OR EXISTS (SELECT 1 FROM pg_roles WHERE rolname = who AND rolsuper) $$;

CREATE FUNCTION knee.headers_before_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb; stored text; key text;
BEGIN
    IF NOT knee.may_write(NEW.study_id, NEW.reader_id, session_user) THEN
        RAISE EXCEPTION 'role % may not write reader % of study %', session_user, NEW.reader_id, NEW.study_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    doc := NEW.header_json::jsonb;
    SELECT s.key_sha256 INTO key FROM knee.studies s WHERE s.study_id = NEW.study_id;
    IF doc->'meta'->>'study_id' IS DISTINCT FROM NEW.study_id
       OR doc->'meta'->>'reader_id' IS DISTINCT FROM NEW.reader_id
       OR doc->'meta'->>'key_sha256' IS DISTINCT FROM key THEN
        RAISE EXCEPTION 'the header names another study, reader or key than %/% on this server',
            NEW.study_id, NEW.reader_id USING ERRCODE = 'check_violation';
    END IF;
    NEW.genesis := knee.sha256_hex(NEW.header_json);
    NEW.received_at := now();
    SELECT h.genesis INTO stored FROM knee.headers h
        WHERE h.study_id = NEW.study_id AND h.reader_id = NEW.reader_id;
    IF FOUND THEN
        IF stored <> NEW.genesis THEN
            INSERT INTO knee.conflicts (study_id, reader_id, local_id, stored_hash, incoming_hash, incoming_json)
            VALUES (NEW.study_id, NEW.reader_id, 0, stored, NEW.genesis, NEW.header_json);
        END IF;
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION knee.audit_before_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    chain record; stored text; last_id integer; last_hash text; expected text;
BEGIN
    IF NOT knee.may_write(NEW.study_id, NEW.reader_id, session_user) THEN
        RAISE EXCEPTION 'role % may not write reader % of study %', session_user, NEW.reader_id, NEW.study_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- one writer at a time per study: the chain head row is the study's lock
    SELECT c.seq, c.head INTO chain FROM knee.chain_heads c WHERE c.study_id = NEW.study_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'study % is not registered on this server', NEW.study_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    expected := knee.sha256_hex(NEW.local_prev_hash || '{"id":' || NEW.local_id || ',"kind":"' || NEW.kind
                || '","payload":' || NEW.payload_json || ',"ts":"' || NEW.local_ts || '"}');
    IF expected <> NEW.local_hash THEN
        RAISE EXCEPTION 'row % of reader %: its hash does not match its content', NEW.local_id, NEW.reader_id
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT a.local_hash INTO stored FROM knee.audit a
        WHERE a.study_id = NEW.study_id AND a.reader_id = NEW.reader_id AND a.local_id = NEW.local_id;
    IF FOUND THEN  -- a resend: nothing to do; a different row: kept aside, never overwritten
        IF stored <> NEW.local_hash THEN
            INSERT INTO knee.conflicts (study_id, reader_id, local_id, stored_hash, incoming_hash, incoming_json)
            VALUES (NEW.study_id, NEW.reader_id, NEW.local_id, stored, NEW.local_hash,
                    json_build_object('ts', NEW.local_ts, 'kind', NEW.kind, 'payload', NEW.payload_json::json)::text);
        END IF;
        RETURN NULL;
    END IF;
    SELECT a.local_id, a.local_hash INTO last_id, last_hash FROM knee.audit a
        WHERE a.study_id = NEW.study_id AND a.reader_id = NEW.reader_id ORDER BY a.local_id DESC LIMIT 1;
    IF last_id IS NULL THEN
        SELECT h.genesis INTO last_hash FROM knee.headers h
            WHERE h.study_id = NEW.study_id AND h.reader_id = NEW.reader_id;
        last_id := 0;
    END IF;
    IF NEW.local_id <> last_id + 1 OR NEW.local_prev_hash IS DISTINCT FROM last_hash THEN
        RAISE EXCEPTION 'row % of reader % does not continue the reader''s chain on the server (last row %)',
            NEW.local_id, NEW.reader_id, last_id USING ERRCODE = 'check_violation';
    END IF;
    NEW.seq := chain.seq + 1;
    NEW.server_ts := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"');
    NEW.prev_hash := chain.head;
    NEW.hash := knee.sha256_hex(NEW.prev_hash || E'\n' || NEW.study_id || E'\n' || NEW.seq || E'\n'
                || NEW.server_ts || E'\n' || NEW.reader_id || E'\n' || NEW.local_id || E'\n' || NEW.local_hash);
    UPDATE knee.chain_heads SET seq = NEW.seq, head = NEW.hash WHERE study_id = NEW.study_id;
    RETURN NEW;
END $$;

CREATE TRIGGER headers_before_insert BEFORE INSERT ON knee.headers
    FOR EACH ROW EXECUTE FUNCTION knee.headers_before_insert();
CREATE TRIGGER audit_before_insert BEFORE INSERT ON knee.audit
    FOR EACH ROW EXECUTE FUNCTION knee.audit_before_insert();

ALTER TABLE knee.headers ENABLE ROW LEVEL SECURITY;
ALTER TABLE knee.audit ENABLE ROW LEVEL SECURITY;
CREATE POLICY reader_insert ON knee.headers FOR INSERT TO knee_reader
    WITH CHECK (knee.may_write(study_id, reader_id, current_user));
CREATE POLICY reader_select ON knee.headers FOR SELECT TO knee_reader
    USING (knee.may_write(study_id, reader_id, current_user));
CREATE POLICY coordinator_select ON knee.headers FOR SELECT TO knee_coordinator USING (true);
CREATE POLICY reader_insert ON knee.audit FOR INSERT TO knee_reader
    WITH CHECK (knee.may_write(study_id, reader_id, current_user));
CREATE POLICY reader_select ON knee.audit FOR SELECT TO knee_reader
    USING (knee.may_write(study_id, reader_id, current_user));
CREATE POLICY coordinator_select ON knee.audit FOR SELECT TO knee_coordinator USING (true);

REVOKE ALL ON ALL TABLES IN SCHEMA knee FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA knee FROM PUBLIC;
GRANT USAGE ON SCHEMA knee TO knee_reader, knee_coordinator;
GRANT SELECT, INSERT ON knee.headers, knee.audit TO knee_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA knee TO knee_coordinator;
GRANT EXECUTE ON FUNCTION knee.may_write(text, text, name) TO knee_reader, knee_coordinator;
"""

#: (version, description, SQL), applied in order; never edit one that has shipped: add another.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "studies, readers, headers, audit with its chain trigger, row-level security", _V1),
    (2, "one conflict row per local row, a cap per reader; may_write answers only about the caller", V2),
)

#: The schema version this code writes and reads.
SCHEMA_VERSION = MIGRATIONS[-1][0]


def migrate(conn) -> list[int]:
    """Apply the migrations ``conn``'s database lacks; return the versions applied (empty when
    up to date). ``conn``: an autocommit psycopg connection of a role that may create roles
    and schemas (the database's owner or an administrator)."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('knee-decisions-schema'))")
        conn.execute(ROLES_SQL)
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA} AUTHORIZATION {OWNER}")
        conn.execute(f"SET LOCAL ROLE {OWNER}")
        conn.execute(f"REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations (version integer PRIMARY KEY, "
            "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        done = {v for (v,) in conn.execute(f"SELECT version FROM {SCHEMA}.schema_migrations")}
        for version, description, sql in MIGRATIONS:
            if version in done:
                continue
            conn.execute(sql)
            conn.execute(f"INSERT INTO {SCHEMA}.schema_migrations (version, description) VALUES (%s, %s)",
                         (version, description))
            applied.append(version)
        conn.execute(f"GRANT SELECT ON {SCHEMA}.schema_migrations TO {COORDINATOR_GROUP}, {READER_GROUP}")
    return applied


def schema_version(conn) -> int | None:
    """The newest migration applied to ``conn``'s database (None when ``server init`` never ran)."""
    row = conn.execute("SELECT to_regclass('knee.schema_migrations') IS NOT NULL").fetchone()
    if not row[0]:
        return None
    return conn.execute(f"SELECT max(version) FROM {SCHEMA}.schema_migrations").fetchone()[0]

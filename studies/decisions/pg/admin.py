"""The coordinator's side of the server: register studies and readers, show progress.

Run by an administrator of the database (a role that may create roles), through
``knee-study server init | add-study | add-reader | add-coordinator | status``. A reader's
login role is created with a generated password that is sent to the server only as a
SCRAM-SHA-256 verifier (computed here), so it never appears in the server's statement log;
the password itself goes into a PGPASSFILE line, in a file only its owner can read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from studies.decisions.pg.connect import ServerAddress, ServerError
from studies.decisions.pg.schema import (
    COORDINATOR_GROUP,
    READER_GROUP,
    SCHEMA_VERSION,
    SERVER_GENESIS_TAG,
    schema_version,
)
from studies.package import Manifest, check_reader_id

_ROLE_CHARS = re.compile(r"[^a-z0-9_]")


def scram_verifier(password: str, *, iterations: int = 4096, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677)."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def server_genesis(study_id: str, key_sha256: str) -> str:
    """The first ``prev_hash`` of a study's server chain."""
    return hashlib.sha256(f"{SERVER_GENESIS_TAG}\n{study_id}\n{key_sha256}".encode()).hexdigest()


def role_name_for(study_id: str, reader_id: str) -> str:
    """``knee_<study>_<reader>`` in lower case (PostgreSQL's 63-byte limit kept by a hash)."""
    name = _ROLE_CHARS.sub("_", f"knee_{study_id}_{reader_id}".lower())
    if len(name) > 63:
        name = name[:50] + "_" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return name


def require_schema(conn) -> None:
    """Raise :class:`ServerError` unless the server's schema is this code's version."""
    version = schema_version(conn)
    if version is None:
        raise ServerError("the decisions server has no knee schema yet: run 'knee-study server init --store URL'")
    if version != SCHEMA_VERSION:
        raise ServerError(f"the decisions server's schema is version {version}, this software uses "
                          f"{SCHEMA_VERSION}: run 'knee-study server init' with the newer of the two")


def add_study(conn, manifest: Manifest) -> bool:
    """Register ``manifest``'s study (id, key hash, pair counts); False if it already was.

    Raises :class:`ServerError` when the server holds that study id with another key hash."""
    require_schema(conn)
    with conn.transaction():
        row = conn.execute("SELECT key_sha256 FROM knee.studies WHERE study_id = %s", (manifest.study_id,)).fetchone()
        if row:
            if row[0] != manifest.key_sha256:
                raise ServerError(f"study {manifest.study_id} is registered with another key hash "
                                  f"({row[0][:16]}); a rebuilt study needs a new study id")
            return False
        conn.execute("INSERT INTO knee.studies (study_id, key_sha256, n_pairs, n_scored) VALUES (%s, %s, %s, %s)",
                     (manifest.study_id, manifest.key_sha256, len(manifest.all_pairs()), len(manifest.pairs)))
        conn.execute("INSERT INTO knee.chain_heads (study_id, seq, head) VALUES (%s, 0, %s)",
                     (manifest.study_id, server_genesis(manifest.study_id, manifest.key_sha256)))
    return True


@dataclass(frozen=True)
class Credentials:
    """A new login role and where its password was written (``pgpass``: a 0600 file)."""

    role: str
    pgpass: Path
    line_host: str


def _pgpass_line(address: ServerAddress, role: str, password: str) -> tuple[str, str]:
    host = address.params.get("host", "") or "localhost"
    esc = lambda s: s.replace("\\", "\\\\").replace(":", "\\:")  # noqa: E731
    port = address.params.get("port", "5432")
    return f"{esc(host)}:{port}:{esc(address.params.get('dbname', '*'))}:{role}:{esc(password)}\n", host


def _create_login(conn, address: ServerAddress, role: str, group: str, out: Path) -> Credentials:
    from psycopg import sql

    if out.exists():
        raise ServerError(f"{out} exists already; move it away or pass another --out folder")
    password = secrets.token_urlsafe(24)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    stmt = "ALTER ROLE {} LOGIN PASSWORD {}" if exists else "CREATE ROLE {} LOGIN PASSWORD {}"
    conn.execute(sql.SQL(stmt).format(sql.Identifier(role), sql.Literal(scram_verifier(password))))
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(role)))
    line, host = _pgpass_line(address, role, password)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(line)
    return Credentials(role, out, host)


def add_reader(conn, address: ServerAddress, study_id: str, reader_id: str, out: Path) -> Credentials:
    """Create (or give a new password to) ``reader_id``'s login role for ``study_id``; write its
    PGPASSFILE line to ``out`` (mode 0600, refused when it exists)."""
    check_reader_id(reader_id)
    require_schema(conn)
    role = role_name_for(study_id, reader_id)
    with conn.transaction():
        if not conn.execute("SELECT 1 FROM knee.studies WHERE study_id = %s", (study_id,)).fetchone():
            raise ServerError(f"study {study_id} is not registered: run 'knee-study server add-study' first")
        creds = _create_login(conn, address, role, READER_GROUP, out)
        conn.execute("INSERT INTO knee.readers (study_id, reader_id, role_name) VALUES (%s, %s, %s) "
                     "ON CONFLICT DO NOTHING", (study_id, reader_id, role))
    return creds


def add_coordinator(conn, address: ServerAddress, name: str, out: Path) -> Credentials:
    """Create a login role that reads every study (``knee_coordinator``), password to ``out``."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
        raise ServerError(f"coordinator role name {name!r}: use lower-case letters, digits and '_'")
    require_schema(conn)
    with conn.transaction():
        return _create_login(conn, address, name, COORDINATOR_GROUP, out)


@dataclass(frozen=True)
class ReaderProgress:
    """One reader's record on the server: rows, scored final answers, last row's server time,
    conflicts refused."""

    study_id: str
    reader_id: str
    rows: int
    answered: int
    scored: int
    last_ts: str | None
    conflicts: int


def progress(conn, study_id: str | None = None) -> list[ReaderProgress]:
    """Per registered reader (of ``study_id``, or all): progress from the server's rows."""
    require_schema(conn)
    rows = conn.execute(
        """
        SELECT r.study_id, r.reader_id, s.n_scored,
            (SELECT count(*) FROM knee.audit a WHERE a.study_id = r.study_id AND a.reader_id = r.reader_id),
            (SELECT count(DISTINCT (a.payload_json::jsonb->>'pair_id', a.payload_json::jsonb->>'mode'))
               FROM knee.audit a WHERE a.study_id = r.study_id AND a.reader_id = r.reader_id
               AND a.kind IN ('decision', 'answer_change') AND a.payload_json::jsonb->>'phase' = 'final'
               AND NOT (a.payload_json::jsonb->>'practice')::boolean),
            (SELECT max(a.server_ts) FROM knee.audit a WHERE a.study_id = r.study_id AND a.reader_id = r.reader_id),
            (SELECT count(*) FROM knee.conflicts c WHERE c.study_id = r.study_id AND c.reader_id = r.reader_id)
        FROM knee.readers r JOIN knee.studies s USING (study_id)
        WHERE %(study)s::text IS NULL OR r.study_id = %(study)s
        ORDER BY r.study_id, r.reader_id
        """, {"study": study_id}).fetchall()
    return [ReaderProgress(sid, rid, int(n), int(ans), int(scored), ts, int(conf))
            for sid, rid, scored, n, ans, ts, conf in rows]


def studies(conn) -> list[tuple[str, str, int, int]]:
    """Registered studies: (study id, key hash, pairs with practice, scored pairs)."""
    require_schema(conn)
    return [tuple(r) for r in conn.execute(
        "SELECT study_id, key_sha256, n_pairs, n_scored FROM knee.studies ORDER BY study_id")]

"""The server's records as decisions files: one SQLite file per reader, as the app writes it.

Each reader's rows on the server are the rows of their local file (header, reading order,
local ids, times, payloads and hashes), so writing them back into the file format gives a
file that ``verify``, ``read_decisions``, ``export-decisions`` and ``analyze`` read through
the very code that reads a collected file, and whose results therefore equal the file-based
ones. What a role sees is what PostgreSQL lets it read: a reader gets their own file, the
coordinator every reader's.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from studies.decisions.pg.admin import require_schema, server_genesis
from studies.decisions.pg.connect import ServerError
from studies.decisions.store import SCHEMA


@dataclass(frozen=True)
class ServerRow:
    """One audit row as the server holds it (local part, then the server's own)."""

    reader_id: str
    local_id: int
    local_ts: str
    kind: str
    payload_json: str
    local_prev_hash: str
    local_hash: str
    seq: int
    server_ts: str
    prev_hash: str
    hash: str


def fetch_rows(conn, study_id: str) -> list[ServerRow]:
    """Every row of ``study_id`` this role may read, in server order."""
    return [ServerRow(*r) for r in conn.execute(
        "SELECT reader_id, local_id, local_ts, kind, payload_json, local_prev_hash, local_hash, seq, "
        "server_ts, prev_hash, hash FROM knee.audit WHERE study_id = %s ORDER BY seq", (study_id,))]


def fetch_headers(conn, study_id: str) -> dict[str, dict]:
    """Reader id -> the header document (``{"format", "meta", "order"}``) this role may read."""
    return {rid: json.loads(doc) for rid, doc in conn.execute(
        "SELECT reader_id, header_json FROM knee.headers WHERE study_id = %s ORDER BY reader_id", (study_id,))}


def write_reader_file(path: Path, header: dict, rows: list[ServerRow]) -> Path:
    """Write one reader's server record as a decisions file at ``path`` (must not exist)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for stmt in SCHEMA.split(";\n"):
            if stmt.strip():
                conn.execute(stmt)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(header["meta"].items()))
        conn.executemany("INSERT INTO pair_order VALUES (?, ?, ?, ?, ?)",
                         [(o["position"], o["pair_id"], o["left_case"], o["right_case"], int(o["practice"]))
                          for o in header["order"]])
        conn.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)",
                         [(r.local_id, r.local_ts, r.kind, r.payload_json, r.local_prev_hash, r.local_hash)
                          for r in sorted(rows, key=lambda r: r.local_id)])
        conn.execute("COMMIT")
    finally:
        conn.close()
    return path


def write_study_files(conn, study_id: str, folder: Path) -> list[Path]:
    """Every reader of ``study_id`` this role may read, as ``folder/<reader>.sqlite`` (sorted)."""
    require_schema(conn)
    if not conn.execute("SELECT has_table_privilege('knee.audit', 'SELECT')").fetchone()[0]:
        raise ServerError("this role may not read decisions on the server")
    with conn.transaction():  # one consistent view of headers and rows
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        headers = fetch_headers(conn, study_id)
        rows = fetch_rows(conn, study_id)
    by_reader: dict[str, list[ServerRow]] = {rid: [] for rid in headers}
    for r in rows:
        by_reader.setdefault(r.reader_id, []).append(r)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_reader_file(folder / f"{rid}.sqlite", headers[rid], by_reader[rid]) for rid in sorted(headers)]


def study_key_hash(conn, study_id: str) -> str | None:
    """The registered key hash of ``study_id`` (None if unknown or not readable by this role)."""
    try:
        row = conn.execute("SELECT key_sha256 FROM knee.studies WHERE study_id = %s", (study_id,)).fetchone()
    except Exception:  # noqa: BLE001 - a reader role may not read the studies table
        return None
    return row[0] if row else None


def verify_server_chain(rows: list[ServerRow], study_id: str, key_sha256: str) -> tuple[bool, str]:
    """Walk ``study_id``'s server chain (every row, in ``seq`` order, as the coordinator reads
    it); (intact?, a sentence)."""
    import hashlib

    prev = server_genesis(study_id, key_sha256)
    for n, r in enumerate(rows, start=1):
        if r.seq != n:
            return False, f"server row {n} is missing (next is {r.seq}): rows were deleted"
        if r.prev_hash != prev:
            return False, f"server row {n}: prev_hash does not match: the row before it was changed or removed"
        body = f"{prev}\n{study_id}\n{r.seq}\n{r.server_ts}\n{r.reader_id}\n{r.local_id}\n{r.local_hash}"
        if hashlib.sha256(body.encode()).hexdigest() != r.hash:
            return False, f"server row {n} (reader {r.reader_id}, local row {r.local_id}) was changed after it was written"
        prev = r.hash
    return True, f"intact: {len(rows)} rows, head {prev[:16]}"

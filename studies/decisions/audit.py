"""The audit chain of a decisions file: canonical rows, their hashes, and verification.

Every write to a decisions file is one row of the append-only ``audit`` table::

    id (1, 2, 3, ...)  ts (ISO-8601 UTC)  kind  payload_json  prev_hash  hash

``hash = sha256_hex(prev_hash + canonical_json({"id": id, "kind": kind, "payload": payload,
"ts": ts}))`` where :func:`canonical_json` sorts keys, uses no spaces and keeps non-ASCII
characters as UTF-8. The first row's ``prev_hash`` is the *genesis* hash, which covers the
file's header (the ``meta`` table: reader, study, key hash, seed) and the whole stored reading
order, so changing the header, the order, or any row, or deleting or inserting a row, breaks
the chain at a place :func:`verify_connection` reports. (Cutting rows off the end of the file
leaves a shorter valid chain: compare the ``head`` hash with one recorded earlier, for
instance in an export, to detect that.)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studies.errors import InputFileError
from studies.package_paths import READER_ID_PATTERN, safe_id_problem
from studies.schema_check import loads_strict

#: The kinds of audit rows.
KINDS: tuple[str, ...] = ("session_start", "session_stop", "decision", "answer_change", "flag")

FORMAT_NAME = "knee-decisions"
#: 2: decision payloads may carry ``measurements``; format 1 files are read as
#: they are (no measurements) and keep their version (their header is write-once).
FORMAT_VERSION = 2


def canonical_json(obj: Any) -> str:
    """One exact JSON text for ``obj``: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def genesis_hash(meta: dict[str, str], order: list[dict[str, Any]]) -> str:
    """The first row's ``prev_hash``: covers the header and the stored order.

    ``meta`` maps header keys to text values; ``order`` lists ``{"position", "pair_id",
    "left_case", "right_case", "practice"}`` in reading order.
    """
    return _sha256(canonical_json({"format": FORMAT_NAME, "meta": meta, "order": order}))


def row_hash(prev_hash: str, row_id: int, ts: str, kind: str, payload: dict[str, Any]) -> str:
    """The hash of one audit row (see the module docstring)."""
    body = canonical_json({"id": row_id, "kind": kind, "payload": payload, "ts": ts})
    return _sha256(prev_hash + body)


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying a decisions file's audit chain.

    ``rows``: audit rows read; ``broken_at``: the id of the first bad row (0 when the header
    or the stored order was changed), None when intact; ``reason``: a sentence; ``head``: the
    last row's hash (record it to detect a later truncation), None for an empty chain.
    """

    ok: bool
    rows: int
    broken_at: int | None
    reason: str
    head: str | None = None


def read_header(conn: sqlite3.Connection) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The ``meta`` table as a dict and the ``pair_order`` table as a list of dicts."""
    meta = {k: v for k, v in conn.execute("SELECT key, value FROM meta ORDER BY key")}
    order = [
        {"position": pos, "pair_id": pid, "left_case": lc, "right_case": rc, "practice": bool(pr)}
        for pos, pid, lc, rc, pr in conn.execute(
            "SELECT position, pair_id, left_case, right_case, practice FROM pair_order ORDER BY position"
        )
    ]
    return meta, order


def payload_problem(kind: str, payload: Any) -> str | None:
    """The first way ``payload`` breaks the declared schema of its ``kind`` (None when sound)."""
    from studies.schema_check import schema_problems
    from studies.schemas import PAYLOAD_SCHEMAS

    problems = schema_problems(payload, PAYLOAD_SCHEMAS[kind], "payload")
    return problems[0] if problems else None


def reader_id_of(meta: dict[str, str], path: str | Path) -> str:
    """The header's reader id, checked to be a safe file name (it names files when merging).

    Raises :class:`InputFileError` naming the file and the value when it is missing or unsafe.
    """
    rid = meta.get("reader_id")
    problem = safe_id_problem(rid, READER_ID_PATTERN)
    if problem is not None:
        raise InputFileError(
            path, f"the header's reader id {problem}", column="meta.reader_id", value=rid,
            hint="This is not a file written by knee-reader or simulate-reader; do not use it",
        )
    return rid  # type: ignore[return-value]


def verify_connection(conn: sqlite3.Connection) -> ChainReport:
    """Walk the whole chain of an open decisions database and report the first break."""
    meta, order = read_header(conn)
    if meta.get("format") != FORMAT_NAME:
        return ChainReport(False, 0, 0, "not a decisions file (its header names no knee-decisions format)")
    expected_prev = genesis_hash(meta, order)
    n = 0
    for row_id, ts, kind, payload_json, prev_hash, stored_hash in conn.execute(
        "SELECT id, ts, kind, payload_json, prev_hash, hash FROM audit ORDER BY id"
    ):
        n += 1
        if row_id != n:
            return ChainReport(False, n, row_id, f"row {n} is missing (the next row has id {row_id}): rows were deleted")
        if prev_hash != expected_prev:
            where = "the header or the stored reading order was changed" if n == 1 else "the previous row was changed or removed"
            return ChainReport(False, n, 0 if n == 1 else n, f"row {n}: prev_hash does not match: {where}")
        if kind not in KINDS:
            return ChainReport(False, n, n, f"row {n}: unknown kind {kind!r}")
        try:
            payload = loads_strict(payload_json)
        except (TypeError, ValueError, RecursionError):  # NaN, Infinity, bad JSON
            return ChainReport(False, n, n, f"row {n}: payload is not valid JSON")
        if (bad := payload_problem(kind, payload)) is not None:
            return ChainReport(False, n, n, f"row {n} ({kind}): {bad}")
        if canonical_json(payload) != payload_json:
            return ChainReport(False, n, n, f"row {n}: payload was rewritten (not in canonical form)")
        if row_hash(prev_hash, row_id, ts, kind, payload) != stored_hash:
            return ChainReport(False, n, n, f"row {n} ({kind} at {ts}) was changed after it was written")
        expected_prev = stored_hash
    head = expected_prev if n else None
    return ChainReport(True, n, None, f"intact: {n} rows", head)


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """Open a decisions file read-only (no lock, safe while a reader is writing to it).

    Nothing is created or changed next to the file, so this works on a read-only folder or
    mount and as a user without write rights: a file with no ``-wal`` beside it (closed
    cleanly, or copied alone) is opened ``immutable`` (SQLite then needs no ``-shm`` and
    takes no locks); a file whose ``-wal`` is there (its reader is reading, or was killed) is
    opened ``mode=ro``, which reads the committed rows in that ``-wal``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "decisions file not found", hint="Check the path")
    live = path.with_name(path.name + "-wal").exists()
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("" if live else "&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        hint = ("Its -wal file is there but the folder cannot be written: copy the .sqlite and "
                "its -wal file to a writable folder and open the copy") if live else None
        raise InputFileError(path, f"not a readable SQLite decisions file ({exc})", hint=hint) from exc
    missing = {"meta", "pair_order", "audit"} - tables
    if missing:
        conn.close()
        raise InputFileError(
            path, f"not a decisions file: tables {', '.join(sorted(missing))} are missing",
            hint="Pass a decisions/<reader>.sqlite file written by knee-reader or simulate-reader",
        )
    return conn


def verify_file(path: str | Path) -> ChainReport:
    """Verify the audit chain of the decisions file at ``path`` (read-only, no lock needed)."""
    conn = open_readonly(path)
    try:
        return verify_connection(conn)
    except sqlite3.DatabaseError as exc:
        return ChainReport(False, 0, 0, f"the file is damaged: {exc}")
    finally:
        conn.close()

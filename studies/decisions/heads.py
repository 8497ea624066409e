"""The coordinator's record of chain heads: what a hash chain cannot show on its own.

Anyone holding a decisions file can rewrite it and recompute every hash (the chain is plain
SHA-256, with no secret), cut rows off its end, or put back an older copy: each gives a chain
that verifies. What the coordinator saw earlier can still catch it. Each time decisions are
collected (``merge-decisions --key``, the coordinator's Collect) or analysed (``analyze``),
the number of audit rows of each reader's file and the hash of its last row are recorded in
``<key stem>.chain-heads.json`` beside the key (which readers never get). A later copy of
that reader's file must still have that row with that hash; otherwise it is refused as
*shorter* (rows cut off, or an older copy put back) or *rewritten below a recorded head*.

Rows appended after the last record, and a rewrite of a file never recorded, remain
undetectable without a store the reader cannot write to (see docs/decisions-format.md).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from studies.atomic import write_text_atomic
from studies.decisions.audit import open_readonly, read_header, reader_id_of
from studies.errors import InputFileError

FORMAT = "knee-decisions-heads"
SUFFIX = ".chain-heads.json"
MAX_BYTES = 16 << 20

_SCHEMA = {
    "type": "object",
    "required": ["format", "version", "readers"],
    "properties": {
        "format": {"const": FORMAT},
        "version": {"type": "integer", "enum": [1]},
        "study_id": {"type": "string", "maxLength": 64},
        "readers": {
            "type": "object",
            "maxProperties": 10_000,
            "additionalProperties": {
                "type": "object",
                "required": ["rows", "head"],
                "properties": {
                    "rows": {"type": "integer", "minimum": 1},
                    "head": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "recorded_at": {"type": "string", "maxLength": 40},
                    "file": {"type": "string", "maxLength": 300},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Head:
    """One file's state as read now: reader id, audit rows, hash of the last row."""

    path: Path
    reader_id: str
    rows: int
    head: str | None


def heads_path(key_path: str | Path) -> Path:
    """``<key folder>/<key stem>.chain-heads.json``."""
    key = Path(key_path)
    return key.with_name(key.stem + SUFFIX)


def load_heads(key_path: str | Path) -> dict:
    """The recorded heads (an empty record when there is none yet)."""
    from studies.schema_check import read_json_bounded, schema_problems

    path = heads_path(key_path)
    if not path.exists():
        return {"format": FORMAT, "version": 1, "readers": {}}
    data = read_json_bounded(path, "chain-heads record", max_bytes=MAX_BYTES)
    problems = schema_problems(data, _SCHEMA, path)
    if problems:
        raise InputFileError(path, "the chain-heads record is not valid:\n  " + "\n  ".join(problems),
                             hint="Restore it from a backup; without it, rollbacks cannot be detected")
    return data


def _read_head(path: Path, at_row: int | None) -> tuple[Head, str | None]:
    """The file's current head, and the hash of its row ``at_row`` (None if it has no such row)."""
    conn = open_readonly(path)
    try:
        meta, _ = read_header(conn)
        reader = reader_id_of(meta, path)
        rows, head = conn.execute("SELECT count(*), (SELECT hash FROM audit ORDER BY id DESC LIMIT 1) FROM audit").fetchone()
        at = None
        if at_row is not None:
            found = conn.execute("SELECT hash FROM audit WHERE id = ?", (at_row,)).fetchone()
            at = found[0] if found else None
    except sqlite3.DatabaseError as exc:
        raise InputFileError(path, f"the decisions file is damaged ({exc})") from exc
    finally:
        conn.close()
    return Head(path, reader, int(rows), head), at


def head_problem(path: str | Path, recorded: dict | None) -> str | None:
    """Why the file at ``path`` contradicts its ``recorded`` head (None when it agrees)."""
    if not recorded:
        return None
    n = int(recorded["rows"])
    now, at = _read_head(Path(path), n)
    when = recorded.get("recorded_at", "earlier")
    if now.rows < n:
        return (f"has {now.rows} audit rows, fewer than the {n} recorded on {when}: rows were cut "
                "off or an older copy was put back")
    if at != recorded["head"]:
        return (f"audit row {n} is not the one recorded on {when} (head {recorded['head'][:16]}): "
                "the file was rewritten below a recorded head")
    return None


def check_heads(key_path: str | Path, files: Iterable[str | Path]) -> list[str]:
    """Problems of ``files`` against the recorded heads, one sentence each."""
    readers = load_heads(key_path)["readers"]
    out = []
    for f in files:
        now, _ = _read_head(Path(f), None)
        if (bad := head_problem(f, readers.get(now.reader_id))) is not None:
            out.append(f"{f}: reader {now.reader_id}: {bad}")
    return out


def record_heads(key_path: str | Path, files: Iterable[str | Path], study_id: str = "") -> Path:
    """Record the current head of each file (call after :func:`check_heads` found nothing);
    a file with no rows yet, or fewer rows than recorded, leaves its record as it is."""
    data = load_heads(key_path)
    if study_id:
        data["study_id"] = study_id
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    for f in files:
        now, _ = _read_head(Path(f), None)
        old = data["readers"].get(now.reader_id)
        if now.head is None or (old and now.rows <= old["rows"]):
            continue
        data["readers"][now.reader_id] = {"rows": now.rows, "head": now.head,
                                          "recorded_at": stamp, "file": Path(f).name}
    path = heads_path(key_path)
    try:
        write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise InputFileError(path, f"cannot record the decisions files' chain heads ({exc})",
                             hint="Keep the key in a folder you can write to") from exc
    return path

"""Rewrite a decisions file as an attacker holding it would: change rows, then recompute
every hash so that the chain verifies again (the chain alone cannot tell).

Used by the tests of what the tools refuse even when the chain is "intact": unsafe reader ids,
another study's id, rollbacks and rewrites below a head recorded by the coordinator.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from studies.decisions.audit import canonical_json, genesis_hash, read_header, row_hash


def forge(path: str | Path, *, meta: dict[str, str] | None = None, keep_rows: int | None = None,
          payload_edit=None) -> None:
    """Change ``meta`` entries, keep only the first ``keep_rows`` audit rows, and apply
    ``payload_edit(row_id, kind, payload) -> payload`` (or ``(kind, payload)``) to each row;
    then rechain."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        for k, v in (meta or {}).items():
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (k, v))
        if keep_rows is not None:
            conn.execute("DELETE FROM audit WHERE id > ?", (keep_rows,))
        m, order = read_header(conn)
        prev = genesis_hash(m, order)
        rows = conn.execute("SELECT id, ts, kind, payload_json FROM audit ORDER BY id").fetchall()
        conn.execute("DELETE FROM audit")
        for row_id, ts, kind, payload_json in rows:
            payload = json.loads(payload_json)
            if payload_edit is not None:
                payload = payload_edit(row_id, kind, payload)
                if isinstance(payload, tuple):  # (new kind, new payload)
                    kind, payload = payload
            h = row_hash(prev, row_id, ts, kind, payload)
            conn.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)",
                         (row_id, ts, kind, canonical_json(payload), prev, h))
            prev = h
        conn.commit()
    finally:
        conn.close()

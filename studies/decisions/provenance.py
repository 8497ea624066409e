"""Who wrote a decisions file's answers: a person in the reader app, or ``simulate-reader``.

``simulate-reader`` marks each of its sessions ``"simulated": true`` in the audit trail's
``session_start`` rows (:meth:`studies.decisions.store.DecisionStore.session_start`), and
refuses a reader id under which a person has read. A file with any simulated session is
therefore a simulated reader's: its answers were drawn at random, its times are machine
times, and analysis marks it as such and leaves it out of pooled analyses.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from studies.decisions.audit import open_readonly
from studies.errors import InputFileError


def is_simulated(path: str | Path) -> bool:
    """Whether any reading session recorded in the decisions file ``path`` was simulated."""
    conn = open_readonly(path)
    try:
        rows = conn.execute("SELECT payload_json FROM audit WHERE kind = 'session_start'").fetchall()
    except sqlite3.DatabaseError as exc:
        raise InputFileError(path, f"the decisions file is damaged ({exc})",
                             hint="Run 'knee-study verify-decisions' on it") from exc
    finally:
        conn.close()
    try:
        return any(json.loads(p).get("simulated") is True for (p,) in rows)
    except (json.JSONDecodeError, AttributeError) as exc:
        raise InputFileError(path, f"a session_start row's payload_json is not a JSON object ({exc})",
                             hint="Run 'knee-study verify-decisions' on it") from exc

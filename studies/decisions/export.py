"""Reading decisions files back: one table per file, and the CSV export.

:func:`read_decisions` is what analysis uses (``knee-study analyze``, the coordinator view);
:func:`export_decisions` writes ``knee-study export-decisions``'s CSV.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from studies.atomic import write_text_atomic
from studies.decisions.audit import open_readonly, read_header, reader_id_of, verify_connection
from studies.decisions.ledger import PHASES, Ledger, to_iso
from studies.errors import InputFileError

if TYPE_CHECKING:  # pandas is imported when used, so the reader app starts fast
    import pandas as pd

#: Columns of :func:`read_decisions`.
DECISION_COLUMNS: tuple[str, ...] = (
    "reader", "pair_id", "case_left", "case_right", "chosen_case", "confidence", "mode", "ai_shown",
    "phase", "started_at", "decided_at", "active_seconds", "flagged", "flag_reason", "practice",
    "audit_ok", "n_measurements", "measurements",
)

#: Columns of the export CSV, in this order.
EXPORT_COLUMNS: tuple[str, ...] = (
    "reader", "pair_id", "case_left", "case_right", "chosen_case", "confidence", "mode", "ai_shown",
    "started_at", "decided_at", "active_seconds", "flagged", "audit_ok",
    # the reader's caliper measurements on the pair, as JSON (case, sequence, slice,
    # end points in voxels and mm, length_mm); "[]" when none (and for format-1 files)
    "n_measurements", "measurements",
)


def read_decisions(path: str | Path, *, phases: Iterable[str] = ("final",)) -> pd.DataFrame:
    """The current answers in a decisions file, one row per pair, mode and phase, in reading order.

    Columns are :data:`DECISION_COLUMNS`; times are epoch seconds (UTC); ``confidence`` is
    nullable (``Int64``). By default only ``final`` answers (the reader's answer, after the AI
    in sequential reading); pass ``phases=("first", "final")`` for the locked unaided answers
    too. Practice pairs are included with ``practice=True``: drop them before scoring.
    ``audit_ok`` is False for answers at or after the place where the audit chain breaks.
    Read-only; works while the reader is still writing to the file.
    """
    import pandas as pd

    phases = tuple(phases)
    for ph in phases:
        if ph not in PHASES:
            raise ValueError(f"phases must be among {PHASES}, got {ph!r}")
    path = Path(path)
    conn = open_readonly(path)
    try:
        conn.execute("BEGIN")  # one snapshot, even while the reader is writing
        meta, order = read_header(conn)
        report = verify_connection(conn)
        ledger = Ledger(reader_id_of(meta, path)).replay(
            conn.execute("SELECT id, kind, payload_json FROM audit ORDER BY id")
        )
    except (sqlite3.DatabaseError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise InputFileError(path, f"the decisions file is damaged ({exc})",
                             hint="Run 'knee-study verify-decisions' on it") from exc
    finally:
        conn.close()
    pos = {o["pair_id"]: o["position"] for o in order}
    rows = []
    for r in sorted(ledger.answers.values(),
                    key=lambda r: (pos.get(r.pair_id, 1 << 30), r.mode, PHASES.index(r.phase))):
        if r.phase not in phases:
            continue
        reasons = ledger.flags.get(r.pair_id, [])
        rows.append({
            "reader": r.reader, "pair_id": r.pair_id, "case_left": r.case_left,
            "case_right": r.case_right, "chosen_case": r.chosen_case, "confidence": r.confidence,
            "mode": r.mode, "ai_shown": r.ai_shown, "phase": r.phase, "started_at": r.started_at,
            "decided_at": r.decided_at, "active_seconds": r.active_seconds, "flagged": bool(reasons),
            "flag_reason": "; ".join(reasons), "practice": r.practice,
            "audit_ok": report.ok or (report.broken_at is not None and 0 < r.audit_id < report.broken_at),
            "n_measurements": len(r.measurements),
            "measurements": json.dumps(list(r.measurements), sort_keys=True, separators=(",", ":")),
        })
    df = pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
    df["confidence"] = df["confidence"].astype("Int64")
    for col in ("ai_shown", "flagged", "practice", "audit_ok"):
        df[col] = df[col].astype(bool)
    for col in ("started_at", "decided_at", "active_seconds"):
        df[col] = df[col].astype(float)
    return df


def export_decisions(paths: Iterable[str | Path], out: str | Path) -> pd.DataFrame:
    """Write the scored decisions of several readers' files to one CSV (atomically).

    One row per answer (a sequential reading gives two rows per pair: the unaided one with
    ``ai_shown`` False, then the final one), practice pairs left out, columns
    :data:`EXPORT_COLUMNS`, times as ISO-8601 UTC. Two files of the same reader are refused.
    Returns the table written.
    """
    import pandas as pd

    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no decisions files given")
    _check_not_a_decisions_file(Path(out), paths)
    frames = []
    seen: dict[str, Path] = {}
    for p in paths:
        df = read_decisions(p, phases=PHASES)
        reader = _reader_of(p)
        if reader in seen:
            raise InputFileError(
                p, f"reader '{reader}' also comes from {seen[reader]}; a reader's decisions must come from one file",
                hint="Merge the copies first (coordinator view), or pass only one of them")
        seen[reader] = p
        frames.append(df[~df["practice"]])
    table = pd.concat(frames, ignore_index=True)[list(EXPORT_COLUMNS)]
    table = table.copy()
    for col in ("started_at", "decided_at"):
        table[col] = [to_iso(t) for t in table[col]]
    from studies.spreadsheet_safe import safe_frame

    write_text_atomic(out, safe_frame(table).to_csv(index=False))
    return table


def _check_not_a_decisions_file(out: Path, inputs: list[Path]) -> None:
    """Refuse an ``out`` that is one of the inputs or any SQLite file: it is replaced
    without asking, and a decisions file is a reader's only record."""
    from studies.errors import OptionError

    is_input = out.exists() and any(out.resolve() == p.resolve() for p in inputs)
    try:
        with open(out, "rb") as fh:
            is_sqlite = fh.read(16) == b"SQLite format 3\0"
    except OSError:
        is_sqlite = False
    if is_input or is_sqlite:
        raise OptionError("out", "a CSV file path, not a decisions file (it would be replaced)", str(out))


def _reader_of(path: Path) -> str:
    conn = open_readonly(path)
    try:
        meta, _ = read_header(conn)
    finally:
        conn.close()
    return reader_id_of(meta, path)

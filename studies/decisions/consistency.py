"""What a decisions file must say if the store wrote it: rules checked against the manifest.

A rewritten file with recomputed hashes verifies (see ``docs/decisions-format.md``), but the
store never writes certain rows, so such rows betray an edit whatever the chain says:

- the seed and the stored reading order are the reader id's for this study (a changed
  ``reader_id`` shows), and the order is exactly the manifest's pairs, practice marked;
- each answer names its pair's two cases as stored (left, right) and chooses one of them;
- its ``practice`` flag is the pair's (a wrong answer cannot hide as practice);
- at most one ``decision`` row per pair, mode and phase (later answers are ``answer_change``);
- ``answer_change`` only where the manifest allows it, never for a locked phase's answer
  (sequential ``first``), and replacing the current answer of the same pair, mode and phase;
- only the phases of the answer's mode, ``ai_shown`` as the mode shows the AI in that phase
  (:mod:`studies.decisions.modes`: false in unaided mode and for ``first`` answers);
- an answer only after the answer of its mode's previous phase (sequential ``final`` after
  ``first``).

:func:`consistency_problems` lists every breach; ``analyze`` refuses a file with any.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from studies.decisions.audit import open_readonly, read_header
from studies.decisions.modes import get_mode, reading_modes
from studies.decisions.order import reader_order, reader_seed
from studies.package import Manifest

MAX_LISTED = 10


def consistency_problems(path: str | Path, manifest: Manifest) -> list[str]:
    """Every way the decisions file at ``path`` departs from what the store writes."""
    conn = open_readonly(path)
    try:
        meta, order = read_header(conn)
        rows = conn.execute(
            "SELECT id, kind, payload_json FROM audit WHERE kind IN ('decision', 'answer_change') ORDER BY id"
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        return [f"the file is damaged ({exc})"]
    finally:
        conn.close()
    out: list[str] = _order_problems(meta, order, manifest)
    stored = {o["pair_id"]: o for o in order}
    expected = {p.pair_id: p for p in manifest.all_pairs()}
    if set(stored) != set(expected):
        out.append("its stored reading order does not list exactly the manifest's pairs")
    for pid, o in stored.items():
        if pid in expected and (
            {o["left_case"], o["right_case"]} != set(expected[pid].cases)
            or o["practice"] != manifest.is_practice(pid)
        ):
            out.append(f"pair {pid}: its stored cases or practice mark differ from the manifest's")
    seen: dict[tuple[str, str, str], int] = {}
    for row_id, kind, payload_json in rows:
        out += _row_problems(row_id, kind, json.loads(payload_json), stored, manifest, seen)
    if len(out) > MAX_LISTED:
        out = [*out[:MAX_LISTED], f"... and {len(out) - MAX_LISTED} more"]
    return out


def _order_problems(meta: dict[str, str], order: list[dict], manifest: Manifest) -> list[str]:
    """The seed and the order follow from the study and reader ids: a changed reader id (or
    seed, or order) shows, unless everything was rebuilt for the new id."""
    rid = meta.get("reader_id", "")
    if meta.get("seed") != str(reader_seed(manifest.study_id, rid)):
        return [f"its seed is not reader {rid}'s: the reader id or the seed was changed"]
    try:
        expected = reader_order(manifest, rid, int(meta["seed"]))
    except (KeyError, ValueError):
        return ["its stored reading order cannot be reproduced from its header"]
    mine = [(o["pair_id"], o["left_case"], o["right_case"], o["practice"]) for o in order]
    if mine != [(o.pair_id, o.left_case, o.right_case, o.practice) for o in expected]:
        return [f"its stored reading order is not reader {rid}'s for this study"]
    return []


def _row_problems(row_id: int, kind: str, p: dict, stored: dict, manifest: Manifest,
                  seen: dict[tuple[str, str, str], int]) -> list[str]:
    where = f"audit row {row_id} ({kind}, pair {p['pair_id']})"
    o = stored.get(p["pair_id"])
    if o is None:
        return [f"{where}: the pair is not in the stored reading order"]
    out = []
    if (p["case_left"], p["case_right"]) != (o["left_case"], o["right_case"]):
        out.append(f"{where}: its cases are not the pair's as stored")
    if p["chosen_case"] not in (o["left_case"], o["right_case"]):
        out.append(f"{where}: the chosen case is not one of the pair's")
    if p["practice"] != o["practice"]:
        out.append(f"{where}: marked practice={p['practice']} on a pair whose practice mark is {o['practice']}")
    mode, phase = get_mode(p["mode"]), p["phase"]
    if p["ai_shown"] != mode.ai_shown(phase):
        out.append(f"{where}: ai_shown={p['ai_shown']} contradicts {p['mode']} mode, {phase} phase")
    if not mode.has_phase(phase):
        having = " or ".join(m.name for m in reading_modes() if m.has_phase(phase))
        out.append(f"{where}: a {phase} answer outside {having} reading")
    slot = (p["pair_id"], p["mode"], phase)
    if kind == "decision":
        if slot in seen:
            out.append(f"{where}: a second decision for the same pair, mode and phase "
                       f"(row {seen[slot]} holds the first; the store never writes this)")
        before = mode.previous(phase) if mode.has_phase(phase) else None
        if before is not None and (p["pair_id"], p["mode"], before.name) not in seen:
            out.append(f"{where}: a {phase} {p['mode']} answer before its {before.name} answer")
    else:
        if not manifest.allow_answer_change:
            out.append(f"{where}: an answer change in a study that does not allow them")
        if any(m.is_locked(phase) for m in reading_modes()):
            out.append(f"{where}: a change of a {p['mode']} {phase} answer, which can never change")
        if slot not in seen or p.get("replaces") != seen[slot]:
            out.append(f"{where}: replaces no earlier answer of this pair, mode and phase")
    seen[slot] = row_id
    return out

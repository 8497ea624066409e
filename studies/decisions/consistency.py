"""What a decisions file must say if the store wrote it: rules checked against the manifest.

A rewritten file with recomputed hashes verifies (see ``docs/decisions-format.md``), but the
store never writes certain rows, so such rows betray an edit whatever the chain says:

- the seed and the stored reading order are the reader id's for this study (a changed
  ``reader_id`` shows), and the order is exactly the manifest's pairs, practice marked;
- each answer names its pair's two cases as stored (left, right) and chooses one of them;
- its ``practice`` flag is the pair's (a wrong answer cannot hide as practice);
- at most one ``decision`` row per pair, mode and phase (later answers are ``answer_change``);
- ``answer_change`` only where the manifest allows it, never for a sequential ``first``
  answer, and replacing the current answer of the same pair, mode and phase;
- ``ai_shown`` false in unaided mode and for ``first`` answers, true otherwise;
- a sequential ``final`` answer only after its ``first`` answer.

:func:`consistency_problems` lists every breach; ``analyze`` refuses a file with any.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from studies.decisions.audit import open_readonly, read_header
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
    should_show = p["mode"] != "unaided" and p["phase"] != "first"
    if p["ai_shown"] != should_show:
        out.append(f"{where}: ai_shown={p['ai_shown']} contradicts {p['mode']} mode, {p['phase']} phase")
    if p["mode"] != "sequential" and p["phase"] == "first":
        out.append(f"{where}: a first answer outside sequential reading")
    slot = (p["pair_id"], p["mode"], p["phase"])
    if kind == "decision":
        if slot in seen:
            out.append(f"{where}: a second decision for the same pair, mode and phase "
                       f"(row {seen[slot]} holds the first; the store never writes this)")
        if p["mode"] == "sequential" and p["phase"] == "final" and (p["pair_id"], "sequential", "first") not in seen:
            out.append(f"{where}: a final sequential answer before its first answer")
    else:
        if not manifest.allow_answer_change:
            out.append(f"{where}: an answer change in a study that does not allow them")
        if p["phase"] == "first":
            out.append(f"{where}: a change of a sequential first answer, which can never change")
        if slot not in seen or p.get("replaces") != seen[slot]:
            out.append(f"{where}: replaces no earlier answer of this pair, mode and phase")
    seen[slot] = row_id
    return out

"""The current state of a decisions file, replayed from its audit rows.

The audit table is the only record (see :mod:`studies.decisions.audit`); this module turns its
rows back into the current answers and flags. The store keeps a :class:`Ledger` in memory as it
writes; :func:`studies.decisions.read_decisions` builds one from a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The phases of an answer (``first``: the locked unaided answer of sequential reading) are
# defined with the reading modes, whose phases they are; re-exported here.
from studies.decisions.modes import PHASES  # noqa: F401


def to_iso(t: float) -> str:
    """Epoch seconds -> ISO-8601 UTC text with microseconds (``2026-01-31T09:15:02.123456+00:00``)."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds")


def from_iso(s: str) -> float:
    """ISO-8601 text (with an offset) -> epoch seconds."""
    return datetime.fromisoformat(s).timestamp()


@dataclass(frozen=True)
class DecisionRow:
    """One committed answer (a ``decision`` or ``answer_change`` audit row).

    Times are epoch seconds (UTC); ``active_seconds`` is time spent on the pair in this phase
    with pauses excluded. ``audit_id`` is the audit row that holds it.
    """

    audit_id: int
    reader: str
    pair_id: str
    phase: str
    case_left: str
    case_right: str
    chosen_case: str
    confidence: int | None
    mode: str
    ai_shown: bool
    started_at: float
    decided_at: float
    active_seconds: float
    practice: bool
    kind: str = "decision"
    replaces: int | None = None
    #: Caliper measurements taken on the pair before answering (format 2; JSON-ready dicts:
    #: case, sequence, slice, p0_voxel, p1_voxel, p0_mm, p1_mm, length_mm). Not hashable.
    measurements: tuple[dict[str, Any], ...] = ()

    @property
    def chosen_side(self) -> str:
        return "left" if self.chosen_case == self.case_left else "right"

    def payload(self) -> dict[str, Any]:
        """The audit payload of this row (times as ISO text)."""
        d = {
            "pair_id": self.pair_id,
            "phase": self.phase,
            "case_left": self.case_left,
            "case_right": self.case_right,
            "chosen_case": self.chosen_case,
            "confidence": self.confidence,
            "mode": self.mode,
            "ai_shown": self.ai_shown,
            "started_at": to_iso(self.started_at),
            "decided_at": to_iso(self.decided_at),
            "active_seconds": self.active_seconds,
            "practice": self.practice,
        }
        if self.replaces is not None:
            d["replaces"] = self.replaces
        if self.measurements:
            d["measurements"] = [dict(m) for m in self.measurements]
        return d

    @classmethod
    def from_payload(cls, audit_id: int, reader: str, kind: str, p: dict[str, Any]) -> DecisionRow:
        return cls(
            audit_id=audit_id,
            reader=reader,
            pair_id=p["pair_id"],
            phase=p["phase"],
            case_left=p["case_left"],
            case_right=p["case_right"],
            chosen_case=p["chosen_case"],
            confidence=p.get("confidence"),
            mode=p["mode"],
            ai_shown=bool(p["ai_shown"]),
            started_at=from_iso(p["started_at"]),
            decided_at=from_iso(p["decided_at"]),
            active_seconds=float(p["active_seconds"]),
            practice=bool(p["practice"]),
            kind=kind,
            replaces=p.get("replaces"),
            measurements=tuple(dict(m) for m in p.get("measurements", ())),
        )


@dataclass
class Ledger:
    """Current answers keyed by ``(pair_id, mode, phase)`` and flags keyed by pair id."""

    reader: str
    answers: dict[tuple[str, str, str], DecisionRow] = field(default_factory=dict)
    flags: dict[str, list[str]] = field(default_factory=dict)
    history: list[DecisionRow] = field(default_factory=list)

    def apply(self, audit_id: int, kind: str, payload: dict[str, Any]) -> DecisionRow | None:
        """Fold one audit row into the state; return the answer it recorded, if any."""
        if kind in ("decision", "answer_change"):
            row = DecisionRow.from_payload(audit_id, self.reader, kind, payload)
            self.answers[(row.pair_id, row.mode, row.phase)] = row
            self.history.append(row)
            return row
        if kind == "flag":
            self.flags.setdefault(payload["pair_id"], []).append(payload["reason"])
        return None

    def replay(self, rows) -> Ledger:
        """Apply ``(id, kind, payload_json)`` rows in id order; return self.

        Raises ValueError for a payload that breaks its declared schema
        (:data:`studies.schemas.PAYLOAD_SCHEMAS`)."""
        from studies.decisions.audit import payload_problem
        from studies.schema_check import loads_strict

        for audit_id, kind, payload_json in rows:
            payload = loads_strict(payload_json)
            if kind in ("decision", "answer_change", "flag") and (
                bad := payload_problem(kind, payload)
            ) is not None:  # never read "false" as true, nor a string as a row
                raise ValueError(f"audit row {audit_id}: {bad}")
            self.apply(audit_id, kind, payload)
        return self

    def answer(self, pair_id: str, mode: str, phase: str) -> DecisionRow | None:
        return self.answers.get((pair_id, mode, phase))

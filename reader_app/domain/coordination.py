"""The coordinator's view of a study, as plain data (no Qt): who has read how much, whether
each decisions file's audit chain is intact, and the results computed by the very same code
as ``knee-study analyze`` (:func:`studies.analysis.analyze_study`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from studies.decisions import read_decisions, verify_file
from studies.decisions.simulate import is_simulated
from studies.errors import StudyError
from studies.package import Manifest, decisions_dir, load_manifest


@dataclass(frozen=True)
class ReaderStatus:
    """One decisions file as the coordinator sees it."""

    reader_id: str
    path: Path
    answered: int  # scored pairs with a final answer
    total: int  # scored pairs in the study
    flagged: int
    modes: tuple[str, ...]
    chain_ok: bool
    chain_reason: str
    last_answer: str  # ISO-8601 UTC of the latest answer, "" when none
    simulated: bool = False  # every session was simulate-reader's (not a person's reading)

    @property
    def complete(self) -> bool:
        return self.answered >= self.total


def decision_files(study: str | Path) -> list[Path]:
    """The collected decisions files (``STUDY/decisions/*.sqlite``; conflicts kept aside excluded)."""
    folder = decisions_dir(study)
    return sorted(folder.glob("*.sqlite")) if folder.is_dir() else []


def reader_status(path: Path, manifest: Manifest) -> ReaderStatus:
    """Progress and audit status of one decisions file (read-only, safe while it is in use)."""
    try:  # an unreadable file is listed as broken; it must not hide the other readers
        report = verify_file(path)
        df = read_decisions(path)
    except StudyError as exc:
        return ReaderStatus(path.stem, path, 0, len(manifest.pairs), 0, (), False, str(exc), "")
    scored = df[~df["practice"].astype(bool)] if len(df) else df
    answered = scored["pair_id"].nunique() if len(scored) else 0
    flagged = int(scored.loc[scored["flagged"].astype(bool), "pair_id"].nunique()) if len(scored) else 0
    modes = tuple(sorted(scored["mode"].dropna().unique())) if len(scored) else ()
    last = str(pd.to_datetime(scored["decided_at"]).max().isoformat()) if len(scored) else ""
    reader = str(df["reader"].iloc[0]) if len(df) else path.stem
    return ReaderStatus(
        reader, path, int(answered), len(manifest.pairs), flagged, modes, report.ok, report.reason, last,
        simulated=is_simulated(path),
    )


def reader_statuses(study: str | Path) -> list[ReaderStatus]:
    """One :class:`ReaderStatus` per collected decisions file, sorted by reader id."""
    manifest = load_manifest(study)
    return sorted((reader_status(p, manifest) for p in decision_files(study)), key=lambda s: s.reader_id)


def analyzable(statuses: list[ReaderStatus]) -> list[Path]:
    """Files the analysis may use: intact chains with at least one scored answer."""
    return [s.path for s in statuses if s.chain_ok and s.answered > 0]

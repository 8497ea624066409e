"""The plot data of the result charts, computed once for every front end.

The report's matplotlib figures (:mod:`studies.analysis.figures`) and the coordinator's
pyqtgraph plots (:mod:`reader_app.ui.coordinator`) draw the same bars, intervals, points,
tick labels and legend entries from these plain dataclasses; each front end only chooses its
colours, markers and fonts.

- :func:`strata_chart`: proportion correct per stratum with Wilson 95 % intervals, one group
  of bars per reader and condition (the AI as the reader ``"AI"``).
- :func:`roc_chart`: the AI's empirical ROC curve and each reader (per condition) as the point
  (1 - PC, PC) (see :func:`studies.analysis.figures.roc_figure` for why).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from studies.analysis.formatting import reader_label
from studies.analysis.results import StudyResults

#: Width of one stratum's group of bars, in strata (the x axis puts stratum i at i).
GROUP_WIDTH = 0.8
#: Proportion correct of a reader who guesses (drawn as a dotted line).
CHANCE = 0.5


@dataclass(frozen=True)
class StrataBars:
    """One reader in one condition: one bar per stratum.

    Arrays have one value per stratum, in :attr:`StrataChart.strata` order; ``pc`` is NaN
    where this reader read no pair of the stratum (and so are its errors).
    """

    reader: str
    condition: str
    label: str  # legend entry: "r1 (simulated) (unaided)"
    simulated: bool  # written by simulate-reader: drawn faint or hatched
    index: int  # the group's place among the chart's groups (front ends pick colours by it)
    x: np.ndarray  # bar centres
    pc: np.ndarray  # proportion correct, in [0, 1]
    err_low: np.ndarray  # pc - Wilson lower bound, >= 0
    err_high: np.ndarray  # Wilson upper bound - pc, >= 0

    @property
    def ai(self) -> bool:
        return self.reader == "AI"


@dataclass(frozen=True)
class StrataChart:
    """Accuracy per stratum: tick labels, bar width (in strata) and the groups of bars."""

    strata: tuple[str, ...]
    tick_labels: tuple[str, ...]  # the strata with spaces for underscores
    width: float
    groups: tuple[StrataBars, ...]
    chance: float = CHANCE


@dataclass(frozen=True)
class RocCurve:
    """The AI's empirical ROC curve: false and true positive rates (equal lengths), its AUC
    and the AUC's 95 % interval."""

    fpr: np.ndarray
    tpr: np.ndarray
    auc: float
    ci: tuple[float, float]


@dataclass(frozen=True)
class ReaderPoint:
    """One reader in one condition as the point (1 - PC, PC)."""

    reader: str
    condition: str
    label: str  # legend entry: "r1 (simulated) (unaided): PC 0.700"
    simulated: bool
    pc: float
    fpr: float
    tpr: float
    reader_index: int  # place in :attr:`RocChart.readers` (front ends pick a marker or colour)
    condition_index: int  # place in :attr:`RocChart.conditions`


@dataclass(frozen=True)
class RocChart:
    """The AI's curve (None without AI scores) and the readers' points."""

    ai: RocCurve | None
    points: tuple[ReaderPoint, ...]
    readers: tuple[str, ...]  # sorted, every reader with a point or not
    conditions: tuple[str, ...]  # sorted

    @property
    def empty(self) -> bool:
        return self.ai is None and not self.points


def strata_chart(results: StudyResults) -> StrataChart | None:
    """The bars of the accuracy-per-stratum chart; None when there is no answer yet."""
    df = results.tables.get("strata", pd.DataFrame())
    if df is None or df.empty:
        return None
    strata = list(dict.fromkeys(df["stratum"]))
    pairs = list(dict.fromkeys(zip(df["reader"], df["condition"], strict=True)))
    simulated = set(df.loc[df["simulated"].astype(bool), "reader"]) if "simulated" in df else set()
    width = GROUP_WIDTH / len(pairs)
    x = np.arange(len(strata), dtype=float)
    groups = []
    for i, (reader, cond) in enumerate(pairs):
        g = df[(df["reader"] == reader) & (df["condition"] == cond)].set_index("stratum").reindex(strata)
        pc = g["pc"].to_numpy(dtype=float)
        low = np.clip(pc - g["wilson_lo"].to_numpy(dtype=float), 0, None)
        high = np.clip(g["wilson_hi"].to_numpy(dtype=float) - pc, 0, None)
        sim = reader in simulated
        groups.append(StrataBars(
            reader=reader, condition=cond, label=f"{reader_label(reader, sim)} ({cond})", simulated=sim,
            index=i, x=x - GROUP_WIDTH / 2 + width * (i + 0.5), pc=pc, err_low=low, err_high=high,
        ))
    return StrataChart(
        strata=tuple(strata), tick_labels=tuple(s.replace("_", " ") for s in strata), width=width,
        groups=tuple(groups),
    )


def roc_chart(results: StudyResults) -> RocChart:
    """The AI's ROC curve and the readers' points (readers without an answer have none)."""
    ai = results.roc.get("ai")
    curve = None
    if ai:
        lo, hi = ai["ci"]
        curve = RocCurve(np.asarray(ai["fpr"], dtype=float), np.asarray(ai["tpr"], dtype=float),
                         float(ai["auc"]), (float(lo), float(hi)))
    rows = results.roc.get("readers", [])
    readers = tuple(sorted({p["reader"] for p in rows}))
    conditions = tuple(sorted({p["condition"] for p in rows}))
    points = []
    for p in rows:
        if p["pc"] is None:
            continue
        sim = bool(p.get("simulated", False))
        points.append(ReaderPoint(
            reader=p["reader"], condition=p["condition"], simulated=sim,
            label=f"{reader_label(p['reader'], sim)} ({p['condition']}): PC {p['pc']:.3f}",
            pc=float(p["pc"]), fpr=float(p["fpr"]), tpr=float(p["tpr"]),
            reader_index=readers.index(p["reader"]), condition_index=conditions.index(p["condition"]),
        ))
    return RocChart(curve, tuple(points), readers, conditions)

"""Quirks that change what the tables hold: bone-on-bone knees, the real missing codes, blank cells.

Applied to the population's knee table (one row per knee and visit) before it is written
as ``synthetic/ground_truth.csv``, so the ground truth is what the tables show:

- **bone on bone** (``Quirks.bone_on_bone``, a share of knees, narrow knees far likelier):
  from an onset visit on, the medial JSW is 0.000 mm and stays there; ``jsn_next_mm``,
  ``progressor_next`` and ``kl_grade`` (4) follow; column ``bone_on_bone`` marks those rows.
- **real missing codes** (``Quirks.real_missing_codes``, a share of missing cells): a missing
  JSW, WOMAC pain or KL cell carries one of :data:`REAL_CODES` instead of the classic
  ``.: Missing Form/Incomplete Workbook`` / ``.A: Not Expected`` (the ``*_table_code`` columns).
- **blank cells** (``Quirks.blank_cells``, a share of participant-visit cells): BMI, weight or
  height left empty; column ``blank_cells`` lists them (``bmi;height_mm``), same on both knees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from studies.synth.population import VISITS, kl_from_jsw
from studies.synth.quirks import Quirks, quirk_rng, unit

#: Missing codes of the real tables beyond the classic ones (some carry no label, as in the files).
REAL_CODES = (".D: Don't Know/Unknown/Uncertain", ".R: Refused", ".M", ".P: Prosthetic",
              ".T: Technical Problems", ".V", ".W", ".S")
CODE_COLUMNS = ("jsw_table_code", "womac_table_code", "kl_table_code")
#: Clinical cells the blank-cells quirk may empty (ground-truth column names).
BLANKABLE = ("bmi", "weight_kg", "height_mm")
#: Weight of a knee in the bone-on-bone draw: exp(-JSW at 36 months / this), mm.
BONE_ON_BONE_SCALE_MM = 0.8


def apply_truth_quirks(knees: pd.DataFrame, seed: int, quirks: Quirks) -> pd.DataFrame:
    """A copy of the knee table (knee-major rows, :data:`VISITS` per knee) with the quirks applied."""
    out = knees.copy()
    _bone_on_bone(out, seed, quirks.bone_on_bone)
    _real_codes(out, seed, quirks.real_missing_codes)
    out["blank_cells"] = [
        ";".join(v for v in BLANKABLE if unit(seed, "blank_cells", pid, month, v) < quirks.blank_cells)
        for pid, month in zip(out.participant_id, out.visit_month, strict=True)
    ]
    return out


def _bone_on_bone(knees: pd.DataFrame, seed: int, rate: float) -> None:
    nv = len(VISITS)
    jsw = knees["jsw_mm"].to_numpy(float).reshape(-1, nv).copy()
    rng = quirk_rng(seed, "bone_on_bone")
    draw, onset = rng.random(len(jsw)), rng.integers(0, nv, len(jsw))
    weight = np.exp(-jsw[:, -1] / BONE_ON_BONE_SCALE_MM)
    chosen = draw < np.minimum(1.0, rate * weight / weight.mean())
    jsw[chosen[:, None] & (np.arange(nv)[None, :] >= onset[:, None])] = 0.0
    jsn = np.round(jsw[:, 1:] - jsw[:, :-1], 3)
    old_jsn = knees["jsn_next_mm"].to_numpy(float).reshape(-1, nv)
    new_jsn = np.concatenate([np.where(chosen[:, None], jsn, old_jsn[:, :-1]), old_jsn[:, -1:]], axis=1)
    last = knees["visit_month"].to_numpy() == VISITS[-1]
    knees["jsw_mm"] = jsw.reshape(-1)
    knees["jsn_next_mm"] = new_jsn.reshape(-1)
    knees["progressor_next"] = np.where(last, None, knees["jsn_next_mm"] <= -0.5)
    zero = knees["jsw_mm"].to_numpy() == 0.0
    knees["kl_grade"] = np.where(zero, kl_from_jsw(np.zeros(len(knees)), np.zeros(len(knees))),
                                 knees["kl_grade"].to_numpy())
    knees["bone_on_bone"] = zero


def _real_codes(knees: pd.DataFrame, seed: int, rate: float) -> None:
    rng = quirk_rng(seed, "real_missing_codes")
    for col in CODE_COLUMNS:
        draw, which = rng.random(len(knees)), rng.integers(0, len(REAL_CODES), len(knees))
        cells = knees[col].to_numpy(object)
        swap = (cells != "") & (draw < rate)
        knees[col] = np.where(swap, np.asarray(REAL_CODES, dtype=object)[which], cells)

"""Per-reader tables: accuracy (= pairwise AUC), intervals, d', strata, times, rating ROC.

Input is the scored answers of :func:`studies.analysis.inputs.score_decisions` (one row per
reader x pair x condition, ``correct`` in {0, 1}). Flagged pairs are counted and left out of
every figure of that reader.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from studies.package import STRATA
from studies.stats.binomial import clopper_pearson_ci, wilson_ci
from studies.stats.roc import auc_ci
from studies.stats.twoafc import dprime

GROUP = ["reader", "condition"]


def proportion_row(correct: np.ndarray, alpha: float = 0.05) -> dict:
    """n, correct (ties 1/2), proportion correct, Wilson and Clopper-Pearson ``1 - alpha`` limits.

    Half-counts (AI ties) are rounded down for the binomial intervals.
    """
    c = np.asarray(correct, dtype=float)
    n = int(c.size)
    k = float(c.sum())
    if n == 0:
        return {
            "n": 0,
            "correct": 0.0,
            "pc": np.nan,
            "wilson_lo": np.nan,
            "wilson_hi": np.nan,
            "cp_lo": np.nan,
            "cp_hi": np.nan,
        }
    wl, wh = wilson_ci(int(k), n, alpha)
    cl, ch = clopper_pearson_ci(int(k), n, alpha)
    return {
        "n": n,
        "correct": k,
        "pc": k / n,
        "wilson_lo": wl,
        "wilson_hi": wh,
        "cp_lo": cl,
        "cp_hi": ch,
    }


def rating_roc(group: pd.DataFrame) -> dict | None:
    """Rating-based ROC of one reader across pairs, when confidence ratings exist.

    Each pair becomes one case whose truth is "the left knee progressed" and whose rating is
    ``+confidence`` when the reader chose the left knee, ``-confidence`` otherwise; the area
    under that ROC curve (Mann-Whitney, DeLong interval) uses the confidence, the proportion
    correct does not. None when there are no ratings or only one kind of pair.
    """
    g = group.dropna(subset=["confidence"])
    if len(g) < 4 or len(g) < len(group):
        return None
    truth = (g["progressor"] == g["case_left"]).to_numpy()
    if truth.all() or not truth.any():
        return None
    sign = np.where(g["chosen_case"] == g["case_left"], 1.0, -1.0)
    rating = sign * g["confidence"].astype(float).to_numpy()
    est = auc_ci(truth, rating)
    return {"rating_auc": est.auc, "rating_auc_lo": est.ci[0], "rating_auc_hi": est.ci[1]}


def reader_table(scored: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per reader and condition: accuracy, ``1 - alpha`` intervals, d', times, rating AUC."""
    rows = []
    for (reader, cond), g in scored.groupby(GROUP, sort=True):
        flagged = g["flagged"].astype(bool)
        used = g[~flagged]
        row = {"reader": reader, "condition": cond, "n_flagged": int(flagged.sum())}
        row.update(proportion_row(used["correct"].to_numpy(), alpha))
        row["dprime"] = dprime(row["pc"], n=row["n"]) if row["n"] else np.nan
        t = used["active_seconds"].to_numpy(dtype=float)
        t = t[np.isfinite(t)]
        q1, med, q3 = np.quantile(t, [0.25, 0.5, 0.75]) if t.size else (np.nan,) * 3
        row.update(
            {"time_median_s": med, "time_q1_s": q1, "time_q3_s": q3, "time_total_min": t.sum() / 60}
        )
        row.update(
            rating_roc(used)
            or {"rating_auc": np.nan, "rating_auc_lo": np.nan, "rating_auc_hi": np.nan}
        )
        rows.append(row)
    return pd.DataFrame(rows)


def stratum_table(
    scored: pd.DataFrame, ai_pairs: pd.DataFrame | None = None, alpha: float = 0.05
) -> pd.DataFrame:
    """Accuracy per reader, condition and stratum (``1 - alpha`` intervals); the AI as ``AI``."""
    rows = []
    used = scored[~scored["flagged"].astype(bool)]
    for (reader, cond), g in used.groupby(GROUP, sort=True):
        for stratum in _strata(g["stratum"]):
            c = g.loc[g["stratum"] == stratum, "correct"].to_numpy()
            rows.append(
                {"reader": reader, "condition": cond, "stratum": stratum, **proportion_row(c, alpha)}
            )
    if ai_pairs is not None:
        for stratum in _strata(ai_pairs["stratum"]):
            c = ai_pairs.loc[ai_pairs["stratum"] == stratum, "correct"].to_numpy()
            rows.append(
                {"reader": "AI", "condition": "standalone", "stratum": stratum, **proportion_row(c, alpha)}
            )
    return pd.DataFrame(rows)


def _strata(col: pd.Series) -> list[str]:
    present = set(col.dropna())
    return [s for s in STRATA if s in present] + sorted(present - set(STRATA))


def time_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Reading time per answer (seconds, pauses excluded): reader, condition, pair, seconds."""
    cols = ["reader", "condition", "pair_id", "active_seconds", "correct"]
    return scored.loc[~scored["flagged"].astype(bool), cols].reset_index(drop=True)

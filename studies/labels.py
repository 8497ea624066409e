"""Labels as in the paper: 12-month joint-space narrowing (JSN) and WOMAC pain classes.

For every knee and time t in (0, 12, 24) months with a JSW measurement at t and at t + 12
(the paper's sliding window)::

    jsn_mm          = JSW(t + 12) - JSW(t)                    (mm; negative = narrowing)
    progressor_abs  = jsn_mm <= abs_threshold_mm              (default -0.5 mm)
    progressor_rel  = jsn_mm <= rel_threshold * JSW(t)        (default -25 % of JSW(t));
                      undefined (NA) when JSW(t) = 0 (bone on bone: nothing left to lose)
    pain_binary     = 1 if WOMAC pain(t) >= 2, 0 if < 1, NaN in between or missing
    pain3           = 0 (< 1), 1 (1 to < 2), 2 (>= 2); NaN when missing

When the cohort has X-ray readings from several reading projects, JSW(t) and JSW(t + 12) of
a window come from one project (never one from each).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from studies.errors import OptionError
from studies.vocabulary import label_columns

WINDOW_STARTS: tuple[int, ...] = (0, 12, 24)
HORIZON_MONTHS = 12
#: The columns this module adds, as defined in :data:`studies.vocabulary.LABELS` (what each is
#: made from, its classes).
LABEL_COLUMNS = label_columns()


def make_labels(
    knees: pd.DataFrame,
    *,
    abs_threshold_mm: float = -0.5,
    rel_threshold: float = -0.25,
    jsw_readings: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per knee and window start t with JSW at t and t + 12 months.

    Parameters
    ----------
    knees : the knee table (``studies.cohort.KNEE_COLUMNS``), one row per knee and visit.
    abs_threshold_mm : JSN (mm) at or below which a knee is an absolute progressor (< 0).
    rel_threshold : fraction of JSW(t) (in (-1, 0)) at or below which it is a relative progressor.
    jsw_readings : JSW readings per X-ray reading project (``Cohort.jsw_readings``:
        participant_id, side, visit_month, project, jsw_mm, rank; rank 0 preferred). Both ends
        of a window then come from one project, the best-ranked one that read the knee at
        both; without it, the knee table's ``jsw_mm`` (one reading per knee-visit).

    Returns
    -------
    DataFrame with every knee column at t (``jsw_mm`` the reading the window uses) plus
    :data:`LABEL_COLUMNS` and ``jsw_project``; ``progressor_abs`` is bool,
    ``progressor_rel`` nullable boolean (NA for a bone-on-bone knee, JSW(t) = 0, whose
    relative change is undefined), ``pain_*`` float (NaN when undefined).
    ``df.attrs["excluded"]`` counts the knee-windows left out: ``{"missing_jsw": n,
    "missing_jsw_at_t": a, "missing_jsw_at_t_plus_12": b}`` (a window missing both counts in
    ``a``), plus ``"no_common_project": c`` (readings at both times but from different
    projects) when there are any. ``df.attrs["excluded_rel"]`` counts windows without a
    relative label: ``{"bone_on_bone": n}``.
    """
    if not (isinstance(abs_threshold_mm, int | float) and abs_threshold_mm < 0):
        raise OptionError("abs_threshold_mm", "a negative number of mm", abs_threshold_mm)
    if not (isinstance(rel_threshold, int | float) and -1 < rel_threshold < 0):
        raise OptionError("rel_threshold", "a fraction in (-1, 0), e.g. -0.25", rel_threshold)
    key = ["participant_id", "side"]
    if jsw_readings is None:
        readings = knees[[*key, "visit_month", "jsw_mm"]].dropna(subset=["jsw_mm"]).assign(project="", rank=0)
    else:
        readings = jsw_readings[[*key, "visit_month", "project", "jsw_mm", "rank"]].dropna(subset=["jsw_mm"])
    nxt = knees[[*key, "visit_month"]].assign(visit_month=knees["visit_month"] - HORIZON_MONTHS)
    starts = pd.concat([knees[[*key, "visit_month"]], nxt]).drop_duplicates()
    starts = starts[starts["visit_month"].isin(WINDOW_STARTS)]

    at_t = readings.rename(columns={"jsw_mm": "jsw_t"})
    at_next = readings.assign(visit_month=readings["visit_month"] - HORIZON_MONTHS).rename(
        columns={"jsw_mm": "jsw_next_mm", "rank": "rank_next"})
    paired = at_t.merge(at_next, on=[*key, "visit_month", "project"])
    paired = paired.sort_values("rank", kind="stable").drop_duplicates([*key, "visit_month"])
    wkey = [*key, "visit_month"]
    has_t = _has(starts, at_t, wkey)
    has_next = _has(starts, at_next, wkey)
    has_pair = _has(starts, paired, wkey)
    miss_t = ~has_t
    miss_next = has_t & ~has_next
    no_common = has_t & has_next & ~has_pair

    windows = starts[has_pair].merge(paired[[*wkey, "project", "jsw_t", "jsw_next_mm"]], on=wkey)
    df = windows.merge(knees.drop(columns=["jsw_mm"]), on=wkey, how="left")
    df = df.rename(columns={"jsw_t": "jsw_mm", "project": "jsw_project"})
    df["jsn_mm"] = df["jsw_next_mm"] - df["jsw_mm"]
    df["progressor_abs"] = df["jsn_mm"] <= abs_threshold_mm + 1e-9
    bone = df["jsw_mm"] <= 0
    rel = df["jsn_mm"] <= rel_threshold * df["jsw_mm"] + 1e-9
    df["progressor_rel"] = pd.array(rel.to_numpy(), dtype="boolean")
    df.loc[bone.to_numpy(), "progressor_rel"] = pd.NA
    pain = df["womac_pain"].astype(float)
    df["pain_binary"] = np.where(pain >= 2, 1.0, np.where(pain < 1, 0.0, np.nan))
    df["pain3"] = np.select([pain < 1, pain < 2, pain >= 2], [0.0, 1.0, 2.0], default=np.nan)
    df = df.sort_values([*key, "visit_month"], kind="stable").reset_index(drop=True)
    excluded = {
        "missing_jsw": int(miss_t.sum() + miss_next.sum()),
        "missing_jsw_at_t": int(miss_t.sum()),
        "missing_jsw_at_t_plus_12": int(miss_next.sum()),
    }
    if no_common.any():
        excluded["no_common_project"] = int(no_common.sum())
    df.attrs["excluded"] = excluded
    df.attrs["excluded_rel"] = {"bone_on_bone": int(bone.sum())}
    return df


def _has(starts: pd.DataFrame, table: pd.DataFrame, key: list[str]) -> np.ndarray:
    """Whether each row of ``starts`` has a row in ``table`` (by ``key``)."""
    marks = table[key].drop_duplicates().assign(_hit=True)
    return starts.merge(marks, on=key, how="left")["_hit"].fillna(False).to_numpy(dtype=bool)

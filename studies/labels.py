"""Labels as in the paper: 12-month joint-space narrowing (JSN) and WOMAC pain classes.

For every knee and time t in (0, 12, 24) months with a JSW measurement at t and at t + 12
(the paper's sliding window)::

    jsn_mm          = JSW(t + 12) - JSW(t)                    (mm; negative = narrowing)
    progressor_abs  = jsn_mm <= abs_threshold_mm              (default -0.5 mm)
    progressor_rel  = jsn_mm <= rel_threshold * JSW(t)        (default -25 % of JSW(t))
    pain_binary     = 1 if WOMAC pain(t) >= 2, 0 if < 1, NaN in between or missing
    pain3           = 0 (< 1), 1 (1 to < 2), 2 (>= 2); NaN when missing
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from studies.errors import OptionError

WINDOW_STARTS: tuple[int, ...] = (0, 12, 24)
HORIZON_MONTHS = 12
LABEL_COLUMNS = (
    "jsw_next_mm",
    "jsn_mm",
    "progressor_abs",
    "progressor_rel",
    "pain_binary",
    "pain3",
)


def make_labels(
    knees: pd.DataFrame, *, abs_threshold_mm: float = -0.5, rel_threshold: float = -0.25
) -> pd.DataFrame:
    """One row per knee and window start t with JSW at t and t + 12 months.

    Parameters
    ----------
    knees : the knee table (``studies.cohort.KNEE_COLUMNS``), one row per knee and visit.
    abs_threshold_mm : JSN (mm) at or below which a knee is an absolute progressor (< 0).
    rel_threshold : fraction of JSW(t) (in (-1, 0)) at or below which it is a relative progressor.

    Returns
    -------
    DataFrame with every knee column at t plus :data:`LABEL_COLUMNS`; ``progressor_*`` are
    bool, ``pain_*`` float (NaN when undefined). ``df.attrs["excluded"]`` counts the
    knee-windows left out: ``{"missing_jsw": n, "missing_jsw_at_t": a,
    "missing_jsw_at_t_plus_12": b}`` (a window missing both counts in ``a``).
    """
    if not (isinstance(abs_threshold_mm, int | float) and abs_threshold_mm < 0):
        raise OptionError("abs_threshold_mm", "a negative number of mm", abs_threshold_mm)
    if not (isinstance(rel_threshold, int | float) and -1 < rel_threshold < 0):
        raise OptionError("rel_threshold", "a fraction in (-1, 0), e.g. -0.25", rel_threshold)
    key = ["participant_id", "side"]
    nxt = knees[[*key, "visit_month", "jsw_mm"]].rename(columns={"jsw_mm": "jsw_next_mm"})
    nxt = nxt.assign(visit_month=nxt["visit_month"] - HORIZON_MONTHS)
    at_t = knees[knees["visit_month"].isin(WINDOW_STARTS)]
    windows = at_t.merge(nxt, on=[*key, "visit_month"], how="outer", indicator=True)
    windows = windows[windows["visit_month"].isin(WINDOW_STARTS)]
    miss_t = windows["jsw_mm"].isna()
    miss_next = ~miss_t & windows["jsw_next_mm"].isna()
    df = windows[~miss_t & ~miss_next].drop(columns="_merge").copy()
    df["jsn_mm"] = df["jsw_next_mm"] - df["jsw_mm"]
    df["progressor_abs"] = df["jsn_mm"] <= abs_threshold_mm + 1e-9
    df["progressor_rel"] = df["jsn_mm"] <= rel_threshold * df["jsw_mm"] + 1e-9
    pain = df["womac_pain"].astype(float)
    df["pain_binary"] = np.where(pain >= 2, 1.0, np.where(pain < 1, 0.0, np.nan))
    df["pain3"] = np.select([pain < 1, pain < 2, pain >= 2], [0.0, 1.0, 2.0], default=np.nan)
    df = df.sort_values([*key, "visit_month"], kind="stable").reset_index(drop=True)
    df.attrs["excluded"] = {
        "missing_jsw": int(miss_t.sum() + miss_next.sum()),
        "missing_jsw_at_t": int(miss_t.sum()),
        "missing_jsw_at_t_plus_12": int(miss_next.sum()),
    }
    return df

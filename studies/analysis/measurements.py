"""The readers' caliper measurements: how often each reader measured, and the measured lengths
against the knees' baseline joint-space width.

A decision carries the reader's caliper measurements on its pair (``measurements``, JSON: case,
sequence, slice, end points in voxels and mm, ``length_mm``), recorded with the answer of the
phase in which they were taken. The reference for a knee is the baseline minimum medial JSW the
manifest showed readers (``min_medial_jsw_mm``, mm); the key's 12-month JSN of the knee is
carried alongside in the long table.

- :func:`measurement_rows`: one row per measurement (long format, ``measurements_long.csv``);
- :func:`measurement_table`: per reader and condition: pairs read, pairs with at least one
  measurement and their share, measurements, and against the baseline JSW: ``n_compared``,
  mean difference (measured - baseline, mm), mean absolute difference (mm) and Pearson's r
  (only where ``n_compared >= 3`` and both vary; NaN otherwise);
- :func:`measurement_lines`: the same as text for ``knee-study analyze``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

#: The manifest's clinical variable a measured length is compared with (mm).
BASELINE_JSW = "min_medial_jsw_mm"
#: Fewest measurements compared with the baseline for a Pearson correlation.
MIN_FOR_R = 3
#: What the text output and the report say when nobody measured.
NOBODY_MEASURED = "Caliper measurements: no reader took one."

ROW_COLUMNS = [
    "reader", "simulated", "condition", "pair_id", "case_id", "group", "sequence", "slice",
    "length_mm", "baseline_jsw_mm", "difference_mm", "jsn_mm",
]
TABLE_COLUMNS = [
    "reader", "simulated", "condition", "pairs_read", "pairs_measured", "share_measured",
    "n_measurements", "n_compared", "mean_difference_mm", "mean_abs_difference_mm", "pearson_r",
]


def _case_columns(cases: pd.DataFrame | None) -> pd.DataFrame:
    """case_id -> group, baseline JSW and JSN (empty when the knees are not known)."""
    cols = {"group": None, BASELINE_JSW: np.nan, "jsn_mm": np.nan}
    if cases is None or cases.empty:
        return pd.DataFrame(columns=list(cols)).rename_axis("case_id")
    c = cases.drop_duplicates("case_id").set_index("case_id")
    return pd.DataFrame({k: c[k] if k in c else default for k, default in cols.items()}, index=c.index)


def measurement_rows(decisions: pd.DataFrame, cases: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per measurement in the scored ``decisions`` (columns :data:`ROW_COLUMNS`).

    ``decisions``: :func:`studies.analysis.inputs.score_decisions`'s table (its
    ``measurements`` column is JSON text; absent means nobody measured); ``cases``:
    :func:`studies.analysis.inputs.case_table` (case_id, group, jsn_mm and the clinical
    variables), for the baseline JSW (NaN for a knee it lacks).
    """
    rows = []
    if "measurements" in decisions:
        simulated = decisions["simulated"] if "simulated" in decisions else pd.Series(False, decisions.index)
        for (_, d), sim in zip(decisions.iterrows(), simulated, strict=True):
            for m in json.loads(d["measurements"] or "[]"):
                rows.append({
                    "reader": d["reader"], "simulated": bool(sim), "condition": d["condition"],
                    "pair_id": d["pair_id"], "case_id": m["case"], "sequence": m["sequence"],
                    "slice": m["slice"], "length_mm": float(m["length_mm"]),
                })
    out = pd.DataFrame(rows, columns=["reader", "simulated", "condition", "pair_id", "case_id",
                                      "sequence", "slice", "length_mm"])
    known = _case_columns(cases)
    out["group"] = out["case_id"].map(known["group"])
    out["baseline_jsw_mm"] = pd.to_numeric(out["case_id"].map(known[BASELINE_JSW]), errors="coerce")
    out["jsn_mm"] = pd.to_numeric(out["case_id"].map(known["jsn_mm"]), errors="coerce")
    out["difference_mm"] = out["length_mm"] - out["baseline_jsw_mm"]
    return out[ROW_COLUMNS]


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < MIN_FOR_R or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def measurement_table(decisions: pd.DataFrame, cases: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per reader and condition (in the order of ``decisions``' readers and conditions, sorted):
    the columns :data:`TABLE_COLUMNS` (lengths and differences in mm). Every reader and
    condition with answers has a row, with zeros when it measured nothing."""
    rows_all = measurement_rows(decisions, cases)
    n_meas = (decisions["n_measurements"] if "n_measurements" in decisions
              else pd.Series(0, decisions.index)).astype(int)
    simulated = decisions["simulated"].astype(bool) if "simulated" in decisions else pd.Series(False, decisions.index)
    out = []
    for (reader, cond), d in decisions.groupby(["reader", "condition"], sort=True):
        m = rows_all[(rows_all["reader"] == reader) & (rows_all["condition"] == cond)]
        both = m.dropna(subset=["baseline_jsw_mm"])
        diff = both["difference_mm"].to_numpy(float)
        measured = int(d.loc[n_meas.loc[d.index] > 0, "pair_id"].nunique())
        read = int(d["pair_id"].nunique())
        out.append({
            "reader": reader,
            "simulated": bool(simulated.loc[d.index].any()),
            "condition": cond,
            "pairs_read": read,
            "pairs_measured": measured,
            "share_measured": measured / read if read else float("nan"),
            "n_measurements": len(m),
            "n_compared": len(both),
            "mean_difference_mm": float(diff.mean()) if len(diff) else float("nan"),
            "mean_abs_difference_mm": float(np.abs(diff).mean()) if len(diff) else float("nan"),
            "pearson_r": _pearson(both["length_mm"].to_numpy(float), both["baseline_jsw_mm"].to_numpy(float)),
        })
    return pd.DataFrame(out, columns=TABLE_COLUMNS)


def anybody_measured(table: pd.DataFrame | None) -> bool:
    return table is not None and not table.empty and int(table["n_measurements"].sum()) > 0


def measurement_lines(table: pd.DataFrame | None) -> list[str]:
    """The table as text lines for ``knee-study analyze`` (one line when nobody measured)."""
    if not anybody_measured(table):
        return [NOBODY_MEASURED]
    lines = ["Caliper measurements (measured length - baseline min. medial JSW, mm):"]
    for r in table.to_dict("records"):
        who = r["reader"] + (" (simulated)" if r["simulated"] else "")
        line = (f"{who:>10} {r['condition']:<17} measured {r['pairs_measured']}/{r['pairs_read']} pairs "
                f"({r['share_measured']:.0%}), {r['n_measurements']} measurements")
        if r["n_compared"]:
            rho = "" if np.isnan(r["pearson_r"]) else f", r {r['pearson_r']:.2f}"
            line += (f"; vs baseline JSW (n={r['n_compared']}): mean difference "
                     f"{r['mean_difference_mm']:+.2f}, mean |difference| {r['mean_abs_difference_mm']:.2f}{rho}")
        lines.append(line)
    return lines

"""Numbers and names as a paper prints them (the XLSX and JSON keep full precision).

Every function takes the already computed figures and returns text; none computes a
statistic. Missing values (None, NaN) become an empty string, so a table cell stays empty.

- proportions and AUCs: three decimals, ``0.578 (0.495-0.657)``; an interval with a negative
  bound reads ``-0.061 (-0.120 to -0.002)``;
- p values: ``< 0.001`` below one in a thousand, three decimals otherwise;
- times: one decimal, median (IQR) ``23.4 (12.1-40.2)``;
- strata: their names with the JSN range they cover, as in the paper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from studies.decisions import modes
from studies.pairs import DEFAULT_BOUNDS

#: Conditions that are no reading mode's, as a reader of the paper knows them (the reading
#: modes' conditions are labelled by :func:`studies.decisions.modes.condition_label`).
CONDITION_LABELS = {
    "standalone": "standalone",
}

#: Factor models of the Obuchowski-Rockette analysis.
MODEL_LABELS = {
    "rrrc": "random readers and pairs",
    "frrc": "fixed readers, random pairs",
    "rrfc": "random readers, fixed pairs",
}

SIMULATED_MARK = "(simulated)"


def missing(x: object) -> bool:
    """None, NaN or pandas' NA."""
    if x is None:
        return True
    try:
        return bool(x != x) or (isinstance(x, float) and math.isnan(x))
    except (TypeError, ValueError):  # pandas.NA refuses bool()
        return True


def num(x: object, digits: int = 3) -> str:
    """``x`` with ``digits`` decimals; "" when missing."""
    return "" if missing(x) else f"{float(x):.{digits}f}"


def interval(lo: object, hi: object, digits: int = 3) -> str:
    """``0.495-0.657``, or ``-0.120 to -0.002`` when a bound is negative."""
    if missing(lo) or missing(hi):
        return ""
    sep = " to " if float(lo) < 0 or float(hi) < 0 else "-"
    return f"{num(lo, digits)}{sep}{num(hi, digits)}"


def estimate_ci(est: object, lo: object, hi: object, digits: int = 3) -> str:
    """``0.578 (0.495-0.657)``: the estimate and its interval."""
    if missing(est):
        return ""
    ci = interval(lo, hi, digits)
    return f"{num(est, digits)} ({ci})" if ci else num(est, digits)


def signed(x: object, digits: int = 3) -> str:
    """A difference with its sign: ``+0.012``, ``-0.061``."""
    return "" if missing(x) else f"{float(x):+.{digits}f}"


def p_value(p: object) -> str:
    """``< 0.001`` or three decimals (``0.049``, ``1.000``)."""
    if missing(p):
        return ""
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def p_clause(p: object) -> str:
    """``p < 0.001`` or ``p = 0.049`` for a sentence."""
    text = p_value(p)
    return "" if not text else ("p " + text if text.startswith("<") else "p = " + text)


def median_iqr(med: object, q1: object, q3: object, digits: int = 1) -> str:
    """``23.4 (12.1-40.2)``: a median and its interquartile range."""
    return estimate_ci(med, q1, q3, digits)


def mean_sd(values: Sequence[float], digits: int = 1) -> str:
    """``61.2 (9.1)``: mean (sample SD) of the non-missing values; "" when none."""
    v = [float(x) for x in values if not missing(x)]
    if not v:
        return ""
    mean = sum(v) / len(v)
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else float("nan")
    return f"{mean:.{digits}f} ({num(sd, digits) or '-'})"


def n_percent(k: int, n: int, digits: int = 1) -> str:
    """``45 (30.0 %)``."""
    return f"{k} ({100 * k / n:.{digits}f} %)" if n else f"{k}"


def percent(x: float, digits: int = 2) -> str:
    """``57.82 %`` from 0.5782."""
    return f"{100 * float(x):.{digits}f} %"


def df_value(df: object) -> str:
    """Degrees of freedom: integers as such, Hillis' fractional df with one decimal, inf as ∞."""
    if missing(df):
        return "∞"
    d = float(df)
    if math.isinf(d):
        return "∞"
    return f"{d:.0f}" if abs(d - round(d)) < 1e-9 else f"{d:.1f}"


def stratum_label(stratum: str, bounds: Sequence[float] | None = None) -> str:
    """The stratum's name with its JSN range, as in the paper:
    ``almost certain (JSN < -1.1 mm)``, ``likely (-1.1 to -0.6 mm)``,
    ``doubtful (-0.6 to -0.5 mm)``; other names are returned with spaces for underscores."""
    b0, b1, b2 = (float(b) for b in (bounds or DEFAULT_BOUNDS))
    ranges = {
        "almost_certain": f"JSN < {b0:g} mm",
        "likely": f"{b0:g} to {b1:g} mm",
        "doubtful": f"{b1:g} to {b2:g} mm",
    }
    name = str(stratum).replace("_", " ")
    return f"{name} ({ranges[stratum]})" if stratum in ranges else name


def reader_label(reader: str, simulated: bool = False) -> str:
    """The reader id, ``sim1 (simulated)`` for a reader written by ``simulate-reader``."""
    return f"{reader} {SIMULATED_MARK}" if simulated else str(reader)


def condition_label(condition: str) -> str:
    """A reading condition as a paper prints it (``sequential (final, with AI)``)."""
    label = modes.condition_label(condition)
    if label is not None:
        return label
    return CONDITION_LABELS.get(condition, str(condition).replace("_", " "))

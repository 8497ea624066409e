"""Confidence intervals for one proportion and for a paired difference of proportions.

All functions take counts (ints) and return plain floats; intervals are two-sided with
confidence ``1 - alpha``.

References
----------
- Wilson, E.B. (1927). Probable inference, the law of succession, and statistical inference.
  JASA 22:209-212.
- Clopper, C.J. & Pearson, E.S. (1934). The use of confidence or fiducial limits illustrated in
  the case of the binomial. Biometrika 26:404-413.
- Newcombe, R.G. (1998). Improved confidence intervals for the difference between binomial
  proportions based on paired data. Statistics in Medicine 17:2635-2650 (method 10).
"""

from __future__ import annotations

import math

from scipy import stats

from studies.errors import OptionError


def _check_counts(k: int, n: int) -> None:
    if n < 1 or k < 0 or k > n:
        raise OptionError("k, n", "counts with 0 <= k <= n and n >= 1", (k, n))


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise OptionError("alpha", "a float in (0, 1)", alpha)


def wilson_ci(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval (no continuity correction) for ``k`` successes out of ``n``.

    ``p ± z sqrt(p(1-p)/n + z²/4n²)`` recentred at ``(k + z²/2)/(n + z²)``; as R's
    ``binom.confint(method="wilson")``.
    """
    _check_counts(k, n)
    _check_alpha(alpha)
    z = stats.norm.ppf(1 - alpha / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)  # exact at the extremes despite rounding
    return float(lo), float(hi)


def clopper_pearson_ci(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval from beta quantiles; 0 and 1 at the extremes."""
    _check_counts(k, n)
    _check_alpha(alpha)
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def newcombe_paired_ci(
    both: int, only_first: int, only_second: int, neither: int, alpha: float = 0.05
) -> tuple[float, tuple[float, float]]:
    """Difference ``p1 - p2`` of two paired proportions and Newcombe's hybrid score interval.

    Parameters are the 2x2 table of paired outcomes: ``both`` = a (success under both),
    ``only_first`` = b, ``only_second`` = c, ``neither`` = d; ``p1 = (a+b)/n``,
    ``p2 = (a+c)/n``. Method 10 of Newcombe (1998): Wilson limits of each proportion combined
    with the table's phi correlation, whose numerator ``ad - bc`` is reduced by ``n/2`` when
    positive (0 when between 0 and n/2), as in Newcombe's worked example (Altman et al.,
    Statistics with Confidence, 2nd ed., 2000, p. 52); phi is 0 when a margin is empty.

    Returns ``(difference, (lower, upper))``.
    """
    a, b, c, d = (int(v) for v in (both, only_first, only_second, neither))
    if min(a, b, c, d) < 0 or a + b + c + d == 0:
        raise OptionError("paired table", "non-negative counts with a positive total", (a, b, c, d))
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_ci(a + b, n, alpha)
    l2, u2 = wilson_ci(a + c, n, alpha)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    # Newcombe's phi: the numerator ad - bc is shrunk by n/2 towards 0 when positive
    # (0 when 0 <= ad - bc <= n/2), kept when negative.
    num = a * d - b * c
    num = num - n / 2 if num > n / 2 else (num if num < 0 else 0.0)
    phi = 0.0 if margins == 0 else num / math.sqrt(margins)
    diff = p1 - p2
    dl = math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    du = math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    return diff, (max(-1.0, diff - dl), min(1.0, diff + du))

"""Paired comparisons of two raters on the same items.

- McNemar's test on the discordant counts ``b`` (first right, second wrong) and ``c``:
  ``chi2 = (b - c)² / (b + c)``, or ``(|b - c| - 1)² / (b + c)`` with continuity correction
  (McNemar 1947; Edwards 1948), 1 df; the exact test is a two-sided binomial test of ``b``
  out of ``b + c`` at 1/2 (as R's ``binom.test``/``exact2x2``).
- A paired bootstrap over items, vectorised: all resamples are drawn at once as a
  (n_boot, n_items) matrix of multinomial counts, so one matrix product gives every statistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from studies.errors import OptionError


@dataclass(frozen=True)
class McNemarResult:
    b: int
    c: int
    chi2: float  # without continuity correction
    p_chi2: float
    chi2_corrected: float  # with continuity correction
    p_chi2_corrected: float
    p_exact: float
    #: Why the test is undefined ("" when it is defined).
    note: str = ""


def mcnemar(b: int, c: int) -> McNemarResult:
    """McNemar's test on discordant counts; chi-square (with and without correction) and exact.

    With no discordant pairs (``b = c = 0``) the test is undefined (0/0): every statistic and
    p-value is NaN and ``note`` says so."""
    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise OptionError("b, c", "non-negative discordant counts", (b, c))
    n = b + c
    if n == 0:
        nan = float("nan")
        return McNemarResult(b, c, nan, nan, nan, nan, nan,
                             "undefined: no discordant pairs (b = c = 0), so the two raters never differ")
    chi2 = (b - c) ** 2 / n
    chi2_cc = max(abs(b - c) - 1, 0) ** 2 / n
    p_exact = float(stats.binomtest(b, n, 0.5).pvalue)
    return McNemarResult(
        b=b,
        c=c,
        chi2=float(chi2),
        p_chi2=float(stats.chi2.sf(chi2, 1)),
        chi2_corrected=float(chi2_cc),
        p_chi2_corrected=float(stats.chi2.sf(chi2_cc, 1)),
        p_exact=min(1.0, p_exact),
    )


def bootstrap_weights(n_items: int, n_boot: int, seed: int | None = 0) -> np.ndarray:
    """Resampling counts, shape (n_boot, n_items), each row summing to ``n_items``."""
    if n_items < 1:
        raise OptionError("n_items", "an int >= 1", n_items)
    if n_boot < 1:
        raise OptionError("n_boot", "an int >= 1", n_boot)
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_items, np.full(n_items, 1.0 / n_items), size=n_boot).astype(np.float64)


def bootstrap_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Bootstrap means of each row of ``values`` (k, n_items) -> (n_boot, k)."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    return weights @ v.T / weights.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class BootstrapResult:
    estimate: np.ndarray  # (k,) observed mean differences
    ci: np.ndarray  # (k, 2) percentile interval
    p: np.ndarray  # (k,) two-sided bootstrap p of "difference = 0"
    n_boot: int


def paired_bootstrap(
    first: np.ndarray,
    second: np.ndarray,
    *,
    n_boot: int = 10_000,
    alpha: float = 0.05,
    seed: int | None = 0,
    weights: np.ndarray | None = None,
) -> BootstrapResult:
    """Percentile bootstrap of ``mean(first - second)`` resampling items (pairs) jointly.

    ``first``, ``second``: (n_items,) or (k, n_items) per-item scores (e.g. correct in
    {0, 0.5, 1}); rows are analysed together on the same resamples. ``second`` may be
    (n_items,) and is then broadcast (e.g. the AI against every reader). The p-value is
    ``2 * min(P(d* <= 0), P(d* >= 0))`` capped at 1.
    """
    a = np.atleast_2d(np.asarray(first, dtype=float))
    b = np.atleast_2d(np.asarray(second, dtype=float))
    if a.shape[-1] != b.shape[-1]:
        raise OptionError("second", f"scores on the same {a.shape[-1]} items", b.shape)
    diff = a - b
    if weights is None:
        weights = bootstrap_weights(diff.shape[1], n_boot, seed)
    boots = bootstrap_means(diff, weights)  # (n_boot, k)
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2], axis=0)
    p = np.minimum(1.0, 2 * np.minimum((boots <= 0).mean(axis=0), (boots >= 0).mean(axis=0)))
    return BootstrapResult(diff.mean(axis=1), np.column_stack([lo, hi]), p, weights.shape[0])

"""Empirical ROC analysis: Mann-Whitney AUC with ties, DeLong variance and comparisons.

The empirical AUC is the Mann-Whitney statistic
``A = 1/(m n) sum_i sum_j psi(x_i, y_j)`` with ``psi = 1`` if the positive's score ``x_i``
exceeds the negative's ``y_j``, ``1/2`` on a tie and 0 otherwise; it equals the trapezoidal
area under the empirical ROC curve and the proportion of correct 2AFC choices over all
positive x negative pairs.

DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44:837-845: with the placement values
``V10_i = 1/n sum_j psi(x_i, y_j)`` (one per positive) and ``V01_j = 1/m sum_i psi(x_i, y_j)``
(one per negative), the covariance of the AUCs of several scores on the same cases is
``S = S10/m + S01/n`` where ``S10``, ``S01`` are the sample covariance matrices (denominator
``m-1`` resp. ``n-1``) of the placement values. As R's pROC (``ci.auc``, ``roc.test`` with
``method="delong"``). Placements use sorted searches: O((m+n) log n) per score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from studies.errors import OptionError
from studies.stats.checks import check_alpha


def _as_truth(truth: np.ndarray) -> np.ndarray:
    t = np.asarray(truth)
    if t.dtype != bool:
        vals = set(np.unique(t).tolist())
        if not vals <= {0, 1}:
            raise OptionError("truth", "booleans or 0/1 values", sorted(vals)[:5])
        t = t.astype(bool)
    if t.all() or not t.any():
        raise OptionError(
            "truth",
            "at least one positive and one negative case",
            f"{int(t.sum())} positive of {t.size}",
        )
    return t


def _as_scores(scores: np.ndarray, n: int) -> np.ndarray:
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    if s.shape[1] != n:
        raise OptionError("scores", f"one score per case ({n})", s.shape)
    if np.isnan(s).any():
        raise OptionError("scores", "finite numbers (no missing values)", "NaN")
    return s


@dataclass(frozen=True)
class Placements:
    """AUCs (k,) and DeLong placement values: ``v10`` (k, m positives), ``v01`` (k, n negatives)."""

    auc: np.ndarray
    v10: np.ndarray
    v01: np.ndarray


def placements(truth: np.ndarray, scores: np.ndarray) -> Placements:
    """Placement values of each score row (k, n_cases) against the binary ``truth`` (n_cases,)."""
    t = _as_truth(truth)
    s = _as_scores(scores, t.size)
    pos, neg = s[:, t], s[:, ~t]
    v10 = np.empty_like(pos)
    v01 = np.empty_like(neg)
    for k in range(s.shape[0]):
        ns, ps = np.sort(neg[k]), np.sort(pos[k])
        below = np.searchsorted(ns, pos[k], "left")
        ties = np.searchsorted(ns, pos[k], "right") - below
        v10[k] = (below + 0.5 * ties) / ns.size
        above = ps.size - np.searchsorted(ps, neg[k], "right")
        ties = np.searchsorted(ps, neg[k], "right") - np.searchsorted(ps, neg[k], "left")
        v01[k] = (above + 0.5 * ties) / ps.size
    return Placements(v10.mean(axis=1), v10, v01)


def auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC of one score (n_cases,): higher scores mean positive."""
    return float(placements(truth, score).auc[0])


def delong_cov(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (k,) and their DeLong covariance matrix (k, k) for scores (k, n_cases)."""
    pl = placements(truth, scores)
    m, n = pl.v10.shape[1], pl.v01.shape[1]
    s10 = np.atleast_2d(np.cov(pl.v10)) if m > 1 else np.zeros((pl.auc.size,) * 2)
    s01 = np.atleast_2d(np.cov(pl.v01)) if n > 1 else np.zeros((pl.auc.size,) * 2)
    return pl.auc, s10 / m + s01 / n


def variance_note(truth: np.ndarray) -> str:
    """Why DeLong's variance cannot be estimated for ``truth`` ("" when it can): it needs at
    least two positive and two negative cases (pROC reports NA then)."""
    t = _as_truth(truth)
    m, n = int(t.sum()), int((~t).sum())
    if m < 2 or n < 2:
        return (f"variance not estimable with {m} positive and {n} negative case(s): DeLong's "
                "standard error needs at least 2 of each")
    return ""


@dataclass(frozen=True)
class AUCEstimate:
    """An AUC with its DeLong standard error and ``1 - alpha`` interval (clipped to [0, 1]).

    ``se`` and ``ci`` are NaN, and ``note`` says why, when the variance is not estimable."""

    auc: float
    se: float
    ci: tuple[float, float]
    n_positive: int
    n_negative: int
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "auc": self.auc,
            "se": self.se,
            "ci": list(self.ci),
            "n_positive": self.n_positive,
            "n_negative": self.n_negative,
            **({"note": self.note} if self.note else {}),
        }


def auc_ci(truth: np.ndarray, score: np.ndarray, alpha: float = 0.05) -> AUCEstimate:
    """AUC with DeLong's 95 % (``1 - alpha``) normal interval, as pROC's ``ci.auc``."""
    check_alpha(alpha)
    t = _as_truth(truth)
    a, cov = delong_cov(t, score)
    counts = (int(t.sum()), int((~t).sum()))
    if note := variance_note(t):
        return AUCEstimate(float(a[0]), math.nan, (math.nan, math.nan), *counts, note)
    se = float(np.sqrt(max(cov[0, 0], 0.0)))
    z = stats.norm.ppf(1 - alpha / 2)
    lo, hi = float(a[0] - z * se), float(a[0] + z * se)
    return AUCEstimate(float(a[0]), se, (max(lo, 0.0), min(hi, 1.0)), *counts)


@dataclass(frozen=True)
class AUCComparison:
    """Paired DeLong test of ``auc1 - auc2`` on the same cases (``se``, ``z``, ``p`` and
    ``ci`` NaN, and ``note`` saying why, when the variance is not estimable)."""

    auc1: float
    auc2: float
    difference: float
    se: float
    z: float
    p: float
    ci: tuple[float, float]
    note: str = ""

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def delong_test(
    truth: np.ndarray, score1: np.ndarray, score2: np.ndarray, alpha: float = 0.05
) -> AUCComparison:
    """Compare two correlated AUCs (two scores on the same cases), as pROC's ``roc.test``."""
    check_alpha(alpha)
    a, cov = delong_cov(truth, np.vstack([score1, score2]))
    diff = float(a[0] - a[1])
    if note := variance_note(truth):
        nan = math.nan
        return AUCComparison(float(a[0]), float(a[1]), diff, nan, nan, nan, (nan, nan), note)
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = float(np.sqrt(max(var, 0.0)))
    if se == 0 and diff == 0:  # 0/0: identical scores; no evidence of a difference
        return AUCComparison(float(a[0]), float(a[1]), 0.0, 0.0, 0.0, 1.0, (0.0, 0.0),
                             "no variance: the two scores rank every case alike")
    z = diff / se if se > 0 else float(np.sign(diff) * np.inf)
    p = float(2 * stats.norm.sf(abs(z)))
    q = stats.norm.ppf(1 - alpha / 2)
    ci = (float(diff - q * se), float(diff + q * se))
    return AUCComparison(float(a[0]), float(a[1]), diff, se, float(z), p, ci)


def roc_curve(truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical ROC points ``(fpr, tpr, thresholds)``, from (0, 0) to (1, 1).

    A case is called positive when its score is ``>= threshold``; thresholds are the
    distinct scores in decreasing order, preceded by ``+inf``. The trapezoidal area under
    these points equals :func:`auc`.
    """
    t = _as_truth(truth)
    s = _as_scores(score, t.size)[0]
    thr = np.unique(s)[::-1]
    order = np.argsort(-s, kind="mergesort")
    ss, tt = s[order], t[order]
    # index of the last case with score >= each threshold
    last = np.searchsorted(-ss, -thr, side="right")
    tp = np.cumsum(tt)[last - 1]
    fp = np.cumsum(~tt)[last - 1]
    tpr = np.concatenate([[0.0], tp / t.sum()])
    fpr = np.concatenate([[0.0], fp / (~t).sum()])
    return fpr, tpr, np.concatenate([[np.inf], thr])

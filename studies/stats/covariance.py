"""Covariance of reader-performance estimates over cases (for the Obuchowski-Rockette model).

Each function returns ``(theta, cov)``: the k figures of merit (one per treatment x reader,
flattened treatment-major) and their k x k covariance over the random sample of cases.

- :func:`auc_jackknife_cov`: leave-one-case-out jackknife of the empirical (trapezoidal) AUC,
  ``cov = (c-1)/c sum_l (theta_(l) - mean)(theta_(l) - mean)^T`` over all c cases, as the Iowa
  OR-DBM MRMC program and MRMCaov's default. Leaving out positive i gives
  ``(m A - V10_i)/(m-1)``, leaving out negative j gives ``(n A - V01_j)/(n-1)``, so the c
  pseudo-AUCs come from the DeLong placement values without refitting (vectorised).
- :func:`auc_delong_cov`: DeLong's covariance (MRMCaov ``cov = DeLong``).
- :func:`mean_jackknife_cov`: for a figure of merit that is a mean of per-case outcomes (the
  proportion correct of 2AFC readers, where each *pair* is a case): the jackknife covariance
  equals the sample covariance of the outcomes divided by the number of cases.
"""

from __future__ import annotations

import numpy as np

from studies.errors import OptionError
from studies.stats.roc import delong_cov, placements


def jackknife_cov(pseudo: np.ndarray) -> np.ndarray:
    """Jackknife covariance (k, k) from leave-one-out estimates (k, n_cases)."""
    c = pseudo.shape[1]
    centred = pseudo - pseudo.mean(axis=1, keepdims=True)
    return (c - 1) / c * centred @ centred.T


def auc_jackknife_values(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (k,) and leave-one-case-out AUCs (k, n_cases) in the order of ``truth``."""
    t = np.asarray(truth).astype(bool)
    pl = placements(t, scores)
    m, n = pl.v10.shape[1], pl.v01.shape[1]
    if m < 2 or n < 2:
        raise OptionError(
            "truth", "at least two positive and two negative cases for the jackknife", (m, n)
        )
    a = pl.auc[:, None]
    loo = np.empty((a.shape[0], t.size))
    loo[:, t] = (m * a - pl.v10) / (m - 1)
    loo[:, ~t] = (n * a - pl.v01) / (n - 1)
    return pl.auc, loo


def auc_jackknife_cov(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical AUCs (k,) of score rows (k, n_cases) and their jackknife covariance (k, k)."""
    theta, loo = auc_jackknife_values(truth, scores)
    return theta, jackknife_cov(loo)


def auc_delong_cov(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical AUCs (k,) and DeLong's covariance (k, k)."""
    return delong_cov(truth, scores)


def mean_jackknife_cov(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means (k,) of per-case outcomes (k, n_cases) and the jackknife covariance of the means."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    if v.shape[1] < 2:
        raise OptionError("values", "outcomes on at least two cases", v.shape)
    if np.isnan(v).any():
        raise OptionError(
            "values", "a complete table (every reader on every case)", "missing values"
        )
    return v.mean(axis=1), np.atleast_2d(np.cov(v)) / v.shape[1]


COV_METHODS = {"jackknife": auc_jackknife_cov, "delong": auc_delong_cov}

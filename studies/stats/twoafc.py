"""Two-alternative forced choice (2AFC): proportion correct and d'.

In a 2AFC trial the reader sees one positive and one negative case and picks the positive.
The proportion correct ``PC`` estimates the area under the ROC curve (Green & Swets 1966);
under the equal-variance Gaussian model ``d' = sqrt(2) * Phi^-1(PC)`` (Macmillan & Creelman,
Detection Theory, 2nd ed., ch. 7).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from studies.errors import OptionError


def proportion_correct(correct: np.ndarray) -> float:
    """Mean of per-trial outcomes in {0, 0.5, 1} (0.5 = a tie, e.g. equal AI scores).

    ``correct``: shape (n_trials,). NaNs (unanswered) are ignored.
    """
    x = np.asarray(correct, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        raise OptionError("correct", "at least one answered trial", "an empty array")
    return float(x.mean())


def dprime(pc: float, n: int | None = None) -> float:
    """2AFC sensitivity ``d' = sqrt(2) Phi^-1(pc)``.

    PC of exactly 0 or 1 gives an infinite d'; pass ``n`` (trials) to apply the usual
    ``1/(2n)`` correction (PC moved to ``1 - 1/(2n)`` or ``1/(2n)``) and get a finite value.
    """
    if not 0.0 <= pc <= 1.0:
        raise OptionError("pc", "a proportion in [0, 1]", pc)
    if n is not None and n > 0:
        pc = min(max(pc, 1 / (2 * n)), 1 - 1 / (2 * n))
    return float(math.sqrt(2.0) * stats.norm.ppf(pc))

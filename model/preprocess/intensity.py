"""The paper's colour normalisation: clip at the 10th and 80th percentiles, scale to [0, 1]."""

from __future__ import annotations

import numpy as np

LOW_PERCENTILE = 10.0
HIGH_PERCENTILE = 80.0


def clip_and_scale(
    values: np.ndarray, low: float = LOW_PERCENTILE, high: float = HIGH_PERCENTILE
) -> np.ndarray:
    """Clip intensities at their ``low``/``high`` percentiles and scale linearly to [0, 1].

    Any shape; returns float32 of the same shape. A constant input gives zeros.
    """
    if not 0 <= low < high <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {low}, {high}")
    v = np.asarray(values, dtype=np.float32)
    lo, hi = np.percentile(v, [low, high])
    if hi <= lo:
        return np.zeros_like(v)
    return ((np.clip(v, lo, hi) - lo) / (hi - lo)).astype(np.float32)

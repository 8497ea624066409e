"""Turning results into JSON values: numpy scalars/arrays to Python, NaN and inf to None."""

from __future__ import annotations

import math

import numpy as np


def jsonable(x):
    """Nested dicts/lists/tuples with numpy values and NaN/inf made JSON-safe (NaN -> None)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    if x is None or repr(x) == "<NA>":
        return None
    return x

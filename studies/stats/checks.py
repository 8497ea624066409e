"""Parameter checks shared by the statistics (one place for what a valid ``alpha`` is)."""

from __future__ import annotations

import math

from studies.errors import OptionError


def check_alpha(alpha: object, name: str = "alpha") -> float:
    """``alpha`` as a float strictly between 0 and 1, or :class:`OptionError`."""
    try:
        value = float(alpha)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OptionError(name, "a number strictly between 0 and 1 (e.g. 0.05)", alpha) from None
    if isinstance(alpha, bool) or not (math.isfinite(value) and 0.0 < value < 1.0):
        raise OptionError(name, "a number strictly between 0 and 1 (e.g. 0.05)", alpha)
    return value

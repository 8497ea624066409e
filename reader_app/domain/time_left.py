"""The estimated time left of a long task, for progress bars (the demo's first run).

The task reports its progress as a fraction in [0, 1] whose steps are in proportion to their
measured time, so the time left is extrapolated linearly from the time elapsed:
``elapsed * (1 - fraction) / fraction``. Before enough of the task has run to say (the first
3 % or 5 s), there is no estimate. No Qt here.
"""

from __future__ import annotations

#: Below this fraction, or this many seconds, the estimate is too rough to show.
MIN_FRACTION = 0.03
MIN_SECONDS = 5.0


def seconds_left(elapsed: float, fraction: float) -> float | None:
    """Seconds left of a task ``fraction`` (0..1) done after ``elapsed`` seconds; None while
    too little has run to say, 0 when done."""
    if fraction >= 1.0:
        return 0.0
    if fraction < MIN_FRACTION or elapsed < MIN_SECONDS:
        return None
    return elapsed * (1.0 - fraction) / fraction


def describe_left(seconds: float | None) -> str:
    """'about 2 min left', 'about 40 s left', 'less than 10 s left', or 'estimating the time left'."""
    if seconds is None:
        return "estimating the time left"
    if seconds < 10:
        return "less than 10 s left"
    if seconds < 90:
        return f"about {round(seconds / 10) * 10:.0f} s left"
    return f"about {round(seconds / 60):.0f} min left"

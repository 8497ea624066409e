"""Active time on a pair: a stopwatch that excludes pauses.

The clock is injected (``time.monotonic`` by default, seconds as a float) so tests are exact
and a change of the wall clock never changes a measured duration.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ActiveClock:
    """Seconds spent while running; pauses do not count.

    >>> t = [0.0]; c = ActiveClock(lambda: t[0]); c.start()
    >>> t[0] = 5.0; c.pause(); t[0] = 65.0; c.resume(); t[0] = 67.0
    >>> c.elapsed
    7.0
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._accumulated = 0.0
        self._since: float | None = None  # when the current running stretch began
        self._started = False

    def start(self, *, paused: bool = False) -> None:
        """Reset to zero and start (or stay stopped at zero when ``paused``)."""
        self._accumulated = 0.0
        self._started = True
        self._since = None if paused else self._clock()

    def pause(self) -> None:
        """Stop counting (no effect when already paused)."""
        if self._since is not None:
            self._accumulated += max(0.0, self._clock() - self._since)
            self._since = None

    def resume(self) -> None:
        """Count again (no effect when running or never started)."""
        if self._started and self._since is None:
            self._since = self._clock()

    def add(self, seconds: float) -> None:
        """Count ``seconds`` more (time spent before a restart that still belongs here)."""
        self._accumulated += max(0.0, float(seconds))

    @property
    def is_running(self) -> bool:
        return self._since is not None

    @property
    def elapsed(self) -> float:
        """Active seconds since :meth:`start`, pauses excluded."""
        running = max(0.0, self._clock() - self._since) if self._since is not None else 0.0
        return self._accumulated + running

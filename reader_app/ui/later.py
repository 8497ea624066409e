"""Actions run a few milliseconds later on the GUI thread, through one reused timer.

``QTimer.singleShot(ms, callable)`` makes a timer and a Python connection on every call (a
cost on every pair switch, which asks for two: the next pair's prefetch and the first poll of
the answer written behind, then one poll every 4 ms until it is durable). :class:`Later`
keeps the actions due in a heap and starts one precise single-shot timer for the earliest.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer

#: An action due within this many seconds of the timer's firing runs then (timers round to ms).
SLACK_S = 0.0005


class Later:
    """Runs each action given to :meth:`after` once, ``ms`` milliseconds later, in the order
    they fall due (those due together in the order given)."""

    def __init__(self, parent: QObject | None = None) -> None:
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # as singleShot's for short delays
        self._timer.timeout.connect(self._run)
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def after(self, ms: int, action: Callable[[], None]) -> None:
        """Run ``action`` once, ``ms`` milliseconds from now."""
        entry = (time.monotonic() + max(ms, 0) / 1000.0, next(self._order), action)
        heapq.heappush(self._due, entry)
        if self._due[0] is entry:  # the earliest now: the timer is started for it
            self._timer.start(max(ms, 0))

    def pending(self) -> int:
        """How many actions wait to run."""
        return len(self._due)

    def _run(self) -> None:
        while self._due and self._due[0][0] <= time.monotonic() + SLACK_S:
            action = heapq.heappop(self._due)[2]
            try:
                action()
            except Exception:  # as a slot's exception: reported, and the other actions still run
                sys.excepthook(*sys.exc_info())
        if self._due:
            self._timer.start(max(0, round((self._due[0][0] - time.monotonic()) * 1000.0)))

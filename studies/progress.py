"""One progress protocol for long work, from the library to the terminal and the app.

Work that takes a while reports through the :class:`Progress` it is handed (``progress=``
keyword; default :data:`NO_PROGRESS`, which does nothing). Whoever does the work declares its
stages and what share of its time each takes, so whoever shows the progress names none:

    with progress.stage("preprocessing and EfficientNet features", weight=0.95) as st:
        for i, knee in enumerate(knees, 1):
            ...
            st.update(i, len(knees))
    with progress.stage("5-fold cross-validation", weight=0.05) as st:
        cross_validate(..., progress=st)  # which may declare stages of its own

A stage's ``weight`` is its share (0..1) of its parent's span; the weights of one parent's
stages add up to at most 1. A stage that ends is complete, whatever it reported. The fraction
of the whole task never goes back and ends at 1 when the work is done; the text is the path of
the stages under way, ``"outer: inner"`` (stages with an empty text add nothing).

Every change goes to the task's sinks as a :class:`ProgressState`:

- :class:`TerminalBar` draws it on stderr: one updating line on a terminal, a line every
  ~10 % (and at each new stage) otherwise, so logs and CI stay readable
  (:func:`terminal_progress`);
- :class:`LatestProgress` keeps the latest state for a window to poll from its own thread (the
  app's progress dialog), or any callable subscribes.

:class:`BackgroundTask` runs work in a thread of its own with such a sink, for another thread
to poll (the demo's dialog) or to follow on a stage of its own progress (the model's pipeline).
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

#: Stage weights may exceed 1 in all by this much (rounding).
WEIGHT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class ProgressState:
    """What a sink is told at every change of a task's progress."""

    #: Share of the whole task done, 0..1, never decreasing.
    fraction: float
    #: The stages under way, outermost first, joined by ": " ("" for none).
    text: str
    #: The count of the innermost stage's last :meth:`Progress.update` (0, 0 before any).
    done: int
    total: int
    #: Seconds since the task started.
    elapsed: float
    #: True once the whole task is done.
    finished: bool


#: A sink: called with every new state, in the thread that does the work.
ProgressSink = Callable[[ProgressState], None]


class _Task:
    """What the stages of one task share: sinks, clock, fraction so far."""

    def __init__(self, sinks: tuple[ProgressSink, ...], clock: Callable[[], float]) -> None:
        self.sinks = sinks
        self.clock = clock
        self.start = clock()
        self.fraction = 0.0

    def emit(self, fraction: float, text: str, counts: tuple[int, int]) -> None:
        self.fraction = max(self.fraction, min(fraction, 1.0))
        state = ProgressState(self.fraction, text, counts[0], counts[1], self.clock() - self.start,
                              self.fraction >= 1.0)
        for sink in self.sinks:
            sink(state)


class Progress:
    """One task's progress, or one stage of it (see the module docstring).

    ``Progress(*sinks, text="")`` starts a task whose states go to ``sinks``; :meth:`stage`
    makes the stages below it.
    """

    def __init__(self, *sinks: ProgressSink, text: str = "", clock: Callable[[], float] = time.perf_counter) -> None:
        self._task = _Task(tuple(sinks), clock)
        self._path: tuple[str, ...] = (text,) if text else ()
        self._lo, self._hi = 0.0, 1.0
        self._cursor = 0.0
        self._weights = 0.0
        self._counts = (0, 0)

    @property
    def text(self) -> str:
        """This stage's path of texts, ``"outer: inner"``."""
        return ": ".join(self._path)

    @property
    def fraction(self) -> float:
        """Share of the whole task done (0..1)."""
        return self._task.fraction

    @contextmanager
    def stage(self, text: str, weight: float) -> Iterator[Progress]:
        """A stage of this one taking ``weight`` (0..1) of its span; complete when the block ends
        normally. An exception leaves the progress where it was and gives the weight back, so
        the stage can be tried again."""
        if not (isinstance(weight, (int, float)) and 0.0 <= weight <= 1.0):
            raise ValueError(f"The weight of stage {text!r} must be a number in [0, 1]. Got {weight!r} instead.")
        if self._weights + weight > 1.0 + WEIGHT_TOLERANCE:
            raise ValueError(f"The stages of {self.text or 'the task'!r} weigh {self._weights + weight:g} "
                             f"in all with {text!r}; their weights must add up to at most 1.")
        self._weights += weight
        child = self._child(text, weight)
        if text:  # a stage without a text shows when it reports
            self._task.emit(child._lo, child.text, (0, 0))
        try:
            yield child
        except BaseException:
            self._weights -= weight  # a failed stage may be tried again
            raise
        child.finish()
        self._cursor = max(self._cursor, child._hi)

    def _child(self, text: str, weight: float) -> Progress:
        child = object.__new__(type(self))
        child._task = self._task
        child._path = (*self._path, text) if text else self._path
        child._lo = self._cursor
        last = self._weights >= 1.0 - WEIGHT_TOLERANCE  # the last stage ends where its parent does
        child._hi = self._hi if last else min(self._hi, self._cursor + weight * (self._hi - self._lo))
        child._cursor, child._weights, child._counts = child._lo, 0.0, (0, 0)
        return child

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` items of this stage are done (``total`` 0: nothing to count)."""
        self._counts = (int(done), int(total))
        share = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        self._cursor = max(self._cursor, self._lo + share * (self._hi - self._lo))
        self._task.emit(self._cursor, self.text, self._counts)

    def advance(self, n: int = 1) -> None:
        """``n`` more items done, of the total of the last :meth:`update`."""
        done, total = self._counts
        if total <= 0:
            raise ValueError(f"advance() of {self.text or 'the task'!r} needs a total: call update(0, total) first.")
        self.update(done + n, total)

    def finish(self) -> None:
        """This stage (or, at the top, the whole task) is done."""
        self._cursor = self._hi
        done, total = self._counts
        self._task.emit(self._hi, self.text, (total, total) if total > 0 else (done, total))


class _NoProgress(Progress):
    """The null object: every report is accepted and dropped."""

    @contextmanager
    def stage(self, text: str, weight: float) -> Iterator[Progress]:
        yield self

    def update(self, done: int, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


#: The default of every ``progress=`` keyword: no one is watching.
NO_PROGRESS: Progress = _NoProgress()


class TerminalBar:
    """A sink that draws the task on ``stream`` (stderr): ``desc[: stage] [####--] done/total``.

    On a terminal one line is updated in place (a new line at each new stage); otherwise a
    line is written at each tenth of the whole task, at each new stage and when a stage's
    count is complete. Nothing is written after the task's end.
    """

    def __init__(self, desc: str, *, stream=None, width: int = 30) -> None:
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last: object = None  # the label (terminal) or (label, tenth) last written
        self._complete = False  # the last line written had its count complete
        self._finished = False
        self._line = 0  # characters on the terminal's current line

    def _label(self, state: ProgressState) -> str:
        return f"{self.desc}: {state.text}" if state.text and self.desc else (state.text or self.desc)

    def __call__(self, state: ProgressState) -> None:
        if self._finished:
            return  # the task's end is written once
        self._finished = state.finished
        label, frac, elapsed = self._label(state), state.fraction, state.elapsed
        counts = f" {state.done}/{state.total}" if state.total > 0 else ""
        if self._tty:
            if self._last is not None and self._last != label and self._line:
                self.stream.write("\n")
                self._line = 0
            self._last = label
            eta = elapsed / frac - elapsed if frac > 0 else math.nan
            filled = int(self.width * frac)
            line = (f"{label} [{'#' * filled}{'-' * (self.width - filled)}]{counts} {elapsed:5.1f}s"
                    + (f" eta {eta:5.1f}s" if 0 < frac < 1 else ""))
            self.stream.write("\r" + line.ljust(self._line))
            self._line = len(line)
            if state.finished:
                self.stream.write("\n")
                self._line = 0
        else:
            key, complete = (label, int(frac * 10)), 0 < state.total <= state.done
            if key != self._last or (complete and not self._complete):
                self._last, self._complete = key, complete
                self.stream.write(f"{label}:{counts} ({frac:.0%}, {elapsed:.1f}s)\n")
        self.stream.flush()


def terminal_progress(desc: str, *, stream=None) -> Progress:
    """A task drawn on stderr (or ``stream``) by a :class:`TerminalBar` named ``desc``."""
    return Progress(TerminalBar(desc, stream=stream))


class LatestProgress:
    """A sink that keeps the latest state, for a window to poll from its own thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = ProgressState(0.0, "", 0, 0, 0.0, False)

    def __call__(self, state: ProgressState) -> None:
        with self._lock:
            self._state = state

    @property
    def state(self) -> ProgressState:
        with self._lock:
            return self._state


class BackgroundTask:
    """``work(progress)`` run in a daemon thread named ``name``, its progress kept for other
    threads (:attr:`state`); :meth:`result` raises what the work raised."""

    def __init__(self, work: Callable[[Progress], object], *, name: str) -> None:
        self._latest = LatestProgress()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[Progress], object]) -> None:
        try:
            work(Progress(self._latest))
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc

    @property
    def state(self) -> ProgressState:
        """The work's latest progress."""
        return self._latest.state

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: until the end); whether the work is done."""
        self._thread.join(timeout)
        return self.done

    def result(self) -> None:
        """Wait for the end of the work; raise its failure, if any."""
        self._thread.join()
        if self._error is not None:
            raise self._error

    def follow(self, progress: Progress, poll: float = 0.25) -> None:
        """Show the work's share done on ``progress`` until it ends, then :meth:`result`."""
        while not self.join(poll):
            progress.update(round(self.state.fraction * 1000), 1000)
        self.result()

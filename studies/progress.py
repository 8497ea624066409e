"""A dependency-free progress bar for long command-line work.

``progress(iterable, total=..., desc=...)`` writes a single updating line to stderr when it is
a terminal, and a line every ~10 % otherwise (so logs and CI stay readable). Library code
takes an optional ``progress`` callable ``(done, total) -> None`` instead of printing, so the
Qt app can show the same work in a dialog.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: Signature of progress callbacks in library code: (done, total).
ProgressCallback = Callable[[int, int], None]


class ProgressBar:
    """Callable progress reporter: ``bar(done, total)``."""

    def __init__(self, desc: str, *, stream=None, width: int = 30) -> None:
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.start = time.perf_counter()
        self._last_decile = -1
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int) -> None:
        total = max(total, 1)
        frac = min(done / total, 1.0)
        elapsed = time.perf_counter() - self.start
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        if self._tty:
            filled = int(self.width * frac)
            bar = "#" * filled + "-" * (self.width - filled)
            end = "\n" if done >= total else ""
            self.stream.write(
                f"\r{self.desc} [{bar}] {done}/{total} {elapsed:5.1f}s"
                + (f" eta {eta:5.1f}s" if done < total and frac > 0 else "")
                + end
            )
            self.stream.flush()
        else:
            decile = int(frac * 10)
            if decile != self._last_decile or done >= total:
                self._last_decile = decile
                self.stream.write(f"{self.desc}: {done}/{total} ({frac:.0%}, {elapsed:.1f}s)\n")
                self.stream.flush()


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "") -> Iterator[T]:
    """Iterate while reporting progress to stderr."""
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = 0
    bar = ProgressBar(desc)
    bar(0, total)
    for i, item in enumerate(iterable, 1):
        yield item
        bar(i, total)

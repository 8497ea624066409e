"""A small least-recently-used cache with background prefetch (threads, no Qt).

The reading window asks for the current pair's knees with :meth:`VolumeCache.get` and, as
soon as they are drawn, calls :meth:`VolumeCache.prefetch` for the next pair's knees, which
load in a worker thread while the reader looks at the current pair. Confirming then finds
the next pair already decoded, so the switch costs only drawing.

Memory stays flat over a long session: at most ``capacity`` values are kept (the least
recently used is dropped first), plus at most one load in flight per key.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class VolumeCache(Generic[K, V]):
    """LRU cache of ``loader(key)`` results with prefetch in ``workers`` background threads.

    Parameters
    ----------
    loader : callable key -> value; runs in a worker thread for prefetches, in the caller's
        thread for a :meth:`get` of a key nobody asked for before. Its exceptions reach
        whoever calls :meth:`get` for that key (and are not cached).
    capacity : how many values to keep (>= 1). Four knees (two pairs) by default.
    workers : background threads (one is enough: decoding is mostly zlib, which releases the GIL).
    background_nice : niceness added to the threads of :meth:`prefetch` with
        ``background=True`` (Linux; 0: none), so that decoding ahead yields the CPU to the
        window the reader is scrolling. Prefetches the reader waits for keep normal priority.
    """

    def __init__(self, loader: Callable[[K], V], capacity: int = 4, workers: int = 1,
                 background_nice: int = 0) -> None:
        if capacity < 1:
            raise ValueError(f"The 'capacity' parameter must be an int >= 1. Got {capacity!r} instead.")
        self.loader = loader
        self.capacity = capacity
        self._values: OrderedDict[K, V] = OrderedDict()
        self._pending: dict[K, Future[V]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="volume-prefetch")
        self._background = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="volume-prefetch-bg",
                                              initializer=lower_thread_priority, initargs=(background_nice,))
        self.hits = 0
        self.misses = 0
        self.closed = False

    # -- queries --------------------------------------------------------------------
    def __contains__(self, key: K) -> bool:
        with self._lock:
            return key in self._values

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def keys(self) -> list[K]:
        """Cached keys, least recently used first."""
        with self._lock:
            return list(self._values)

    def is_pending(self, key: K) -> bool:
        with self._lock:
            return key in self._pending

    # -- loading --------------------------------------------------------------------
    def get(self, key: K) -> V:
        """The value for ``key``: from the cache, from a prefetch in flight (waits), or loaded now."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                self.hits += 1
                return self._values[key]
            future = self._pending.get(key)
        if future is not None:
            self.hits += 1
            return future.result()  # _finish has stored it (or the error propagates)
        self.misses += 1
        value = self.loader(key)
        self._store(key, value)
        return value

    def prefetch(self, key: K, *, background: bool = False) -> Future[V] | None:
        """Start loading ``key`` in the background unless cached, already loading, or closed.

        ``background``: nobody waits for it yet (the next pair): it runs in the threads of
        lowered priority (``background_nice``)."""
        with self._lock:
            if self.closed:
                return None
            if key in self._values:
                self._values.move_to_end(key)
                return None
            if key in self._pending:
                return self._pending[key]
            future = (self._background if background else self._pool).submit(self._load, key)
            self._pending[key] = future
            return future

    def _load(self, key: K) -> V:
        try:
            value = self.loader(key)
        except BaseException:
            with self._lock:
                self._pending.pop(key, None)
            raise
        self._store(key, value)
        return value

    def _store(self, key: K, value: V) -> None:
        with self._lock:
            self._pending.pop(key, None)
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.capacity:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def close(self) -> None:
        """Stop the worker threads (waits for a load in flight; queued ones are cancelled).

        Later prefetches are ignored (a timer may still fire after the window closed)."""
        with self._lock:
            self.closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._background.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._pending.clear()


def lower_thread_priority(nice: int) -> None:
    """Add ``nice`` to the calling thread's niceness (Linux, where each thread has its own;
    elsewhere, and for 0, nothing). A lower priority that cannot be set is not an error."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except OSError:
        pass

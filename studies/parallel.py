"""Process-parallel map with progress, for the builder's long per-item work.

``parallel_map(fn, items, workers=N, progress=task)`` returns ``[fn(x) for x in items]`` in
order, computed in ``N`` spawned processes (1: in this process), counting the items done on
``task`` (a :class:`studies.progress.Progress`) as they finish. ``fn`` must be a picklable top-level function. Spawned (not
forked) workers are safe under threads, as in the Qt app, and on every OS. The first
failure is re-raised and the remaining work cancelled.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

from studies.errors import OptionError
from studies.progress import NO_PROGRESS, Progress

T = TypeVar("T")
R = TypeVar("R")


def _single_threaded_itk() -> None:
    """Worker initialiser: one ITK thread per process (the processes are the parallelism)."""
    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)


def parallel_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int = 1,
    progress: Progress = NO_PROGRESS,
) -> list[R]:
    """``[fn(x) for x in items]`` using ``workers`` processes; see the module docstring."""
    if isinstance(workers, bool) or not (isinstance(workers, int) and workers >= 1):
        raise OptionError("workers", "an int >= 1", workers)
    total = len(items)
    progress.update(0, total)
    if workers == 1 or total <= 1:
        results = []
        for i, item in enumerate(items, 1):
            results.append(fn(item))
            progress.update(i, total)
        return results
    out: list = [None] * total
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, total), mp_context=ctx, initializer=_single_threaded_itk
    ) as pool:
        futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        try:
            for done, fut in enumerate(as_completed(futures), 1):
                out[futures[fut]] = fut.result()
                progress.update(done, total)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return out

"""All preprocessing steps in the paper's order, for one volume or many.

read -> orient (mirror right knees) -> pick the 8 middle slices -> N4 (fast slab fit or the
slow whole-volume reference) -> clip at the 10th/80th percentiles and scale to [0, 1].
The percentiles are taken over the 8-slice stack, the part the model sees.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from model.choices import unknown_choice
from model.preprocess.cache import PreprocessCache, cache_key, input_hash, volume_hash
from model.preprocess.intensity import HIGH_PERCENTILE, LOW_PERCENTILE, clip_and_scale
from model.preprocess.n4 import FAST_BY_SEQUENCE, n4_reference, n4_slab
from model.preprocess.orientation import orient, read_volume
from model.preprocess.slices import N_SLICES, middle_indices, slice_axis, take_slices
from studies.errors import InputFileError, OptionError
from studies.progress import NO_PROGRESS, Progress

N4_METHODS = ("fast", "reference", "none")


@dataclass(frozen=True)
class PreprocessConfig:
    """Preprocessing parameters (all of them enter the cache key)."""

    sequence: str = "cor_iw_tse"
    n_slices: int = N_SLICES
    n4: str = "fast"
    low_percentile: float = LOW_PERCENTILE
    high_percentile: float = HIGH_PERCENTILE

    def __post_init__(self) -> None:
        slice_axis(self.sequence)  # validates
        if self.n4 not in N4_METHODS:
            raise unknown_choice("n4", self.n4, N4_METHODS)
        if not (isinstance(self.n_slices, int) and self.n_slices >= 1):
            raise OptionError("n_slices", "an int >= 1", self.n_slices)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VolumeJob:
    """One volume: its path (DICOM folder or tar, or NIfTI), the knee's side, and whether to mirror
    right knees (False for study-package images, already mirrored)."""

    source: str
    side: str | None
    mirror: bool = True


def oriented_volume(job: VolumeJob) -> sitk.Image:
    """The job's volume read and oriented (LPS+, right knees mirrored when asked)."""
    return orient(read_volume(job.source), job.side, mirror=job.mirror)


def slice_indices(image: sitk.Image, config: PreprocessConfig, source: str = "") -> np.ndarray:
    """Indices (n_slices,) of the slices :func:`preprocess_image` takes from an oriented volume,
    along the sequence's slice axis of the LPS array (see ``slices.SLICE_AXIS``)."""
    n = sitk.GetArrayViewFromImage(image).shape[slice_axis(config.sequence)]
    try:
        return middle_indices(n, config.n_slices)
    except ValueError as exc:
        raise InputFileError(source or "volume", str(exc), hint=f"Is this a {config.sequence} series?") from exc


def preprocess_image(image: sitk.Image, config: PreprocessConfig, source: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Oriented volume -> (stack (n_slices, H, W) float32 in [0, 1], slice indices (n_slices,)).

    Indices are along the sequence's slice axis of the LPS array (see ``slices.SLICE_AXIS``).
    """
    axis = slice_axis(config.sequence)
    idx = slice_indices(image, config, source)
    if config.n4 == "fast":
        slab = sitk.GetArrayFromImage(n4_slab(image, axis, idx, **FAST_BY_SEQUENCE.get(config.sequence, {})))
        stack = take_slices(slab, config.sequence, np.arange(len(idx)))
    else:
        vol = n4_reference(image) if config.n4 == "reference" else image
        stack = take_slices(sitk.GetArrayFromImage(vol), config.sequence, idx)
    return clip_and_scale(stack, config.low_percentile, config.high_percentile), idx


def preprocess_job(job: VolumeJob, config: PreprocessConfig, cache_root: str | None = None) -> np.ndarray:
    """Preprocess one volume (through the cache when ``cache_root`` is given); (n_slices, H, W).

    The cache is looked up by the input file's bytes first, then by the oriented volume's
    content (:mod:`model.preprocess.cache`): a study-package NIfTI of a cohort knee whose
    DICOM series was preprocessed already is not corrected again."""
    if not cache_root:
        return preprocess_image(oriented_volume(job), config, job.source)[0]
    cache = PreprocessCache(cache_root)
    if not Path(job.source).exists():
        raise InputFileError(job.source, "image not found", hint="Check the cohort's image paths")
    file_key = cache_key(input_hash(job.source), {**config.to_json(), "side": job.side, "mirror": job.mirror})
    content_key = cache.ref(file_key)
    stack = cache.get(content_key) if content_key else None
    if stack is not None:
        return stack
    image = oriented_volume(job)
    content_key = cache_key(volume_hash(image), config.to_json())
    stack = cache.get(content_key)
    if stack is None:
        stack, _ = preprocess_image(image, config, job.source)
        cache.put(content_key, stack)
    cache.put_ref(file_key, content_key)
    return stack


def _init_worker() -> None:
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)


#: What the model's worker processes run (preprocessing, the runtime's encoding, scoring and
#: Grad-CAM, fold fitting): imported once by the fork server, so that the workers of every
#: pool start with torch, the runtime and SimpleITK already imported (a spawned worker spends
#: ~4 s of a core importing them, per pool).
WORKER_MODULES = ["model.infer", "model.cv"]


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes for :func:`preprocess_many` and the model's other
    per-knee work (reuse it across calls; the caller closes it), one ITK thread each. Forked
    from a server process that has imported :data:`WORKER_MODULES` (``forkserver``: safe
    under threads, as in the Qt app) where the platform has one, spawned elsewhere. Scripts
    using it need an ``if __name__ == "__main__"`` guard."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(WORKER_MODULES)  # once the server runs, later calls change nothing
    else:
        ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)


def preprocess_many(
    jobs: list[VolumeJob],
    config: PreprocessConfig,
    *,
    cache_root: str | Path | None = None,
    workers: int = 1,
    pool: ProcessPoolExecutor | None = None,
    progress: Progress = NO_PROGRESS,
) -> list[np.ndarray]:
    """Preprocess ``jobs`` (in ``workers`` processes, or in ``pool``); stacks in job order.

    ``progress`` counts the volumes done. The first failure is re-raised.
    """
    if not (isinstance(workers, int) and workers >= 1):
        raise OptionError("workers", "an int >= 1", workers)
    root = str(cache_root) if cache_root else None
    total = len(jobs)
    progress.update(0, total)
    if pool is None and (workers == 1 or total <= 1):
        out = []
        for i, job in enumerate(jobs, 1):
            out.append(preprocess_job(job, config, root))
            progress.update(i, total)
        return out
    own = pool is None
    pool = pool or worker_pool(min(workers, total))
    try:
        results: list[np.ndarray] = []
        for i, stack in enumerate(pool.map(preprocess_job, jobs, [config] * total, [root] * total), 1):
            results.append(stack)
            progress.update(i, total)
        return results
    finally:
        if own:
            pool.shutdown()

"""Knees preprocessed and encoded in worker processes, each with a one-thread runtime session.

On a CPU the two costly steps of a knee's features are N4 (SimpleITK, one thread per worker)
and the backbone (an inference runtime). Alternating them (the pool preprocesses a chunk while
the runtime waits, then the runtime encodes it with every core while the pool waits) leaves
cores idle at each turn, and a runtime that splits every convolution over two threads loses a
share of each to the wait for the slower thread, worse when anything else runs. Here each
worker process does a whole knee, N4 then the backbone on its own single-threaded session, so
``W`` workers keep ``W`` cores busy with no hand-over and no thread waiting on another
(measured on 2 cores: docs/model.md, "Inference runtime").

The features are the runtime's, the same graph as the in-process :class:`RuntimeEncoder`;
threads change only how the work is split (sums taken in another order: equal to 1e-4, the
engines' tolerance, tested; the demo's stored float16 features came out identical).

- :class:`EncoderSpec`: what a worker needs to open the same session (picklable);
- :func:`encode_many`: features (N, F) of each job, in job order, from a
  :func:`model.preprocess.pipeline.worker_pool`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from model.backbone import Provenance
from model.preprocess.pipeline import PreprocessConfig, VolumeJob, preprocess_job
from model.runtime import RuntimeEncoder


@dataclass(frozen=True)
class EncoderSpec:
    """A runtime encoder's graph, weights' provenance, engine, batch size and precision (picklable)."""

    graph: str
    provenance: Provenance
    engine: str
    batch_size: int
    precision: str = "float32"

    @classmethod
    def of(cls, encoder: RuntimeEncoder) -> EncoderSpec:
        return cls(str(encoder.graph), encoder.provenance, encoder.engine, encoder.batch_size, encoder.precision)

    def open(self, threads: int = 1) -> RuntimeEncoder:
        return RuntimeEncoder(self.graph, self.provenance, engine=self.engine, batch_size=self.batch_size,
                              threads=threads, precision=self.precision)


#: The session of each spec a worker process has opened (one per process, reused for every knee).
_OPEN: dict[EncoderSpec, RuntimeEncoder] = {}


def worker_encoder(spec: EncoderSpec) -> RuntimeEncoder:
    """This process's single-threaded session for ``spec`` (torch's own work, the resize to
    the input size, on one thread too: the worker has one core's share)."""
    encoder = _OPEN.get(spec)
    if encoder is None:
        import torch

        torch.set_num_threads(1)
        encoder = _OPEN[spec] = spec.open(threads=1)
    return encoder


def encode_job(job: VolumeJob, config: PreprocessConfig, cache_root: str | None, spec: EncoderSpec) -> np.ndarray:
    """One knee in a worker: preprocessed (through the cache) and encoded; (N, F) float32."""
    return worker_encoder(spec).encode(preprocess_job(job, config, cache_root))


def encode_many(jobs: list[VolumeJob], config: PreprocessConfig, spec: EncoderSpec, *, pool,
                cache_root: str | None = None) -> Iterator[np.ndarray]:
    """Features (N, F) of each job, in job order, computed in ``pool``'s processes (a
    :func:`model.preprocess.pipeline.worker_pool`); the first failure is raised when reached."""
    n = len(jobs)
    return pool.map(encode_job, jobs, [config] * n, [cache_root] * n, [spec] * n)


__all__ = ["EncoderSpec", "encode_job", "encode_many", "worker_encoder"]

"""A cohort's training data for one task: labels, clinical matrix and image features.

``load_task_data(cohort_dir, task, store, encoder, ...)`` reads the cohort with
``studies.cohort.load_cohort``, makes the paper's labels with ``studies.labels.make_labels``,
keeps the knee-windows with a label and an image of the sequence, writes the missing images
of a synthetic cohort (``studies.synth.materialize``), preprocesses and encodes every image
not yet in the feature store (on a runtime engine each worker process does whole knees,
:mod:`model.worker_encode`; with torch chunk by chunk, preprocessing in parallel processes),
and returns the arrays the classifier needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.features import FeatureStore, SliceEncoder
from model.preprocess.pipeline import VolumeJob, preprocess_many, worker_pool
from model.runtime import RuntimeEncoder
from model.tasks import Task, clinical_matrix, knee_key, task_rows
from model.worker_encode import EncoderSpec, encode_many
from studies.progress import NO_PROGRESS, Progress

CHUNK = 32


@dataclass
class TaskData:
    """Rows (knee-windows) and their arrays; ``X`` (n, N, F), ``C`` (n, K), ``y`` (n,)."""

    rows: pd.DataFrame
    keys: list[str]
    X: np.ndarray
    C: np.ndarray
    y: np.ndarray
    groups: np.ndarray  # participant ids (n,)
    report: dict


def load_task_data(
    cohort_dir: str | Path,
    task: Task,
    store: FeatureStore,
    encoder: SliceEncoder | RuntimeEncoder,
    *,
    variables: tuple[str, ...],
    visits: tuple[int, ...] | None = None,
    ingest: dict | None = None,
    cache_root: str | Path | None = None,
    workers: int = 1,
    progress: Progress = NO_PROGRESS,
) -> TaskData:
    """Everything the classifier needs for ``task`` on a cohort (see module docstring).

    ``ingest``: how an OAI download is read (``studies.cohort.IngestOptions`` fields). Knees
    whose series turn out truncated or unreadable when counted are left out and counted in
    ``report["dropped"]["no_complete_series"]``.
    """
    from studies.cohort import IngestOptions, load_cohort, resolve
    from studies.labels import make_labels

    sequence = store.config.sequence
    cohort = load_cohort(cohort_dir, IngestOptions(**(ingest or {})))
    labels = make_labels(cohort.knees, jsw_readings=cohort.jsw_readings)
    if visits:
        labels = labels[labels["visit_month"].isin(visits)].reset_index(drop=True)
    rows = task_rows(labels, task, sequence, where=str(cohort_dir))
    if cohort.is_synthetic:
        missing = [
            (r.participant_id, r.side, int(r.visit_month))
            for r in rows.itertuples()
            if not Path(getattr(r, sequence)).exists()
        ]
        if missing:
            from studies.synth import materialize

            materialize(cohort.root, missing, workers=workers)  # in worker processes, as N4
    counts = Path(cache_root) / "slice_counts.json" if cache_root is not None else None
    rows = _complete_series(cohort, rows, sequence, lambda c, k: resolve(c, k, count_cache=counts))
    keys = [knee_key(r.participant_id, r.side, r.visit_month) for r in rows.itertuples()]
    todo = [i for i, k in enumerate(keys) if not store.has(k)]
    progress.update(0, len(todo))
    pool = worker_pool(workers) if workers > 1 and len(todo) > 1 else None
    try:
        if pool is not None and isinstance(encoder, RuntimeEncoder):
            # each worker preprocesses and encodes whole knees on its own one-thread session
            jobs = [_job(rows, i, sequence) for i in todo]
            root = str(cache_root) if cache_root is not None else None
            for done, (i, features) in enumerate(zip(todo, encode_many(jobs, store.config, EncoderSpec.of(encoder),
                                                                      pool=pool, cache_root=root), strict=True), 1):
                store.put(keys[i], features)
                progress.update(done, len(todo))
        else:
            # torch (or one process): each chunk is preprocessed in the pool's processes, then
            # encoded with all of torch's threads while the pool waits
            for s in range(0, len(todo), CHUNK):
                chunk = todo[s : s + CHUNK]
                jobs = [_job(rows, i, sequence) for i in chunk]
                stacks = preprocess_many(jobs, store.config, cache_root=cache_root, pool=pool)
                for i, stack in zip(chunk, stacks, strict=True):
                    store.put(keys[i], encoder.encode(stack))
                progress.update(min(s + CHUNK, len(todo)), len(todo))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)  # after a failure, the knees not started are not run
    report = {
        "knee_windows": int(len(rows)),
        "series_choice": {k: v for k, v in cohort.report.get("series_choice", {}).items() if k != "not_chosen"},
        "dropped": rows.attrs.get("dropped", {}),
        "excluded_missing_jsw": labels.attrs.get("excluded", {}),
        "features_computed": len(todo),
        "class_counts": {int(k): int(v) for k, v in rows["y"].value_counts().sort_index().items()},
        "cohort_report": {k: v for k, v in cohort.report.items() if isinstance(v, int | float | str)},
    }
    return TaskData(
        rows=rows,
        keys=keys,
        X=store.stack(keys),
        C=clinical_matrix(rows, variables),
        y=rows["y"].to_numpy(),
        groups=rows["participant_id"].astype(str).to_numpy(),
        report=report,
    )


def _job(rows: pd.DataFrame, i: int, sequence: str) -> VolumeJob:
    return VolumeJob(str(rows.at[i, sequence]), rows.at[i, "side"], mirror=True)


def _complete_series(cohort, rows: pd.DataFrame, sequence: str, resolve) -> pd.DataFrame:
    """``rows`` pointed at each knee's complete series (counted now), without the knees that
    have none; the count is added to ``rows.attrs["dropped"]``."""
    keys = [(str(r.participant_id), r.side, int(r.visit_month)) for r in rows.itertuples()]
    lacking = resolve(cohort, keys)
    paths = cohort.knees.set_index(["participant_id", "side", "visit_month"])[sequence]
    dropped = dict(rows.attrs.get("dropped", {}))
    keep = [sequence not in lacking.get(k, []) for k in keys]
    out = rows[keep].copy()
    out[sequence] = [paths.get(k, p) for k, p in zip((k for k, ok in zip(keys, keep, strict=True) if ok), out[sequence], strict=True)]
    dropped["no_complete_series"] = int(len(rows) - len(out))
    out.attrs["dropped"] = dropped
    return out.reset_index(drop=True)

"""A cohort's training data for one task: labels, clinical matrix and image features.

``load_task_data(cohort_dir, task, store, encoder, ...)`` reads the cohort with
``studies.cohort.load_cohort``, makes the paper's labels with ``studies.labels.make_labels``,
keeps the knee-windows with a label and an image of the sequence, writes the missing images
of a synthetic cohort (``studies.synth.materialize``), preprocesses and encodes every image
not yet in the feature store (chunk by chunk, preprocessing in parallel processes), and
returns the arrays the classifier needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.features import FeatureStore, SliceEncoder
from model.preprocess.pipeline import VolumeJob, preprocess_many, worker_pool
from model.tasks import Task, clinical_matrix, knee_key, task_rows
from studies.progress import ProgressCallback

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
    encoder: SliceEncoder,
    *,
    variables: tuple[str, ...],
    visits: tuple[int, ...] | None = None,
    cache_root: str | Path | None = None,
    workers: int = 1,
    progress: ProgressCallback | None = None,
) -> TaskData:
    """Everything the classifier needs for ``task`` on a cohort (see module docstring)."""
    from studies.cohort import load_cohort
    from studies.labels import make_labels

    sequence = store.config.sequence
    cohort = load_cohort(cohort_dir)
    labels = make_labels(cohort.knees)
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
    keys = [knee_key(r.participant_id, r.side, r.visit_month) for r in rows.itertuples()]
    todo = [i for i, k in enumerate(keys) if not store.has(k)]
    if progress:
        progress(0, len(todo))
    # Each chunk is preprocessed in the pool's processes, then encoded with all of torch's
    # threads while the pool waits: the two phases never compete for the cores.
    pool = worker_pool(workers) if workers > 1 and len(todo) > 1 else None
    try:
        for s in range(0, len(todo), CHUNK):
            chunk = todo[s : s + CHUNK]
            jobs = [VolumeJob(str(rows.at[i, sequence]), rows.at[i, "side"], mirror=True) for i in chunk]
            stacks = preprocess_many(jobs, store.config, cache_root=cache_root, pool=pool)
            for i, stack in zip(chunk, stacks, strict=True):
                store.put(keys[i], encoder.encode(stack))
            if progress:
                progress(min(s + CHUNK, len(todo)), len(todo))
    finally:
        if pool is not None:
            pool.shutdown()
    report = {
        "knee_windows": int(len(rows)),
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

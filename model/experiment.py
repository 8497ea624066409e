"""Cross-validation and training runs on a cohort, written into a run folder.

``run_cv(config, out)`` -> RUN with metrics.json, folds.csv, roc.png, models/fold_k.pt;
``run_train(config, out)`` -> RUN with models/final.pt (added next to a cv of the same data).
Features are cached in ``features_root`` (and preprocessed stacks in ``cache_root``), so a
second run on the same cohort and settings skips the image work.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from sklearn.base import clone

from model.backbone import create_backbone, resolve_device
from model.cohort_data import TaskData, load_task_data
from model.cv import cross_validate, plot_rocs
from model.encoders import make_encoder, resolve_engine
from model.features import FeatureStore
from model.infer import TRAINING_PARTICIPANTS
from model.metrics import json_safe
from model.run import (
    CONFIG,
    DATA,
    FINAL,
    FOLDS,
    METRICS,
    ROC,
    RunConfig,
    load_config,
    new_run_id,
    save_model,
    write_json,
)
from model.tasks import get_task
from model.training import MILClassifier
from studies.atomic import write_text_atomic
from studies.errors import OptionError
from studies.progress import NO_PROGRESS, Progress

log = logging.getLogger(__name__)

#: The stage that preprocesses the cohort's knees and computes their backbone features.
FEATURES_TEXT = "preprocessing and EfficientNet features"
#: Shares of the features stage in a cv run and in a final-model run of their time on 2 cores
#: (the demo cohort: features ~150 s, 5-fold cross-validation ~8 s, a final model ~3 s; features
#: cached by an earlier run still take a few seconds to read).
CV_FEATURES_SHARE = 0.95
TRAIN_FEATURES_SHARE = 0.7


def prepare(
    config: RunConfig,
    *,
    features_root: str | Path,
    cache_root: str | Path | None = None,
    workers: int = 1,
    device: str = "cpu",
    engine: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> tuple[RunConfig, TaskData]:
    """Backbone + features for the config's cohort and task; fills ``config.provenance`` and
    ``config.engine``.

    ``device``: where the backbone runs ('cpu', 'cuda', 'auto'; see
    :func:`model.backbone.resolve_device`); ``engine``: what runs it ('onnx', 'openvino',
    'torch'; default ONNX Runtime on the CPU, see :func:`model.encoders.resolve_engine`), its
    exported graph cached under ``features_root/graphs``. ``config`` has been checked at the
    entry (:meth:`model.run.RunConfig.check`). ``progress`` counts the knee-windows whose
    features are computed."""
    task = get_task(config.task)
    device = resolve_device(device)  # a GPU this machine lacks is refused before any work
    engine = resolve_engine(engine, device, config.precision)  # and so is an unknown engine
    backbone, prov = create_backbone(config.backbone, weights=config.weights, input_size=config.input_size)
    config.provenance = prov.to_json()
    store = FeatureStore(features_root, prov, config.preprocess, config.precision)
    encoder = make_encoder(backbone, prov, engine=engine, device=device, graph_root=features_root,
                           precision=config.precision)
    config.engine = encoder.describe()
    data = load_task_data(
        config.cohort,
        task,
        store,
        encoder,
        variables=config.variables,
        visits=config.visits,
        ingest=config.ingest,
        cache_root=cache_root,
        workers=workers,
        progress=progress,
    )
    data.report["feature_engine"] = config.engine
    return config, data


def _open_run(config: RunConfig, out: Path, **prepare_kw) -> tuple[RunConfig, TaskData, bool]:
    """:func:`prepare` the data, then join the run folder ``out`` if it holds a run of the same
    data (``joined`` True: its run id is adopted) or give the config a new run id."""
    config, data = prepare(config, **prepare_kw)
    if (out / CONFIG).is_file():
        existing = load_config(out)
        if existing.data_signature() != config.data_signature():
            raise OptionError("out", "a run folder of the same cohort, task and settings (or a new folder)", str(out))
        config.run_id = existing.run_id
        return config, data, True
    config.run_id = config.run_id or new_run_id(config)
    return config, data, False


def run_cv(
    config: RunConfig,
    out: str | Path,
    *,
    features_root: str | Path,
    cache_root: str | Path | None = None,
    workers: int = 1,
    device: str = "cpu",
    engine: str | None = None,
    progress: Progress = NO_PROGRESS,
    after_features: Callable[[], None] | None = None,
) -> dict:
    """Cross-validate; write the run folder ``out``; return metrics.json's content.

    ``progress``: the stages :data:`FEATURES_TEXT` and ``"<k>-fold cross-validation"``,
    weighted by :data:`CV_FEATURES_SHARE`. ``after_features`` is called once the features are
    ready, before the cross-validation (which runs on one core: other work can start beside it).
    """
    out = Path(out)
    with progress.stage(FEATURES_TEXT, weight=CV_FEATURES_SHARE) as st:
        config, data, _ = _open_run(config, out, features_root=features_root, cache_root=cache_root, workers=workers,
                                    device=device, engine=engine, progress=st)
    if after_features is not None:
        after_features()
    task = get_task(config.task)
    t0 = time.perf_counter()
    with progress.stage(f"{config.folds}-fold cross-validation", weight=1.0 - CV_FEATURES_SHARE) as st:
        res = cross_validate(
            data.X, data.C, data.y, data.groups,
            n_classes=task.n_classes, folds=config.folds, seed=config.seed,
            estimator=config.classifier, progress=st,
        )
    seconds = time.perf_counter() - t0
    write_json(out / CONFIG, config.to_json())
    write_json(out / DATA, data.report)
    for k, est in enumerate(res.estimators, 1):
        save_model(out, f"fold_{k}", est)
    folds = data.rows[["participant_id", "side", "visit_month"]].copy()
    folds["fold"], folds["y"] = res.fold, data.y
    folds["probability"] = res.proba["mil"][:, -1]
    write_text_atomic(out / FOLDS, folds.to_csv(index=False))
    plot_rocs(data.y, res.proba["mil"], res.fold, out / ROC, title=f"{config.task} ({config.sequence}), {config.folds}-fold CV")
    metrics = json_safe({
        "run_id": config.run_id,
        "task": config.task,
        "n": int(len(data.y)),
        "cv_seconds": round(seconds, 1),
        "epochs_per_fold": res.epochs,
        "models": res.metrics,
        "weights": config.provenance,
        "feature_engine": config.engine,
    })
    write_json(out / METRICS, metrics)
    return metrics


def run_train(
    config: RunConfig,
    out: str | Path,
    *,
    features_root: str | Path,
    cache_root: str | Path | None = None,
    workers: int = 1,
    device: str = "cpu",
    engine: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> MILClassifier:
    """Fit the final model on every knee-window; write ``out/models/final.pt`` (and config).

    ``progress``: the stages :data:`FEATURES_TEXT` and ``"final model"``, weighted by
    :data:`TRAIN_FEATURES_SHARE`.
    """
    out = Path(out)
    with progress.stage(FEATURES_TEXT, weight=TRAIN_FEATURES_SHARE) as st:
        config, data, joined = _open_run(config, out, features_root=features_root, cache_root=cache_root,
                                         workers=workers, device=device, engine=engine, progress=st)
    if not joined:
        write_json(out / CONFIG, config.to_json())
        write_json(out / DATA, data.report)
    with progress.stage("final model", weight=1.0 - TRAIN_FEATURES_SHARE) as st:
        est = clone(config.classifier).fit(data.X, data.C, data.y, progress=st)
    save_model(out, FINAL, est)
    write_text_atomic(out / TRAINING_PARTICIPANTS, "\n".join(sorted(set(data.groups))) + "\n")
    return est


__all__ = ["prepare", "run_cv", "run_train"]

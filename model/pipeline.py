"""One call for the demo: train on a (synthetic) cohort, then score a study built from it.

``train_and_infer(cohort_dir, study_dir, key_path, run_dir)`` runs the cross-validation (fold
models for leakage-free scores of training-cohort knees) and the final model into
``run_dir``, then writes ``ai/`` into the study with the key. Everything is cached: features
under ``cache_dir`` (default ``run_dir/../model-cache``), and a complete run folder of the
same settings is reused as it is, so a second call only re-scores the study; a run folder of
other settings there is replaced.

Its progress is declared here, in stages weighted by their measured time: the scoring run
(features, cross-validation, final model), the rest of the features of the runs of the other
displayed sequences (for their heatmaps), then the scores and Grad-CAM heatmaps of the study's
cases (while those runs are cross-validated and fitted: work that runs beside the main thread
reports its progress when the main thread waits for it).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from model.backbone import INPUT_SIZE, create_backbone
from model.classifier_params import DEFAULTS, RUN_DEFAULTS
from model.experiment import FEATURES_TEXT, prepare, run_cv, run_train
from model.infer import infer_study
from model.preprocess.pipeline import PreprocessConfig
from model.run import CONFIG, FINAL, RunConfig, load_config, model_path
from model.training import MILClassifier
from studies.package import SEQUENCE_LABELS
from studies.progress import NO_PROGRESS, BackgroundTask, Progress

log = logging.getLogger(__name__)

#: Weights of :func:`train_and_infer`'s stages, in proportion to their time on 2 cores with
#: the 50-pair demo study (``bench_model_demo.py``): the scoring run (its features, then its
#: cross-validation and final model beside the first heatmap run's features), the rest of the
#: heatmap runs' features, then the scores and Grad-CAM heatmaps of the study's 102 cases (the
#: heatmap runs' cross-validation and final models beside them). Normalised to the runs made.
SCORING_RUN_WEIGHT = 0.47
HEATMAP_RUN_WEIGHT = 0.22
INFER_WEIGHT = 0.31
#: The size the demo feeds its synthetic 96-px slices at (``input_size`` of
#: :func:`train_and_infer` as ``knee-reader --demo`` calls it). Real data keeps the paper's 448
#: (:data:`model.backbone.INPUT_SIZE`, the default). Measured on the quality benchmark's cohort
#: (``bench_model_quality.py``, 150 patients, all windows, the same preprocessing): jsn-abs ROC
#: AUC 0.654 at 384 vs 0.651 at 448; Grad-CAM mass on the planted sign 6.0x chance vs 5.7x
#: (required: >= 5x; 6.4x at 448 before the N4 levels rule); the backbone's work is
#: (384 / 448)^2 = 0.73 of it. See docs/model.md.
DEMO_INPUT_SIZE = 384
#: Share of a run's time spent cross-validating (the rest fits the final model on cached features).
CV_SHARE = 0.97
INFER_TEXT = "scores and Grad-CAM heatmaps of the study's cases"


#: config.json entries that record what happened rather than decide the result.
_RECORDS = ("run_id", "backbone_provenance", "feature_engine")


def _complete(run_dir: Path, config: RunConfig) -> bool:
    if not (run_dir / CONFIG).is_file():
        return False
    existing = load_config(run_dir)
    same = {k: v for k, v in existing.to_json().items() if k not in _RECORDS}
    want = {k: v for k, v in config.to_json().items() if k not in _RECORDS}
    if same != want:
        return False
    names = [FINAL, *(f"fold_{k}" for k in range(1, config.folds + 1))]
    return all(model_path(run_dir, n).is_file() for n in names)


def train_and_infer(
    cohort_dir: str | Path,
    study_dir: str | Path,
    key_path: str | Path | None,
    run_dir: str | Path,
    *,
    task: str = "jsn-abs",
    sequence: str = "cor_iw_tse",
    folds: int = RUN_DEFAULTS["folds"],
    epochs: int | None = DEFAULTS["epochs"],
    visits: tuple[int, ...] | None = (0,),
    seed: int = DEFAULTS["seed"],
    weights: str | None = "default",
    input_size: int = INPUT_SIZE,
    cache_dir: str | Path | None = None,
    workers: int = 2,
    device: str = "cpu",
    engine: str | None = None,
    heatmap_sequences: tuple[str, ...] = ("cor_iw_tse", "sag_3d_dess"),
    progress: Progress = NO_PROGRESS,
) -> dict:
    """Train (or reuse) a run on the cohort and write scores + heatmaps into the study.

    ``visits=(0,)`` (default) trains on the baseline windows only, which keeps a demo cohort of
    ~150 patients at about 3 minutes on 2 cores; ``None`` uses every window as the paper does.

    On a runtime engine with ``workers`` > 1 the stages overlap: once the scoring run's
    features are stored, the other runs' features are computed in the worker processes while
    the scoring run cross-validates on one core, and the other runs' cross-validations and
    final models train here (one core) while the workers score the study's cases. Each model
    is seeded, and the thread beside a training builds no model from random numbers (a backbone
    is built once, then copied), so the results do not depend on the timing.
    Returns the ``ai/run.json`` content written into the study.
    """
    run_dir = Path(run_dir)
    cache = Path(cache_dir) if cache_dir else run_dir.parent / "model-cache"
    config = RunConfig(
        cohort=str(Path(cohort_dir).resolve()),
        task=task,
        weights=weights,
        input_size=input_size,
        preprocess=PreprocessConfig(sequence=sequence),
        classifier=MILClassifier(epochs=epochs, seed=seed),
        folds=folds,
        seed=seed,
        visits=visits,
    ).check()
    kw = {"features_root": cache / "features", "cache_root": cache / "preprocess", "workers": workers, "device": device,
          "engine": engine}
    # Built here, before any thread starts: later builds are copies that draw no random numbers
    # from torch's global generator, so the models trained beside them get the same results
    # whatever the timing (with a weights file; random weights are drawn anew at every build).
    create_backbone(config.backbone, weights=weights, input_size=input_size)
    others = [s for s in heatmap_sequences if s != sequence]
    other_runs = [(heatmap_run_dir(run_dir, o), replace(config, preprocess=PreprocessConfig(sequence=o), run_id=""))
                  for o in others]
    scale = SCORING_RUN_WEIGHT + HEATMAP_RUN_WEIGHT * len(others) + INFER_WEIGHT
    features: list[BackgroundTask] = []

    def start_other_features() -> None:
        # the scoring run cross-validates on one core: the other runs' features use the rest
        todo = [c for d, c in other_runs if not _complete(d, c)]
        if todo:
            # it must not draw from torch's global random generator (the training beside it does)
            features.append(BackgroundTask(lambda p: _features(todo, kw, p), name="knee-model-features"))

    with progress.stage(_label(sequence), weight=SCORING_RUN_WEIGHT / scale) as st:
        _train(config, run_dir, st, kw, after_features=start_other_features)
    # One more run per other displayed sequence, of the same task, for its heatmaps only: its
    # features computed above, its cross-validation and final model (one core) while the
    # scoring run's cases are scored (the other).
    if other_runs:
        label = " and ".join(_label(c.sequence) for _, c in other_runs)
        with progress.stage(f"{label} (for its heatmaps): {FEATURES_TEXT}", weight=HEATMAP_RUN_WEIGHT * len(others) / scale) as st:
            if features:
                features[0].follow(st)
    todo = [(d, c) for d, c in other_runs if not _complete(d, c)]
    with progress.stage(INFER_TEXT, weight=INFER_WEIGHT / scale) as st:
        # the heatmap runs are trained here while the workers score the scoring run's cases
        return infer_study(run_dir, study_dir, key=key_path, heatmap_runs=tuple(d for d, _ in other_runs), device=device,
                           engine=engine, cache_dir=cache, workers=workers, progress=st,
                           heatmap_runs_trained=(lambda p: _fit(todo, kw, p)) if todo else None)


def _fit(runs: list[tuple[Path, RunConfig]], kw: dict, progress: Progress) -> None:
    """Each run trained (:func:`_train`) into its folder, one after the other."""
    for run_dir, config in runs:
        with progress.stage("", weight=1.0 / len(runs)) as st:
            _train(config, run_dir, st, kw)


def _features(configs: list[RunConfig], kw: dict, progress: Progress) -> None:
    """The features of each run config (into the feature store), one after the other."""
    for c in configs:
        with progress.stage("", weight=1.0 / len(configs)) as st:
            prepare(replace(c), progress=st, **kw)


def _label(sequence: str) -> str:
    return SEQUENCE_LABELS.get(sequence, sequence)


def heatmap_run_dir(run_dir: str | Path, sequence: str) -> Path:
    """Where :func:`train_and_infer` keeps the run of another sequence: ``<run_dir>-<sequence>``."""
    run_dir = Path(run_dir)
    return run_dir.with_name(f"{run_dir.name}-{sequence}")


def _train(config: RunConfig, run_dir: Path, progress: Progress, kw: dict,
           after_features: Callable[[], None] | None = None) -> None:
    """Cross-validate and fit the final model, unless a complete run of these settings exists;
    a run folder of other settings (an interrupted run of an earlier version, say) is replaced."""
    if not _complete(run_dir, config):
        if (run_dir / CONFIG).is_file() and load_config(run_dir).data_signature() != config.data_signature():
            log.warning("replacing %s: a run of other settings", run_dir)
            shutil.rmtree(run_dir)
        with progress.stage("", weight=CV_SHARE) as st:
            run_cv(config, run_dir, progress=st, after_features=after_features, **kw)
        with progress.stage("", weight=1.0 - CV_SHARE) as st:
            run_train(load_config(run_dir), run_dir, progress=st, **kw)

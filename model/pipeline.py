"""One call for the demo: train on a (synthetic) cohort, then score a study built from it.

``train_and_infer(cohort_dir, study_dir, key_path, run_dir)`` runs the cross-validation (fold
models for leakage-free scores of training-cohort knees) and the final model into
``run_dir``, then writes ``ai/`` into the study with the key. Everything is cached: features
under ``cache_dir`` (default ``run_dir/../model-cache``), and a complete run folder of the
same settings is reused as it is, so a second call only re-scores the study; a run folder of
other settings there is replaced.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from model.backbone import INPUT_SIZE
from model.classifier_params import DEFAULTS
from model.experiment import run_cv, run_train
from model.infer import infer_study
from model.preprocess.pipeline import PreprocessConfig
from model.run import CONFIG, FINAL, RunConfig, load_config, model_path
from model.training import MILClassifier

log = logging.getLogger(__name__)

#: ``progress(stage, done, total)``; stages: 'features', 'cv', 'train', then
#: 'heatmaps:features', 'heatmaps:cv', 'heatmaps:train' (the other sequence's run), 'infer'.
StageProgress = Callable[[str, int, int], None]


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
    folds: int = 5,
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
    progress: StageProgress | None = None,
) -> dict:
    """Train (or reuse) a run on the cohort and write scores + heatmaps into the study.

    ``visits=(0,)`` (default) trains on the baseline windows only, which keeps a demo cohort of
    ~150 patients at a few minutes on 2 cores; ``None`` uses every window as the paper does.
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
    _train(config, run_dir, progress, kw)
    # One more run per other displayed sequence, of the same task, for its heatmaps only.
    extra = []
    for other in heatmap_sequences:
        if other == sequence:
            continue
        other_dir = heatmap_run_dir(run_dir, other)
        other_config = replace(config, preprocess=PreprocessConfig(sequence=other), run_id="")
        prefixed = (lambda stage, d, t: progress(f"heatmaps:{stage}", d, t)) if progress else None
        _train(other_config, other_dir, prefixed, kw)
        extra.append(other_dir)
    cb = (lambda d, t: progress("infer", d, t)) if progress else None
    return infer_study(run_dir, study_dir, key=key_path, heatmap_runs=tuple(extra), device=device, engine=engine,
                       cache_dir=cache, workers=workers, progress=cb)


def heatmap_run_dir(run_dir: str | Path, sequence: str) -> Path:
    """Where :func:`train_and_infer` keeps the run of another sequence: ``<run_dir>-<sequence>``."""
    run_dir = Path(run_dir)
    return run_dir.with_name(f"{run_dir.name}-{sequence}")


def _train(config: RunConfig, run_dir: Path, progress, kw: dict) -> None:
    """Cross-validate and fit the final model, unless a complete run of these settings exists;
    a run folder of other settings (an interrupted run of an earlier version, say) is replaced."""
    if not _complete(run_dir, config):
        if (run_dir / CONFIG).is_file() and load_config(run_dir).data_signature() != config.data_signature():
            log.warning("replacing %s: a run of other settings", run_dir)
            shutil.rmtree(run_dir)
        run_cv(config, run_dir, progress=progress, **kw)
        run_train(load_config(run_dir), run_dir, progress=progress, **kw)

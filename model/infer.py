"""Scores and Grad-CAM heatmaps of a model run, written into a study package's ``ai/``.

``infer_study(run, study, key=...)`` scores every case (scored and practice pairs) with the
run's sequence and clinical variables read from the manifest, and writes, atomically (the
whole ``ai/`` folder is built aside and renamed into place):

- ``ai/scores.csv``: ``case_id,probability,run_id``; the probability of the task's positive
  class (progression for ``jsn-*``, pain >= 2 for ``pain``, the highest class for ``pain3``);
- ``ai/heatmaps/<case>_<sequence>.nii.gz``: Grad-CAM on the grid of
  ``images/<case>_<sequence>.nii.gz`` (same shape and affine), float32 in [0, 1], for the
  run's sequence and for the sequence of each ``heatmap_runs`` run (a model sees one
  sequence; a sequence without a run gets no file);
- ``ai/run.json``: the run id, task, sequence, weights provenance, how models were chosen,
  and the run's cross-validated ROC AUC with DeLong's 95 % interval (``cross_validation``,
  from ``folds.csv``'s out-of-fold probabilities; absent for a run without cross-validation),
  so that a study's AUC over its few pairs can be read beside the AUC over the whole cohort.

No leakage: with the study's key, a case whose source participant was in the run's
cross-validation is scored by the fold model that never saw that participant; other cases by
the final model. Without the key every case is scored by the final model, and run.json and
the returned summary say that training-cohort knees may then be scored by a model that saw
them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from model.backbone import create_backbone
from model.encoders import default_cache_root, make_encoder
from model.features import SliceEncoder
from model.gradcam import gradcam, heatmap_on_grid
from model.preprocess.orientation import orient, read_volume
from model.preprocess.pipeline import (
    VolumeJob,
    preprocess_job,
    preprocess_many,
    slice_indices,
    worker_pool,
)
from model.run import FINAL, load_config, load_folds, load_model
from model.runtime import RuntimeEncoder
from model.tasks import PACKAGE_NAMES, clinical_matrix
from model.worker_encode import EncoderSpec, worker_encoder
from studies.atomic import atomic_directory
from studies.errors import InputFileError
from studies.integrity import record_ai_hashes
from studies.package import (
    AI_DIR,
    AI_HEATMAPS_DIR,
    AI_RUN_NAME,
    AI_SCORE_COLUMNS,
    AI_SCORES_NAME,
    load_key,
    load_manifest,
    verify_key,
)
from studies.progress import NO_PROGRESS, Progress

log = logging.getLogger(__name__)
TRAINING_PARTICIPANTS = "training_participants.txt"


def case_sources(key_path: str | Path) -> dict[str, str]:
    """case id -> source participant id, from a study key (scored and practice pairs)."""
    key = load_key(key_path)
    out = {}
    for p in [*key.get("pairs", []), *key.get("practice_pairs", [])]:
        for role in ("progressor", "non_progressor"):
            src = p.get(f"{role}_source") or {}
            if "participant_id" in src:
                out[p[role]] = str(src["participant_id"])
    return out


def choose_models(run: Path, cases: list[str], sources: dict[str, str] | None) -> tuple[dict[str, str], str]:
    """case id -> model name ('fold_k' or 'final'), and a sentence on how they were chosen."""
    if sources is None:
        return {c: FINAL for c in cases}, (
            "final model for every case (no key given): knees from the training cohort may be "
            "scored by a model that saw them"
        )
    folds = load_folds(run)
    fold_of = {} if folds is None else dict(zip(folds["participant_id"], folds["fold"], strict=True))
    trained = set()
    tp = run / TRAINING_PARTICIPANTS
    if tp.is_file():
        trained = set(tp.read_text().split())
    chosen = {}
    for c in cases:
        pid = sources.get(c)
        if pid in fold_of:
            chosen[c] = f"fold_{int(fold_of[pid])}"
        elif pid in trained:
            raise InputFileError(
                run / TRAINING_PARTICIPANTS,
                f"case {c}'s participant was used to train the final model and the run has no fold models for it",
                hint="Run `knee-model cv` into this run folder first, so each knee is scored by a model that never saw it",
            )
        else:
            chosen[c] = FINAL
    return chosen, "fold model that never saw the participant for training-cohort knees (key given); final model otherwise"


@dataclass
class _RunModels:
    """One run, ready to score a study: its config, which model scores which case, the
    models and the backbone encoder."""

    run: Path
    config: object
    chosen: dict[str, str]
    how: str
    models: dict
    encoder: SliceEncoder | RuntimeEncoder
    provenance: object


def _load_run(run: Path, cases: list[str], sources: dict[str, str] | None, device: str = "cpu",
              engine: str | None = None, graph_root: Path | None = None) -> _RunModels:
    config = load_config(run)
    chosen, how = choose_models(run, cases, sources)
    models = {name: load_model(run, name) for name in sorted(set(chosen.values()))}
    backbone, prov = create_backbone(config.backbone, weights=config.weights, input_size=config.input_size)
    if config.provenance and prov.to_json() != config.provenance:
        raise InputFileError(
            run / "config.json",
            f"the run was trained with other backbone weights ({config.provenance.get('sha256')}) than "
            f"those available now ({prov.sha256})",
            hint="Pass the same --weights as in training",
        )
    # the features of the run's precision: the models were trained on them
    encoder = make_encoder(backbone, prov, engine=engine, device=device, graph_root=graph_root,
                           precision=config.precision)
    return _RunModels(run, config, chosen, how, models, encoder, prov)


def _image(rm: _RunModels, study: Path, manifest, cid: str) -> Path:
    rel = manifest.cases[cid].images.get(rm.config.sequence)
    if not rel:
        raise InputFileError(study / "manifest.json", f"case {cid} has no {rm.config.sequence} image",
                             hint=f"The run {rm.run} uses {rm.config.sequence}; build the study with it")
    return study / rel


def _score_case(config, mil, encoder, path: Path, clinical: dict, stack: np.ndarray, *, heatmap: bool):
    """(probability, (heatmap (i, j, k), affine) or None) of the case whose image of the run's
    sequence is ``path``, from its preprocessed ``stack`` (n_slices, H, W), with the run's
    ``config``, the chosen model's ``mil`` module and the backbone's ``encoder``."""
    source = read_volume(path)
    oriented = orient(source, None, mirror=False)  # package images are already mirrored
    idx = slice_indices(oriented, config.preprocess, str(path))
    variables = tuple(config.variables)
    clin = clinical_matrix(pd.DataFrame([clinical]), variables)[0]
    res = gradcam(encoder, mil, stack, clin if len(variables) else None)
    if not heatmap:
        return float(res.proba[-1]), None
    heat = heatmap_on_grid(res.cams, oriented, config.sequence, idx, source)
    ref = nib.load(str(path))
    return float(res.proba[-1]), (heat.transpose(2, 1, 0), ref.affine)  # (slice,row,col) -> NIfTI (i,j,k)


#: A worker process's runs: (run folder, model name) -> (config, MIL module).
_WORKER_MODELS: dict[tuple[str, str], tuple] = {}


def _score_job(run: str, model: str, spec: EncoderSpec, path: str, clinical: dict, cache_root: str, heatmap: bool):
    """One case scored in a worker process: preprocessed (through the cache), then
    :func:`_score_case` on the worker's one-thread runtime session."""
    if (run, model) not in _WORKER_MODELS:
        _WORKER_MODELS[(run, model)] = (load_config(Path(run)), load_model(Path(run), model).module_)
    config, mil = _WORKER_MODELS[(run, model)]
    stack = preprocess_job(VolumeJob(path, None, mirror=False), config.preprocess, cache_root)
    return _score_case(config, mil, worker_encoder(spec), Path(path), clinical, stack, heatmap=heatmap)


def _start_scoring(rm: _RunModels, study: Path, manifest, cases: list[str], cache_root: Path, pool, heatmap: bool):
    """Start scoring ``cases`` with ``rm``; returns ``collect(progress)``, which gives each
    case's (probability, heatmap or None) in case order, counting cases on ``progress``.

    On a runtime engine with a ``pool`` each worker process preprocesses and scores whole cases
    on its own one-thread session, submitted now (they run while the caller does other work);
    otherwise ``collect`` preprocesses the cases (N4 in the pool's processes) and scores them
    here, one after the other."""
    paths = [_image(rm, study, manifest, cid) for cid in cases]
    clinical = [manifest.cases[cid].clinical for cid in cases]
    n = len(cases)
    if pool is not None and isinstance(rm.encoder, RuntimeEncoder):
        results = pool.map(_score_job, [str(rm.run)] * n, [rm.chosen[cid] for cid in cases],
                           [EncoderSpec.of(rm.encoder)] * n, [str(p) for p in paths], clinical,
                           [str(cache_root)] * n, [heatmap] * n)

        def collect(progress: Progress) -> list:
            out = []
            progress.update(0, n)
            for res in results:
                out.append(res)
                progress.update(len(out), n)
            return out

        return collect

    def collect_here(progress: Progress) -> list:
        with progress.stage("", weight=0.5) as st:
            jobs = [VolumeJob(str(p), None, mirror=False) for p in paths]
            stacks = preprocess_many(jobs, rm.config.preprocess, cache_root=cache_root, pool=pool, progress=st)
        out = []
        with progress.stage("", weight=0.5) as st:
            st.update(0, n)
            for cid, path, clin, stack in zip(cases, paths, clinical, stacks, strict=True):
                out.append(_score_case(rm.config, rm.models[rm.chosen[cid]].module_, rm.encoder, path, clin, stack,
                                       heatmap=heatmap))
                st.update(len(out), n)
        return out

    return collect_here


def _check_heatmap_runs(main: _RunModels, extra: list[_RunModels]) -> None:
    seqs = [main.config.sequence] + [rm.config.sequence for rm in extra]
    for rm in extra:
        if rm.config.task != main.config.task:
            raise InputFileError(rm.run / "config.json", f"a heatmap run must be of the scoring run's task '{main.config.task}'", value=rm.config.task)
    if len(set(seqs)) != len(seqs):
        raise InputFileError(main.run / "config.json", "two runs for the same sequence", value=seqs, hint="Give one heatmap run per other sequence")


#: Share of :func:`infer_study`'s progress given to ``heatmap_runs_trained`` when there is one,
#: and its text.
TRAINING_SHARE = 0.55
TRAINING_TEXT = "the heatmap runs' cross-validation and final models"


def infer_study(
    run: str | Path,
    study: str | Path,
    *,
    key: str | Path | None = None,
    heatmaps: bool = True,
    heatmap_runs: tuple[str | Path, ...] = (),
    device: str = "cpu",
    engine: str | None = None,
    cache_dir: str | Path | None = None,
    workers: int = 2,
    progress: Progress = NO_PROGRESS,
    heatmap_runs_trained: Callable[[Progress], None] | None = None,
) -> dict:
    """Score every case of ``study`` with ``run``; write ``ai/``; return run.json's content.

    ``heatmap_runs``: further runs of the same task trained on other sequences, used only for
    their Grad-CAM heatmaps (a model sees one sequence, so heatmaps over both sequences of the
    hanging protocol need one run per sequence); the scores are always ``run``'s. ``device``:
    where the backbone runs (:func:`model.backbone.resolve_device`); ``engine``: what runs it
    (:func:`model.encoders.resolve_engine`; default ONNX Runtime on the CPU), its exported graph
    cached under ``cache_dir`` (default :func:`model.encoders.default_cache_root`) ``/features``;
    each case's 8 slices go through the backbone once, for its score and its heatmap together.
    On a runtime engine ``workers`` processes each preprocess (N4, cached under
    ``cache_dir/preprocess``) and score whole cases on a one-thread session; with torch the
    cases are preprocessed in ``workers`` processes first, then scored here. ``progress``: one
    equal stage per run, counting cases.

    ``heatmap_runs_trained``: for a caller still training the heatmap runs (the demo), called
    with a progress stage once the scoring run's cases are handed to the workers (it trains
    them meanwhile); the runs are read when it returns.
    """
    run, study = Path(run), Path(study)
    manifest = load_manifest(study)
    sources = None
    if key is not None:
        verify_key(study, key)
        sources = case_sources(key)
    cases = list(manifest.cases)
    cache = Path(cache_dir or default_cache_root())
    graph_root = cache / "features"
    main = _load_run(run, cases, sources, device, engine, graph_root)
    wanted = [Path(r) for r in (heatmap_runs if heatmaps else ())]

    def load_extra() -> list[_RunModels]:
        extra = [_load_run(r, cases, sources, device, engine, graph_root) for r in wanted]
        _check_heatmap_runs(main, extra)
        return extra

    extra = load_extra() if heatmap_runs_trained is None else []
    variables = tuple(main.config.variables)
    shown = set().union(*(c.clinical for c in manifest.cases.values())) if manifest.cases else set()
    missing_vars = [v for v in variables if PACKAGE_NAMES.get(v, v) not in shown]
    scores: list[tuple[str, float]] = []
    maps: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    waiting = TRAINING_SHARE if heatmap_runs_trained is not None and wanted else 0.0
    pool = worker_pool(workers) if workers > 1 and len(cases) > 1 else None  # one for every run
    try:
        started = [(main, _start_scoring(main, study, manifest, cases, cache / "preprocess", pool, heatmaps))]
        if waiting:
            with progress.stage(TRAINING_TEXT, weight=waiting) as st:
                heatmap_runs_trained(st)  # the scoring run's cases are scored meanwhile
            extra = load_extra()
        started += [(rm, _start_scoring(rm, study, manifest, cases, cache / "preprocess", pool, heatmaps)) for rm in extra]
        for rm, collect in started:
            with progress.stage("", weight=(1.0 - waiting) / len(started)) as st:
                results = collect(st)
            for cid, (p, heat) in zip(cases, results, strict=True):
                if rm is main:
                    scores.append((cid, p))
                if heat is not None:
                    maps[(cid, rm.config.sequence)] = heat
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    seqs = [main.config.sequence] + [rm.config.sequence for rm in extra]
    config = main.config
    info = {
        "run_id": config.run_id,
        "task": config.task,
        "sequence": config.sequence,
        "heatmap_sequences": seqs if heatmaps else [],
        "heatmap_runs": {rm.config.sequence: rm.config.run_id for rm in [main, *extra]} if heatmaps else {},
        "clinical_variables": list(variables),
        "clinical_variables_missing_in_study": missing_vars,
        "model_selection": main.how,
        "models_used": {m: sum(1 for v in main.chosen.values() if v == m) for m in sorted(set(main.chosen.values()))},
        "backbone": main.provenance.to_json(),
        "cross_validation": cv_summary(run),
        "engine": main.encoder.describe(),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_ai(study, config.run_id, scores, maps, info)
    record_ai_hashes(study)  # the manifest records each ai/ file's SHA-256
    return info


def cv_summary(run: str | Path) -> dict | None:
    """The run's cross-validated ROC AUC over its out-of-fold probabilities (``folds.csv``),
    with DeLong's 95 % interval; None without cross-validation or with one class only."""
    from studies.stats.roc import auc_ci

    folds = load_folds(run)
    if folds is None or not {"y", "probability", "fold"} <= set(folds.columns):
        return None
    y = folds["y"].to_numpy() == folds["y"].max()  # the positive (highest) class
    if y.all() or not y.any():
        return None
    est = auc_ci(y, folds["probability"].to_numpy(dtype=float))
    return {
        "auc": est.auc,
        "ci": list(est.ci),
        "n": int(len(folds)),
        "n_positive": est.n_positive,
        "n_negative": est.n_negative,
        "folds": int(folds["fold"].nunique()),
        "participants": int(folds["participant_id"].nunique()),
        "method": "out-of-fold probabilities pooled over the folds; DeLong 95 % CI",
    }


def _write_ai(study: Path, run_id: str, scores, maps, info: dict) -> None:
    from studies.images import anonymous_nifti_bytes

    with atomic_directory(study / AI_DIR, force=True) as tmp:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(AI_SCORE_COLUMNS)
        for cid, p in scores:
            w.writerow([cid, f"{p:.6f}", run_id])
        (tmp / AI_SCORES_NAME).write_text(buf.getvalue())
        (tmp / AI_HEATMAPS_DIR).mkdir()
        for (cid, seq), (heat, affine) in maps.items():
            (tmp / AI_HEATMAPS_DIR / f"{cid}_{seq}.nii.gz").write_bytes(anonymous_nifti_bytes(heat.astype(np.float32), affine))
        (tmp / AI_RUN_NAME).write_text(json.dumps(info, indent=2) + "\n")


__all__ = ["infer_study", "case_sources", "choose_models", "cv_summary"]

"""Quality on the synthetic cohort's planted signal (minutes on 2 CPU cores, hence a benchmark).

A 150-patient synthetic cohort (seed 7, small images, 30 % progressors, all visits' images),
every 12-month window (t = 0, 12, 24, as in the paper), COR IW TSE, EfficientNet-Lite0
ImageNet features (96-px slices fed at the default 448 px), 5-fold CV grouped by patient:

- ``jsn-abs``: pooled ROC AUC of the attention-MIL model (goal > 0.6) and of the
  clinical-only baseline (the model should beat it: the planted sign drives progression);
- ``pain``: pooled ROC AUC (goal > 0.7; effusion drives pain);
- Grad-CAM: for progressors with the planted sign (a medial bone-marrow-lesion-like region),
  each knee through its fold model, the share of heatmap mass inside the sign (dilated by
  2 voxels) against the share of the 8 slices' volume it covers (chance level), and how often
  the heatmap's hottest voxel falls there (``tests/sign_heat.py``, shared with the test
  ``tests/model/test_model_gradcam_sign.py``).

Set ``KNEE_MODEL_BENCH_DIR`` to keep the cohort and feature cache between runs;
``KNEE_MODEL_BENCH_SEED`` / ``KNEE_MODEL_BENCH_PATIENTS`` draw another cohort (default 7 / 150)
to check how stable the figures are; ``KNEE_MODEL_BENCH_INPUT_SIZE`` feeds the slices at another
size (default 448; the runs are then kept as ``run-<task>-<size>``),
``KNEE_MODEL_BENCH_PRECISION=bfloat16`` computes the features in bfloat16 (the opt-in; runs kept
as ``run-<task>-bfloat16``, and the Grad-CAM of its models is also compared with float32 maps,
the same models' heatmaps from float32 features) and ``KNEE_MODEL_BENCH_TASKS=jsn-abs`` skips the
pain task. About 10 minutes on 2 cores once the cohort and the
preprocessing cache exist (nearly all of it the features at 448 px); from scratch about 17
(measured while other jobs shared the cores).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sign_heat import SignHeat, sign_heat, summary

from model.backbone import INPUT_SIZE, create_backbone
from model.encoders import make_encoder
from model.experiment import run_cv
from model.features import SliceEncoder
from model.run import RunConfig, load_config, load_model
from model.tasks import clinical_matrix


def _root() -> Path:
    env = os.environ.get("KNEE_MODEL_BENCH_DIR")
    return Path(env) if env else Path(tempfile.mkdtemp(prefix="bench-model-quality-"))


def _cohort(root: Path) -> Path:
    from studies.synth import generate_cohort

    coh = root / "coh"
    if not coh.exists():
        generate_cohort(coh, patients=int(os.environ.get("KNEE_MODEL_BENCH_PATIENTS", 150)),
                        seed=int(os.environ.get("KNEE_MODEL_BENCH_SEED", 7)), size="small",
                        progressor_rate=0.3, images="all")
    return coh


def _input_size() -> int:
    return int(os.environ.get("KNEE_MODEL_BENCH_INPUT_SIZE", INPUT_SIZE))


def _precision() -> str:
    return os.environ.get("KNEE_MODEL_BENCH_PRECISION", "float32")


def _run_dir(root: Path, task: str) -> Path:
    size, precision = _input_size(), _precision()
    name = f"run-{task}" if size == INPUT_SIZE else f"run-{task}-{size}"
    return root / (name if precision == "float32" else f"{name}-{precision}")


def _cv(root: Path, coh: Path, task: str) -> dict:
    out = _run_dir(root, task)
    if (out / "metrics.json").is_file():
        return json.loads((out / "metrics.json").read_text())
    t0 = time.perf_counter()
    m = run_cv(RunConfig(cohort=str(coh), task=task, input_size=_input_size(), precision=_precision()), out,
               features_root=root / "feat", cache_root=root / "pcache", workers=2)
    print(f"\n{task}: features + cv in {time.perf_counter() - t0:.0f} s")
    return m


def _auc(m: dict, name: str) -> float:
    return m["models"][name]["pooled"]["roc_auc"]


def test_quality_on_synthetic_cohort():
    root = _root()
    coh = _cohort(root)
    jsn = _cv(root, coh, "jsn-abs")
    print(f"\njsn-abs pooled ROC AUC: model {_auc(jsn, 'mil'):.3f} (goal > 0.6), clinical-only "
          f"{_auc(jsn, 'clinical_logreg'):.3f}, image-only {_auc(jsn, 'image_logreg'):.3f}; "
          f"PR AUC {jsn['models']['mil']['pooled']['pr_auc']:.3f}, n = {jsn['n']}")
    if "pain" in os.environ.get("KNEE_MODEL_BENCH_TASKS", "jsn-abs,pain").split(","):
        pain = _cv(root, coh, "pain")
        print(f"pain pooled ROC AUC: model {_auc(pain, 'mil'):.3f} (goal > 0.7), clinical-only "
              f"{_auc(pain, 'clinical_logreg'):.3f}, image-only {_auc(pain, 'image_logreg'):.3f}; n = {pain['n']}")
    run = _run_dir(root, "jsn-abs")
    heat = gradcam_mass(run, coh)
    config = load_config(run)
    print(f"Grad-CAM (jsn-abs, progressors with the sign, n = {len(heat)}, slices fed at {config.input_size} px, "
          f"features in {config.precision}): {summary(heat)}")
    if config.precision != "float32":
        r, diff = gradcam_agreement(run, coh)
        print(f"Grad-CAM of the same {config.precision} models from {config.precision} against float32 maps: "
              f"correlation {np.median(r):.4f} (median; lowest {min(r):.4f}), largest difference "
              f"{max(diff):.3f} (on [0, 1]), over {len(r)} knees")
    assert _auc(jsn, "mil") > 0.5


def _sign_knees(run: Path, coh: Path, limit: int) -> pd.DataFrame:
    """Up to ``limit`` sign-bearing progressors of the run, with the fold that held them out."""
    from studies.cohort import load_cohort

    folds = pd.read_csv(run / "folds.csv", dtype={"participant_id": str})
    truth = pd.read_csv(coh / "synthetic" / "ground_truth.csv", dtype={"participant_id": str})
    on = ["participant_id", "side", "visit_month"]
    rows = folds[folds.y == 1].merge(truth[[*on, "bml"]], on=on)
    rows = rows[rows.bml.astype(bool)].head(limit)
    return load_cohort(coh).knees.merge(rows[[*on, "fold"]], on=on)


def _encoder(config, precision: str, root: Path):
    """The run's backbone on the engine that computes ``precision`` (float32: torch's own path)."""
    backbone, prov = create_backbone(config.backbone, weights=config.weights, input_size=config.input_size)
    if precision == "float32":
        return SliceEncoder(backbone, prov)
    return make_encoder(backbone, prov, graph_root=root / "feat", precision=precision)


def gradcam_mass(run: Path, coh: Path, limit: int = 25) -> list[SignHeat]:
    """Grad-CAM against the sign for up to ``limit`` sign-bearing progressors, each through the
    fold model that never saw its patient, from features of the run's precision."""
    knees = _sign_knees(run, coh, limit)
    config = load_config(run)
    encoder = _encoder(config, config.precision, run.parent)
    clinical = clinical_matrix(knees, config.variables)
    results = [sign_heat(encoder, load_model(run, f"fold_{k.fold}").module_, coh, k, c, config.sequence)
               for k, c in zip(knees.itertuples(), clinical, strict=True)]
    return [r for r in results if r is not None]


def gradcam_agreement(run: Path, coh: Path, limit: int = 10) -> tuple[list[float], list[float]]:
    """For up to ``limit`` sign-bearing progressors, the run's fold models' Grad-CAM (on the
    slices, before the grid) from the run's precision against float32: per knee the correlation
    and the largest difference of the two [0, 1] stacks."""
    from model.gradcam import gradcam
    from model.preprocess.orientation import orient, read_volume
    from model.preprocess.pipeline import PreprocessConfig, preprocess_image

    knees = _sign_knees(run, coh, limit)
    config = load_config(run)
    low, full = _encoder(config, config.precision, run.parent), _encoder(config, "float32", run.parent)
    clinical = clinical_matrix(knees, config.variables)
    r, diff = [], []
    for k, c in zip(knees.itertuples(), clinical, strict=True):
        stack, _ = preprocess_image(orient(read_volume(getattr(k, config.sequence)), k.side),
                                    PreprocessConfig(sequence=config.sequence))
        module = load_model(run, f"fold_{k.fold}").module_
        a, b = gradcam(low, module, stack, c).cams, gradcam(full, module, stack, c).cams
        r.append(float(np.corrcoef(a.ravel(), b.ravel())[0, 1]))
        diff.append(float(np.abs(a - b).max()))
    return r, diff

"""Quality on the synthetic cohort's planted signal (minutes on 2 CPU cores, hence a benchmark).

A 150-patient synthetic cohort (seed 7, small images, 30 % progressors, all visits' images),
every 12-month window (t = 0, 12, 24, as in the paper), COR IW TSE, EfficientNet-Lite0
ImageNet features (96-px slices fed at the backbone's native 224 px), 5-fold CV grouped by
patient:

- ``jsn-abs``: pooled ROC AUC of the attention-MIL model (goal > 0.6) and of the
  clinical-only baseline (the model should beat it: the planted sign drives progression);
- ``pain``: pooled ROC AUC (goal > 0.7; effusion drives pain);
- Grad-CAM: for progressors with the planted sign (a medial bone-marrow-lesion-like region),
  each knee scored by its fold model, the share of heatmap mass inside the sign (dilated by
  2 voxels) against the share of the 8 slices' volume it covers (chance level), and how often
  the heatmap's hottest voxel falls there.

Set ``KNEE_MODEL_BENCH_DIR`` to keep the cohort and feature cache between runs;
``KNEE_MODEL_BENCH_SEED`` / ``KNEE_MODEL_BENCH_PATIENTS`` draw another cohort (default 7 / 150)
to check how stable the figures are. About 5 minutes on 2 cores once the cohort and the
preprocessing cache exist; from scratch much longer on busy cores (16 minutes measured at load 3).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage

from model.backbone import create_backbone
from model.experiment import run_cv
from model.features import SliceEncoder
from model.gradcam import gradcam, heatmap_on_grid
from model.preprocess.orientation import orient, read_volume
from model.preprocess.pipeline import PreprocessConfig, preprocess_image
from model.run import RunConfig, load_model
from model.tasks import READER_VARIABLES, clinical_matrix

SEQ = "cor_iw_tse"


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


def _cv(root: Path, coh: Path, task: str) -> dict:
    out = root / f"run-{task}"
    if (out / "metrics.json").is_file():
        return json.loads((out / "metrics.json").read_text())
    t0 = time.perf_counter()
    m = run_cv(RunConfig(cohort=str(coh), task=task), out,
               features_root=root / "feat", cache_root=root / "pcache", workers=2)
    print(f"\n{task}: features + cv in {time.perf_counter() - t0:.0f} s")
    return m


def _auc(m: dict, name: str) -> float:
    return m["models"][name]["pooled"]["roc_auc"]


def test_quality_on_synthetic_cohort():
    root = _root()
    coh = _cohort(root)
    jsn, pain = _cv(root, coh, "jsn-abs"), _cv(root, coh, "pain")
    print(f"\njsn-abs pooled ROC AUC: model {_auc(jsn, 'mil'):.3f} (goal > 0.6), clinical-only "
          f"{_auc(jsn, 'clinical_logreg'):.3f}, image-only {_auc(jsn, 'image_logreg'):.3f}; "
          f"PR AUC {jsn['models']['mil']['pooled']['pr_auc']:.3f}, n = {jsn['n']}")
    print(f"pain pooled ROC AUC: model {_auc(pain, 'mil'):.3f} (goal > 0.7), clinical-only "
          f"{_auc(pain, 'clinical_logreg'):.3f}, image-only {_auc(pain, 'image_logreg'):.3f}; n = {pain['n']}")
    share, chance, peak = gradcam_mass(root / "run-jsn-abs", coh)
    print(f"Grad-CAM (jsn-abs, progressors with the sign, n = {len(share)}): mean share of heatmap mass in "
          f"the sign (+2 voxels) {np.mean(share):.3f} vs its share of the slices' volume {np.mean(chance):.3f} "
          f"({np.mean(share) / max(np.mean(chance), 1e-9):.1f}x chance); hottest voxel in it for "
          f"{int(np.sum(peak))} of {len(peak)} knees")
    assert _auc(jsn, "mil") > 0.5


def gradcam_mass(run: Path, coh: Path, limit: int = 25) -> tuple[list[float], list[float], list[bool]]:
    """Per sign-bearing progressor: (heatmap mass share in the dilated sign, sign volume share,
    whether the heatmap's maximum lies in the dilated sign)."""
    from studies.cohort import load_cohort
    from studies.synth import sign_mask

    folds = pd.read_csv(run / "folds.csv", dtype={"participant_id": str})
    truth = pd.read_csv(coh / "synthetic" / "ground_truth.csv", dtype={"participant_id": str})
    knees = load_cohort(coh).knees
    rows = folds[folds.y == 1].merge(
        truth[["participant_id", "side", "visit_month", "bml"]], on=["participant_id", "side", "visit_month"])
    rows = rows[rows.bml.astype(bool)].head(limit)
    backbone, prov = create_backbone()
    enc = SliceEncoder(backbone, prov)
    cfg = PreprocessConfig(sequence=SEQ)
    share, chance, peak = [], [], []
    for r in rows.itertuples():
        k = knees[(knees.participant_id == r.participant_id) & (knees.side == r.side) & (knees.visit_month == r.visit_month)].iloc[0]
        source = read_volume(k[SEQ])
        oriented = orient(source, r.side)
        stack, idx = preprocess_image(oriented, cfg)
        model = load_model(run, f"fold_{r.fold}")
        res = gradcam(enc, model.module_, stack, clinical_matrix(pd.DataFrame([k]), READER_VARIABLES)[0])
        heat = heatmap_on_grid(res.cams, oriented, SEQ, idx, source)
        mask = sign_mask(coh, r.participant_id, r.side, int(r.visit_month), SEQ)
        near = ndimage.binary_dilation(mask, iterations=2)
        slab = _slab_mask(oriented, source, idx)
        if heat.sum() == 0 or not (near & slab).any():  # no heat, or the sign lies outside the 8 slices
            continue
        share.append(float(heat[near].sum() / heat.sum()))
        chance.append(float(near[slab].sum() / slab.sum()))
        peak.append(bool(near.flat[int(np.argmax(heat))]))
    return share, chance, peak


def _slab_mask(oriented: sitk.Image, source: sitk.Image, idx: np.ndarray) -> np.ndarray:
    ones = np.ones((len(idx), *_slice_shape(oriented)), np.float32)
    return heatmap_on_grid(ones, oriented, SEQ, idx, source) > 0.5


def _slice_shape(oriented: sitk.Image) -> tuple[int, int]:
    z, _, x = sitk.GetArrayViewFromImage(oriented).shape
    return z, x

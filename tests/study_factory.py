"""Small study packages made in code, for tests of everything that reads a package.

``make_study(tmp_path)`` writes a valid package (manifest, key outside it, tiny NIfTI volumes
with a bright blob in a known place, optionally AI scores and heatmaps) in well under a second.
The volumes follow the package convention: RAS+ NIfTI, right knees already mirrored.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from studies.package import (
    AI_DIR,
    AI_HEATMAPS_DIR,
    AI_SCORES_NAME,
    IMAGES_DIR,
    SEQUENCES,
    Case,
    Manifest,
    Pair,
    file_sha256,
    save_manifest,
)

#: Shapes of the tiny volumes (x, y, z) in RAS voxel order, and their spacing in mm.
TINY_SHAPES = {"cor_iw_tse": (48, 8, 40), "sag_3d_dess": (12, 48, 40)}
TINY_SPACING = {"cor_iw_tse": (0.73, 3.0, 0.73), "sag_3d_dess": (1.4, 0.73, 0.91)}


@dataclass
class TinyStudy:
    study: Path
    key: Path
    manifest: Manifest
    progressors: dict[str, str]  # pair_id -> progressor case id


def _volume(rng: np.random.Generator, seq: str, brightness: float) -> np.ndarray:
    shape = TINY_SHAPES[seq]
    vol = rng.normal(200.0, 20.0, size=shape).astype(np.float32)
    x, y, z = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    c = [n / 2 for n in shape]
    r2 = sum(((a - ci) / max(n / 4, 1)) ** 2 for a, ci, n in zip((x, y, z), c, shape, strict=True))
    vol += brightness * np.exp(-r2)
    return np.clip(vol, 0, None).astype(np.int16)


def _affine(seq: str) -> np.ndarray:
    aff = np.diag([*TINY_SPACING[seq], 1.0])
    return aff


def make_study(
    root: Path,
    *,
    n_pairs: int = 4,
    n_practice: int = 0,
    with_images: bool = True,
    with_ai: bool = False,
    confidence: bool = False,
    allow_answer_change: bool = False,
    educational: bool = False,
    reading_modes: tuple[str, ...] = ("unaided", "aided", "sequential"),
    seed: int = 0,
) -> TinyStudy:
    """Write ``root/study`` (the package) and ``root/key.json``; return where they are."""
    rng = np.random.default_rng(seed)
    study = Path(root) / "study"
    (study / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    cases: dict[str, Case] = {}
    pairs: list[Pair] = []
    practice: list[Pair] = []
    key_pairs: list[dict] = []
    key_practice: list[dict] = []
    progressors: dict[str, str] = {}
    scores: list[tuple[str, float]] = []
    ids = [f"K{v:05d}" for v in rng.choice(90000, size=2 * (n_pairs + n_practice), replace=False) + 10000]
    for i in range(n_pairs + n_practice):
        is_practice = i < n_practice
        pid = f"X{i + 1:02d}" if is_practice else f"P{i - n_practice + 1:03d}"
        a, b = ids[2 * i], ids[2 * i + 1]
        prog = a if rng.random() < 0.5 else b
        for cid in (a, b):
            images = {}
            for seq in SEQUENCES:
                rel = f"{IMAGES_DIR}/{cid}_{seq}.nii.gz"
                images[seq] = rel
                if with_images:
                    vol = _volume(rng, seq, 400.0 if cid == prog else 250.0)
                    nib.save(nib.Nifti1Image(vol, _affine(seq)), str(study / rel))
            cases[cid] = Case(
                case_id=cid,
                images=images,
                clinical={
                    "age": int(rng.integers(45, 80)),
                    "sex": str(rng.choice(["F", "M"])),
                    "bmi": round(float(rng.normal(28, 4)), 1),
                    "height_m": round(float(rng.normal(1.7, 0.08)), 2),
                    "weight_kg": round(float(rng.normal(80, 12)), 1),
                    "min_medial_jsw_mm": round(float(rng.normal(4.0, 1.0)), 2),
                },
            )
            scores.append((cid, float(np.clip(rng.normal(0.6 if cid == prog else 0.4, 0.15), 0, 1))))
        entry = {
            "pair_id": pid,
            "progressor": prog,
            "non_progressor": b if prog == a else a,
            "jsn_mm": round(float(rng.uniform(-1.3, -0.5)), 2),
            "non_progressor_jsn_mm": round(float(rng.uniform(-0.3, 0.3)), 2),
            "stratum": "likely",
            "progressor_source": {"participant_id": f"99{i:05d}", "side": "right", "visit": "00m"},
            "non_progressor_source": {"participant_id": f"98{i:05d}", "side": "left", "visit": "00m"},
        }
        (key_practice if is_practice else key_pairs).append(entry)
        (practice if is_practice else pairs).append(Pair(pid, (a, b)))
        progressors[pid] = prog
    study_id = f"S{rng.integers(1e6):06d}"
    key_path = Path(root) / "key.json"
    key_path.write_text(
        json.dumps({"schema_version": 1, "study_id": study_id, "pairs": key_pairs, "practice_pairs": key_practice}, indent=2)
    )
    manifest = Manifest(
        study_id=study_id,
        cases=cases,
        pairs=pairs,
        practice_pairs=practice,
        key_sha256=file_sha256(key_path),
        reading_modes=list(reading_modes),
        confidence_scale={"min": 1, "max": 5, "labels": {"1": "guess", "5": "certain"}} if confidence else None,
        allow_answer_change=allow_answer_change,
        educational=educational,
    )
    save_manifest(study, manifest)
    if with_ai:
        ai = study / AI_DIR
        (ai / AI_HEATMAPS_DIR).mkdir(parents=True, exist_ok=True)
        with open(ai / AI_SCORES_NAME, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["case_id", "probability", "run_id"])
            for cid, p in scores:
                w.writerow([cid, f"{p:.4f}", "run-test"])
        for cid in cases:
            for seq in SEQUENCES:
                shape = TINY_SHAPES[seq]
                x, y, z = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
                heat = np.exp(-(((x - shape[0] / 3) / 4) ** 2 + ((z - shape[2] / 2) / 4) ** 2)).astype(np.float32)
                nib.save(nib.Nifti1Image(heat, _affine(seq)), str(ai / AI_HEATMAPS_DIR / f"{cid}_{seq}.nii.gz"))
        (ai / "run.json").write_text(json.dumps({"run_id": "run-test", "backbone": "test"}))
    return TinyStudy(study=study, key=key_path, manifest=manifest, progressors=progressors)

"""A small plain-CSV cohort with tiny NIfTI images, for builder, validate and blinding tests.

Images are shared between knees (one coronal and one sagittal volume per side) so the
cohort is written in milliseconds; right-knee sources are stored LAS (as the OAI's are) so
the builder's reorientation and mirroring are exercised.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

HEADER = "patient_id,side,visit_month,min_medial_jsw_mm,womac_pain,age,sex,bmi,height_m,weight_kg,kl_grade,cor_iw_tse,sag_3d_dess"
#: (x, y, z) voxels and spacing of the sources, RAS-ordered: COR slices along y, SAG along x.
SHAPES = {"cor": ((24, 5, 20), (0.8, 3.0, 0.8)), "sag": ((8, 24, 20), (1.5, 0.8, 0.8))}


def _write_sources(img_dir: Path, rng: np.random.Generator) -> dict[tuple[str, str], str]:
    img_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for side in ("left", "right"):
        for seq, (shape, spacing) in SHAPES.items():
            data = rng.integers(0, 1200, size=shape).astype(np.int16)
            data[0, 0, 0] = 3000  # a marker voxel: where it lands shows the orientation
            aff = np.diag([*spacing, 1.0])
            if side == "right":  # stored LAS: x runs towards the patient's left
                aff[0, 0] = -spacing[0]
                aff[0, 3] = spacing[0] * (shape[0] - 1)
            p = img_dir / f"src_{side}_{seq}.nii.gz"
            nib.save(nib.Nifti1Image(data, aff), str(p))
            out[side, seq] = str(p.relative_to(img_dir.parent))
    return out


def write_csv_cohort(root: Path, *, n_participants: int = 40, seed: int = 0) -> Path:
    """Write ``root/cohort.csv`` (baseline and 12 m rows, both knees) and images; return the CSV path.

    About 45 % of knees progress, spread 10 % / 70 % / 20 % over the strata.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    src = _write_sources(root / "images", rng)
    ids = rng.choice(np.arange(9000000, 9999999), size=n_participants, replace=False)
    lines = [HEADER]
    for pid in ids:
        sex = "F" if rng.random() < 0.55 else "M"
        age, bmi, h = rng.uniform(45, 79), rng.uniform(20, 38), rng.uniform(1.5, 1.95)
        for side in ("right", "left"):
            u = rng.random()
            if u < 0.045:
                jsn = rng.uniform(-2.0, -1.15)
            elif u < 0.36:
                jsn = rng.uniform(-1.08, -0.62)
            elif u < 0.45:
                jsn = rng.uniform(-0.58, -0.52)
            else:
                jsn = rng.uniform(-0.45, 0.3)
            jsw0 = rng.uniform(2.5, 6.5)
            for month, jsw in ((0, jsw0), (12, jsw0 + jsn)):
                lines.append(
                    f"{pid},{side},{month},{jsw:.4f},{rng.integers(0, 20)},{age + month / 12:.1f},{sex},"
                    f"{bmi:.1f},{h:.2f},{bmi * h * h:.1f},{rng.integers(0, 5)},"
                    f"{src[side, 'cor'] if month == 0 else ''},{src[side, 'sag'] if month == 0 else ''}"
                )
    path = root / "cohort.csv"
    path.write_text("\n".join(lines) + "\n")
    return path

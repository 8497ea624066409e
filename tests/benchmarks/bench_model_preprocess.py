"""Preprocessing speed: the fast slab N4 against the slow whole-volume reference.

Volumes: a full-size synthetic COR IW TSE (384 x 384 x 36) and SAG 3D DESS (384 x 384 x 160)
knee from ``studies.synth``, and the real MR sample (shared/data/real-mr, thigh T1, 3.3 mm
slices like COR: COR's fast parameters) resampled to 384 x 384 in-plane with a smooth bias
field multiplied in. Prints volumes/s for both
methods, the speed-up and the correlation of the two preprocessed 8-slice stacks (after the
10/80 percentile clipping; the raw corrected stacks' correlation too).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from model.preprocess.intensity import clip_and_scale
from model.preprocess.n4 import FAST_BY_SEQUENCE, n4_reference, n4_slab
from model.preprocess.orientation import orient, read_volume
from model.preprocess.slices import middle_indices, slice_axis, take_slices

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real-mr" / "ibsi_sts010_mr_t1" / "dicom" / "MR_T1" / "image"


def _synthetic(tmp: Path, sequence: str) -> sitk.Image:
    from studies.cohort import load_cohort
    from studies.synth import generate_cohort, materialize

    cohort = tmp / "cohort"
    if not cohort.exists():
        generate_cohort(cohort, patients=2, seed=3, size="full", images="none")
    knees = load_cohort(cohort).knees
    row = knees[(knees.visit_month == 0)].iloc[0]
    materialize(cohort, [(row.participant_id, row.side, 0)])
    return orient(read_volume(row[sequence]), row.side)


def _real() -> sitk.Image:
    img = orient(read_volume(REAL), "left")
    ref = sitk.Image([384, 384, img.GetSize()[2]], sitk.sitkFloat32)
    ref.SetSpacing((img.GetSize()[0] * img.GetSpacing()[0] / 384, img.GetSize()[1] * img.GetSpacing()[1] / 384, img.GetSpacing()[2]))
    ref.SetOrigin(img.GetOrigin())
    big = sitk.Resample(img, ref, sitk.Transform(), sitk.sitkLinear)
    arr = sitk.GetArrayFromImage(big)
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in arr.shape], indexing="ij")
    out = sitk.GetImageFromArray((arr * np.exp(0.3 * (x + y - z * z))).astype(np.float32))
    out.CopyInformation(big)
    return out


def _compare(name: str, img: sitk.Image, sequence: str, array_axis: int) -> None:
    arr_shape = sitk.GetArrayViewFromImage(img).shape
    idx = middle_indices(arr_shape[array_axis])
    t0 = time.perf_counter()
    ref = n4_reference(img)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast = n4_slab(img, array_axis, idx, **FAST_BY_SEQUENCE.get(sequence or "cor_iw_tse", {}))
    t_fast = time.perf_counter() - t0
    r = np.take(sitk.GetArrayFromImage(ref), idx, axis=array_axis)
    f = sitk.GetArrayFromImage(fast)
    if sequence:
        r, f = take_slices(r, sequence, np.arange(8)), take_slices(f, sequence, np.arange(8))
    corr = float(np.corrcoef(clip_and_scale(r).ravel(), clip_and_scale(f).ravel())[0, 1])
    raw = float(np.corrcoef(r.ravel(), f.ravel())[0, 1])
    print(f"\nN4 {name} {tuple(reversed(arr_shape))}: reference {t_ref:.1f} s ({1 / t_ref:.3f} vol/s), "
          f"fast {t_fast:.2f} s ({1 / t_fast:.2f} vol/s), speed-up {t_ref / t_fast:.1f}x; "
          f"correlation of the 8-slice stacks {corr:.4f} (raw corrected {raw:.4f})")
    assert corr > 0.95


@pytest.mark.parametrize("sequence", ["cor_iw_tse", "sag_3d_dess"])
def test_n4_synthetic_full_size(tmp_path_factory, sequence):
    tmp = tmp_path_factory.getbasetemp() / "n4bench"
    tmp.mkdir(exist_ok=True)
    _compare(f"synthetic {sequence}", _synthetic(tmp, sequence), sequence, slice_axis(sequence))


@pytest.mark.skipif(not REAL.is_dir(), reason="shared/data/real-mr not present")
def test_n4_real_mr_upsampled():
    _compare("real MR thigh T1 (slice axis z)", _real(), "", 0)

"""Preprocessing speed: the fast slab N4 against the slow whole-volume reference.

Volumes: a full-size synthetic COR IW TSE (384 x 384 x 36) and SAG 3D DESS (384 x 384 x 160)
knee from ``studies.synth``, and the real MR sample (shared/data/real-mr, thigh T1, 3.3 mm
slices like COR: COR's fast parameters) resampled to 384 x 384 in-plane with a smooth bias
field multiplied in; the same at the demo's size (96-px synthetic knees, the real MR resampled
to 96 x 96), where the levels rule (``n4.fit_levels``) fits 3 levels instead of 4. Prints
volumes/s for both methods, the speed-up and the correlation of the two preprocessed 8-slice
stacks (after the 10/80 percentile clipping; the raw corrected stacks' correlation too), and,
where the rule dropped levels, the same figures with all 4 levels.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from model.preprocess.intensity import clip_and_scale
from model.preprocess.n4 import FAST, FAST_BY_SEQUENCE, n4_reference, n4_slab
from model.preprocess.orientation import orient, read_volume
from model.preprocess.slices import middle_indices, slice_axis, take_slices

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real-mr" / "ibsi_sts010_mr_t1" / "dicom" / "MR_T1" / "image"


def _synthetic(tmp: Path, sequence: str, size: str = "full", knee: int = 0) -> sitk.Image:
    from studies.cohort import load_cohort
    from studies.synth import generate_cohort, materialize

    cohort = tmp / f"cohort-{size}"
    if not cohort.exists():
        generate_cohort(cohort, patients=2, seed=3, size=size, images="none")
    knees = load_cohort(cohort).knees
    row = knees[(knees.visit_month == 0)].iloc[knee]
    materialize(cohort, [(row.participant_id, row.side, 0)])
    return orient(read_volume(row[sequence]), row.side)


def _real(pixels: int = 384) -> sitk.Image:
    img = orient(read_volume(REAL), "left")
    ref = sitk.Image([pixels, pixels, img.GetSize()[2]], sitk.sitkFloat32)
    ref.SetSpacing((img.GetSize()[0] * img.GetSpacing()[0] / pixels, img.GetSize()[1] * img.GetSpacing()[1] / pixels,
                    img.GetSpacing()[2]))
    ref.SetOrigin(img.GetOrigin())
    big = sitk.Resample(img, ref, sitk.Transform(), sitk.sitkLinear)
    arr = sitk.GetArrayFromImage(big)
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in arr.shape], indexing="ij")
    out = sitk.GetImageFromArray((arr * np.exp(0.3 * (x + y - z * z))).astype(np.float32))
    out.CopyInformation(big)
    return out


def _fast(img: sitk.Image, sequence: str, array_axis: int, idx: np.ndarray, repeats: int, **params) -> tuple[np.ndarray, float]:
    """The fast correction's 8-slice stack and its mean time over ``repeats`` runs (CPU seconds
    on one thread, as in the preprocessing workers, when ``repeats`` > 1; wall seconds else)."""
    params = {**FAST_BY_SEQUENCE.get(sequence or "cor_iw_tse", {}), **params}
    clock = time.process_time if repeats > 1 else time.perf_counter
    threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    if repeats > 1:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    t0 = clock()
    try:
        for _ in range(repeats):
            fast = n4_slab(img, array_axis, idx, **params)
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    seconds = (clock() - t0) / repeats
    f = sitk.GetArrayFromImage(fast)
    return (take_slices(f, sequence, np.arange(8)) if sequence else f), seconds


def _compare(name: str, img: sitk.Image, sequence: str, array_axis: int, *, floor: float = 0.95) -> None:
    arr_shape = sitk.GetArrayViewFromImage(img).shape
    idx = middle_indices(arr_shape[array_axis])
    small = max(arr_shape) <= 128  # fast enough to time over a few runs
    repeats = 10 if small else 1
    t0 = time.perf_counter()
    ref = n4_reference(img)
    t_ref = time.perf_counter() - t0
    f, t_fast = _fast(img, sequence, array_axis, idx, repeats)
    r = np.take(sitk.GetArrayFromImage(ref), idx, axis=array_axis)
    if sequence:
        r = take_slices(r, sequence, np.arange(8))
    corr = float(np.corrcoef(clip_and_scale(r).ravel(), clip_and_scale(f).ravel())[0, 1])
    raw = float(np.corrcoef(r.ravel(), f.ravel())[0, 1])
    unit = "CPU-s on 1 thread" if repeats > 1 else "s"
    print(f"\nN4 {name} {tuple(reversed(arr_shape))}: reference {t_ref:.1f} s ({1 / t_ref:.3f} vol/s), "
          f"fast {t_fast:.3f} {unit} ({1 / t_fast:.2f} vol/s), speed-up {t_ref / t_fast:.1f}x; "
          f"correlation of the 8-slice stacks {corr:.4f} (raw corrected {raw:.4f})")
    f4, t4 = _fast(img, sequence, array_axis, idx, repeats, levels_rule=False)
    if not np.array_equal(f4, f):  # the levels rule dropped levels here
        c4 = float(np.corrcoef(clip_and_scale(r).ravel(), clip_and_scale(f4).ravel())[0, 1])
        print(f"   with all {len(FAST['iterations'])} levels (before the levels rule): fast {t4:.3f} {unit}, correlation {c4:.4f}; "
              f"the rule's {t_fast:.3f} {unit} is {t4 / t_fast:.2f}x faster")
    assert corr > floor


@pytest.mark.parametrize("sequence", ["cor_iw_tse", "sag_3d_dess"])
def test_n4_synthetic_full_size(tmp_path_factory, sequence):
    tmp = tmp_path_factory.getbasetemp() / "n4bench"
    tmp.mkdir(exist_ok=True)
    _compare(f"synthetic {sequence}", _synthetic(tmp, sequence), sequence, slice_axis(sequence))


@pytest.mark.skipif(not REAL.is_dir(), reason="shared/data/real-mr not present")
def test_n4_real_mr_upsampled():
    _compare("real MR thigh T1 (slice axis z)", _real(), "", 0)


@pytest.mark.parametrize("knee", [0, 1, 2])
@pytest.mark.parametrize("sequence", ["cor_iw_tse", "sag_3d_dess"])
def test_n4_synthetic_demo_size(tmp_path_factory, sequence, knee):
    tmp = tmp_path_factory.getbasetemp() / "n4bench"
    tmp.mkdir(exist_ok=True)
    # 96-px knees agree less with the whole-volume reference than full-size ones (the reference
    # fits a 24-px grid with few slices); the printed 4-level figure is the comparison
    _compare(f"synthetic {sequence} 96 px, knee {knee}", _synthetic(tmp, sequence, "small", knee), sequence,
             slice_axis(sequence), floor=0.9)


@pytest.mark.skipif(not REAL.is_dir(), reason="shared/data/real-mr not present")
def test_n4_real_mr_demo_size():
    _compare("real MR thigh T1 at 96 x 96 (slice axis z)", _real(96), "", 0)

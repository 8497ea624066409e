"""Preprocessing: orientation, slices, intensity clipping, N4 (fast vs reference), cache."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from conftest import knee_like, to_image, with_bias  # tests/model/conftest.py

from model.preprocess import pipeline as pp
from model.preprocess.intensity import clip_and_scale
from model.preprocess.n4 import FAST, fit_levels, n4_reference, n4_slab
from model.preprocess.orientation import orient, read_volume
from model.preprocess.pipeline import PreprocessConfig, VolumeJob, preprocess_image, preprocess_job
from model.preprocess.slices import middle_indices, put_slices, take_slices
from studies.errors import InputFileError, OptionError


def test_orient_makes_lps_and_mirrors_right_knees():
    arr = knee_like((10, 9, 12))
    # an image stored RAS-like (x and y axes reversed w.r.t. LPS)
    img = to_image(arr, direction=(-1, 0, 0, 0, -1, 0, 0, 0, 1))
    left = sitk.GetArrayFromImage(orient(img, "left"))
    right = sitk.GetArrayFromImage(orient(img, "right"))
    assert orient(img, "left").GetDirection() == (1, 0, 0, 0, 1, 0, 0, 0, 1)
    np.testing.assert_array_equal(left, arr[:, ::-1, ::-1])
    np.testing.assert_array_equal(right, left[:, :, ::-1])  # mirrored along x
    np.testing.assert_array_equal(sitk.GetArrayFromImage(orient(img, "right", mirror=False)), left)
    with pytest.raises(OptionError, match="side"):
        orient(img, "middle")


def test_mirrored_voxels_stay_in_place_physically():
    img = to_image(knee_like((6, 5, 8)))
    img.SetOrigin((10.0, 20.0, 30.0))
    right = orient(img, "right")
    back = sitk.Resample(right, img, sitk.Transform(), sitk.sitkNearestNeighbor)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back), sitk.GetArrayFromImage(img))


def test_middle_slices_and_round_trip():
    np.testing.assert_array_equal(middle_indices(36), np.arange(14, 22))
    np.testing.assert_array_equal(middle_indices(8), np.arange(8))
    with pytest.raises(ValueError, match="7 slices"):
        middle_indices(7)
    vol = np.random.default_rng(0).random((20, 12, 16)).astype(np.float32)
    for seq, axis in (("cor_iw_tse", 1), ("sag_3d_dess", 2)):
        idx = middle_indices(vol.shape[axis])
        stack = take_slices(vol, seq, idx)
        assert stack.shape == (8, 20, vol.shape[3 - axis])
        np.testing.assert_array_equal(stack[0], np.take(vol, idx[0], axis=axis)[::-1])  # superior up
        back = put_slices(stack, vol.shape, seq, idx)
        np.testing.assert_array_equal(np.take(back, idx, axis=axis), np.take(vol, idx, axis=axis))
        assert np.take(back, [0], axis=axis).sum() == 0


def test_clip_and_scale_uses_10th_and_80th_percentiles():
    v = np.arange(101, dtype=np.float32)
    out = clip_and_scale(v)
    assert out.dtype == np.float32 and out.min() == 0 and out.max() == 1
    assert out[10] == 0 and out[80] == 1 and out[45] == pytest.approx(0.5)
    assert np.all(clip_and_scale(np.full(5, 3.0)) == 0)
    with pytest.raises(ValueError):
        clip_and_scale(v, 80, 10)


def _corr(a, b):
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_fast_n4_agrees_with_reference_and_removes_bias():
    truth = knee_like((40, 16, 48))
    img = to_image(with_bias(truth))
    idx = middle_indices(16)
    ref = np.take(sitk.GetArrayFromImage(n4_reference(img)), idx, axis=1)
    fast = sitk.GetArrayFromImage(n4_slab(img, 1, idx))
    assert fast.shape == ref.shape == (40, 8, 48)
    # this 48 x 40 slab is fitted on 13 pixels across, so with 3 levels (the levels rule): it
    # departs a little from the reference (0.987; 0.997 with 4 levels) and is closer to the
    # bias-free truth than the reference or 4 levels are (0.995; reference 0.980, 4 levels 0.987)
    truth_stack = clip_and_scale(np.take(truth, idx, axis=1))
    assert _corr(clip_and_scale(fast), clip_and_scale(ref)) >= 0.98
    assert _corr(clip_and_scale(fast), truth_stack) >= 0.99

    # on a homogeneous ellipsoid, the fast correction flattens the bias
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in (40, 16, 48)], indexing="ij")
    inside = (x / 0.8) ** 2 + (z / 0.8) ** 2 < 1
    flat = np.where(inside, 300.0, 0.0) + np.random.default_rng(1).normal(0, 5, inside.shape)
    biased = to_image(with_bias(np.clip(flat, 0, None).astype(np.float32), amplitude=0.5))
    fixed = sitk.GetArrayFromImage(n4_slab(biased, 1, idx))
    before = np.take(sitk.GetArrayFromImage(biased), idx, axis=1)[np.take(inside, idx, axis=1)]
    after = fixed[np.take(inside, idx, axis=1)]
    assert after.std() / after.mean() < 0.5 * before.std() / before.mean()


def test_levels_rule_drops_levels_finer_than_the_fit_grid():
    # the finest span of level L is 2**(L-1) spans across; each must cover >= 2 fit pixels
    assert [fit_levels(n, 4) for n in (2, 3, 4, 8, 12, 15, 16, 24, 48)] == [1, 1, 2, 3, 3, 3, 4, 4, 4]
    assert fit_levels(100, 2) == 2 and fit_levels(12, 1) == 1
    # full size keeps all 4 levels: COR IW TSE 384 px shrunk 16, DESS shrunk 8
    assert fit_levels(384 // 16, len(FAST["iterations"])) == fit_levels(384 // 8, 4) == 4
    # a 96-px slab (the demo's) is fitted on 12 pixels across: 3 levels, not 4
    img = to_image(with_bias(knee_like((96, 16, 96))))
    idx = middle_indices(16)
    ruled = sitk.GetArrayFromImage(n4_slab(img, 1, idx, shrink=16))
    three = sitk.GetArrayFromImage(n4_slab(img, 1, idx, shrink=16, iterations=(15, 15, 15), levels_rule=False))
    four = sitk.GetArrayFromImage(n4_slab(img, 1, idx, shrink=16, levels_rule=False))
    np.testing.assert_array_equal(ruled, three)
    assert not np.array_equal(ruled, four)
    assert _corr(clip_and_scale(ruled), clip_and_scale(four)) > 0.99


def test_fast_n4_agrees_on_real_mr(shared_dir):
    src = shared_dir / "data" / "real-mr" / "ibsi_sts010_mr_t1" / "dicom" / "MR_T1" / "image"
    img = orient(read_volume(src), "left")
    arr = sitk.GetArrayFromImage(img)
    idx = middle_indices(arr.shape[0])  # its acquisition (slice) axis is z
    ref = sitk.GetArrayFromImage(n4_reference(img))[idx]
    fast = sitk.GetArrayFromImage(n4_slab(img, 0, idx))
    assert _corr(clip_and_scale(fast), clip_and_scale(ref)) >= 0.99


def test_geometry_float_noise_does_not_change_the_result(tmp_path):
    """A study-package NIfTI (float32 geometry) and the cohort's DICOM give the same stack."""
    arr = with_bias(knee_like((40, 12, 48)))
    a = to_image(arr, spacing=(1.46, 9.0, 1.46))
    b = to_image(arr, spacing=(1.4600000381469727, 9.0, 1.4600000381469727))
    b.SetOrigin((0.0000024, 0, 0))
    cfg = PreprocessConfig()
    np.testing.assert_array_equal(preprocess_image(a, cfg)[0], preprocess_image(b, cfg)[0])


def test_pipeline_reads_nifti_and_caches(tmp_path, monkeypatch):
    vol = with_bias(knee_like((48, 12, 40)))  # (z, y, x)
    path = tmp_path / "knee.nii.gz"
    nib.save(nib.Nifti1Image(vol.transpose(2, 1, 0).astype(np.int16), np.diag([0.73, 3.0, 0.73, 1])), str(path))
    cfg = PreprocessConfig()
    job = VolumeJob(str(path), "right")
    first = preprocess_job(job, cfg, str(tmp_path / "cache"))
    assert first.shape == (8, 48, 40) and first.min() == 0 and first.max() == 1
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 1

    def boom(*a, **k):
        raise AssertionError("cache miss")

    monkeypatch.setattr(pp, "preprocess_image", boom)
    np.testing.assert_array_equal(preprocess_job(job, cfg, str(tmp_path / "cache")), first)
    with pytest.raises(AssertionError, match="cache miss"):  # other parameters: a miss
        preprocess_job(job, PreprocessConfig(n4="none"), str(tmp_path / "cache"))
    # a torn cache file is a miss, not a crash
    (entry,) = (tmp_path / "cache").rglob("*.npy")
    entry.write_bytes(entry.read_bytes()[:40])
    with pytest.raises(AssertionError, match="cache miss"):
        preprocess_job(job, cfg, str(tmp_path / "cache"))


def test_the_same_voxels_from_another_file_are_not_preprocessed_again(tmp_path, monkeypatch):
    """A cohort's right knee (unmirrored) and a study's copy (mirrored already, float32
    geometry) share one cached stack; other voxels do not."""
    vol = with_bias(knee_like((48, 12, 40)))  # (z, y, x)
    cohort, study, other = tmp_path / "cohort_right.nii.gz", tmp_path / "case.nii.gz", tmp_path / "other.nii.gz"
    affine = np.diag([0.7291666, 3.0, 0.7291666, 1])
    nib.save(nib.Nifti1Image(vol.transpose(2, 1, 0), affine), str(cohort))
    mirrored = sitk.GetArrayFromImage(orient(read_volume(cohort), "right"))  # (z, y, x), LPS
    # the package's NIfTI is RAS: x and y reversed again when read into LPS
    nib.save(nib.Nifti1Image(mirrored[:, ::-1, ::-1].transpose(2, 1, 0).astype(np.float32),
                             np.diag([0.72916662693, 3.0, 0.72916662693, 1])), str(study))
    nib.save(nib.Nifti1Image((vol + 1).transpose(2, 1, 0), affine), str(other))
    cfg, root = PreprocessConfig(), str(tmp_path / "cache")
    calls = []
    real = pp.preprocess_image
    monkeypatch.setattr(pp, "preprocess_image", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    first = preprocess_job(VolumeJob(str(cohort), "right"), cfg, root)
    again = preprocess_job(VolumeJob(str(study), None, mirror=False), cfg, root)
    assert calls == [str(cohort)]  # the study's copy: a cache hit by content
    np.testing.assert_array_equal(again, first)
    preprocess_job(VolumeJob(str(other), "right"), cfg, root)
    assert calls == [str(cohort), str(other)]
    preprocess_job(VolumeJob(str(cohort), "left"), cfg, root)  # unmirrored: other voxels
    assert len(calls) == 3
    # the same file again is found by its bytes, without reading the image
    monkeypatch.setattr(pp, "oriented_volume", lambda job: (_ for _ in ()).throw(AssertionError("read")))
    np.testing.assert_array_equal(preprocess_job(VolumeJob(str(study), None, mirror=False), cfg, root), first)
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 3


def test_bad_inputs_say_what_is_wrong(tmp_path):
    with pytest.raises(InputFileError, match="image not found"):
        read_volume(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="no DICOM series"):
        read_volume(tmp_path / "empty")
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputFileError, match="unreadable image"):
        read_volume(bad)
    thin = to_image(knee_like((20, 5, 20)))
    with pytest.raises(InputFileError, match="5 slices"):
        preprocess_image(orient(thin), PreprocessConfig())
    with pytest.raises(OptionError, match="n4"):
        PreprocessConfig(n4="slow")
    with pytest.raises(OptionError, match="Did you mean 'cor_iw_tse'"):
        PreprocessConfig(sequence="cor_iw_tes")


def test_cli_preprocess_writes_a_stack(shared_dir, tmp_path, capsys):
    from model.cli import main

    src = shared_dir / "data" / "real-mr" / "ibsi_sts010_mr_t1" / "dicom" / "MR_T1" / "image"
    out = tmp_path / "stack.npy"
    assert main(["preprocess", "--input", str(src), "--side", "right", "--out", str(out), "--cache", str(tmp_path / "c")]) == 0
    stack = np.load(out)
    assert stack.shape == (8, 59, 137) and stack.min() == 0 and stack.max() == 1
    assert "8 slices" in capsys.readouterr().out
    assert main(["preprocess", "--input", str(tmp_path / "nope"), "--side", "left", "--out", str(out)]) == 2
    assert "image not found" in capsys.readouterr().err

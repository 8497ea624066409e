"""Package volumes become display arrays with true orientation letters; bad files become problems."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from study_factory import TINY_SHAPES, make_study

from reader_app.domain.volumes import (
    load_heatmap,
    load_knee,
    load_sequence,
    orientation_letters,
    to_display,
)
from studies.errors import InputFileError


def _marker_volume(shape, where):
    vol = np.zeros(shape, dtype=np.int16)
    vol[where] = 1000
    return vol


def test_coronal_shows_superior_top_and_medial_left():
    # RAS voxel (x, y, z): a marker at high x (medial for a left-looking knee) and high z (superior).
    vol = _marker_volume((10, 4, 8), (9, 2, 7))
    disp = to_display(vol, (0.5, 3.0, 0.7), "cor_iw_tse")
    assert disp.data.shape == (4, 8, 10)  # slices along y, rows z, columns x
    k, r, c = np.argwhere(disp.data == 1000)[0]
    assert (k, r, c) == (2, 0, 0)  # top-left of slice 2
    assert disp.pixel_mm == (0.7, 0.5) and disp.slice_mm == 3.0
    assert orientation_letters("cor_iw_tse") == {"left": "M", "right": "L", "top": "S", "bottom": "I"}


def test_sagittal_shows_anterior_left():
    # Anterior (+y) and inferior (z = 0) marker, on sagittal slice x = 3.
    vol = _marker_volume((6, 12, 9), (3, 11, 0))
    disp = to_display(vol, (1.4, 0.7, 0.9), "sag_3d_dess")
    assert disp.data.shape == (6, 9, 12)
    assert tuple(np.argwhere(disp.data == 1000)[0]) == (3, 8, 0)  # bottom-left
    assert orientation_letters("sag_3d_dess")["left"] == "A"
    assert disp.data.flags.c_contiguous


def test_non_ras_file_is_reoriented(tmp_path):
    # The same anatomy stored with x flipped (LAS affine) must display identically.
    vol = _marker_volume((10, 4, 8), (9, 2, 7))
    ras = nib.Nifti1Image(vol, np.diag([0.5, 3.0, 0.7, 1.0]))
    las_aff = np.diag([-0.5, 3.0, 0.7, 1.0])
    las_aff[0, 3] = 9 * 0.5
    las = nib.Nifti1Image(vol[::-1].copy(), las_aff)
    (tmp_path / "images").mkdir()
    nib.save(ras, tmp_path / "images" / "ras.nii.gz")
    nib.save(las, tmp_path / "images" / "las.nii.gz")
    from studies.package import Case

    a = load_sequence(tmp_path, Case("a", {"cor_iw_tse": "images/ras.nii.gz"}, {}), "cor_iw_tse")
    b = load_sequence(tmp_path, Case("b", {"cor_iw_tse": "images/las.nii.gz"}, {}), "cor_iw_tse")
    np.testing.assert_array_equal(a.data, b.data)


def test_load_knee_from_package_starts_in_the_middle_with_auto_window(tmp_path):
    t = make_study(tmp_path, n_pairs=1, with_ai=True)
    case = next(iter(t.manifest.cases.values()))
    knee = load_knee(t.study, case, heatmaps=True)
    assert not knee.problems and not knee.heatmap_problems
    cor = knee.volumes["cor_iw_tse"]
    nx, ny, nz = TINY_SHAPES["cor_iw_tse"]
    assert cor.data.shape == (ny, nz, nx) and cor.middle == ny // 2
    lo, hi = knee.auto_windows["cor_iw_tse"].levels
    assert 100 < lo < hi  # noise around 200 plus a bright blob
    heat = knee.heatmaps["sag_3d_dess"]
    assert heat.data.dtype == np.uint8 and heat.data.max() == 255
    assert heat.data.shape == knee.volumes["sag_3d_dess"].data.shape


def test_missing_and_corrupt_images_become_problems_not_exceptions(tmp_path):
    t = make_study(tmp_path, n_pairs=1)
    case = next(iter(t.manifest.cases.values()))
    (t.study / case.images["cor_iw_tse"]).unlink()
    sag = t.study / case.images["sag_3d_dess"]
    sag.write_bytes(sag.read_bytes()[:200])  # truncated gzip
    knee = load_knee(t.study, case)
    assert knee.volumes == {}
    assert knee.problems["cor_iw_tse"] == "The image is missing. You can flag this pair for the coordinator."
    assert knee.problems["sag_3d_dess"].startswith("The image cannot be read.")
    # The reader-facing sentence names no file (file names carry case ids).
    assert case.case_id not in knee.problems["cor_iw_tse"] + knee.problems["sag_3d_dess"]
    with pytest.raises(InputFileError, match="cannot be read"):
        load_sequence(t.study, case, "sag_3d_dess")


def test_heatmap_on_another_grid_is_refused(tmp_path):
    t = make_study(tmp_path, n_pairs=1, with_ai=True)
    case = next(iter(t.manifest.cases.values()))
    img = load_sequence(t.study, case, "cor_iw_tse")
    wrong = load_sequence(t.study, case, "sag_3d_dess")
    assert load_heatmap(t.study, case.case_id, "cor_iw_tse", like=img).data.shape == img.data.shape
    with pytest.raises(InputFileError, match="not on the image's grid"):
        load_heatmap(t.study, case.case_id, "cor_iw_tse", like=wrong)
    (t.study / "ai" / "heatmaps" / f"{case.case_id}_sag_3d_dess.nii.gz").unlink()
    knee = load_knee(t.study, case, heatmaps=True)
    assert knee.heatmap_problems == {"sag_3d_dess": "The AI heatmap is missing."}
    assert set(knee.heatmaps) == {"cor_iw_tse"} and set(knee.volumes) == {"cor_iw_tse", "sag_3d_dess"}


def test_a_heatmap_whose_bytes_differ_from_the_manifest_is_refused(tmp_path):
    from studies.integrity import file_sha256

    t = make_study(tmp_path, n_pairs=1, with_ai=True)
    case = next(iter(t.manifest.cases.values()))
    path = t.study / "ai" / "heatmaps" / f"{case.case_id}_cor_iw_tse.nii.gz"
    recorded = file_sha256(path)
    assert load_heatmap(t.study, case.case_id, "cor_iw_tse", expected_sha256=recorded).data.dtype == np.uint8
    vol = nib.load(str(path))
    nib.save(nib.Nifti1Image(np.asarray(vol.dataobj) * 0.5, vol.affine), str(path))  # same grid, other values
    with pytest.raises(InputFileError, match=r"AI heatmap has changed since it was recorded") as err:
        load_heatmap(t.study, case.case_id, "cor_iw_tse", expected_sha256=recorded)
    assert str(path) in str(err.value)

"""A .nii.gz inflated straight into display order gives nibabel's voxels, in the documented
display order, for every kind of file; damaged files are refused the same way."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from reader_app.domain import nifti_gzip
from reader_app.domain.nifti_gzip import inflate_voxels_into
from reader_app.domain.volumes import _read_display, display_array, load_sequence, to_display
from studies.errors import InputFileError
from studies.package import Case


def _nibabel_display(path: Path, sequence: str):
    """What the reader showed before: nibabel's array, reordered by ``to_display``."""
    img = nib.as_closest_canonical(nib.load(str(path)))
    data = np.asanyarray(img.dataobj)
    if not np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.float32, copy=False)
    return to_display(data, img.header.get_zooms()[:3], sequence, img.affine)


def _save(path: Path, vol: np.ndarray, zooms=(0.4, 0.6, 0.9), **header) -> Path:
    img = nib.Nifti1Image(vol, np.diag([*zooms, 1.0]))
    for key, value in header.items():
        img.header[key] = value
    nib.save(img, str(path))
    return path


def _random(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is None:
        return rng.normal(0, 100, size=shape).astype(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("sequence", ["cor_iw_tse", "sag_3d_dess", "dess_cor"])
@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.uint8, np.int32, np.float32])
def test_straight_decode_equals_nibabel_then_reorder(tmp_path, sequence, dtype):
    # planes of several chunks and chunks of several planes: both boundaries are crossed
    shape = (37, 23, 29)
    path = _save(tmp_path / "v.nii.gz", _random(shape, dtype))
    old, new = _nibabel_display(path, sequence), _read_display(path, sequence)
    assert new.data.dtype == old.data.dtype and new.data.shape == old.data.shape
    assert np.array_equal(new.data, old.data)
    assert new.data.flags.c_contiguous and new.data.flags.writeable
    assert (new.pixel_mm, new.slice_mm) == (old.pixel_mm, old.slice_mm)
    assert np.array_equal(new.affine, old.affine)


def test_display_order_unchanged_at_known_voxels(tmp_path):
    # a marker at RAS (x=9 medial, y=2, z=7 superior): coronal slice 2, top-left
    vol = np.zeros((10, 4, 8), np.int16)
    vol[9, 2, 7] = 1000
    path = _save(tmp_path / "m.nii.gz", vol)
    cor = _read_display(path, "cor_iw_tse")
    assert tuple(np.argwhere(cor.data == 1000)[0]) == (2, 0, 0)
    sag = _read_display(path, "sag_3d_dess")  # slice x=9, row 0 (superior), column 1 (y=2 of 4, anterior left)
    assert tuple(np.argwhere(sag.data == 1000)[0]) == (9, 0, 1)


def test_small_chunks_cross_every_boundary(tmp_path, monkeypatch):
    monkeypatch.setattr(nifti_gzip, "CHUNK", 7)  # header, planes and chunks all misaligned
    path = _save(tmp_path / "v.nii.gz", _random((5, 6, 7), np.int16))
    assert np.array_equal(_read_display(path, "sag_3d_dess").data, _nibabel_display(path, "sag_3d_dess").data)


def test_big_endian_file_keeps_its_byte_order_and_values(tmp_path):
    vol = _random((8, 9, 10), np.int16)
    img = nib.Nifti1Image(vol.astype(">i2"), np.diag([1.0, 1.0, 1.0, 1.0]))
    path = tmp_path / "be.nii.gz"
    nib.save(img, str(path))
    new, old = _read_display(path, "cor_iw_tse"), _nibabel_display(path, "cor_iw_tse")
    assert new.data.dtype == old.data.dtype
    assert np.array_equal(new.data, old.data)


def test_scaled_and_reoriented_images_go_through_nibabel(tmp_path):
    vol = _random((8, 9, 10), np.int16)
    scaled = nib.Nifti1Image(vol, np.eye(4))
    scaled.header.set_slope_inter(2.0, 10.0)
    path = tmp_path / "scaled.nii.gz"
    nib.save(scaled, str(path))
    img = nib.load(str(path))
    out, view = display_array(img.shape, img.get_data_dtype(), "cor_iw_tse")
    assert inflate_voxels_into(img, path, view) is False  # not applicable: nibabel scales
    new = _read_display(path, "cor_iw_tse")
    assert new.data.dtype == np.float32
    assert np.array_equal(new.data, _nibabel_display(path, "cor_iw_tse").data)
    las = np.diag([-1.0, 1.0, 1.0, 1.0])
    las_path = tmp_path / "las.nii.gz"
    nib.save(nib.Nifti1Image(vol, las), str(las_path))
    assert np.array_equal(_read_display(las_path, "sag_3d_dess").data, _nibabel_display(las_path, "sag_3d_dess").data)


def test_uncompressed_nii_is_read_by_nibabel(tmp_path):
    path = _save(tmp_path / "v.nii", _random((6, 7, 8), np.int16))
    img = nib.load(str(path))
    _, view = display_array(img.shape, img.get_data_dtype(), "cor_iw_tse")
    assert inflate_voxels_into(img, path, view) is False
    assert np.array_equal(_read_display(path, "cor_iw_tse").data, _nibabel_display(path, "cor_iw_tse").data)


def test_several_gzip_members_are_read_like_gzip(tmp_path):
    plain = _save(tmp_path / "v.nii", _random((6, 7, 8), np.int16))
    raw = plain.read_bytes()
    cut = len(raw) // 3
    path = tmp_path / "members.nii.gz"
    path.write_bytes(gzip.compress(raw[:cut]) + gzip.compress(raw[cut:]))
    assert np.array_equal(_read_display(path, "sag_3d_dess").data, _nibabel_display(plain, "sag_3d_dess").data)


def _package_image(tmp_path: Path, data: bytes) -> tuple[Path, Case]:
    (tmp_path / "images").mkdir(exist_ok=True)
    path = tmp_path / "images" / "k.nii.gz"
    path.write_bytes(data)
    return path, Case("k", {"cor_iw_tse": "images/k.nii.gz"}, {})


def test_truncated_and_damaged_streams_are_refused_naming_the_file(tmp_path):
    good = _save(tmp_path / "good.nii.gz", _random((16, 12, 20), np.int16)).read_bytes()
    path, case = _package_image(tmp_path, good[: len(good) // 2])
    with pytest.raises(InputFileError, match="image cannot be read") as err:
        load_sequence(tmp_path, case, "cor_iw_tse")
    assert str(path) in str(err.value)
    damaged = bytearray(good)
    damaged[-8] ^= 0xFF  # the gzip trailer's CRC-32: the voxels no longer match it
    path, case = _package_image(tmp_path, bytes(damaged))
    with pytest.raises(InputFileError, match="image cannot be read") as err:
        load_sequence(tmp_path, case, "cor_iw_tse")
    assert isinstance(err.value.__cause__, zlib.error)


def test_a_file_whose_stream_ends_before_the_last_voxel_is_refused(tmp_path):
    good = _save(tmp_path / "v.nii", _random((6, 7, 8), np.int16)).read_bytes()
    path, case = _package_image(tmp_path, gzip.compress(good[:-100]))  # a whole, valid, short stream
    with pytest.raises(InputFileError, match="cannot be read"):
        load_sequence(tmp_path, case, "cor_iw_tse")


def test_the_manifest_hash_is_checked_on_the_bytes_that_are_decoded(tmp_path):
    import hashlib

    good = _save(tmp_path / "good.nii.gz", _random((6, 7, 8), np.int16)).read_bytes()
    path, case = _package_image(tmp_path, good)
    case = Case("k", case.images, {}, image_sha256={"cor_iw_tse": hashlib.sha256(good).hexdigest()})
    assert load_sequence(tmp_path, case, "cor_iw_tse").data.shape == (7, 8, 6)
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # one bit changed
    with pytest.raises(InputFileError, match=r"image has changed since it was recorded \(SHA-256") as err:
        load_sequence(tmp_path, case, "cor_iw_tse")
    assert str(path) in str(err.value) and "restore the package" in str(err.value)
    path.write_bytes(b"")  # an empty file is a changed file too
    with pytest.raises(InputFileError, match="image has changed"):
        load_sequence(tmp_path, case, "cor_iw_tse")
    path.unlink()
    with pytest.raises(InputFileError, match="image is missing"):
        load_sequence(tmp_path, case, "cor_iw_tse")

"""Image conversion: real DICOM and NIfTI -> oriented, mirrored, anonymous NIfTI."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from studies.errors import InputFileError
from studies.images import ConversionJob, convert_many, convert_one, read_source
from studies.progress import Progress


@pytest.fixture
def real_mr(shared_dir):
    root = shared_dir / "data/real-mr/ibsi_sts010_mr_t1"
    if not root.is_dir():
        pytest.skip("real MR sample not present")
    return root / "dicom/MR_T1/image", root / "nifti/MR_T1_image.nii.gz"


def test_dicom_to_ras_and_mirror(real_mr, tmp_path):
    dicom, _ = real_mr
    left = convert_one(ConversionJob(str(dicom), "left", str(tmp_path / "l.nii.gz")))
    right = convert_one(ConversionJob(str(dicom), "right", str(tmp_path / "r.nii.gz")))
    assert left.shape == right.shape == (137, 136, 59)
    assert left.spacing == pytest.approx((0.976562, 0.976562, 3.26996), abs=1e-4)
    li, ri = nib.load(tmp_path / "l.nii.gz"), nib.load(tmp_path / "r.nii.gz")
    assert nib.aff2axcodes(li.affine) == ("R", "A", "S") == nib.aff2axcodes(ri.affine)
    ld, rd = np.asanyarray(li.dataobj), np.asanyarray(ri.dataobj)
    assert ld.dtype == np.int16 and rd.dtype == np.int16
    np.testing.assert_array_equal(rd, ld[::-1])
    # source is LPS-stored (x towards the left): the canonical volume is its x-flip
    src, _ = read_source(dicom)
    np.testing.assert_array_equal(ld, src[::-1, ::-1, :])
    # intensities untouched
    assert sorted(np.unique(ld))[:5] == sorted(np.unique(src))[:5]
    assert ld.sum(dtype=np.int64) == src.sum(dtype=np.int64)


def test_written_nifti_carries_nothing(real_mr, tmp_path):
    dicom, _ = real_mr
    dest = tmp_path / "K2ABCDE_cor_iw_tse.nii.gz"
    convert_one(ConversionJob(str(dicom), "right", str(dest)))
    raw = dest.read_bytes()
    assert raw[3] & 0x08 == 0  # gzip FLG.FNAME unset: no file name stored
    assert raw[4:8] == b"\0\0\0\0"  # gzip mtime 0
    body = gzip.decompress(raw)
    hdr = nib.load(dest).header
    for f in ("descrip", "aux_file", "db_name", "intent_name"):
        assert hdr[f].item() == b""
    assert len(hdr.extensions) == 0
    header_bytes = body[:352]
    assert header_bytes[348:352] == b"\0\0\0\0"  # no extension flag
    for needle in (b"STS_010", b"20031230", b"IBSI", b"ITK", b"MR_T1", str(dicom).encode()):
        assert needle not in header_bytes


def test_nifti_source_and_parallel_same_bytes(real_mr, tmp_path):
    dicom, nifti = real_mr
    jobs = [
        ConversionJob(str(nifti), "left", str(tmp_path / "a1.nii.gz")),
        ConversionJob(str(dicom), "right", str(tmp_path / "b1.nii.gz")),
    ]
    states = []
    serial = convert_many(jobs, workers=1, progress=Progress(states.append))
    assert [(s.done, s.total) for s in states] == [(0, 2), (1, 2), (2, 2)] and states[-1].finished
    jobs2 = [ConversionJob(j.source, j.side, j.dest.replace("1.nii", "2.nii")) for j in jobs]
    parallel = convert_many(jobs2, workers=2)
    assert [r.shape for r in parallel] == [r.shape for r in serial]
    for a, b in zip(jobs, jobs2, strict=True):
        assert open(a.dest, "rb").read() == open(b.dest, "rb").read()
    # the NIfTI sample is the same image as the DICOM series
    np.testing.assert_array_equal(
        np.asanyarray(nib.load(jobs[0].dest).dataobj)[::-1],
        np.asanyarray(nib.load(jobs[1].dest).dataobj),
    )


def test_n4_option_keeps_grid(real_mr, tmp_path):
    dicom, _ = real_mr
    plain = convert_one(ConversionJob(str(dicom), "left", str(tmp_path / "p.nii.gz")))
    n4 = convert_one(ConversionJob(str(dicom), "left", str(tmp_path / "n.nii.gz"), n4=True))
    assert n4.shape == plain.shape and n4.spacing == pytest.approx(plain.spacing)
    a = np.asanyarray(nib.load(tmp_path / "p.nii.gz").dataobj)
    b = np.asanyarray(nib.load(tmp_path / "n.nii.gz").dataobj)
    assert b.dtype == np.int16 and not np.array_equal(a, b)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.8


def test_missing_source(tmp_path):
    with pytest.raises(InputFileError, match="image not found"):
        read_source(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="no DICOM series"):
        read_source(tmp_path / "empty")


def test_affine_carries_no_side_or_scanner_position(real_mr, tmp_path):
    """A mirrored right knee must not keep its source origin: the header would tell right
    knees from left ones (and carry the scanner's table position). Every package volume is
    centred on world (0, 0, 0) with its spacing and RAS+ axes kept."""
    dicom, _ = real_mr
    left = convert_one(ConversionJob(str(dicom), "left", str(tmp_path / "l.nii.gz")))
    convert_one(ConversionJob(str(dicom), "right", str(tmp_path / "r.nii.gz")))
    li, ri = nib.load(tmp_path / "l.nii.gz"), nib.load(tmp_path / "r.nii.gz")
    np.testing.assert_allclose(li.affine, ri.affine)
    centre = li.affine @ np.r_[(np.array(left.shape) - 1) / 2, 1]
    np.testing.assert_allclose(centre[:3], 0, atol=1e-3)
    for img in (li, ri):
        np.testing.assert_allclose(img.header.get_qform(), img.affine, atol=1e-4)

"""Writing a volume as an OAI-like DICOM series: one MR Image Storage file per slice.

Files are named ``001``, ``002``, ... (no extension) in slice order; InstanceNumber follows
the same order and ImagePositionPatient steps along the slice normal (row x column
direction), which is how SimpleITK's ImageSeriesReader sorts them, so the array it returns is
the written volume (order slice, row, column).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.tag import Tag
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

from studies.synth.geometry import ORIENTATIONS, Grid
from studies.synth.layout import SeriesRecord

#: Acquisition parameters per sequence (as in the OAI protocol).
_PROTOCOL = {
    "cor_iw_tse": dict(ScanningSequence="SE", SequenceVariant="SK", MRAcquisitionType="2D",
                       RepetitionTime=3700.0, EchoTime=29.0, FlipAngle=180.0, SequenceName="*tse2d1_7",
                       ProtocolName="COR_IW_TSE"),
    "sag_3d_dess": dict(ScanningSequence="GR", SequenceVariant="SP", MRAcquisitionType="3D",
                        RepetitionTime=16.3, EchoTime=4.7, FlipAngle=25.0, SequenceName="*de3d1",
                        ProtocolName="SAG_3D_DESS_WE"),
}


def _fmt(v: float) -> str:
    """A decimal string (DS) of at most 16 characters."""
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return s if s not in ("-0", "") else "0"


def _base_dataset(record: SeriesRecord, grid: Grid, sex: str, age_years: float) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.SOPClassUID = MRImageStorage
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = record.study_date
    ds.StudyTime = ds.SeriesTime = "100000"
    ds.AccessionNumber = record.barcode
    ds.Modality = "MR"
    ds.Manufacturer = "knee-study"
    ds.ManufacturerModelName = "knee-study synthetic phantom"
    ds.InstitutionName = "Synthetic OAI"
    ds.StudyDescription = record.study_description
    ds.SeriesDescription = record.series_description
    ds.PatientName = record.participant_id
    ds.PatientID = record.participant_id
    ds.PatientSex = sex
    ds.PatientAge = f"{int(age_years):03d}Y"
    ds.BodyPartExamined = "KNEE"
    ds.PatientPosition = "FFS"
    for key, value in _PROTOCOL[record.sequence].items():
        setattr(ds, key, value)
    ds.MagneticFieldStrength = 3
    ds.SliceThickness = _fmt(grid.spacing[0])
    ds.SpacingBetweenSlices = _fmt(grid.spacing[0])
    ds.StudyInstanceUID = record.study_uid
    ds.SeriesInstanceUID = record.series_uid
    ds.StudyID = record.barcode[-6:]
    ds.SeriesNumber = record.series_number
    ds.FrameOfReferenceUID = record.frame_uid
    ds.Laterality = "R" if record.side == "right" else "L"
    row, col = ORIENTATIONS[record.sequence]
    ds.ImageOrientationPatient = [_fmt(v) for v in (*row, *col)]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = grid.shape[1], grid.shape[2]
    ds.PixelSpacing = [_fmt(grid.spacing[1]), _fmt(grid.spacing[2])]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    return ds


#: Elements that change from slice to slice, in tag order: (group, element, VR).
_PER_SLICE = ((0x0008, 0x0018, "UI"), (0x0020, 0x0013, "IS"), (0x0020, 0x0032, "DS"), (0x0020, 0x1041, "DS"),
              (0x7FE0, 0x0010, "OW"))
_LONG_VRS = {"OB", "OW", "OF", "SQ", "UT", "UN"}


def _element(group: int, elem: int, vr: str, value: bytes) -> bytes:
    """One data element in explicit-VR little endian (values padded to even length)."""
    if len(value) % 2:
        value += b"\0" if vr in ("UI", "OB", "OW") else b" "
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHI", group, elem, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr.encode(), len(value)) + value


def _encode(ds: Dataset) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = False
    write_dataset(fp, ds)
    return fp.getvalue()


def _file_meta(sop_instance_uid: str) -> bytes:
    body = b"".join((
        _element(0x0002, 0x0001, "OB", b"\x00\x01"),
        _element(0x0002, 0x0002, "UI", MRImageStorage.encode()),
        _element(0x0002, 0x0003, "UI", sop_instance_uid.encode()),
        _element(0x0002, 0x0010, "UI", ExplicitVRLittleEndian.encode()),
        _element(0x0002, 0x0012, "UI", PYDICOM_IMPLEMENTATION_UID.encode()),
    ))
    return b"\0" * 128 + b"DICM" + _element(0x0002, 0x0000, "UL", struct.pack("<I", len(body))) + body


def _constant_segments(ds: Dataset) -> list[bytes]:
    """The dataset's elements encoded once, split around the per-slice tags."""
    bounds = [Tag(g, e) for g, e, _ in _PER_SLICE]
    parts: list[Dataset] = [Dataset() for _ in range(len(bounds) + 1)]
    for elem in ds:
        parts[sum(elem.tag > b for b in bounds)].add(elem)
    return [_encode(p) for p in parts]


def series_slices(pixels: np.ndarray, grid: Grid, record: SeriesRecord, *, sex: str, age_years: float
                  ) -> Iterator[tuple[str, bytes]]:
    """The DICOM files of one series: (name ``001``..., bytes), the first ``record.n_slices`` slices.

    ``pixels``: uint16, shape ``grid.shape`` (the whole volume: a truncated series keeps its
    first slices, with the window of the whole). ``sex`` is 'F' or 'M'. The series-wide
    elements are encoded once with pydicom; per slice only the instance UID, number, position,
    slice location and pixel data are encoded (explicit VR little endian).
    """
    if pixels.shape != grid.shape or pixels.dtype != np.uint16:
        raise ValueError(f"pixels must be uint16 of shape {grid.shape}, got {pixels.dtype} {pixels.shape}")
    ds = _base_dataset(record, grid, sex, age_years)
    width = float(np.percentile(pixels[:, ::4, ::4], 99.5))
    ds.WindowCenter, ds.WindowWidth = _fmt(width / 2), _fmt(max(width, 1.0))
    segments = _constant_segments(ds)
    normal = np.cross(*ORIENTATIONS[record.sequence])
    little = pixels.astype("<u2", copy=False)
    n = grid.shape[0] if not record.n_slices else min(record.n_slices, grid.shape[0])
    for k in range(n):
        uid = generate_uid(entropy_srcs=[record.series_uid, str(k)])
        pos = grid.position(k)
        values = (uid.encode(), str(k + 1).encode(), "\\".join(_fmt(v) for v in pos).encode(),
                  _fmt(float(np.dot(pos, normal))).encode(), np.ascontiguousarray(little[k]).tobytes())
        chunks = [_file_meta(uid), segments[0]]
        for (g, e, vr), value, seg in zip(_PER_SLICE, values, segments[1:], strict=True):
            chunks += [_element(g, e, vr, value), seg]
        yield f"{k + 1:03d}", b"".join(chunks)


def write_series(folder: Path, pixels: np.ndarray, grid: Grid, record: SeriesRecord, *, sex: str, age_years: float) -> int:
    """Write the series' files (:func:`series_slices`) as ``folder/001``...; returns the count.

    The folder is created if needed; existing files are overwritten.
    """
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for name, data in series_slices(pixels, grid, record, sex=sex, age_years=age_years):
        (folder / name).write_bytes(data)
        n += 1
    return n

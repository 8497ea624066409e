"""Benchmark: a full-size DESS-like series read from a folder and from a ``.tar.gz``.

The series: 160 slices of 384 x 384 uint16 (0.3646 x 0.3646 mm, 0.7 mm slices, ~47 MB of
pixels) written directly with pydicom: a smooth knee-sized blob plus Rician-like noise, so
gzip finds what it finds in MR (noise barely compresses). Prints seconds per series for
``count_slices``, ``read_source`` (the study builder) and ``read_volume`` (the model), from the
folder and from the tar (median of 3), and the bytes written to the temporary folder during
one tar read (the folder read writes none).
"""

from __future__ import annotations

import statistics
import tarfile
import time
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from model.preprocess.orientation import read_volume
from studies.images import read_source
from studies.series_io import count_slices, series_folder

SHAPE = (160, 384, 384)  # slices, rows, columns
SPACING = (0.7, 0.3646, 0.3646)  # mm
REPEATS = 3


def _write_series(folder: Path) -> None:
    """A sagittal DESS-like series as files 001 ... 160 (explicit VR little endian)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n, dtype=np.float32) for n in SHAPE], indexing="ij")
    blob = 900 * np.exp(-(x**2 + y**2 + z**2) * 2)
    noise = np.hypot(blob + rng.normal(0, 25, SHAPE), rng.normal(0, 25, SHAPE))
    pixels = np.clip(noise, 0, 4095).astype(np.uint16)
    series_uid, frame_uid, study_uid = generate_uid(), generate_uid(), generate_uid()
    for k in range(SHAPE[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.PatientID = "MR", "BENCH"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
        ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
        ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]  # sagittal: rows along y, columns along -z
        ds.ImagePositionPatient = [-56 + k * SPACING[0], -70, 70]
        ds.PixelSpacing = list(SPACING[1:])
        ds.SliceThickness = SPACING[0]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = SHAPE[1:]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = pixels[k].tobytes()
        ds.save_as(folder / f"{k + 1:03d}", enforce_file_format=True)


def _tar(folder: Path, dest: Path) -> Path:
    with tarfile.open(dest, "w:gz") as tf:
        tf.add(folder, arcname=".", recursive=False)
        for f in sorted(folder.iterdir()):
            tf.add(f, arcname=f"./{f.name}")
    return dest


def _seconds(fn, path: Path) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def test_series_folder_vs_tar(tmp_path):
    folder = tmp_path / "dess"
    _write_series(folder)
    tar = _tar(folder, tmp_path / "12345678.tar.gz")
    folder_bytes = sum(f.stat().st_size for f in folder.iterdir())
    print(f"\nseries I/O: DESS-like {SHAPE[0]} x {SHAPE[1]} x {SHAPE[2]} uint16, folder "
          f"{folder_bytes / 1e6:.1f} MB in {SHAPE[0]} files, tar.gz {tar.stat().st_size / 1e6:.1f} MB")
    for name, fn in (("count_slices", count_slices), ("read_source", read_source), ("read_volume", read_volume)):
        t_dir, t_tar = _seconds(fn, folder), _seconds(fn, tar)
        print(f"  {name:12s}: folder {t_dir:.3f} s, tar.gz {t_tar:.3f} s per series ({t_tar / t_dir:.1f}x)")
    t0 = time.perf_counter()
    with series_folder(tar, tmp_dir=tmp_path) as tmp:
        t_extract = time.perf_counter() - t0
        written = sum(f.stat().st_size for f in tmp.iterdir())
    left = [p for p in tmp_path.iterdir() if p.name.startswith("knee-series-")]
    print(f"  extraction alone: {t_extract:.3f} s; written to temp during one tar read: "
          f"{written / 1e6:.1f} MB (= the slice files, one series at a time), removed after: {not left}")
    a, b = read_source(folder), read_source(tar)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert written == folder_bytes and not left

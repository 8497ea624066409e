"""Source images (a DICOM series folder or tar, or a NIfTI file) -> the package's anonymised NIfTI.

A DICOM series is a folder of slice files or one ``.tar.gz`` of them (the NDA's OAI package),
read in place through :mod:`studies.series_io`; both give the same array and affine.

The package convention (``docs/study-package.md``):

- voxel array order RAS+ ``(x, y, z)``: x towards the patient's right, y anterior, z
  superior (``nibabel.as_closest_canonical``). COR IW TSE volumes have their slice axis along
  y, SAG 3D DESS volumes along x;
- right knees are mirrored along x so they look like left knees (as the paper does). The
  affine keeps the source's axes and spacing (RAS+) but not its origin: every volume is
  centred on world (0, 0, 0) mm, since the scanner position differs between right and left
  knees and would tell a mirrored knee from a left one;
- intensities untouched, stored as int16 (uint16 when values exceed int16, float32 when the
  source rescale makes them non-integral). ``n4=True`` applies N4 bias-field correction for
  display (rounded back to int16);
- nothing identifying: a fresh NIfTI-1 header with empty ``descrip``, ``aux_file``,
  ``db_name`` and ``intent_name``, no extensions, gzip with no file name and mtime 0; no DICOM
  or ITK metadata is carried over (the array and affine are all that is written).

:func:`convert_many` runs conversions in parallel processes, reporting to a :class:`studies.progress.Progress`.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from studies.atomic import write_bytes_atomic
from studies.errors import InputFileError, OptionError
from studies.parallel import parallel_map
from studies.progress import NO_PROGRESS, Progress
from studies.series_io import TAR_SUFFIXES, is_tar_series, read_series

NIFTI_SUFFIXES = (".nii", ".nii.gz")
#: gzip level of package images. Level 1 is ~2x faster than 3 and ~6x faster than 6 on
#: full-size DESS volumes, for a file ~1 % larger (MR noise barely compresses).
GZIP_LEVEL = 1
#: LPS (DICOM / ITK world) -> RAS (NIfTI world).
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class ConversionJob:
    """One volume to convert: ``source`` (DICOM folder or tar, or NIfTI file), the knee's ``side``
    ('right' is mirrored), the ``dest`` .nii.gz path and whether to apply N4."""

    source: str
    side: str
    dest: str
    n4: bool = False


@dataclass(frozen=True)
class ConvertedVolume:
    """What was written: ``shape`` (x, y, z) voxels and ``spacing`` (mm) in RAS order."""

    dest: str
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]


def read_source(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a DICOM series (folder or tar) or a NIfTI file; return (array (x, y, z), RAS affine 4x4).

    The affine maps voxel indices to RAS world mm. Raises :class:`InputFileError` naming
    ``path`` when there is nothing readable there (a corrupt tar included).
    """
    path = Path(path)
    if path.is_dir() or is_tar_series(path):
        return _read_dicom_series(path)
    if path.is_file() and path.name.lower().endswith(NIFTI_SUFFIXES):
        try:
            img = nib.load(str(path))
            data = np.asanyarray(img.dataobj)
        except Exception as exc:  # nibabel raises many types for a broken file
            raise InputFileError(path, f"cannot read this NIfTI file ({exc})") from exc
        if data.ndim == 4 and data.shape[3] == 1:
            data = data[..., 0]
        if data.ndim != 3:
            raise InputFileError(path, "expected a 3-D volume", value=data.shape)
        return data, img.affine
    raise InputFileError(
        path,
        "image not found: expected a DICOM series folder, a "
        f"{'/'.join(TAR_SUFFIXES)} series archive or a {'/'.join(NIFTI_SUFFIXES)} file",
        hint="Check the cohort's image paths",
    )


def _read_dicom_series(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(array (x, y, z), RAS affine) of the DICOM series (folder or tar) at ``path``."""
    import SimpleITK as sitk

    image = read_series(path)
    data = sitk.GetArrayFromImage(image).transpose(2, 1, 0)  # (z, y, x) -> (x, y, z)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    affine = np.eye(4)
    affine[:3, :3] = direction * np.array(image.GetSpacing())[None, :]
    affine[:3, 3] = image.GetOrigin()
    return data, LPS_TO_RAS @ affine


def to_package_volume(
    data: np.ndarray, affine: np.ndarray, side: str
) -> tuple[np.ndarray, np.ndarray]:
    """Reorient to RAS+, mirror a right knee along x, pick the stored dtype; return (array, affine)."""
    if side not in ("right", "left"):
        raise OptionError("side", "'right' or 'left'", side)
    img = nib.as_closest_canonical(nib.Nifti1Image(np.asarray(data), affine))
    out = np.asarray(img.dataobj)
    if side == "right":
        out = out[::-1, :, :]
    return np.ascontiguousarray(_storage_dtype(out)), centred_affine(img.affine, out.shape)


def centred_affine(affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``affine`` (4x4) with its translation replaced so the volume's centre voxel sits at
    world (0, 0, 0) mm: axes and spacing kept, the scanner position (which differs between
    right and left knees, so would reveal a mirrored knee) dropped."""
    out = np.array(affine, dtype=float)
    out[:3, 3] = -out[:3, :3] @ ((np.asarray(shape[:3], dtype=float) - 1) / 2)
    return out


def _storage_dtype(a: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer) or np.all(np.mod(a, 1) == 0):
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if -32768 <= lo and hi <= 32767:
            return a.astype(np.int16)
        if lo >= 0 and hi <= 65535:
            return a.astype(np.uint16)
    return a.astype(np.float32)


def n4_correct(data: np.ndarray, *, shrink: int = 4, iterations: int = 30) -> np.ndarray:
    """N4 bias-field correction (display only) of an (x, y, z) volume; same shape, float32."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(data.transpose(2, 1, 0).astype(np.float32))
    mask = sitk.OtsuThreshold(image, 0, 1, 200)
    small = sitk.Shrink(image, [shrink] * 3)
    small_mask = sitk.Shrink(mask, [shrink] * 3)
    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations([iterations] * 3)
    n4.Execute(small, small_mask)
    log_bias = n4.GetLogBiasFieldAsImage(image)
    corrected = image / sitk.Exp(log_bias)
    return sitk.GetArrayFromImage(corrected).transpose(2, 1, 0)


def anonymous_nifti_bytes(data: np.ndarray, affine: np.ndarray) -> bytes:
    """Gzipped NIfTI-1 bytes with a blank header (no description/ids/dates), no file name or mtime."""
    img = nib.Nifti1Image(data, affine)
    hdr = img.header
    for field in ("descrip", "aux_file", "db_name", "intent_name"):
        hdr[field] = b""
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    hdr.set_xyzt_units("mm", "sec")
    hdr.extensions.clear()
    return gzip.compress(img.to_bytes(), compresslevel=GZIP_LEVEL, mtime=0)


def convert_one(job: ConversionJob) -> ConvertedVolume:
    """Read, orient, mirror (right knees), optionally N4, and write one package volume atomically."""
    data, affine = read_source(job.source)
    data, affine = to_package_volume(data, affine, job.side)
    if job.n4:
        data = _storage_dtype(np.clip(np.rint(n4_correct(data)), -32768, 32767))
    write_bytes_atomic(job.dest, anonymous_nifti_bytes(data, affine))
    spacing = tuple(float(s) for s in np.sqrt((affine[:3, :3] ** 2).sum(axis=0)))
    return ConvertedVolume(job.dest, tuple(int(n) for n in data.shape), spacing)  # type: ignore[arg-type]


def convert_many(
    jobs: list[ConversionJob], *, workers: int = 1, progress: Progress = NO_PROGRESS
) -> list[ConvertedVolume]:
    """Convert ``jobs`` with ``workers`` processes (1: in this process); results in job order.

    ``progress`` counts the volumes done. The first failure is re-raised
    (remaining work is cancelled).
    """
    return parallel_map(convert_one, jobs, workers=workers, progress=progress)

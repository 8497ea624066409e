"""Reading MR volumes and giving every knee the same orientation.

Volumes are re-oriented to LPS+ (identity direction cosines), so the NumPy array of
``sitk.GetArrayFromImage`` is indexed ``[z (inferior->superior), y (anterior->posterior),
x (right->left)]``. Right knees are then mirrored along x (the sagittal plane) so that their
arrays look like left knees, as in the paper: ``sitk.Flip`` reverses the voxel order along x
and updates origin and direction, so every voxel keeps its place in the patient and results
on the oriented grid (heatmaps) resample exactly back onto the source grid. Study-package
images are already mirrored by the study builder: orient them with ``mirror=False``.
"""

from __future__ import annotations

from pathlib import Path

import SimpleITK as sitk

from studies.errors import InputFileError, OptionError
from studies.series_io import is_tar_series, read_series

SIDES = ("right", "left")


def read_volume(path: str | Path) -> sitk.Image:
    """Read a DICOM series (a folder of slice files or a ``.tar.gz`` of them, read in place
    by :func:`studies.series_io.read_series`) or a NIfTI/other ITK file, as float32.

    Returns a 3-D image with its scanner geometry (origin, spacing in mm, direction);
    a folder and a tar of the same slices give identical images. Raises
    :class:`InputFileError` naming ``path`` (a missing, corrupt or unreadable input).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "image not found", hint="Check the cohort's image paths")
    try:
        if path.is_dir() or is_tar_series(path):
            image = read_series(path)
        else:
            image = sitk.ReadImage(str(path))
    except InputFileError:
        raise
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown error"
        raise InputFileError(path, f"unreadable image ({first})", hint="Is it a DICOM series or a NIfTI file?") from exc
    if image.GetDimension() != 3:
        raise InputFileError(path, f"expected a 3-D volume, got {image.GetDimension()}-D")
    return sitk.Cast(image, sitk.sitkFloat32)


def orient(image: sitk.Image, side: str | None = None, *, mirror: bool = True) -> sitk.Image:
    """Re-orient to LPS+; reverse a right knee's voxel order along x when ``mirror``.

    ``side`` is 'right', 'left' or None (unknown / already mirrored: no flip).
    """
    if side is not None and side not in SIDES:
        raise OptionError("side", "'right', 'left' or None", side)
    out = sitk.DICOMOrient(image, "LPS")
    if mirror and side == "right":
        out = sitk.Flip(out, [True, False, False])
    return out

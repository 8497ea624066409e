"""Voxel grids of the synthetic series, in DICOM patient coordinates (LPS, millimetres).

Every grid is axis-aligned. Arrays use SimpleITK's order ``(slice, row, column)``:

* ``cor_iw_tse``: slices run anterior to posterior (+y), rows superior to inferior (-z),
  columns patient right to left (+x). ImageOrientationPatient ``[1,0,0, 0,0,-1]``.
* ``sag_3d_dess``: slices run patient left to right (-x), rows superior to inferior (-z),
  columns anterior to posterior (+y). ImageOrientationPatient ``[0,1,0, 0,0,-1]``.

Both knees use the same orientation (as the OAI scans them); the right knee sits at
patient-right (x < 0) and the left at patient-left (x > 0), so their anatomy is mirrored in
patient coordinates. Making the knees alike is the pipeline's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studies.errors import OptionError

#: Distance of each knee's centre from the body's mid-sagittal plane (mm).
KNEE_OFFSET_MM = 100.0


@dataclass(frozen=True)
class SeriesShape:
    """Size of one series: ``shape`` (slices, rows, columns) and ``spacing`` (mm, same order)."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]

    @property
    def fov_mm(self) -> tuple[float, float, float]:
        return tuple(n * s for n, s in zip(self.shape, self.spacing, strict=True))


#: In-plane pixel spacing of both OAI knee series (mm): a 140 mm field of view over 384 pixels.
OAI_PIXEL_MM = 140.0 / 384

#: Series sizes per ``--size``. ``full`` is the OAI protocol's: COR IW TSE 35 slices of 3 mm,
#: SAG 3D DESS 160 slices of 0.7 mm, both 384 x 384 at 0.3646 mm. ``small`` keeps the same
#: field of view (105 x 140 x 140 mm and 112 x 140 x 140 mm) at coarser spacing.
SIZES: dict[str, dict[str, SeriesShape]] = {
    "full": {
        "cor_iw_tse": SeriesShape((35, 384, 384), (3.0, OAI_PIXEL_MM, OAI_PIXEL_MM)),
        "sag_3d_dess": SeriesShape((160, 384, 384), (0.7, OAI_PIXEL_MM, OAI_PIXEL_MM)),
    },
    "small": {
        "cor_iw_tse": SeriesShape((12, 96, 96), (3.0 * 35 / 12, OAI_PIXEL_MM * 4, OAI_PIXEL_MM * 4)),
        "sag_3d_dess": SeriesShape((24, 96, 96), (0.7 * 160 / 24, OAI_PIXEL_MM * 4, OAI_PIXEL_MM * 4)),
    },
}

#: (row direction, column direction) cosines: the DICOM ImageOrientationPatient.
ORIENTATIONS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "cor_iw_tse": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
    "sag_3d_dess": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}


@dataclass(frozen=True)
class Grid:
    """An axis-aligned voxel grid.

    ``origin``: LPS position (mm) of voxel (0, 0, 0)'s centre; ``axes``: for each array axis
    (slice, row, column) the LPS unit vector it steps along; ``spacing``: mm per step.
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    axes: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]

    def axis_coordinates(self) -> dict[int, np.ndarray]:
        """LPS coordinate arrays per patient axis (0=x, 1=y, 2=z), shaped to broadcast.

        The result maps each patient axis to an array of shape (n, 1, 1), (1, n, 1) or
        (1, 1, n) matching the array axis that moves along it.
        """
        coords: dict[int, np.ndarray] = {}
        for k, (n, step, axis) in enumerate(zip(self.shape, self.spacing, self.axes, strict=True)):
            patient_axis = int(np.argmax(np.abs(axis)))
            sign = axis[patient_axis]
            values = self.origin[patient_axis] + sign * step * np.arange(n, dtype=np.float64)
            shape = [1, 1, 1]
            shape[k] = n
            coords[patient_axis] = values.reshape(shape)
        return coords

    def oversampled(self, factors: tuple[int, int, int]) -> Grid:
        """The same field of view with each voxel split ``factors`` times per axis."""
        shape = tuple(n * f for n, f in zip(self.shape, factors, strict=True))
        spacing = tuple(s / f for s, f in zip(self.spacing, factors, strict=True))
        origin = np.asarray(self.origin, dtype=float)
        for s, f, axis in zip(self.spacing, factors, self.axes, strict=True):
            origin = origin - np.asarray(axis) * (s / 2 - s / f / 2)
        return Grid(shape, spacing, tuple(float(v) for v in origin), self.axes)

    def position(self, index: int) -> tuple[float, float, float]:
        """LPS position of the first voxel of slice ``index`` (DICOM ImagePositionPatient)."""
        p = np.asarray(self.origin) + index * self.spacing[0] * np.asarray(self.axes[0])
        return tuple(float(v) for v in p)


def check_size(size: str) -> str:
    if size not in SIZES:
        raise OptionError("size", f"one of {', '.join(map(repr, SIZES))}", size)
    return size


def knee_centre(side: str) -> tuple[float, float, float]:
    """LPS position (mm) of a knee's centre: the medial tibial plateau at the joint's middle."""
    x = -KNEE_OFFSET_MM if side == "right" else KNEE_OFFSET_MM
    return (x, 0.0, 0.0)


def series_grid(size: str, sequence: str, side: str) -> Grid:
    """The voxel grid of ``sequence`` for a ``side`` ('right'|'left') knee at ``size``.

    The field of view is centred on the knee centre; for the coronal series a slice centre
    falls on it at ``full`` size (35 slices of 3 mm) and at ±4.375 mm from it at ``small``
    size (12 slices of 8.75 mm), both inside the medial condyle's flat area (|a| <= 5 mm).
    """
    spec = SIZES[check_size(size)][sequence]
    row, col = ORIENTATIONS[sequence]
    normal = tuple(float(v) for v in np.cross(row, col))
    axes = (normal, col, row)
    centre = np.asarray(knee_centre(side))
    origin = centre.copy()
    for n, step, axis in zip(spec.shape, spec.spacing, axes, strict=True):
        origin -= np.asarray(axis) * step * (n - 1) / 2
    return Grid(spec.shape, spec.spacing, tuple(float(v) for v in origin), axes)

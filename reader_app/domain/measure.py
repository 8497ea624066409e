"""Distance measurement (a caliper) on a displayed slice, in millimetres. Plain Python.

A view places its image in millimetres: display pixel (row ``r``, column ``c``) of a slice
covers ``[c * col_mm, (c + 1) * col_mm) x [r * row_mm, (r + 1) * row_mm)``, so a line between two
points of the view is measured with the volume's physical spacing directly, whatever the
aspect of its pixels. Right knees were mirrored into left-knee geometry when the package was
built; a mirror keeps lengths, so they are measured like left knees, and the voxel
coordinates recorded are those of the package's (mirrored) volume.

A :class:`Measurement` says where it was taken (knee side on screen, sequence, slice), its
end points in display millimetres, in display pixels and in voxels of the RAS volume (see
:data:`reader_app.domain.volumes.SLICE_AXES`), and its length. :class:`MeasurementBook` keeps
them per pair while the reader moves back and forth; the ones of a pair are recorded with its
decision (``measurements`` in the audit payload).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from reader_app.domain.volumes import SLICE_AXES

SIDES = ("left", "right")


class MeasurementError(ValueError):
    """A measurement that cannot be taken (no valid spacing, a point off the image)."""


@dataclass(frozen=True)
class Measurement:
    """One caliper line. ``p0_mm``/``p1_mm`` are (x, y) in the view's millimetres (x to the
    right, y down); ``p0_px``/``p1_px`` (row, col) and ``p0_voxel``/``p1_voxel`` (i, j, k) are
    fractional pixel and voxel coordinates; ``length_mm`` is the distance."""

    side: str
    sequence: str
    slice_index: int
    p0_mm: tuple[float, float]
    p1_mm: tuple[float, float]
    p0_px: tuple[float, float]
    p1_px: tuple[float, float]
    p0_voxel: tuple[float, float, float]
    p1_voxel: tuple[float, float, float]
    length_mm: float

    @property
    def label(self) -> str:
        return f"{self.length_mm:.1f} mm"

    def record(self, case_id: str) -> dict[str, Any]:
        """The audit entry: JSON-ready, with the case the knee is (the decision names both)."""
        r = lambda v: [round(float(x), 3) for x in v]  # noqa: E731
        return {
            "case": case_id, "sequence": self.sequence, "slice": self.slice_index,
            "p0_voxel": r(self.p0_voxel), "p1_voxel": r(self.p1_voxel),
            "p0_mm": r(self.p0_mm), "p1_mm": r(self.p1_mm), "length_mm": round(self.length_mm, 3),
        }


def _check_spacing(pixel_mm: tuple[float, float]) -> None:
    if len(pixel_mm) != 2 or not all(math.isfinite(v) and v > 0 for v in pixel_mm):
        raise MeasurementError(
            f"This image has no valid pixel spacing ({pixel_mm!r}), so distances cannot be measured on it."
        )


def voxel_of(sequence: str, slice_index: int, row: float, col: float, shape: tuple[int, int, int]) -> tuple[float, float, float]:
    """RAS voxel coordinates (i, j, k) of display position (``slice_index``, ``row``, ``col``)
    in a display volume of ``shape`` (n_slices, rows, cols); rows and columns are reversed
    RAS axes (see :func:`reader_app.domain.volumes.to_display`). Display pixel ``i`` spans
    [i, i + 1) and is voxel ``n - 1 - i``, whose centre is the integer index (NIfTI)."""
    s_ax, r_ax, c_ax = SLICE_AXES[sequence]
    out = [0.0, 0.0, 0.0]
    out[s_ax] = float(slice_index)
    out[r_ax] = shape[1] - 0.5 - row
    out[c_ax] = shape[2] - 0.5 - col
    return (out[0], out[1], out[2])


def measure(side: str, sequence: str, slice_index: int, p0_mm: tuple[float, float], p1_mm: tuple[float, float],
            pixel_mm: tuple[float, float], shape: tuple[int, int, int]) -> Measurement:
    """A :class:`Measurement` from two points (x, y) in view millimetres on a slice of a
    display volume of ``shape`` with pixels of ``pixel_mm`` (row height, column width).

    Raises :class:`MeasurementError` when the spacing is not valid or a point is off the image.
    """
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    _check_spacing(pixel_mm)
    height, width = shape[1] * pixel_mm[0], shape[2] * pixel_mm[1]
    for x, y in (p0_mm, p1_mm):
        if not (0 <= x <= width and 0 <= y <= height):
            raise MeasurementError("Start and end the measurement on the image.")
    px = [(y / pixel_mm[0], x / pixel_mm[1]) for x, y in (p0_mm, p1_mm)]
    vox = [voxel_of(sequence, slice_index, r, c, shape) for r, c in px]
    length = math.hypot(p1_mm[0] - p0_mm[0], p1_mm[1] - p0_mm[1])
    return Measurement(side, sequence, int(slice_index), tuple(map(float, p0_mm)), tuple(map(float, p1_mm)),
                       px[0], px[1], vox[0], vox[1], float(length))


@dataclass
class MeasurementBook:
    """Measurements per pair (kept while the reader moves back and forth)."""

    by_pair: dict[str, list[Measurement]] = field(default_factory=dict)

    def add(self, pair_id: str, m: Measurement) -> None:
        self.by_pair.setdefault(pair_id, []).append(m)

    def of(self, pair_id: str, side: str | None = None, sequence: str | None = None) -> list[Measurement]:
        return [m for m in self.by_pair.get(pair_id, [])
                if (side is None or m.side == side) and (sequence is None or m.sequence == sequence)]

    def remove(self, pair_id: str, m: Measurement) -> None:
        items = self.by_pair.get(pair_id, [])
        if m in items:
            items.remove(m)

    def remove_last(self, pair_id: str, side: str | None = None, sequence: str | None = None) -> Measurement | None:
        """Remove the latest measurement (of ``side``/``sequence`` when given); it, or None."""
        mine = self.of(pair_id, side, sequence)
        if not mine:
            return None
        self.remove(pair_id, mine[-1])
        return mine[-1]

    def clear(self, pair_id: str) -> None:
        self.by_pair.pop(pair_id, None)

    def records(self, pair_id: str, cases: dict[str, str]) -> list[dict[str, Any]]:
        """Audit entries of ``pair_id``'s measurements; ``cases`` maps side -> case id."""
        return [m.record(cases[m.side]) for m in self.of(pair_id)]

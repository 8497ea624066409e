"""Drawing primitives for the phantom: a label canvas in anatomical coordinates, and shapes.

Anatomical frame (mm), relative to the knee centre (:func:`studies.synth.geometry.knee_centre`):
``m`` medial (+) / lateral (-), ``a`` anterior (+) / posterior (-), ``s`` superior (+). The
right knee's medial side is towards +x (patient left), the left knee's towards -x.
"""

from __future__ import annotations

import numpy as np

from studies.synth.geometry import Grid, knee_centre


class Canvas:
    """A label volume (uint8, ``grid.shape``) with anatomical coordinates and row-range painting.

    ``m``, ``a``, ``s`` (float32, mm, shaped to broadcast against the volume) are the voxel
    centres' medial, anterior and superior coordinates relative to the knee centre moved by
    ``shift_m_mm``/``shift_s_mm``. Rows must run along the superior-inferior axis, so painting a
    range of ``s`` only touches a slab of rows.
    """

    def __init__(self, grid: Grid, side: str, shift_m_mm: float = 0.0, shift_s_mm: float = 0.0) -> None:
        c = grid.axis_coordinates()
        cx, cy, cz = knee_centre(side)
        sign = 1.0 if side == "right" else -1.0  # medial is towards the body's midline
        self.m = (sign * (c[0] - cx) - shift_m_mm).astype(np.float32)
        self.a = (-(c[1] - cy)).astype(np.float32)
        self.s = (c[2] - cz - shift_s_mm).astype(np.float32)
        if self.s.shape[1] != self.s.size:
            raise ValueError("grids must have their rows along the superior-inferior axis")
        self.labels = np.zeros(grid.shape, dtype=np.uint8)
        self._s1 = self.s.ravel()

    def rows(self, lo: float, hi: float) -> slice | None:
        idx = np.nonzero((self._s1 >= lo) & (self._s1 <= hi))[0]
        return slice(int(idx[0]), int(idx[-1]) + 1) if idx.size else None

    def paint(self, lo: float, hi: float, label: int, region) -> None:
        """Set ``label`` where ``region(s_rows)`` is true, for rows with lo <= s <= hi.

        ``region`` gets the sliced ``s`` array (shape (1, r, 1)) and returns a boolean array
        broadcastable to the sliced volume.
        """
        sl = self.rows(lo, hi)
        if sl is None:
            return
        sub = self.labels[:, sl, :]
        sub[np.broadcast_to(region(self.s[:, sl, :]), sub.shape)] = label

    def paint_where(self, lo: float, hi: float, label: int, region, allowed: tuple[int, ...]) -> None:
        """Like :meth:`paint` but only over voxels already labelled one of ``allowed``."""
        sl = self.rows(lo, hi)
        if sl is None:
            return
        sub = self.labels[:, sl, :]
        mask = np.broadcast_to(region(self.s[:, sl, :]), sub.shape) & np.isin(sub, allowed)
        sub[mask] = label


def ellipse_r2(u, v, hu, hv):
    """Squared normalised radius of (u, v) in an ellipse of half-axes (hu, hv)."""
    return (u / hu) ** 2 + (v / hv) ** 2


def taper(s, s0, s1, w0, w1):
    """Width that goes smoothly (smoothstep) from w0 at s0 to w1 at s1 (constant beyond)."""
    t = np.clip((s - s0) / (s1 - s0), 0.0, 1.0)
    return w0 + (w1 - w0) * (t * t * (3.0 - 2.0 * t))


def sagittal_band(c: Canvas, s, p0, p1, half_thickness, m_range):
    """A straight band in the sagittal (a, s) plane between p0=(a, s) and p1, across m_range."""
    (a0, s0), (a1, s1) = p0, p1
    t = np.clip((s - s0) / (s1 - s0), 0.0, 1.0)
    a_line = a0 + (a1 - a0) * t
    return (np.abs(c.a - a_line) < half_thickness) & (c.m > m_range[0]) & (c.m < m_range[1])

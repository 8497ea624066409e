"""Cross-reference lines between the two sequences of one knee (plain numpy).

The COR IW TSE and the SAG 3D DESS of a knee were acquired in one session and share one
physical (scanner) space: each volume's affine maps its voxels to millimetres in that space.
The coronal view's current slice is a plane; where it cuts the sagittal slice on screen is a
line (and the other way round). :func:`cross_line` gives that line in the target view's
millimetres, clipped to the image; :func:`slice_through` gives the slice of one view that
passes through a point clicked on the other (a Shift+click moves the other view there).

Right knees were mirrored with both their sequences, so the two still share one space.
"""

from __future__ import annotations

import numpy as np

from reader_app.domain.volumes import SLICE_AXES, DisplayVolume


def _affine(vol: DisplayVolume, sequence: str) -> np.ndarray:
    if vol.affine is not None:
        return vol.affine
    s, r, c = SLICE_AXES[sequence]  # no affine: voxel sizes on the axes, from the origin
    zooms = [0.0, 0.0, 0.0]
    zooms[s], zooms[r], zooms[c] = vol.slice_mm, vol.pixel_mm[0], vol.pixel_mm[1]
    return np.diag([*zooms, 1.0])


def _voxel(sequence: str, shape: tuple[int, ...], k: float, row: float, col: float) -> np.ndarray:
    """RAS voxel (continuous) of display (slice ``k``, ``row``, ``col``); pixel i spans [i, i+1)."""
    s, r, c = SLICE_AXES[sequence]
    v = np.zeros(3)
    v[s], v[r], v[c] = k, shape[1] - 0.5 - row, shape[2] - 0.5 - col
    return v


def display_to_world(vol: DisplayVolume, sequence: str, k: float, row: float, col: float) -> np.ndarray:
    """World mm (3,) of display position (slice ``k``, ``row``, ``col``) of ``vol``."""
    return (_affine(vol, sequence) @ np.r_[_voxel(sequence, vol.data.shape, k, row, col), 1.0])[:3]


def slice_through(vol: DisplayVolume, sequence: str, world: np.ndarray) -> int:
    """The slice of ``vol`` nearest to the world point ``world`` (clamped to the stack)."""
    voxel = np.linalg.solve(_affine(vol, sequence), np.r_[np.asarray(world, float), 1.0])[:3]
    k = int(round(float(voxel[SLICE_AXES[sequence][0]])))
    return min(max(k, 0), vol.n_slices - 1)


def cross_line(target: DisplayVolume, target_seq: str, target_k: int,
               other: DisplayVolume, other_seq: str, other_k: int
               ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Where ``other``'s slice ``other_k`` cuts ``target``'s slice ``target_k``: two points
    (x, y) in the target view's millimetres on the image's edges, or None when the planes
    are parallel or meet outside the image."""
    a_o = _affine(other, other_seq)
    s_o = SLICE_AXES[other_seq][0]
    normal = a_o[:3, s_o]  # the other slice's normal: its slice axis in the world
    point = display_to_world(other, other_seq, other_k, 0.0, 0.0)  # any point of that slice
    n_r, n_c = target.data.shape[1], target.data.shape[2]
    base = display_to_world(target, target_seq, target_k, 0.0, 0.0)
    d_row = display_to_world(target, target_seq, target_k, 1.0, 0.0) - base
    d_col = display_to_world(target, target_seq, target_k, 0.0, 1.0) - base
    a, b, c = float(normal @ d_row), float(normal @ d_col), float(normal @ (point - base))
    if abs(a) < 1e-9 and abs(b) < 1e-9:
        return None  # parallel planes
    hits: list[tuple[float, float]] = []  # (row, col) on the image's edges
    for row in (0.0, float(n_r)):
        if abs(b) > 1e-12:
            col = (c - a * row) / b
            if 0.0 <= col <= n_c:
                hits.append((row, col))
    for col in (0.0, float(n_c)):
        if abs(a) > 1e-12:
            row = (c - b * col) / a
            if 0.0 <= row <= n_r:
                hits.append((row, col))
    unique: list[tuple[float, float]] = []
    for h in hits:
        if all(abs(h[0] - u[0]) > 1e-6 or abs(h[1] - u[1]) > 1e-6 for u in unique):
            unique.append(h)
    if len(unique) < 2:
        return None
    (r0, c0), (r1, c1) = unique[0], unique[1]
    rmm, cmm = target.pixel_mm
    return (c0 * cmm, r0 * rmm), (c1 * cmm, r1 * rmm)

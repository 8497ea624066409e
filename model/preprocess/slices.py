"""The 8 consecutive slices around the middle slice, as 2-D images with superior up.

Slice axes (anatomical, after :func:`model.preprocess.orientation.orient`): coronal sequences
are cut along y (anterior-posterior, array axis 1), sagittal ones along x (array axis 2).
"""

from __future__ import annotations

import numpy as np

from model.choices import unknown_choice
from studies.package import SEQUENCES

#: Array axis (of the LPS array [z, y, x]) along which each sequence's slices are stacked.
SLICE_AXIS = {"cor_iw_tse": 1, "sag_3d_dess": 2}
N_SLICES = 8


def slice_axis(sequence: str) -> int:
    if sequence not in SLICE_AXIS:
        raise unknown_choice("sequence", sequence, SEQUENCES)
    return SLICE_AXIS[sequence]


def middle_indices(n: int, count: int = N_SLICES) -> np.ndarray:
    """Indices of ``count`` consecutive slices centred on the middle of ``n`` slices.

    Raises ValueError when ``n < count``.
    """
    if n < count:
        raise ValueError(f"the volume has {n} slices along the slice axis, {count} are needed")
    start = n // 2 - count // 2
    return np.arange(start, start + count)


def take_slices(array: np.ndarray, sequence: str, indices: np.ndarray) -> np.ndarray:
    """(Z, Y, X) LPS array -> (len(indices), H, W) slices, superior at row 0.

    Coronal: H = Z, W = X; sagittal: H = Z, W = Y.
    """
    axis = slice_axis(sequence)
    stack = np.moveaxis(np.take(array, indices, axis=axis), axis, 0)
    return np.ascontiguousarray(stack[:, ::-1, :])


def put_slices(stack: np.ndarray, shape: tuple[int, int, int], sequence: str, indices: np.ndarray) -> np.ndarray:
    """Inverse of :func:`take_slices`: (N, H, W) slices -> (Z, Y, X) array, zero elsewhere."""
    axis = slice_axis(sequence)
    out = np.zeros(shape, dtype=np.float32)
    moved = np.moveaxis(out, axis, 0)  # a view
    moved[indices] = stack[:, ::-1, :]
    return out

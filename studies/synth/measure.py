"""Measurements on the phantom's label map."""

from __future__ import annotations

import numpy as np

from studies.synth.anatomy import FEMUR_LABELS, TIBIA_LABELS


def medial_jsw_on_labels(labels: np.ndarray, row_spacing_mm: float, medial_columns: np.ndarray) -> float:
    """Minimum bone-to-bone gap (mm) between femur and tibia over the given columns.

    ``labels``: (slices, rows, columns) with rows running superior to inferior;
    ``medial_columns``: boolean mask over columns selecting the medial compartment. For each
    (slice, column) the gap is the number of rows between the femur's lowest voxel and the
    tibia's highest voxel below it, times ``row_spacing_mm``; columns without both bones
    are skipped.
    """
    sub = labels[:, :, medial_columns]
    fem = np.isin(sub, FEMUR_LABELS)
    tib = np.isin(sub, TIBIA_LABELS)
    rows = np.arange(sub.shape[1])[None, :, None]
    # lowest femur row above the tibia's top; highest tibia row
    tib_top = np.where(tib, rows, sub.shape[1]).min(axis=1)
    fem_low = np.where(fem & (rows < tib_top[:, None, :]), rows, -1).max(axis=1)
    ok = (fem_low >= 0) & (tib_top < sub.shape[1])
    if not ok.any():
        raise ValueError("no column holds both femur and tibia")
    gaps = (tib_top - fem_low - 1)[ok] * row_spacing_mm
    return float(gaps.min())

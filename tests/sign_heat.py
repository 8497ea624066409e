"""How much of a knee's Grad-CAM heat lies on the synthetic cohort's planted imaging sign.

Shared by ``tests/model/test_model_gradcam_sign.py`` (a model trained in the test) and
``tests/benchmarks/bench_model_quality.py`` (the cross-validated progression model). A knee
goes through the product's own path: read the series, orient, preprocess, Grad-CAM through
the backbone and the attention-MIL, resample onto the source grid (what the reader app
overlays); the sign's voxels come from the generator's label map of the same series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from model.features import SliceEncoder
from model.gradcam import gradcam, heatmap_on_grid
from model.mil import AttentionMIL
from model.preprocess.orientation import orient, read_volume
from model.preprocess.pipeline import PreprocessConfig, preprocess_image
from model.preprocess.slices import take_slices
from studies.synth import sign_mask

#: Voxels the sign is dilated by before counting (a heatmap "near" the sign counts).
NEAR_VOXELS = 2


@dataclass(frozen=True)
class SignHeat:
    """``share``: fraction of the heat mass on the dilated sign; ``chance``: the dilated sign's
    fraction of the volume the 8 slices cover (a uniform heatmap's share); ``peak``: whether
    the hottest voxel lies on it."""

    share: float
    chance: float
    peak: bool


def sign_heat(
    encoder: SliceEncoder,
    module: AttentionMIL,
    cohort_dir,
    knee,
    clinical: np.ndarray | None,
    sequence: str = "cor_iw_tse",
) -> SignHeat | None:
    """Grad-CAM of one cohort knee-visit (a row of ``load_cohort(...).knees``) against its sign.

    None when the heatmap is empty or the sign lies outside the slices the model sees.
    """
    source = read_volume(getattr(knee, sequence))
    oriented = orient(source, knee.side)
    stack, idx = preprocess_image(oriented, PreprocessConfig(sequence=sequence))
    heat = heatmap_on_grid(gradcam(encoder, module, stack, clinical).cams, oriented, sequence, idx, source)
    sign = sign_mask(cohort_dir, knee.participant_id, knee.side, int(knee.visit_month), sequence)
    near = ndimage.binary_dilation(sign, iterations=NEAR_VOXELS)
    ones = take_slices(np.ones(sitk.GetArrayViewFromImage(oriented).shape, np.float32), sequence, idx)
    slab = heatmap_on_grid(ones, oriented, sequence, idx, source) > 0.5
    if heat.sum() == 0 or not (near & slab).any():
        return None
    return SignHeat(
        share=float(heat[near].sum() / heat.sum()),
        chance=float(near[slab].sum() / slab.sum()),
        peak=bool(near.flat[int(np.argmax(heat))]),
    )


def summary(results: list[SignHeat]) -> str:
    share = np.mean([r.share for r in results])
    chance = np.mean([r.chance for r in results])
    return (f"mean share of heatmap mass on the sign (+{NEAR_VOXELS} voxels) {share:.3f} vs its share of the "
            f"slices' volume {chance:.3f} ({share / max(chance, 1e-9):.1f}x chance); hottest voxel on it for "
            f"{sum(r.peak for r in results)} of {len(results)} knees")

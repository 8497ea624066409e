"""The knee phantom and its contrast, without writing a cohort."""

from __future__ import annotations

import numpy as np
import pytest

from studies.synth.anatomy import (
    BONE_LABELS,
    KneeAnatomy,
    Label,
    render_labels,
)
from studies.synth.contrast import (
    NOISE_SIGMA,
    bias_field,
    contrast_table,
    render_image,
    smooth_noise,
)
from studies.synth.geometry import KNEE_OFFSET_MM, series_grid
from studies.synth.measure import medial_jsw_on_labels


def _knee(**kw) -> KneeAnatomy:
    base = dict(side="right", jsw_medial_mm=4.0, jsw_lateral_mm=6.0)
    base.update(kw)
    return KneeAnatomy(**base)


def _medial_columns(grid, side):
    x = grid.origin[0] + grid.spacing[2] * np.arange(grid.shape[2])
    centre = -KNEE_OFFSET_MM if side == "right" else KNEE_OFFSET_MM
    return (x > centre + 2) if side == "right" else (x < centre - 2)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize(("jsw", "scale", "shift_m", "shift_s"), [(0.4, 0.86, -3.0, 4.0), (2.35, 1.0, 0.0, 0.0),
                                                                 (4.9, 1.12, 2.5, -3.7), (7.4, 0.95, 1.0, 1.3)])
def test_medial_joint_space_equals_jsw(side, jsw, scale, shift_m, shift_s):
    knee = _knee(side=side, jsw_medial_mm=jsw, scale=scale, shift_m_mm=shift_m, shift_s_mm=shift_s,
                 osteophyte_mm=4.5 if jsw < 3 else 0.0)
    sizes = (("small", 16), ("full", 4)) if jsw == 2.35 else (("small", 16),)
    for size, factor in sizes:
        grid = series_grid(size, "cor_iw_tse", side).oversampled((1, factor, 1))
        labels = render_labels(knee, grid)
        assert medial_jsw_on_labels(labels, grid.spacing[1], _medial_columns(grid, side)) == pytest.approx(jsw, abs=0.2)


def test_knees_are_mirror_images():
    right = render_labels(_knee(side="right", bml=True, bml_size_mm=6.0), series_grid("small", "cor_iw_tse", "right"))
    left = render_labels(_knee(side="left", bml=True, bml_size_mm=6.0), series_grid("small", "cor_iw_tse", "left"))
    assert (left == right[:, :, ::-1]).mean() > 0.999
    assert not (left == right).all()


def test_effusion_grows_with_grade():
    for seq in ("cor_iw_tse", "sag_3d_dess"):
        grid = series_grid("small", seq, "right")
        fluid = [int((render_labels(_knee(effusion=g), grid) == Label.FLUID).sum()) for g in range(4)]
        assert fluid == sorted(fluid) and fluid[3] > 3 * fluid[0], (seq, fluid)


@pytest.mark.parametrize("bone", ["femur", "tibia"])
def test_sign_sits_in_medial_subchondral_bone(bone):
    grid = series_grid("full", "cor_iw_tse", "right")
    without = render_labels(_knee(), grid)
    with_sign = render_labels(_knee(bml=True, bml_bone=bone, bml_size_mm=6.0), grid)
    assert not (without == Label.BML).any()
    mask = with_sign == Label.BML
    assert mask.sum() > 100
    marrow = Label.FEMUR if bone == "femur" else Label.TIBIA
    assert set(np.unique(without[mask])) == {marrow}  # only replaces marrow, never cortex or cartilage
    x = grid.origin[0] + grid.spacing[2] * np.nonzero(mask.any(axis=(0, 1)))[0]
    assert (x > -KNEE_OFFSET_MM).all()  # the right knee's medial side is towards +x


def test_every_tissue_present_on_both_sequences():
    knee = _knee(effusion=2, bml=True, bml_size_mm=6.0)
    cor = set(np.unique(render_labels(knee, series_grid("full", "cor_iw_tse", "right"))))
    sag = set(np.unique(render_labels(knee, series_grid("full", "sag_3d_dess", "right"))))
    common = {Label.FAT, Label.MUSCLE, Label.FEMUR, Label.FEMUR_CORTEX, Label.TIBIA, Label.TIBIA_CORTEX,
              Label.FEMORAL_CARTILAGE, Label.TIBIAL_CARTILAGE, Label.MENISCUS, Label.FLUID, Label.TENDON, Label.BML}
    assert common <= cor and common <= sag
    assert {Label.PATELLA, Label.PATELLAR_CARTILAGE} <= sag
    assert set(BONE_LABELS) & sag


def test_sequence_contrast():
    iw, dess = contrast_table("cor_iw_tse"), contrast_table("sag_3d_dess")
    assert iw[Label.FLUID] > iw[Label.FAT] > iw[Label.FEMORAL_CARTILAGE] > iw[Label.MUSCLE] > iw[Label.MENISCUS]
    assert dess[Label.FLUID] > dess[Label.FEMORAL_CARTILAGE] > dess[Label.MUSCLE] > dess[Label.FEMUR] >= dess[Label.FAT]
    # the sign is conspicuous against marrow: dark in fatty marrow on the non-fat-suppressed
    # IW TSE, bright (oedema-like) in the water-excited DESS's dark marrow
    assert iw[Label.BML] < 0.4 * iw[Label.FEMUR]
    assert dess[Label.BML] > 1.5 * dess[Label.FEMUR]


def test_image_bias_noise_and_determinism():
    grid = series_grid("small", "cor_iw_tse", "right")
    labels = render_labels(_knee(), grid)
    a = render_image(labels, grid, "cor_iw_tse", np.random.default_rng(1))
    b = render_image(labels, grid, "cor_iw_tse", np.random.default_rng(1))
    c = render_image(labels, grid, "cor_iw_tse", np.random.default_rng(2))
    assert a.dtype == np.uint16 and (a == b).all() and not (a == c).all()
    air = a[labels == Label.AIR].astype(float)
    assert 0 < air.mean() < 0.1 * a[labels == Label.FAT].mean()  # Rician floor, not zero
    field = np.broadcast_to(bias_field(grid, np.random.default_rng(3)), grid.shape)
    assert 0.5 < field.min() < field.max() < 1.5 and field.max() / field.min() > 1.15
    assert np.abs(np.diff(field, axis=2)).max() < 0.05  # smooth
    assert NOISE_SIGMA["cor_iw_tse"] > 0


def test_smooth_noise_is_correlated_and_unit_variance():
    rng = np.random.default_rng(0)
    f = smooth_noise((20, 200, 200), (1.0, 0.4, 0.4), rng, (1.0, 8.0, 1.2))
    assert f.shape == (20, 200, 200) and f.std() == pytest.approx(1.0, abs=0.1)
    lag_rows = np.corrcoef(f[:, :-4].ravel(), f[:, 4:].ravel())[0, 1]
    lag_cols = np.corrcoef(f[:, :, :-4].ravel(), f[:, :, 4:].ravel())[0, 1]
    assert lag_rows > 0.6 and lag_cols < 0.3


def test_osteophytes_grow_from_the_margins():
    grid = series_grid("small", "cor_iw_tse", "right")
    plain = render_labels(_knee(), grid)
    spurs = render_labels(_knee(osteophyte_mm=4.5), grid)
    changed = plain != spurs
    grown = changed & ~np.isin(plain, BONE_LABELS)
    assert grown.sum() > 20  # bone grows over soft tissue ...
    assert np.isin(spurs[changed], BONE_LABELS).all()  # ... and nothing turns into soft tissue
    assert not (spurs == Label.BML).any()

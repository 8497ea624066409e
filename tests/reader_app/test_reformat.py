"""The DESS coronal reformat: same voxels as a coronal reading of the RAS volume;
an optional view of the hanging protocol with linking, cross-reference lines and measurement."""

from __future__ import annotations

from unittest.mock import MagicMock

import numpy as np
import pytest
from study_factory import make_study

from reader_app.controllers.hanging import HangingController, ImageViewLike
from reader_app.domain.measure import measure
from reader_app.domain.reformat import DESS_COR, coronal_reformat
from reader_app.domain.volumes import KneeImages, to_display
from reader_app.domain.windowing import Window

COR, SAG = "cor_iw_tse", "sag_3d_dess"


def test_reformat_equals_a_coronal_reading_of_the_ras_volume():
    rng = np.random.default_rng(3)
    ras = np.asfortranarray(rng.integers(0, 1000, size=(9, 11, 7)).astype(np.int16))
    zooms = (0.7, 0.365, 0.456)
    aff = np.diag([*zooms, 1.0])
    aff[:3, 3] = [1.0, -2.0, 3.0]
    sag = to_display(ras, zooms, SAG, aff)
    cor = coronal_reformat(sag)
    ref = to_display(ras, zooms, DESS_COR, aff)
    assert np.array_equal(cor.data, ref.data) and cor.data.flags.c_contiguous
    assert cor.pixel_mm == ref.pixel_mm == (0.456, 0.7) and cor.slice_mm == ref.slice_mm == 0.365
    assert cor.affine is sag.affine
    # a caliper on the reformat points at the right RAS voxel
    ijk = (4, 6, 2)
    k, r, c = ijk[1], 7 - 1 - ijk[2], 9 - 1 - ijk[0]
    p = ((c + 0.5) * cor.pixel_mm[1], (r + 0.5) * cor.pixel_mm[0])
    m = measure("left", DESS_COR, k, p, p, cor.pixel_mm, cor.data.shape)
    assert m.p0_voxel == pytest.approx(ijk) and cor.data[k, r, c] == ras[ijk]


def _knee(n_x=20):
    ras = np.zeros((n_x, 30, 25), np.int16)
    sag = to_display(ras, (0.7, 0.5, 0.6), SAG)
    cor = to_display(np.zeros((40, 8, 40), np.int16), (0.35, 2.0, 0.4), COR)
    return KneeImages("x", {COR: cor, SAG: sag}, {}, {COR: Window(1, 2), SAG: Window(5, 10)}, {}, {})


def test_hanging_controller_makes_the_reformat_on_demand_linked_and_crossed():
    views = {(k, s): MagicMock(spec=ImageViewLike) for k in ("left", "right") for s in (COR, SAG, DESS_COR)}
    h = HangingController(views)
    h.load({"left": _knee(20), "right": _knee(24)}, heatmaps=False)
    assert ("left", DESS_COR) not in h.slices  # not made until shown
    views[("left", DESS_COR)].set_volume.assert_called_with(None, problem="This image is not available.")
    h.set_reformat(True)
    assert h.slices[("left", DESS_COR)] == 15 and h.windows[("left", DESS_COR)] == Window(5, 10)
    h.scroll(("left", DESS_COR), 3)  # linked to knee B's reformat by relative position
    assert h.slices[("right", DESS_COR)] == 18
    line = views[("left", DESS_COR)].show_reference_line.call_args.args[0]
    assert line is not None and line[0][0] == pytest.approx(line[1][0])  # the sagittal slice: vertical
    m = h.measure(("left", DESS_COR), (1.0, 1.0), (4.0, 5.0))
    assert m.length_mm == pytest.approx(5.0)
    h.load({"left": _knee(), "right": _knee()}, heatmaps=False)  # the next pair: made at once
    assert ("left", DESS_COR) in h.slices


def test_reformat_is_never_kept_in_the_cache_of_decoded_knees():
    """The reformat (47 MB for a full-size knee) lives with the pair on screen only: the
    cached knees are not changed, and hiding the view lets it go."""
    views = {(k, s): MagicMock(spec=ImageViewLike) for k in ("left", "right") for s in (COR, SAG, DESS_COR)}
    h = HangingController(views)
    cached = {"left": _knee(20), "right": _knee(24)}
    h.set_reformat(True)
    h.load(cached, heatmaps=False)
    assert ("left", DESS_COR) in h.slices and DESS_COR in h.knees["left"].volumes
    assert all(DESS_COR not in k.volumes and DESS_COR not in k.auto_windows for k in cached.values())
    h.set_reformat(False)
    assert DESS_COR not in h.knees["left"].volumes and ("left", DESS_COR) not in h.slices
    h.scroll(("left", SAG), 1)  # the other views go on as before
    h.set_reformat(True)  # shown again: made again, at its middle slice
    assert h.slices[("left", DESS_COR)] == 15


def test_window_layout_button_shows_the_reformat_with_pixels(tmp_path, qapp, qtbot):
    from uihelpers import reading_window

    t = make_study(tmp_path, n_pairs=2)
    with reading_window(qtbot, t.study) as screen:
        w = screen.window
        view = w.views[("left", DESS_COR)]
        assert not view.isVisible()
        w.layout_buttons.button(3).click()
        qtbot.wait(30)
        assert view.isVisible() and not w.views[("left", COR)].isVisible()
        assert screen.hanging.slices[("left", DESS_COR)] >= 0 and view.has_image
        img = view.graphics.viewport().grab().toImage()
        grey = [img.pixelColor(x, img.height() // 2).value() for x in range(0, img.width(), 4)]
        assert max(grey) > 40  # the reformatted image is drawn
        w.layout_buttons.button(0).click()
        assert not view.isVisible() and w.views[("left", COR)].isVisible()

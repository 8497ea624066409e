"""The hanging protocol's logic with mock views: middle slices, relative links, windows, presets."""

from __future__ import annotations

from unittest.mock import MagicMock

import numpy as np
import pytest

from reader_app.controllers.hanging import HangingController, ImageViewLike
from reader_app.domain.linking import Rect
from reader_app.domain.volumes import DisplayVolume, KneeImages
from reader_app.domain.windowing import Window

SEQ = ("cor_iw_tse", "sag_3d_dess")


def knee(n_cor=36, n_sag=160, scale=1.0, heat=False, missing=()):
    vols, wins, heats, problems = {}, {}, {}, {}
    for seq, n in zip(SEQ, (n_cor, n_sag), strict=True):
        if seq in missing:
            problems[seq] = "This image is missing"
            continue
        vols[seq] = DisplayVolume(np.zeros((n, 4, 4), np.int16), (0.5, 0.5), 1.0)
        wins[seq] = Window(500 * scale, 400 * scale)
        if heat:
            heats[seq] = DisplayVolume(np.full((n, 4, 4), 200, np.uint8), (0.5, 0.5), 1.0)
    return KneeImages("x", vols, problems, wins, heats, {})


@pytest.fixture
def views():
    out = {}
    for k in ("left", "right"):
        for s in SEQ:
            v = MagicMock(spec=ImageViewLike)
            v.extent = Rect(0, 0, 100, 100) if k == "left" else Rect(0, 0, 200, 200)
            out[(k, s)] = v
    return out


def last_slice(view):
    return view.show_slice.call_args.args[0]


def test_load_starts_each_view_at_its_middle_slice_with_auto_window(views):
    h = HangingController(views)
    h.load({"left": knee(36, 160), "right": knee(40, 150)}, heatmaps=False)
    assert last_slice(views[("left", "cor_iw_tse")]) == 18
    assert last_slice(views[("right", "cor_iw_tse")]) == 20
    assert views[("left", "sag_3d_dess")].show_slice.call_args.args[1] == (300, 700)
    views[("left", "cor_iw_tse")].set_heatmap.assert_called_with(None)


def test_linked_scroll_moves_partner_relatively_and_unlinked_does_not(views):
    h = HangingController(views)
    h.load({"left": knee(36), "right": knee(72)}, heatmaps=False)
    h.scroll(("left", "cor_iw_tse"), 5)
    assert h.slices[("left", "cor_iw_tse")] == 23
    assert h.slices[("right", "cor_iw_tse")] == 47  # same relative position in 72 slices
    assert h.slices[("right", "sag_3d_dess")] == 80  # other sequence untouched
    h.set_links(slices=False)
    h.scroll(("left", "cor_iw_tse"), 1)
    assert h.slices[("right", "cor_iw_tse")] == 47
    h.scroll(("left", "cor_iw_tse"), -1000)
    assert h.slices[("left", "cor_iw_tse")] == 0  # clamped


def test_window_drag_links_relative_to_each_knees_auto_window(views):
    h = HangingController(views)
    h.load({"left": knee(), "right": knee(scale=2.0)}, heatmaps=False)
    h.drag_window(("left", "cor_iw_tse"), dx=0, dy=-100)  # up: level +200 (1/200 of 400 per px)
    assert h.windows[("left", "cor_iw_tse")].center == pytest.approx(700)
    assert h.windows[("right", "cor_iw_tse")].center == pytest.approx(1400)
    views[("right", "cor_iw_tse")].set_levels.assert_called_with(pytest.approx((1000, 1800)))
    h.set_links(window=False)
    h.drag_window(("left", "cor_iw_tse"), dx=100, dy=0)
    assert h.windows[("right", "cor_iw_tse")].width == pytest.approx(800)
    h.auto_contrast()
    assert h.windows[("left", "cor_iw_tse")] == Window(500, 400)


def test_zoom_pan_link_maps_the_region_relatively(views):
    h = HangingController(views)
    h.load({"left": knee(), "right": knee()}, heatmaps=False)
    views[("left", "sag_3d_dess")].view_rect.return_value = Rect(25, 25, 50, 50)
    h.view_moved(("left", "sag_3d_dess"))
    views[("right", "sag_3d_dess")].set_view_rect.assert_called_with(Rect(50, 50, 100, 100))
    h.set_links(zoom=False)
    views[("right", "sag_3d_dess")].set_view_rect.reset_mock()
    h.view_moved(("left", "sag_3d_dess"))
    views[("right", "sag_3d_dess")].set_view_rect.assert_not_called()


def test_missing_image_gets_a_placeholder_and_is_skipped(views):
    h = HangingController(views)
    h.load({"left": knee(missing=("cor_iw_tse",)), "right": knee()}, heatmaps=False)
    views[("left", "cor_iw_tse")].set_volume.assert_called_with(None, problem="This image is missing")
    h.scroll(("right", "cor_iw_tse"), 3)  # partner missing: no error
    h.scroll(("left", "cor_iw_tse"), 3)
    assert ("left", "cor_iw_tse") not in h.slices


def test_heatmaps_follow_ai_visibility_and_style(views):
    h = HangingController(views)
    h.load({"left": knee(heat=True), "right": knee(heat=True)}, heatmaps=False)
    h.show_heatmaps(True)
    v = views[("left", "cor_iw_tse")]
    assert v.set_heatmap.call_args.args[0] is not None
    h.set_overlay_style(False, 1.7, "turbo")
    v.set_overlay_style.assert_called_with(False, 1.0, "turbo")


def test_relinking_keeps_the_alignment_made_by_hand(views):
    h = HangingController(views)
    h.load({"left": knee(36), "right": knee(36)}, heatmaps=False)
    h.set_links(slices=False)
    h.scroll(("right", "cor_iw_tse"), 4)  # the reader aligns B four slices further
    h.set_links(slices=True)
    h.scroll(("left", "cor_iw_tse"), 2)
    assert (h.slices[("left", "cor_iw_tse")], h.slices[("right", "cor_iw_tse")]) == (20, 24)
    h.scroll(("right", "cor_iw_tse"), -10)
    assert (h.slices[("left", "cor_iw_tse")], h.slices[("right", "cor_iw_tse")]) == (10, 14)
    h.load({"left": knee(36), "right": knee(36)}, heatmaps=False)  # a new pair starts aligned
    h.scroll(("left", "cor_iw_tse"), 1)
    assert h.slices[("right", "cor_iw_tse")] == 19


def test_keys_act_on_the_framed_active_view(views):
    h = HangingController(views)
    h.load({"left": knee(36), "right": knee(36)}, heatmaps=False)
    views[("left", "cor_iw_tse")].set_active.assert_called_with(True)
    h.set_links(slices=False)
    h.drag_window(("right", "sag_3d_dess"), 0, 10)  # dragging a view makes it the active one
    views[("right", "sag_3d_dess")].set_active.assert_called_with(True)
    views[("left", "cor_iw_tse")].set_active.assert_called_with(False)
    h.scroll(None, 3)
    assert h.slices[("right", "sag_3d_dess")] == 83 and h.slices[("left", "sag_3d_dess")] == 80

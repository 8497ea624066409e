"""A slice view redraws only what changed, with the same pixels: a new pair on the same
grid shows the whole image again, a changed colour map reaches the overlay, consecutive
slices drawn into one buffer each show their own pixels."""

from __future__ import annotations

import numpy as np
from uihelpers import image_item_pixels, shown_slice_view

from reader_app.domain.linking import Rect
from reader_app.domain.windowing import window_rgb32
from reader_app.ui.slice_view import heat_lut


def _view(qtbot):
    return shown_slice_view(qtbot, "cor_iw_tse", "COR")


def test_a_new_volume_on_the_same_grid_shows_the_whole_image_and_its_own_pixels(qtbot):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 1000, (5, 30, 40)).astype(np.int16)
    b = rng.integers(0, 1000, (5, 30, 40)).astype(np.int16)
    view = _view(qtbot)
    view.set_volume(a, (0.5, 0.5))
    view.show_slice(2, (100.0, 900.0))
    view.set_view_rect(Rect(2.0, 2.0, 5.0, 5.0))  # the reader zoomed in
    view.set_volume(b, (0.5, 0.5))
    whole = view.view_rect()
    assert whole.x <= 1e-6 and whole.y <= 1e-6 and whole.x + whole.width >= 20.0 - 1e-6
    assert whole.y + whole.height >= 15.0 - 1e-6 and min(whole.width - 20.0, whole.height - 15.0) < 1e-6
    view.set_view_rect(Rect(1.0, 1.0, 4.0, 4.0))  # zoomed again: the next volume is fitted again
    view.set_volume(a, (0.5, 0.5))
    assert view.view_rect() == whole
    view.show_slice(3, (100.0, 900.0))
    assert np.array_equal(image_item_pixels(view), window_rgb32(a[3], (100.0, 900.0)))
    view.show_slice(4, (0.0, 500.0))  # the next slice, drawn into the same buffer
    assert np.array_equal(image_item_pixels(view), window_rgb32(a[4], (0.0, 500.0)))
    view.set_volume(None, problem="gone")
    view.set_volume(b[:, :20, :], (1.0, 1.0))  # another grid: placed again
    assert view.extent == Rect(0.0, 0.0, 40.0, 20.0)
    assert view.image.mapRectToParent(view.image.boundingRect()).width() == 40.0


def test_overlay_style_changes_reach_the_overlay_and_the_same_style_is_kept(qtbot):
    view = _view(qtbot)
    view.set_volume(np.zeros((3, 10, 10), np.int16))
    view.set_heatmap(np.full((3, 10, 10), 200, np.uint8))
    view.set_overlay_style(True, 0.5, "inferno")
    assert view.overlay.opacity() == 0.5 and view.overlay.lut is heat_lut("inferno")
    view.set_overlay_style(True, 0.5, "viridis")
    assert view.overlay.lut is heat_lut("viridis")
    view.set_overlay_style(False, 0.25, "viridis")
    assert view.overlay.opacity() == 0.25 and not view.overlay.isVisible()

"""A view draws its title, slice number and orientation letters itself, over the image: the
texts are where :meth:`ViewTexts.rects` says, in their colour, a new slice number is drawn
even where no image lies beneath it, and a view without an image draws no letters."""

from __future__ import annotations

import numpy as np
from uihelpers import pixels, shown_slice_view

from reader_app.domain.volumes import orientation_letters
from reader_app.ui.view_texts import TEXT_COLOR

YELLOW = np.array([int(TEXT_COLOR[i:i + 2], 16) for i in (1, 3, 5)], np.int16)


def _yellow(rgb: np.ndarray, r) -> int:
    """How many pixels of ``rgb`` inside the QRect ``r`` have about the texts' colour."""
    part = rgb[r.top():r.bottom() + 1, r.left():r.right() + 1].astype(np.int16)
    return int((np.abs(part - YELLOW) <= 40).all(axis=2).sum())


def _drawn(view):
    viewport = view.graphics.viewport()
    return pixels(viewport), view.texts.rects(viewport.width(), viewport.height())


def test_texts_are_drawn_where_their_rects_say_and_follow_the_slice(qtbot):
    # a wide view and a square image: the image is letterboxed, the corners show background
    view = shown_slice_view(qtbot, "cor_iw_tse", "A · COR", size=(600, 300))
    assert view.texts.title == "A · COR" and view.texts.letters == orientation_letters("cor_iw_tse")
    vol = np.full((12, 40, 40), 500, np.int16)
    view.set_volume(vol, (1.0, 1.0))
    view.show_slice(6, (0.0, 1000.0))
    qtbot.wait(10)
    assert view.slice_text == "Slice 7 / 12"
    rgb, rects = _drawn(view)
    assert set(rects) == {"title", "slice", "top", "bottom", "left", "right"}
    for name, r in rects.items():
        assert r.width() > 4 and r.height() > 8, name
        assert _yellow(rgb, r) >= 5, f"{name} not drawn"
    # outside the texts, the view's background and the grey image: nothing yellow
    mask = np.ones(rgb.shape[:2], bool)
    for r in rects.values():
        mask[r.top():r.bottom() + 1, r.left():r.right() + 1] = False
    assert int((np.abs(rgb[mask].astype(np.int16) - YELLOW) <= 40).all(axis=1).sum()) == 0

    before = rgb[rects["slice"].top():rects["slice"].bottom() + 1, rects["slice"].left():rects["slice"].right() + 1]
    view.show_slice(9, (0.0, 1000.0))  # the same grey image: only the number changes
    qtbot.wait(10)
    assert view.slice_text == "Slice 10 / 12"
    rgb, rects = _drawn(view)
    after = rgb[rects["slice"].top():rects["slice"].bottom() + 1, :before.shape[1]]
    assert after.shape != before.shape or not np.array_equal(after, before), "the new slice number was not drawn"
    assert _yellow(rgb, rects["slice"]) >= 5


def test_a_view_without_an_image_draws_its_title_and_no_letters(qtbot):
    view = shown_slice_view(qtbot, "sag_3d_dess", "B · SAG", size=(400, 400))
    view.set_volume(np.full((4, 30, 30), 100, np.int16), (1.0, 1.0))
    view.show_slice(1, (0.0, 200.0))
    view.set_volume(None, problem="This image is not available.")
    qtbot.wait(10)
    assert view.slice_text == "" and not view.texts.letters_shown
    rgb, rects = _drawn(view)
    assert set(rects) == {"title"} and _yellow(rgb, rects["title"]) >= 5
    w, h = rgb.shape[1], rgb.shape[0]
    # where the letters were: nothing yellow at the middle of each edge
    for band in (rgb[:30, w // 2 - 15:w // 2 + 15], rgb[h // 2 - 15:h // 2 + 15, w - 30:]):
        assert int((np.abs(band.astype(np.int16) - YELLOW) <= 40).all(axis=2).sum()) == 0

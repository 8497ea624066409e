"""The reading window drawn for real (offscreen): pixels change with window/level, slices and
links; heatmaps only with the AI; placeholders for broken images; keys; pause."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from study_factory import make_study
from uihelpers import coloured, image_area_pixels, pixels, show

from reader_app.ui.launch import open_reading
from reader_app.ui.reading_window import PAGE_IMAGES, PAGE_PAUSED

COR, SAG = "cor_iw_tse", "sag_3d_dess"


@pytest.fixture
def open_screen(tmp_path, qtbot):
    screens = []

    def make(mode="unaided", reader="r1", **study_kw):
        study_kw.setdefault("with_ai", True)
        if not screens:
            make.study = make_study(tmp_path, n_pairs=3, **study_kw)
        screen = open_reading(make.study.study, reader, mode)
        screens.append(screen)
        show(qtbot, screen)
        return screen

    yield make
    for s in screens:
        s.window.close()


def centre(rgb, frac=0.2):
    h, w = rgb.shape[:2]
    return rgb[int(h * (0.5 - frac)) : int(h * (0.5 + frac)), int(w * (0.5 - frac)) : int(w * (0.5 + frac))]


def test_window_level_drag_changes_both_linked_knees_but_not_when_unlinked(open_screen, qtbot):
    s = open_screen()
    a, b = s.window.views[("left", COR)], s.window.views[("right", COR)]
    before_a, before_b = centre(pixels(a)).mean(), centre(pixels(b)).mean()
    a.windowDragged.emit(0.0, 120.0)  # drag down: lower level, brighter image
    qtbot.wait(10)
    after_a, after_b = centre(pixels(a)).mean(), centre(pixels(b)).mean()
    assert after_a > before_a + 10 and after_b > before_b + 10
    s.window.link_window.click()
    assert not s.hanging.link_window
    a.windowDragged.emit(0.0, -240.0)
    qtbot.wait(10)
    assert centre(pixels(a)).mean() < after_a - 10
    assert centre(pixels(b)).mean() == pytest.approx(after_b, abs=0.5)
    s.window.reset_button.click()  # back to the automatic window
    qtbot.wait(10)
    assert centre(pixels(a)).mean() == pytest.approx(before_a, abs=1.0)


def test_wheel_scrolls_slices_and_the_linked_view_follows(open_screen, qtbot):
    s = open_screen()
    a, b = s.window.views[("left", SAG)], s.window.views[("right", SAG)]
    assert a.slice_text == "Slice 7 / 12"  # starts at the middle slice
    b_before = image_area_pixels(b)
    vp = a.graphics.viewport()
    pos = QPointF(vp.width() / 2, vp.height() / 2)
    for _ in range(3):
        ev = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                         Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        from PySide6.QtWidgets import QApplication

        QApplication.sendEvent(vp, ev)
    qtbot.wait(10)
    assert a.slice_text == "Slice 10 / 12"
    assert b.slice_text == "Slice 10 / 12"
    assert np.abs(image_area_pixels(b).astype(int) - b_before).sum() > 0  # B redrawn with another slice
    s.window.link_slices.click()
    a.scrolled.emit(1)
    qtbot.wait(10)
    assert a.slice_text == "Slice 11 / 12" and b.slice_text == "Slice 10 / 12"


def test_keys_choose_confirm_and_scroll(open_screen, qtbot):
    s = open_screen()
    w = s.window
    first = s.session.current.pair_id
    qtbot.keyClick(w, Qt.Key.Key_J)
    assert w.choice_buttons["right"].isChecked() and w.confirm_button.isEnabled()
    qtbot.keyClick(w, Qt.Key.Key_1)
    assert w.choice_buttons["left"].isChecked() and not w.choice_buttons["right"].isChecked()
    qtbot.keyClick(w, Qt.Key.Key_Down)
    assert w.views[("left", COR)].slice_text == "Slice 6 / 8"
    assert w.views[("left", COR)].property("active") == "true"
    w.views[("right", SAG)].activated.emit()  # a click on B's sagittal view
    assert w.views[("right", SAG)].property("active") == "true"
    assert w.views[("left", COR)].property("active") == "false"
    qtbot.keyClick(w, Qt.Key.Key_Return)
    assert s.session.current.pair_id != first
    # written behind: "saved" appears only once the answer is on disk
    qtbot.waitUntil(lambda: w.saved.text() == "Previous answer saved", timeout=5000)
    assert not s.session.saving
    assert s.store.answer(first).chosen_case == s.store.order[0].left_case
    assert w.progress.text() == "Pair 2 / 3"


def test_heatmap_pixels_only_when_the_ai_is_shown(open_screen):
    unaided = open_screen("unaided", reader="u1")
    # The image area only, without the yellow texts the views draw over it.
    views_u = [unaided.window.views[(k, q)] for k in ("left", "right") for q in (COR, SAG)]
    assert sum(coloured(image_area_pixels(v)) for v in views_u) == 0
    unaided.window.close()
    aided = open_screen("aided", reader="a1")
    views_a = [aided.window.views[(k, q)] for k in ("left", "right") for q in (COR, SAG)]
    counts = [coloured(image_area_pixels(v)) for v in views_a]
    assert min(counts) > 500, counts
    assert aided.window.ai_tools.isVisible()
    assert "AI:" in aided.window.panels["left"].ai_badge.text()
    aided.window.heat_on.click()  # heatmap off
    assert sum(coloured(image_area_pixels(v)) for v in views_a) == 0


def test_broken_image_shows_a_placeholder_and_the_pair_can_be_flagged(open_screen, tmp_path, qtbot, monkeypatch):
    t = make_study(tmp_path / "broken", n_pairs=2)
    from studies.decisions import reader_order

    first = reader_order(t.manifest, "r1")[0]
    (t.study / t.manifest.cases[first.left_case].images[COR]).write_bytes(b"not a nifti")
    screen = open_reading(t.study, "r1", "unaided")
    try:
        show(qtbot, screen)
        view = screen.window.views[("left", COR)]
        # the manifest's SHA-256 catches the replaced file before it is decoded
        assert view.placeholder.isVisible() and "has changed" in view.placeholder.text()
        assert first.left_case not in view.placeholder.text()
        assert not view.texts.letters_shown and "top" not in view.texts.rects(300, 300)  # no letters around nothing
        assert screen.window.views[("right", COR)].has_image
        monkeypatch.setattr(screen.window, "ask_flag_reason", lambda: "Unreadable images")
        screen.window.flag_button.click()
        assert screen.store.flags(first.pair_id) == ["Unreadable images"]
    finally:
        screen.window.close()


def test_pause_hides_images_and_resume_brings_them_back(open_screen, qtbot):
    s = open_screen()
    w = s.window
    w.pause_button.click()
    assert w.pages.currentIndex() == PAGE_PAUSED and s.session.is_paused
    assert not w.views[("left", COR)].isVisible()
    assert not w.confirm_button.isEnabled() and not w.choice_buttons["left"].isEnabled()
    qtbot.keyClick(w, Qt.Key.Key_P)
    assert w.pages.currentIndex() == PAGE_IMAGES and not s.session.is_paused


def test_enlarge_one_sequence(open_screen, qtbot):
    s = open_screen()
    w = s.window
    h_before = w.views[("left", COR)].height()
    w.layout_buttons.button(1).click()  # COR only
    qtbot.wait(10)
    assert not w.views[("left", SAG)].isVisible() and not w.views[("right", SAG)].isVisible()
    assert w.views[("left", COR)].height() > 1.5 * h_before
    w.layout_buttons.button(0).click()
    assert w.views[("right", SAG)].isVisible()


def test_zoom_keys_zoom_the_active_view_and_its_linked_partner(open_screen, qtbot):
    s = open_screen()
    w = s.window
    a, b = w.views[("left", SAG)], w.views[("right", SAG)]
    a.activated.emit()  # the reader clicked knee A's sagittal view
    full_a, full_b = a.view_rect().width, b.view_rect().width
    qtbot.keyClick(w, Qt.Key.Key_Plus)
    assert a.view_rect().width < 0.9 * full_a
    assert b.view_rect().width == pytest.approx(a.view_rect().width / full_a * full_b, rel=0.05)
    w.link_zoom.click()
    qtbot.keyClick(w, Qt.Key.Key_Minus)
    qtbot.keyClick(w, Qt.Key.Key_Minus)
    assert b.view_rect().width < 0.9 * full_b  # B stayed zoomed
    qtbot.keyClick(w, Qt.Key.Key_R)
    assert a.view_rect().width == pytest.approx(full_a, rel=0.05)


def _mouse(view, kind, pos, button, buttons):
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    vp = view.graphics.viewport()
    p = QPointF(*pos)
    QApplication.sendEvent(vp, QMouseEvent(kind, p, vp.mapToGlobal(p), button, buttons, Qt.KeyboardModifier.NoModifier))


def _drag(view, button, dx, dy, steps=5):
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    vp = view.graphics.viewport()
    x, y = vp.width() / 2, vp.height() / 2
    _mouse(view, QEvent.Type.MouseButtonPress, (x, y), button, button)
    for i in range(1, steps + 1):
        _mouse(view, QEvent.Type.MouseMove, (x + dx * i / steps, y + dy * i / steps), Qt.MouseButton.NoButton, button)
    _mouse(view, QEvent.Type.MouseButtonRelease, (x + dx, y + dy), button, Qt.MouseButton.NoButton)
    QApplication.processEvents()  # as between two real drags


def test_real_mouse_left_drag_pans_both_knees(open_screen, qtbot):
    s = open_screen()
    a, b = s.window.views[("left", COR)], s.window.views[("right", COR)]
    ra, rb = a.view_rect(), b.view_rect()
    _drag(a, Qt.MouseButton.LeftButton, 80, 40)
    assert a.view_rect().x < ra.x - 1 and a.view_rect().y < ra.y - 1  # content follows the mouse
    assert b.view_rect().x < rb.x - 1  # the linked knee pans too


def test_real_mouse_right_drag_changes_the_window_of_both_knees(open_screen, qtbot):
    s = open_screen()
    a = s.window.views[("left", COR)]
    w0_a, w0_b = s.hanging.windows[("left", COR)], s.hanging.windows[("right", COR)]
    _drag(a, Qt.MouseButton.RightButton, 60, 0)  # to the right: a wider window
    assert s.hanging.windows[("left", COR)].width > w0_a.width * 1.2
    assert s.hanging.windows[("right", COR)].width > w0_b.width * 1.2
    assert s.hanging.windows[("left", COR)].center == pytest.approx(w0_a.center)


def test_missing_heatmap_is_said_in_the_ai_bar(tmp_path, qtbot):
    t = make_study(tmp_path / "noheat", n_pairs=2, with_ai=True)
    from studies.decisions import reader_order

    first = reader_order(t.manifest, "r1")[0]
    (t.study / "ai" / "heatmaps" / f"{first.right_case}_{SAG}.nii.gz").unlink()
    screen = open_reading(t.study, "r1", "aided")
    try:
        show(qtbot, screen)
        text = screen.window.ai_summary.text()
        assert "The AI prefers knee" in text and "Knee B: The AI heatmap is missing." in text
        assert screen.window.mode_label.text() == "Aided reading"  # the registry's label
        assert screen.window.mode_label.toolTip() == "Aided: the AI is shown from the start of each pair"
        assert first.right_case not in text
        assert coloured(image_area_pixels(screen.window.views[("right", SAG)])) == 0
        assert coloured(image_area_pixels(screen.window.views[("right", COR)])) > 500
    finally:
        screen.window.close()

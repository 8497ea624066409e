"""A reader's whole visit, clicking: choose, rate, confirm, quit, restart, resume where they left off."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from study_factory import make_study
from uihelpers import show

from reader_app.ui.launch import open_reading
from studies.decisions import ReaderLockedError, verify_file
from studies.package import decisions_path


def test_click_through_quit_and_resume_in_the_same_order(tmp_path, qtbot):
    t = make_study(tmp_path, n_pairs=4, n_practice=1, confidence=True)
    screen = open_reading(t.study, "r1", "unaided")
    w = show(qtbot, screen)
    order = [p.pair_id for p in screen.store.order]
    assert w.practice_badge.isVisible() and w.progress.text() == "Practice pair 1 / 1"
    seen = []
    for side in ("left", "right", "left"):
        seen.append(screen.session.current.pair_id)
        w.choice_buttons[side].click()
        assert not w.confirm_button.isEnabled()  # confidence still missing
        assert "confidence" in w.confirm_button.toolTip().lower()
        w.confidence_group.button(3).click()
        w.confirm_button.click()
    assert seen == order[:3]
    assert not w.practice_badge.isVisible() and w.progress.text() == "Pair 3 / 4"
    w.choice_buttons["right"].click()  # chosen but not confirmed: not recorded
    w.close()  # quit
    assert verify_file(decisions_path(t.study, "r1")).ok

    again = open_reading(t.study, "r1", "unaided")
    w2 = show(qtbot, again)
    try:
        assert [p.pair_id for p in again.store.order] == order  # never reshuffled
        assert again.session.current.pair_id == order[3]  # the first unanswered pair
        assert not w2.choice_buttons["right"].isChecked()
        assert w2.progress.text() == "Pair 3 / 4"
        for _ in range(2):
            qtbot.keyClick(w2, Qt.Key.Key_F)
            qtbot.keyClick(w2, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
            qtbot.keyClick(w2, Qt.Key.Key_Enter)
        assert again.session.finished
        assert w2.finished_text.isVisible() and "All 4 pairs are recorded" in w2.finished_text.text()
        assert not w2.confirm_button.isEnabled()
        rows = again.store.decisions()
        assert len(rows) == 5 and {r.confidence for r in rows} == {3, 4}
    finally:
        w2.close()
    done = open_reading(t.study, "r1", "unaided")  # everything answered: straight to the end
    w3 = show(qtbot, done)
    try:
        assert w3.finished_text.isVisible() and not w3.confirm_button.isEnabled()
    finally:
        w3.close()


def test_second_instance_on_the_same_reader_is_refused_politely(tmp_path, qtbot):
    t = make_study(tmp_path, n_pairs=2)
    first = open_reading(t.study, "r1", "unaided")
    try:
        with pytest.raises(ReaderLockedError) as info:
            open_reading(t.study, "r1", "unaided")
        from reader_app.ui.errors import describe

        msg = describe(info.value, "Opening the study")
        assert msg.title == "Decisions file in use" and "Traceback" not in msg.text + msg.details
    finally:
        first.close()

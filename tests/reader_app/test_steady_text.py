"""A steady label shows each new text whole, without laying out the widgets around it unless
its size must change: grown for a longer text and never shrunk (or, for a badge, fitted)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from reader_app.ui.steady_text import SteadyLabel


class _LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event):  # noqa: N802
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def _row(qtbot, label: QLabel):
    box = QWidget()
    qtbot.addWidget(box)
    row = QHBoxLayout(box)
    row.addWidget(QLabel("Age"))
    row.addWidget(label)
    row.addStretch(1)
    box.show()
    qtbot.waitExposed(box)
    requests = _LayoutRequests()
    box.installEventFilter(requests)
    return box, requests


def _fits(label: QLabel) -> bool:
    return label.width() >= label.sizeHint().width() and label.height() >= label.sizeHint().height()


def test_a_new_text_is_shown_whole_and_lays_out_only_when_it_needs_more_room(qtbot):
    label = SteadyLabel("—")
    box, requests = _row(qtbot, label)
    label.set_steady_text("61 years")
    qtbot.wait(5)
    assert label.text() == "61 years" and _fits(label)
    requests.count = 0
    for text in ("63 years", "58 years", "7 years"):  # no longer than the widest so far
        label.set_steady_text(text)
        qtbot.wait(5)
        assert label.text() == text and _fits(label)
    assert requests.count == 0, "a text that fits laid the row out again"
    width = label.width()
    label.set_steady_text("104 years (estimated)")  # longer: grown, laid out once
    qtbot.wait(5)
    assert _fits(label) and label.width() > width and requests.count >= 1
    wide = label.width()
    label.set_steady_text("1 year")  # never shrunk: the texts beside it stay in place
    qtbot.wait(5)
    assert label.width() == wide and label.text() == "1 year"


def test_a_badge_fits_its_text(qtbot):
    badge = SteadyLabel("", grow_only=False)
    box, _ = _row(qtbot, badge)
    badge.set_steady_text("AI: 37 % risk of progression  ◀ AI's choice")
    qtbot.wait(5)
    long = badge.width()
    assert _fits(badge)
    badge.set_steady_text("AI: 37 % risk of progression")
    qtbot.wait(5)
    assert _fits(badge) and badge.width() < long
    assert abs(badge.width() - badge.sizeHint().width()) <= 1


def test_a_text_measured_ahead_is_shown_without_measuring_it_again(qtbot):
    label = SteadyLabel("—")
    box, _ = _row(qtbot, label)
    label.set_steady_text("61 years")
    label.prepare("104 years (estimated)")  # while the reader reads the pair before
    assert label.text() == "61 years" and label.is_prepared("104 years (estimated)")

    def no_measuring():
        raise AssertionError("measured at the switch")

    label.fontMetrics = no_measuring
    label.set_steady_text("104 years (estimated)")
    qtbot.wait(5)
    assert label.text() == "104 years (estimated)" and _fits(label)
    assert not label.is_prepared("104 years (estimated)")

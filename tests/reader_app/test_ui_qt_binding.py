"""The Qt binding must not corrupt Python's reference counts.

PySide6 6.12.0 on Python 3.11 released ``True`` once per signal emit and ``None`` once per
slot call and ``processEvents()``: the reader app aborted ("Fatal Python error: deallocating
None") after a few minutes of scrolling. pyproject.toml keeps PySide6 below 6.12; this test
fails on any binding with such a leak. (From Python 3.12 on these objects are immortal and
the counts never move, so the test passes trivially there.)
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QPushButton

N = 500


class _Emitter(QObject):
    fired = Signal(int)


def _drift(action) -> tuple[int, int]:
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(N):
        action()
    return sys.getrefcount(None) - none0, sys.getrefcount(True) - true0


def test_signals_slots_and_event_processing_keep_refcounts(qapp, qtbot):
    hits = []
    e = _Emitter()
    e.fired.connect(hits.append)
    button = QPushButton()
    qtbot.addWidget(button)
    button.clicked.connect(lambda _=False: hits.append(0))
    timer = QTimer()
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(lambda: hits.append(1))

    def tick():
        timer.start()
        qapp.processEvents()

    for action in (lambda: e.fired.emit(1), button.click, tick, qapp.processEvents):
        d_none, d_true = _drift(action)
        assert d_none > -N // 10 and d_true > -N // 10, (d_none, d_true)
    assert len(hits) >= 3 * N

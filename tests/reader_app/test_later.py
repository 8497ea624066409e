"""Actions given to the window's ``after`` run once each, when due, in the order they fall
due; one that raises does not keep the others from running."""

from __future__ import annotations

import time

from reader_app.ui.later import Later


def test_actions_run_once_each_when_due_in_order(qtbot, monkeypatch):
    later = Later()
    ran: list[tuple[str, float]] = []
    t0 = time.monotonic()

    def note(name):
        return lambda: ran.append((name, time.monotonic() - t0))

    later.after(60, note("c"))
    later.after(5, note("a"))
    later.after(30, lambda: (note("b")(), later.after(0, note("b2"))))  # an action asking for another
    later.after(5, note("a2"))  # due with "a": after it
    reported = []
    monkeypatch.setattr("sys.excepthook", lambda *exc: reported.append(exc[1]))
    later.after(10, lambda: 1 / 0)
    qtbot.waitUntil(lambda: later.pending() == 0, timeout=2000)
    qtbot.wait(80)
    assert [name for name, _ in ran] == ["a", "a2", "b", "b2", "c"]
    due = {"a": 0.005, "a2": 0.005, "b": 0.030, "b2": 0.030, "c": 0.060}
    for name, at in ran:
        assert at >= due[name] - 0.002, (name, at)  # never early
    assert len(reported) == 1 and isinstance(reported[0], ZeroDivisionError)

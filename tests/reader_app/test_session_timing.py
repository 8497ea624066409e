"""The active-time clock: pauses excluded, idempotent pause/resume, exact with an injected clock."""

from __future__ import annotations

from reader_app.domain.timing import ActiveClock


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_pauses_are_excluded_and_double_calls_are_harmless():
    t = Clock()
    c = ActiveClock(t)
    c.start()
    t.t += 3
    c.pause()
    c.pause()
    t.t += 100
    assert c.elapsed == 3 and not c.is_running
    c.resume()
    c.resume()
    t.t += 2
    assert c.elapsed == 5 and c.is_running
    c.start()  # next pair starts from zero
    t.t += 1
    assert c.elapsed == 1


def test_started_paused_counts_nothing_until_resumed():
    t = Clock()
    c = ActiveClock(t)
    c.resume()  # never started: nothing to resume
    assert c.elapsed == 0 and not c.is_running
    c.start(paused=True)
    t.t += 50
    assert c.elapsed == 0
    c.resume()
    t.t += 4
    assert c.elapsed == 4


def test_clock_going_backwards_never_gives_negative_time():
    t = Clock()
    c = ActiveClock(t)
    c.start()
    t.t -= 10
    assert c.elapsed == 0

"""The demo's estimated time left: linear in the elapsed time, silent until it can say."""

from __future__ import annotations

import pytest

from reader_app.domain.time_left import describe_left, seconds_left


def test_time_left_extrapolates_the_elapsed_time():
    assert seconds_left(30.0, 0.25) == pytest.approx(90.0)
    assert seconds_left(60.0, 0.5) == pytest.approx(60.0)
    assert seconds_left(100.0, 1.0) == 0.0


def test_no_estimate_before_enough_has_run():
    assert seconds_left(2.0, 0.5) is None  # too soon
    assert seconds_left(60.0, 0.01) is None  # too little done
    assert describe_left(None) == "estimating the time left"


@pytest.mark.parametrize(("seconds", "text"), [(3, "less than 10 s left"), (44, "about 40 s left"),
                                                (89, "about 90 s left"), (150, "about 2 min left"), (400, "about 7 min left")])
def test_time_left_reads_naturally(seconds, text):
    assert describe_left(seconds) == text

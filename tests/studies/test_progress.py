"""The progress protocol: nested weighted stages, the terminal bar, the polled sink."""

from __future__ import annotations

import io
import itertools

import pytest

from studies.progress import (
    NO_PROGRESS,
    BackgroundTask,
    LatestProgress,
    Progress,
    TerminalBar,
    terminal_progress,
)


def _clock(step: float = 1.0):
    ticks = itertools.count()
    return lambda: next(ticks) * step


def _producer(progress: Progress) -> None:
    """Two levels of stages with uneven weights, counted items and a skipped stage."""
    with progress.stage("outer a", weight=0.6) as a:
        with a.stage("inner 1", weight=0.25) as i1:
            for k in range(1, 5):
                i1.update(k, 4)
        with a.stage("", weight=0.75) as i2:
            i2.update(0, 3)
            for _ in range(3):
                i2.advance()
    with progress.stage("outer b (cached)", weight=0.3):
        pass
    with progress.stage("outer c", weight=0.1) as c:
        c.update(1, 2)
    progress.finish()


def test_nested_weights_add_up_to_a_monotone_fraction_from_0_to_1():
    states = []
    _producer(Progress(states.append))
    fractions = [s.fraction for s in states]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    by_text = {}
    for s in states:
        by_text.setdefault(s.text, []).append(s.fraction)
    # inner 1 spans 0.6 * 0.25 of the task; its 2nd of 4 items is half of it
    assert by_text["outer a: inner 1"] == pytest.approx([0.0, 0.0375, 0.075, 0.1125, 0.15, 0.15])
    assert by_text["outer a"][-1] == pytest.approx(0.6)  # the unnamed inner stage, complete
    assert by_text["outer b (cached)"] == pytest.approx([0.6, 0.9])  # entered, then complete
    assert by_text["outer c"] == pytest.approx([0.9, 0.95, 1.0])
    assert all(s.finished == (s.fraction == 1.0) for s in states)
    assert (states[-1].text, states[-1].done, states[-1].total) == ("", 0, 0)


def test_counts_are_the_innermost_stages():
    states = []
    _producer(Progress(states.append))
    counted = [(s.text, s.done, s.total) for s in states if s.total]
    assert counted[:4] == [("outer a: inner 1", k, 4) for k in range(1, 5)]
    assert ("outer a", 3, 3) in counted and ("outer c", 1, 2) in counted


def test_weights_beyond_the_whole_are_refused_and_a_failed_stage_can_be_tried_again():
    task = Progress()
    with pytest.raises(ValueError, match="must be a number in \\[0, 1\\]. Got 1.5"):
        with task.stage("x", weight=1.5):
            pass
    with task.stage("a", weight=0.7):
        pass
    with pytest.raises(ValueError, match="weigh 1.1 in all with 'b'"):
        with task.stage("b", weight=0.4):
            pass
    with pytest.raises(OSError):
        with task.stage("b", weight=0.3) as b:
            b.update(1, 2)
            raise OSError("disk full")
    assert task.fraction == pytest.approx(0.85)  # where it stopped: the bar never goes back
    with task.stage("b", weight=0.3) as b:  # the retry
        b.update(2, 2)
    assert task.fraction == 1.0
    with pytest.raises(ValueError, match="needs a total"):
        Progress().advance()


def test_no_progress_accepts_everything():
    with NO_PROGRESS.stage("anything", weight=0.9) as st:
        assert st is NO_PROGRESS
        st.update(3, 4)
        st.advance()
        with st.stage("again", weight=0.9):
            pass
    NO_PROGRESS.finish()
    assert NO_PROGRESS.fraction == 0.0


def test_terminal_bar_in_a_log_writes_a_line_per_tenth_and_per_stage():
    out = io.StringIO()
    task = Progress(TerminalBar("build", stream=out), clock=_clock(0.5))
    task.update(0, 20)
    for k in range(1, 21):
        task.update(k, 20)
    lines = out.getvalue().splitlines()
    assert lines[0] == "build: 0/20 (0%, 0.5s)"
    assert lines[1] == "build: 2/20 (10%, 1.5s)"
    assert lines[-1] == "build: 20/20 (100%, 10.5s)" and len(lines) == 11

    out = io.StringIO()
    _producer(Progress(TerminalBar("demo", stream=out), clock=_clock()))
    lines = out.getvalue().splitlines()
    assert lines == [
        "demo: outer a: (0%, 1.0s)",  # each new stage
        "demo: outer a: inner 1: (0%, 2.0s)",
        "demo: outer a: inner 1: 3/4 (11%, 5.0s)",  # each tenth of the whole
        "demo: outer a: inner 1: 4/4 (15%, 6.0s)",  # a count complete
        "demo: outer a: 0/3 (15%, 8.0s)",  # the unnamed stage's count, under its parent's text
        "demo: outer a: 1/3 (30%, 9.0s)",
        "demo: outer a: 2/3 (45%, 10.0s)",
        "demo: outer a: 3/3 (60%, 11.0s)",
        "demo: outer b (cached): (60%, 14.0s)",
        "demo: outer b (cached): (90%, 15.0s)",
        "demo: outer c: (90%, 16.0s)",
        "demo: outer c: 2/2 (100%, 18.0s)",  # the end, once
    ]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_bar_on_a_terminal_updates_one_line_per_stage():
    out = _Tty()
    task = Progress(TerminalBar("cv", stream=out, width=10), clock=_clock())
    with task.stage("features", weight=0.5) as st:
        st.update(1, 2)
    with task.stage("folds", weight=0.5) as st:
        st.update(2, 2)
    assert out.getvalue().split("\n") == [
        "\rcv: features [----------]   1.0s"
        "\rcv: features [##--------] 1/2   2.0s eta   6.0s"  # the time left of the whole task
        "\rcv: features [#####-----] 2/2   3.0s eta   3.0s",
        "\rcv: folds [#####-----]   4.0s eta   4.0s"
        "\rcv: folds [##########] 2/2   5.0s       ",  # a shorter line blanks the rest
        "",
    ]


def test_terminal_progress_draws_on_stderr(capsys):
    task = terminal_progress("synth-cohort: writing series")
    task.update(1, 1)
    assert capsys.readouterr().err.startswith("synth-cohort: writing series: 1/1 (100%, ")


def test_latest_progress_keeps_the_last_state_for_polling():
    latest = LatestProgress()
    assert latest.state.fraction == 0.0 and latest.state.text == ""
    task = Progress(latest)
    with task.stage("features", weight=0.5) as st:
        st.update(1, 4)
        assert (latest.state.text, latest.state.fraction, latest.state.done) == ("features", 0.125, 1)
    task.finish()
    assert latest.state.finished and latest.state.fraction == 1.0


def test_a_background_task_shows_its_progress_to_other_threads_and_hands_back_its_failure():
    import threading

    halfway, go_on = threading.Event(), threading.Event()

    def work(progress):
        progress.update(1, 2)
        halfway.set()
        go_on.wait(5)
        raise RuntimeError("disk full")

    task = BackgroundTask(work, name="test-task")
    assert halfway.wait(5) and task.state.fraction == 0.5 and not task.done
    followed = []
    go_on.set()
    with pytest.raises(RuntimeError, match="disk full"):
        task.follow(Progress(followed.append), poll=0.01)
    assert task.done and all(s.fraction <= 0.5 for s in followed)
    ok = BackgroundTask(lambda progress: progress.update(3, 3), name="test-ok")
    assert ok.join(5) and ok.state.fraction == 1.0
    ok.result()  # nothing raised

"""The reading session: commit before advancing, timing, practice, flags, progress, resume."""

from __future__ import annotations

import sqlite3

import pytest
from study_factory import make_study

from reader_app.domain.session import ReadingSession, SessionError
from studies.decisions import DecisionStore, StorageError, read_decisions
from studies.package import decisions_path


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def open_session(s, reader="r1", mode="unaided", ai=None, **kw):
    mono, wall = FakeClock(), FakeClock(1_780_000_000.0)
    store = DecisionStore.open(decisions_path(s.study, reader), reader, s.manifest, mode)
    session = ReadingSession(s.manifest, store, mode, clock=mono, wall_clock=wall, ai=ai, **kw)
    return session, store, mono, wall


def _count_decisions(path) -> int:
    return sqlite3.connect(path).execute("SELECT count(*) FROM audit WHERE kind='decision'").fetchone()[0]


@pytest.fixture
def tiny(tmp_path):
    return make_study(tmp_path, n_pairs=3, n_practice=1, with_images=False)


def test_practice_first_then_scored_pairs_committed_before_the_next_appears(tiny):
    session, store, mono, wall = open_session(tiny)
    seen = []  # (pair shown, decisions in the file when it was shown)
    session.subscribe(lambda s: seen.append((s.current and s.current.pair_id, _count_decisions(store.path))))
    assert session.current.practice and session.current.index == 0 and session.current.total == 4
    assert session.progress == (0, 3)
    for i in range(4):
        cur = session.current
        assert not session.can_confirm and "Choose a knee" in session.why_not_confirm
        session.choose("right")
        assert session.can_confirm
        row = session.confirm()
        assert row.pair_id == cur.pair_id and row.chosen_case == cur.right.case_id
        assert seen[-1] == ((session.current and session.current.pair_id), i + 1)
    assert session.finished and session.current is None and session.progress == (3, 3)
    assert [r.pair_id for r in store.decisions()] == [p.pair_id for p in store.order]
    store.close()


def test_active_time_excludes_pauses_and_times_are_recorded(tiny):
    session, store, mono, wall = open_session(tiny)
    mono.t += 4.0
    wall.t += 4.0
    session.pause()
    assert session.is_paused
    with pytest.raises(SessionError, match="paused"):
        session.choose("left")
    assert not session.can_confirm and session.why_not_confirm == "Reading is paused"
    mono.t += 600.0  # coffee
    wall.t += 600.0
    session.resume()
    mono.t += 2.5
    wall.t += 2.5
    session.choose("left")
    assert session.active_seconds == pytest.approx(6.5)
    row = session.confirm()
    assert row.active_seconds == pytest.approx(6.5)
    assert row.started_at == pytest.approx(1_780_000_000.0)
    assert row.decided_at == pytest.approx(1_780_000_606.5)
    assert session.active_seconds == 0.0  # next pair starts from zero
    assert session.total_active_seconds == pytest.approx(6.5)
    store.close()


def test_confidence_required_when_the_study_asks(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, confidence=True)
    session, store, *_ = open_session(s)
    session.choose("left")
    assert not session.can_confirm and "confidence" in session.why_not_confirm
    with pytest.raises(ValueError, match="from 1 to 5"):
        session.set_confidence(0)
    session.set_confidence(4)
    assert session.confirm().confidence == 4
    assert session.current.confidence is None and session.current.choice is None
    store.close()


def test_no_confidence_scale_refuses_a_rating(tiny):
    session, store, *_ = open_session(tiny)
    with pytest.raises(SessionError, match="no confidence"):
        session.set_confidence(3)
    store.close()


def test_flag_is_recorded_at_once_and_pair_still_needs_an_answer(tiny):
    session, store, *_ = open_session(tiny)
    session.choose("left")
    session.confirm()  # practice
    pid = session.current.pair_id
    session.flag("Unreadable images")
    assert session.current.flags == ("Unreadable images",) and session.current.pair_id == pid
    with pytest.raises(ValueError, match="reason"):
        session.flag("  ")
    session.choose("left")
    session.confirm()
    df = read_decisions(store.path)
    assert df.set_index("pair_id").loc[pid, "flag_reason"] == "Unreadable images"
    store.close()


def test_quit_and_resume_at_the_same_place_with_the_same_order(tiny):
    session, store, *_ = open_session(tiny)
    order = [p.pair_id for p in store.order]
    session.choose("left")
    session.confirm()
    session.choose("right")
    session.confirm()
    session.choose("left")  # chosen, not confirmed: not saved
    session.stop()
    store.close()
    session, store, *_ = open_session(tiny)
    assert [p.pair_id for p in store.order] == order
    assert session.current.pair_id == order[2] and session.current.choice is None
    assert session.progress == (1, 3)
    kinds = [k for (k,) in sqlite3.connect(store.path).execute("SELECT kind FROM audit ORDER BY id")]
    assert kinds == ["session_start", "decision", "decision", "session_stop", "session_start"]
    store.close()


def test_storage_failure_does_not_advance(tiny):
    session, store, *_ = open_session(tiny)
    pid = session.current.pair_id
    session.choose("left")

    def disk_full(*a, **k):
        raise StorageError("The answer to pair X was NOT saved: the disk is full")

    store.commit_decision = disk_full
    with pytest.raises(StorageError):
        session.confirm()
    assert session.current.pair_id == pid and session.current.choice == "left"
    del store.commit_decision
    session.confirm()
    assert session.current.pair_id != pid
    store.close()


def test_end_summary_reveals_nothing_unless_educational(tmp_path):
    for educational in (False, True):
        s = make_study(tmp_path / str(educational), n_pairs=2, n_practice=1, with_images=False,
                       educational=educational)
        session, store, *_ = open_session(s)
        while not session.finished:
            session.choose("left")
            session.confirm()
        summary = session.end_summary(key_path=s.key)
        assert summary.answered == 2 and summary.total == 2
        if educational:
            expected = [store.answer(p.pair_id).chosen_case == s.progressors[p.pair_id] for p in s.manifest.pairs]
            assert summary.revealed is not None and len(summary.revealed) == 2
            assert sorted(r.correct for r in summary.revealed) == sorted(expected)
            assert summary.proportion_correct == sum(expected) / 2
        else:
            assert summary.revealed is None and summary.proportion_correct is None
            assert not any(cid in repr(summary) for cid in s.progressors.values())
        store.close()


def test_mode_not_allowed_by_the_study_is_refused(tmp_path):
    from studies.errors import OptionError

    s = make_study(tmp_path, n_pairs=2, with_images=False, reading_modes=("unaided",))
    store = DecisionStore.open(decisions_path(s.study, "r1"), "r1", s.manifest, "aided")
    with pytest.raises(OptionError, match="allows"):
        ReadingSession(s.manifest, store, "aided")
    store.close()


def test_reading_time_stops_with_the_last_answer(tmp_path):
    s = make_study(tmp_path, n_pairs=1, with_images=False)
    session, store, mono, wall = open_session(s)
    mono.t += 8.0
    session.choose("left")
    session.confirm()
    assert session.finished
    mono.t += 300.0
    session.pause()
    session.resume()
    mono.t += 300.0
    assert session.total_active_seconds == pytest.approx(8.0)
    assert session.end_summary().active_seconds == pytest.approx(8.0)
    session.close()

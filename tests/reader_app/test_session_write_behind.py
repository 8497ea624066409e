"""Write-behind: the next pair is shown while the answer is written on a writer
thread; "saved" only once durable; the next confirm waits; a failed write brings the pair back."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from study_factory import make_study

from reader_app.domain.ai import require_ai
from reader_app.domain.session import ReadingSession
from studies.decisions import DecisionStore, StorageError, read_decisions, verify_file
from studies.package import decisions_path


def _count(path) -> int:
    return sqlite3.connect(path).execute("SELECT count(*) FROM audit WHERE kind='decision'").fetchone()[0]


def _open(s, mode="unaided"):
    store = DecisionStore.open(decisions_path(s.study, "r1"), "r1", s.manifest, mode)
    session = ReadingSession(s.manifest, store, mode, ai=require_ai(s.study, mode, s.manifest), write_behind=True)
    return session, store


class Gate:
    """Holds the store's writes until opened (a slow disk)."""

    def __init__(self, store: DecisionStore) -> None:
        self.open_ = threading.Event()
        self.started = threading.Event()
        self._write = store.write

        def slow_write(row, what=""):
            self.started.set()
            assert self.open_.wait(10)
            return self._write(row, what)

        store.write = slow_write


@pytest.fixture
def tiny(tmp_path):
    return make_study(tmp_path, n_pairs=3, n_practice=1, with_images=False)


def test_next_pair_shown_before_the_write_and_saved_only_once_durable(tiny):
    session, store = _open(tiny)
    gate = Gate(store)
    first = session.current.pair_id
    session.choose("left")
    assert session.confirm() is None
    assert gate.started.wait(5)
    # the next pair is on screen while the answer is not yet on disk: nothing says "saved"
    assert session.current.pair_id != first and session.saving and session.last_saved is None
    assert _count(store.path) == 0 and session.poll_saved()
    gate.open_.set()
    session.settle()
    assert not session.saving and session.last_saved.pair_id == first
    assert _count(store.path) == 1 and store.answer(first) is not None
    session.close()


def test_the_following_confirm_waits_until_the_previous_answer_is_durable(tiny):
    session, store = _open(tiny)
    gate = Gate(store)
    ids = []
    for _ in range(2):
        ids.append(session.current.pair_id)
        session.choose("right")
        if len(ids) == 2:
            threading.Timer(0.2, gate.open_.set).start()
        session.confirm()  # the second blocks until the first write is durable
        if len(ids) == 2:
            assert _count(store.path) >= 1 and store.answer(ids[0]) is not None
    session.settle()
    assert [r.pair_id for r in store.decisions()] == ids
    assert session.progress == (1, 3)  # the practice pair does not count
    session.close()


def test_progress_and_next_pair_count_the_answer_in_flight(tiny):
    session, store = _open(tiny)
    gate = Gate(store)
    session.choose("left")
    session.confirm()  # practice
    gate.open_.set()
    session.settle()
    gate.open_.clear()
    scored = session.current.pair_id
    session.choose("left")
    session.confirm()
    assert session.saving and session.progress == (1, 3) and session.current.pair_id != scored
    gate.open_.set()
    session.close()
    assert verify_file(store.path).ok and len(read_decisions(store.path)) == 2


def test_a_failed_write_shows_the_pair_again_with_the_choice_and_raises(tiny):
    session, store = _open(tiny)
    pid = session.current.pair_id

    def disk_full(row, what=""):
        raise StorageError("The answer to pair X was NOT saved: the disk is full")

    store.write = disk_full
    session.choose("left")
    session.confirm()
    session.choose("right")  # on the next pair, meanwhile: dropped
    with pytest.raises(StorageError):
        session.settle()
    assert session.current.pair_id == pid and session.current.choice == "left"
    assert not session.saving and session.last_saved is None and _count(store.path) == 0
    del store.write
    session.confirm()
    session.settle()
    assert session.last_saved.pair_id == pid and _count(store.path) == 1
    session.close()


def test_a_failed_write_is_raised_by_the_next_confirm(tiny):
    session, store = _open(tiny)
    pid = session.current.pair_id
    store.write = lambda row, what="": (_ for _ in ()).throw(StorageError("NOT saved"))
    session.choose("left")
    session.confirm()
    session.choose("left")
    with pytest.raises(StorageError):
        session.confirm()
    assert session.current.pair_id == pid
    del store.write
    session.close()


def test_close_waits_for_the_write_in_flight(tiny):
    session, store = _open(tiny)
    gate = Gate(store)
    pid = session.current.pair_id
    session.choose("left")
    session.confirm()
    threading.Timer(0.1, gate.open_.set).start()
    session.close()
    df = read_decisions(store.path)
    assert list(df["pair_id"]) == [pid] and verify_file(store.path).ok


def test_sequential_first_answer_written_behind_then_final(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, with_ai=True)
    session, store = _open(s, "sequential")
    pid = session.current.pair_id
    session.choose("left")
    session.confirm()
    assert session.current.pair_id == pid and session.current.phase == "final"
    session.choose("right")
    session.confirm()  # waits for the first answer, then writes the final one behind
    session.settle()
    phases = [(r.pair_id, r.phase) for r in store.decisions()]
    assert phases == [(pid, "first"), (pid, "final")]
    session.close()

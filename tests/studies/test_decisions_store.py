"""The decisions store: commits, resume, rules on answers, lock, storage faults."""

from __future__ import annotations

import os
import sqlite3

import pytest
from study_factory import make_study

from studies.decisions import (
    AnswerLockedError,
    DecisionStore,
    ReaderLockedError,
    StorageError,
    read_decisions,
    verify_file,
)
from studies.errors import InputFileError
from studies.package import decisions_path

T0 = 1_780_000_000.0


def _answer(store, pid, side="left", phase="final", mode=None, **kw):
    p = store.pair(pid)
    kw.setdefault("ai_shown", (mode or store.mode) == "aided" or ((mode or store.mode) == "sequential" and phase == "final"))
    return store.commit_decision(pid, p.case_on(side), phase=phase, mode=mode, started_at=T0,
                                 decided_at=T0 + 12.5, active_seconds=9.25, **kw)


@pytest.fixture
def tiny(tmp_path):
    return make_study(tmp_path, n_pairs=4, n_practice=1, with_images=False)


def test_commit_then_reopen_resumes_with_same_answers(tiny):
    path = decisions_path(tiny.study, "r1")
    with DecisionStore.open(path, "r1", tiny.manifest) as store:
        store.session_start("unaided")
        ids = [p.pair_id for p in store.order]
        assert ids[0].startswith("X")  # practice first
        row = _answer(store, ids[0], "right")
        _answer(store, ids[1])
        assert row.chosen_case == store.order[0].right_case and row.chosen_side == "right"
        assert store.next_unanswered_index() == 2
    # a plain sqlite reader sees the rows: committed, not buffered
    n = sqlite3.connect(path).execute("SELECT count(*) FROM audit WHERE kind='decision'").fetchone()[0]
    assert n == 2
    with DecisionStore.open(path, "r1", tiny.manifest) as store:
        assert store.answered_pair_ids() == set(ids[:2])
        assert store.next_unanswered_index() == 2
        got = store.decisions()
        assert [r.pair_id for r in got] == ids[:2]
        assert got[0].started_at == T0 and got[0].decided_at == T0 + 12.5 and got[0].active_seconds == 9.25


def test_read_decisions_table(tiny):
    path = decisions_path(tiny.study, "r1")
    with DecisionStore.open(path, "r1", tiny.manifest) as store:
        store.session_start()
        for p in store.order:
            _answer(store, p.pair_id, "left")
        store.flag(store.order[2].pair_id, "wrong side")
        store.session_stop()
    df = read_decisions(path)
    assert len(df) == 5 and df["practice"].sum() == 1
    assert (df["reader"] == "r1").all() and df["audit_ok"].all()
    assert (df["chosen_case"] == df["case_left"]).all()
    flagged = df[df["flagged"]]
    assert list(flagged["flag_reason"]) == ["wrong side"]
    assert df["started_at"].iloc[0] == T0


def test_an_answer_is_given_once_and_changes_only_where_allowed(tiny):
    with DecisionStore.open(decisions_path(tiny.study, "r1"), "r1", tiny.manifest) as store:
        pid = store.order[1].pair_id
        _answer(store, pid)
        with pytest.raises(AnswerLockedError, match="already has"):
            _answer(store, pid, "right")
        with pytest.raises(AnswerLockedError, match="does not allow"):
            store.change_answer(pid, store.pair(pid).right_case, started_at=T0, decided_at=T0, active_seconds=1.0)


def test_answer_change_is_appended_and_latest_wins(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, allow_answer_change=True)
    path = decisions_path(s.study, "r1")
    with DecisionStore.open(path, "r1", s.manifest) as store:
        pid = store.order[0].pair_id
        first = _answer(store, pid, "left")
        changed = store.change_answer(pid, store.pair(pid).right_case, started_at=T0 + 20,
                                      decided_at=T0 + 25, active_seconds=5.0)
        assert changed.replaces == first.audit_id and changed.kind == "answer_change"
        assert [r.chosen_case for r in store.decisions()] == [store.pair(pid).right_case]
    kinds = [k for (k,) in sqlite3.connect(path).execute("SELECT kind FROM audit ORDER BY id")]
    assert kinds == ["decision", "answer_change"]
    assert verify_file(path).ok


def test_sequential_first_answer_never_changes(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, allow_answer_change=True)
    with DecisionStore.open(decisions_path(s.study, "r1"), "r1", s.manifest, mode="sequential") as store:
        pid = store.order[0].pair_id
        with pytest.raises(AnswerLockedError, match="first answer must come before"):
            _answer(store, pid, phase="final")
        _answer(store, pid, "left", phase="first")
        with pytest.raises(AnswerLockedError):
            _answer(store, pid, "right", phase="first")
        with pytest.raises(AnswerLockedError, match="never change"):
            store.change_answer(pid, store.pair(pid).right_case, phase="first", started_at=T0,
                                decided_at=T0, active_seconds=1.0)
        _answer(store, pid, "right", phase="final")
        assert store.answer(pid, "first").chosen_side == "left"
        assert store.answer(pid, "final").chosen_side == "right"


def test_calls_that_contradict_the_study_are_refused(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, confidence=True)
    with DecisionStore.open(decisions_path(s.study, "r1"), "r1", s.manifest) as store:
        pid = store.order[0].pair_id
        with pytest.raises(ValueError, match="confidence from 1 to 5"):
            _answer(store, pid)
        with pytest.raises(ValueError, match="confidence from 1 to 5"):
            _answer(store, pid, confidence=6)
        with pytest.raises(ValueError, match="not in pair"):
            store.commit_decision(pid, "K99999", confidence=3, started_at=T0, decided_at=T0, active_seconds=0)
        with pytest.raises(ValueError, match="contradicts"):
            _answer(store, pid, confidence=3, ai_shown=True)
        with pytest.raises(ValueError, match="only in sequential"):
            _answer(store, pid, phase="first", confidence=3)
        assert _answer(store, pid, confidence=5).confidence == 5
        assert store.decisions()[0].confidence == 5


def test_second_instance_refuses_politely_then_works_after_close(tiny):
    path = decisions_path(tiny.study, "r1")
    first = DecisionStore.open(path, "r1", tiny.manifest)
    with pytest.raises(ReaderLockedError, match="already reading this study in another window") as err:
        DecisionStore.open(path, "r1", tiny.manifest)
    assert "process" in str(err.value)
    first.close()
    DecisionStore.open(path, "r1", tiny.manifest).close()


def test_other_readers_are_independent(tiny):
    with DecisionStore.open(decisions_path(tiny.study, "r1"), "r1", tiny.manifest):
        with DecisionStore.open(decisions_path(tiny.study, "r2"), "r2", tiny.manifest) as s2:
            assert s2.reader_id == "r2"


def test_file_of_another_reader_or_study_is_refused(tiny, tmp_path):
    path = decisions_path(tiny.study, "r1")
    DecisionStore.open(path, "r1", tiny.manifest).close()
    with pytest.raises(InputFileError, match="belongs to reader 'r1', not 'r2'"):
        DecisionStore.open(path, "r2", tiny.manifest)
    other = make_study(tmp_path / "other", n_pairs=4, with_images=False, seed=3).manifest
    with pytest.raises(InputFileError, match="belongs to study"):
        DecisionStore.open(path, "r1", other)


def test_not_a_database_is_a_clear_error(tiny):
    path = decisions_path(tiny.study, "r1")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputFileError, match="not a readable decisions file"):
        DecisionStore.open(path, "r1", tiny.manifest)
    with pytest.raises(InputFileError, match="r1.sqlite"):
        read_decisions(path)


def test_full_disk_is_reported_before_reading(tiny, monkeypatch):
    import shutil as _shutil

    import studies.decisions.storage as store_mod

    usage = _shutil.disk_usage(tiny.study)
    monkeypatch.setattr(store_mod.shutil, "disk_usage", lambda p: usage._replace(free=1024))
    with pytest.raises(StorageError, match=r"only 0\.0 MiB free"):
        DecisionStore.open(decisions_path(tiny.study, "r1"), "r1", tiny.manifest)
    assert not decisions_path(tiny.study, "r1").exists()


def test_read_only_folder_is_reported_before_reading(tiny, monkeypatch):
    import errno

    import studies.decisions.storage as store_mod

    def refuse(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(store_mod.tempfile, "mkstemp", refuse)
    with pytest.raises(StorageError, match="cannot be written to"):
        DecisionStore.open(decisions_path(tiny.study, "r1"), "r1", tiny.manifest)


def test_write_failure_mid_session_says_the_answer_was_not_saved(tiny):
    with DecisionStore.open(decisions_path(tiny.study, "r1"), "r1", tiny.manifest) as store:
        pid = store.order[0].pair_id
        real = store._conn
        store._conn = _FailingConnection(real)
        with pytest.raises(StorageError, match="NOT saved.*disk .* is full"):
            _answer(store, pid)
        store._conn = real
        assert store.answered_pair_ids() == set()
        _answer(store, pid)  # works again once space is back
        assert store.verify().ok


class _FailingConnection:
    def __init__(self, conn):
        self._conn = conn

    def execute(self, sql, *args):
        if sql.startswith("INSERT"):
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    @property
    def in_transaction(self):
        return self._conn.in_transaction


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder_by_permissions(tiny):
    folder = decisions_path(tiny.study, "r1").parent
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StorageError, match="cannot be written to"):
            DecisionStore.open(decisions_path(tiny.study, "r1"), "r1", tiny.manifest)
    finally:
        folder.chmod(0o755)


def test_read_decisions_sees_a_consistent_snapshot_while_writing(tiny):
    path = decisions_path(tiny.study, "r1")
    with DecisionStore.open(path, "r1", tiny.manifest) as store:
        for i, p in enumerate(store.order):
            _answer(store, p.pair_id)
            df = read_decisions(path)
            assert len(df) == i + 1 and df["audit_ok"].all()


def test_real_sqlite_full_error_mid_session_keeps_the_file_whole(tmp_path):
    """SQLite's own 'database or disk is full' (max_page_count reached) on a commit."""
    s = make_study(tmp_path, n_pairs=150, with_images=False)
    path = decisions_path(s.study, "r1")
    with DecisionStore.open(path, "r1", s.manifest) as store:
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        saved = 0
        with pytest.raises(StorageError, match="NOT saved: the disk holding .* is full"):
            for p in store.order:
                _answer(store, p.pair_id)
                saved += 1
        assert 0 < saved < 150 and len(store.answered_pair_ids()) == saved
    assert verify_file(path).ok and len(read_decisions(path)) == saved


def test_unaided_reading_after_seeing_the_ai_is_refused(tmp_path):
    from study_factory import make_study

    from studies.decisions.simulate import simulate_reader
    from studies.errors import StudyError
    from studies.package import decisions_path, load_manifest

    tiny = make_study(tmp_path, n_pairs=3, with_images=False, with_ai=True)
    manifest = load_manifest(tiny.study)
    path = decisions_path(tiny.study, "r1")
    # Unaided first, then with the AI: the order the design wants.
    simulate_reader(tiny.study, tiny.key, "r1", 0.7, seed=1, mode="unaided")
    simulate_reader(tiny.study, tiny.key, "r1", 0.7, seed=1, mode="aided")
    with pytest.raises(StudyError, match="already read this study with the AI shown"):
        DecisionStore.open(path, "r1", manifest, "unaided")
    # Other readers, and further AI-mode sessions of this one, are unaffected.
    DecisionStore.open(path, "r1", manifest, "sequential").close()
    DecisionStore.open(decisions_path(tiny.study, "r2"), "r2", manifest, "unaided").close()

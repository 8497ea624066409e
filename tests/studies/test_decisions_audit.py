"""The audit chain: every write appended, any later edit detected and located."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from study_factory import make_study

from studies.decisions import DecisionStore, read_decisions, verify_file
from studies.decisions.audit import canonical_json, row_hash
from studies.errors import InputFileError
from studies.package import decisions_path, load_manifest

T0 = 1_780_000_000.0


@pytest.fixture
def filled(tmp_path):
    s = make_study(tmp_path, n_pairs=4, with_images=False)
    path = decisions_path(s.study, "r1")
    with DecisionStore.open(path, "r1", s.manifest) as store:
        store.session_start()
        for i, p in enumerate(store.order):
            store.commit_decision(p.pair_id, p.left_case, started_at=T0 + i, decided_at=T0 + i + 3,
                                  active_seconds=3.0)
        store.flag(store.order[0].pair_id, "unreadable images")
        store.session_stop()
    return path


def _raw(path):
    conn = sqlite3.connect(path, isolation_level=None)
    return conn


def test_every_write_is_one_audit_row_chained_to_the_previous(filled):
    rows = _raw(filled).execute("SELECT id, kind, prev_hash, hash, ts, payload_json FROM audit ORDER BY id").fetchall()
    assert [r[1] for r in rows] == ["session_start"] + ["decision"] * 4 + ["flag", "session_stop"]
    for prev, cur in zip(rows, rows[1:], strict=False):
        assert cur[2] == prev[3]
    # the documented formula, recomputed independently
    rid, kind, prev_hash, h, ts, payload = rows[3]
    body = canonical_json({"id": rid, "kind": kind, "payload": json.loads(payload), "ts": ts})
    assert hashlib.sha256((prev_hash + body).encode()).hexdigest() == h
    report = verify_file(filled)
    assert report.ok and report.rows == 7 and report.broken_at is None and report.head == rows[-1][3]


def test_triggers_forbid_update_and_delete(filled):
    conn = _raw(filled)
    for sql in ("UPDATE audit SET kind='flag' WHERE id=2", "DELETE FROM audit WHERE id=7",
                "UPDATE pair_order SET left_case='x'", "DELETE FROM meta"):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql)


def _tamper(path, *sql):
    conn = _raw(path)
    for name in ("audit_no_update", "audit_no_delete", "order_no_update", "meta_no_update"):
        conn.execute(f"DROP TRIGGER {name}")
    for s in sql:
        conn.execute(s)
    conn.close()


def test_edited_answer_is_detected_at_its_row(filled):
    row = _raw(filled).execute("SELECT payload_json FROM audit WHERE id=3").fetchone()[0]
    p = json.loads(row)
    p["chosen_case"] = p["case_right"]
    _tamper(filled, f"UPDATE audit SET payload_json='{canonical_json(p)}' WHERE id=3")
    report = verify_file(filled)
    assert not report.ok and report.broken_at == 3 and "changed" in report.reason
    df = read_decisions(filled)
    assert list(df["audit_ok"]) == [True, False, False, False]


def test_rehashed_row_breaks_the_next_link(filled):
    conn = _raw(filled)
    ts, kind, payload, prev = conn.execute("SELECT ts, kind, payload_json, prev_hash FROM audit WHERE id=4").fetchone()
    p = json.loads(payload)
    p["active_seconds"] = 99.0
    new_hash = row_hash(prev, 4, ts, kind, p)
    _tamper(filled, f"UPDATE audit SET payload_json='{canonical_json(p)}', hash='{new_hash}' WHERE id=4")
    report = verify_file(filled)
    assert not report.ok and report.broken_at == 5


def test_deleted_row_and_changed_order_are_detected(filled, tmp_path):
    import shutil

    copy = tmp_path / "copy.sqlite"
    shutil.copy(filled, copy)
    _tamper(filled, "DELETE FROM audit WHERE id=2")
    report = verify_file(filled)
    assert not report.ok and report.broken_at == 3 and "deleted" in report.reason
    _tamper(copy, "UPDATE pair_order SET left_case=right_case, right_case=left_case WHERE position=0")
    report = verify_file(copy)
    assert not report.ok and report.broken_at == 0 and "order" in report.reason


def test_broken_file_is_never_written_to_again(filled):
    _tamper(filled, "UPDATE audit SET ts='2020-01-01T00:00:00.000000+00:00' WHERE id=6")
    with pytest.raises(InputFileError, match="audit chain is broken"):
        DecisionStore.open(filled, "r1", load_manifest(filled.parent.parent))


def test_verify_file_reads_while_the_writer_holds_the_lock(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False)
    path = decisions_path(s.study, "r1")
    with DecisionStore.open(path, "r1", s.manifest) as store:
        p = store.order[0]
        store.commit_decision(p.pair_id, p.left_case, started_at=T0, decided_at=T0, active_seconds=0.0)
        report = verify_file(path)
        assert report.ok and report.rows == 1
        assert len(read_decisions(path)) == 1
